"""Every budget a notebook reads (``env.budget.<name>``, or ``B.<name>`` after ``B = env.budget``) is declared
for it in ``profiles.NOTEBOOK_BUDGETS``, so no profile reaches a missing attribute halfway through a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gancourse.course.profiles import NOTEBOOK_BUDGETS, PROFILES, budget

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def budgets_read(path: Path) -> set[str]:
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    names = set(re.findall(r"\benv\.budget\.(\w+)", code))
    for alias in re.findall(r"^(\w+) = env\.budget\b", code, re.M):
        names |= set(re.findall(rf"\b{alias}\.(\w+)", code))
    return names


@pytest.mark.parametrize("name", ["01_mnist_dcgan", "02_wikiart_dcgan", "05_quickdraw_cgan", "06_monet_cyclegan"])
def test_the_budgets_a_notebook_reads_are_declared_for_every_profile(name):
    read = budgets_read(NOTEBOOKS / f"{name}.ipynb")
    assert read, f"{name} reads no budget: its profile values belong in NOTEBOOK_BUDGETS"
    assert read <= set(NOTEBOOK_BUDGETS[name]), f"{name} reads undeclared budgets: {read - set(NOTEBOOK_BUDGETS[name])}"
    for profile in PROFILES:
        assert all(hasattr(budget(name, profile), b) for b in read)


def test_the_quickdraw_budgets_grow_with_the_profile():
    smoke, quick, full = (budget("05_quickdraw_cgan", p) for p in ("smoke", "quick", "full"))
    assert smoke.steps < quick.steps < full.steps and smoke.eval_per_class < quick.eval_per_class
    assert full.max_per_class == 0  # every drawing there is
