"""The README gets a newcomer started and points at docs/: it stays short, and every link in it and in docs/
leads somewhere that exists (file and heading)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = [line.lstrip("#").strip() for line in page.read_text().splitlines() if line.startswith("#")]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def broken_links(page: Path) -> list[str]:
    broken = []
    for link in LINK.findall(page.read_text()):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target) if target else page
        if not path.exists():
            broken.append(f"{link} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{link} (no such heading)")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_broken_links_are_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n[ok](#top) [gone](missing.md) [bad anchor](#nowhere) [web](https://example.org)\n")
    assert broken_links(page) == ["missing.md (no such file)", "#nowhere (no such heading)"]


def test_the_readme_is_short_and_points_at_the_details():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    for page in ("docs/performance.md", "docs/reliability.md", "docs/instructors.md", "docs/architecture.md",
                 "docs/distributed.md", "data/README.md"):
        assert f"]({page})" in text, page
    assert "Python 3.11" in text  # the version the tests run on
