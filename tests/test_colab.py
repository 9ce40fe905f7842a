"""The Colab path: one repository URL everywhere, an install cell that works, dependencies Colab already meets."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gancourse.course.notebook import REPOSITORY

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REPO_URL = PYPROJECT["project"]["urls"]["Repository"]
NOTEBOOKS = sorted(ROOT.glob("notebooks/**/*.ipynb"))
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/([^)\s\"]+)")
INSTALL = re.compile(r'%pip install -q "gancourse @ git\+(\S+)@main"')

# What Colab has preinstalled (tests/colab_versions.txt names its source and date): a declared lower bound above
# any of these would make `%pip install` upgrade it, and Colab breaks when ipywidgets goes to 8
# (googlecolab/colabtools#3020) or torch is replaced. `make test-colab` installs these and runs the tests there.
# Colab's own torch and torchvision are older than the builds this machine installs; both are checked here.
COLAB_PINS = dict(line.split("#")[0].strip().split("==") for line in
                  (ROOT / "tests/colab_versions.txt").read_text().splitlines() if line.split("#")[0].strip())
COLAB = {name: [version] for name, version in COLAB_PINS.items()}
COLAB["torch"].append("2.11.0")
COLAB["torchvision"].append("0.26.0")
COLAB["ipywidgets"].append("8.1.5")  # both widget generations must work locally


def expected_badge(path: Path) -> str:
    slug = REPO_URL.removeprefix("https://github.com/")
    return f"{slug}/blob/main/{path.relative_to(ROOT).as_posix()}"


def test_the_repository_url_lives_in_pyproject_only():
    assert REPOSITORY == REPO_URL and REPO_URL.startswith("https://github.com/")
    sources = [p for p in ROOT.glob("gancourse/**/*.py")]
    assert not [p for p in sources if REPO_URL in p.read_text()], "read it from pyproject/metadata instead"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_badge_and_install_cell_agree_with_the_repository(path):
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and COLAB_LINK.findall(first) == [expected_badge(path)]
    install = "".join(cells[1]["source"])
    assert INSTALL.findall(install) == [REPO_URL], install
    assert 'if "google.colab" in sys.modules' in install  # locally the checkout's environment is used
    assert "--upgrade" not in install and "-U " not in install and "torch" not in install


def test_readme_badges_point_at_each_notebook():
    links = COLAB_LINK.findall((ROOT / "README.md").read_text())
    course = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]
    assert links and set(links) == {expected_badge(p) for p in course}


def test_declared_dependencies_leave_colabs_packages_alone():
    requirements = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    names = {r.name.lower() for r in requirements}
    assert {"ipywidgets", "pyarrow", "torch"} <= names
    for req in requirements:
        for version in COLAB.get(req.name.lower(), []):
            assert req.specifier.contains(version), f"{req} would change Colab's {req.name} {version}"
    assert not any(req.name == "huggingface_hub" for req in requirements)  # plain HTTPS; see data/README.md


WIDGETS_76 = {  # every widget class and function the package uses must exist in ipywidgets 7.6 as in 8
    "BoundedIntText", "Button", "Dropdown", "FloatSlider", "HBox", "Image", "IntSlider", "Label", "Output",
    "Play", "ToggleButtons", "VBox", "jslink", "Layout", "Checkbox", "Text", "HTML", "IntText", "FloatText",
    "interactive_output", "SelectionSlider", "RadioButtons", "Tab", "Accordion", "GridBox", "jsdlink",
}

WIDGET_MODULES = [ROOT / "gancourse/viz/widgets.py", *ROOT.glob("gancourse/lessons/*_picker.py")]


def test_widgets_use_only_what_ipywidgets_7_and_8_share():
    used = set()
    for path in WIDGET_MODULES:
        tree = ast.parse(path.read_text())
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                   for a in node.names if a.name == "ipywidgets"}
        used |= {node.attr for node in ast.walk(tree)
                 if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases}
    assert used and used <= WIDGETS_76, used - WIDGETS_76
    # 8-only keywords (renamed or added in 8) would break Colab's 7.x
    text = "".join(p.read_text() for p in WIDGET_MODULES)
    assert "tooltip=" not in text and "description_allow_html" not in text


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to make the clone the cell installs from")
def test_the_install_cell_installs_the_package_from_a_git_url(tmp_path):
    """What the Colab cell does, with the repository replaced by a clean clone of this checkout's HEAD.

    ``--no-deps``: torch and friends are not downloaded (the cell leaves Colab's alone; the test above checks
    the declared ranges against them), and ``--no-build-isolation`` builds with this environment's setuptools
    instead of fetching one (Colab has the internet for that).
    """
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "-B", "main"], check=True)
    install = INSTALL.search("".join(json.loads(NOTEBOOKS[0].read_text())["cells"][1]["source"]))
    spec = install.group(0).split('"')[1].replace(REPO_URL, clone.as_uri())  # "gancourse @ git+file://...@main"
    target = tmp_path / "site"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), spec], check=True, env=env, cwd=tmp_path)
    probe = ("import gancourse, gancourse.course.notebook, gancourse.data.wikiart_download as w; "
             "print(gancourse.__file__); print(gancourse.course.notebook.REPOSITORY)")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(target)}).stdout.split()
    assert Path(out[0]).is_relative_to(target)  # the installed copy, not this checkout
    assert out[1] == REPO_URL  # read from the installed metadata: no pyproject.toml beside a git install
