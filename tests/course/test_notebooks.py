"""The notebooks' manifest (gancourse/course/notebooks.py) is the one table keyed by a notebook: the files, the
README's tables, the lesson modules and the budgets the notebooks read all agree with it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import gancourse
from gancourse.course.notebook import REPOSITORY
from gancourse.course.notebooks import COURSE, MANIFEST, NOTEBOOKS, notebook, readme_rows, readme_time_rows
from gancourse.data import DATASETS

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "notebooks"


def code_of(entry) -> str:
    cells = json.loads((FOLDER / entry.file).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_every_notebook_file_has_one_entry_and_every_entry_a_file():
    on_disk = sorted(str(p.relative_to(FOLDER)) for p in FOLDER.glob("**/*.ipynb") if "checkpoints" not in str(p))
    assert sorted(entry.file for entry in MANIFEST) == on_disk
    assert len(NOTEBOOKS) == len(MANIFEST)  # no two entries share a name
    assert [entry.number for entry in COURSE] == [f"{i:02d}" for i in range(1, len(COURSE) + 1)]  # in order, no gaps
    assert all(not entry.numbered and entry.number == "" for entry in MANIFEST if entry not in COURSE)
    with pytest.raises(KeyError, match="no notebook '08_x' in the manifest"):
        notebook("08_x")


@pytest.mark.parametrize("entry", MANIFEST, ids=[e.name for e in MANIFEST])
def test_each_notebook_sets_itself_up_under_its_own_name(entry):
    assert f'setup(profile, "{entry.name}", globals())' in code_of(entry)


@pytest.mark.parametrize("entry", COURSE, ids=[e.name for e in COURSE])
def test_an_entry_says_what_the_readme_and_the_doctor_need(entry):
    assert entry.title and entry.builds and entry.measures and entry.times and entry.largest_full_run
    assert entry.datasets, f"{entry.name}: the doctor checks the datasets its entry names"
    for name, options in entry.datasets:
        assert name in DATASETS and set(options) <= set(DATASETS[name].options), (name, options)


def table_rows(text: str, header: str) -> list[str]:
    """The rows of the README's table that starts with ``header`` (the header and its rule included)."""
    lines = text.splitlines()
    start = lines.index(header)
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("rows", [readme_rows(REPOSITORY), readme_time_rows()], ids=["notebooks", "times"])
def test_the_readmes_notebook_tables_are_the_manifests(rows):
    """Only the rows of the two tables are compared: the rest of the README is free prose."""
    readme = table_rows((ROOT / "README.md").read_text(), rows[0])
    assert readme == rows, ("the README's table differs from gancourse/course/notebooks.py; edit the entry there "
                            "and paste these rows into the README:\n" + "\n".join(rows))


def test_the_readme_rows_change_with_the_entry():
    rows = readme_rows("https://github.com/someone/fork")
    assert len(rows) == 2 + len(COURSE) and "github/someone/fork/blob/main/notebooks/06_monet_cyclegan.ipynb" in rows[7]
    assert rows[2].startswith("| 01 | [MNIST DCGAN](notebooks/01_mnist_dcgan.ipynb) |")
    assert readme_time_rows()[-1].startswith("| 07 | ")


def lessons_imported(code: str) -> set[str]:
    modules = set(re.findall(r"\bgancourse\.lessons\.(\w+)", code))
    for names in re.findall(r"^from gancourse\.lessons import ([\w, ]+)$", code, re.M):
        modules |= {name.strip() for name in names.split(",")}
    return modules


def test_every_lesson_module_belongs_to_one_notebook_that_imports_it():
    modules = {p.stem for p in (ROOT / "gancourse" / "lessons").glob("*.py") if p.stem != "__init__"}
    claimed = [module for entry in MANIFEST for module in entry.lessons]
    assert sorted(claimed) == sorted(modules)  # each module once
    for entry in MANIFEST:
        assert lessons_imported(code_of(entry)) == set(entry.lessons), entry.name


def test_the_budgets_a_notebook_reads_are_the_ones_its_entry_declares():
    for entry in MANIFEST:
        code = code_of(entry)
        read = set(re.findall(r"\benv\.budget\.(\w+)", code))
        for alias in re.findall(r"^(\w+) = env\.budget\b", code, re.M):
            read |= set(re.findall(rf"\b{alias}\.(\w+)", code))
        assert read == set(entry.budgets), f"{entry.name}: reads {sorted(read)}, declares {sorted(entry.budgets)}"


def test_no_other_module_of_the_package_keys_anything_by_a_notebooks_name():
    """Adding a notebook is one manifest entry and its .ipynb: no second table names it."""
    names = set(NOTEBOOKS) | {entry.number for entry in COURSE}
    package = Path(gancourse.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if path.name == "notebooks.py" and path.parent.name == "course":
            continue
        for node in ast.walk(ast.parse(path.read_text())):  # a table: a dict's keys, a tuple's, list's or set's items
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", [])
            for item in items:
                if isinstance(item, ast.Constant) and item.value in names:
                    found.append(f"{path.relative_to(package)}:{item.lineno}: {item.value!r}")
    assert not found, "read these from gancourse.course.notebooks instead:\n" + "\n".join(found)


PUBLIC = re.compile(r"gancourse(\.exercises|\.lessons(\.\w+)?)?")


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("**/*.ipynb")), ids=lambda p: p.stem)
def test_a_notebook_imports_only_the_public_surface(path):
    """``gancourse``, ``gancourse.exercises`` and the notebook's lessons: moving a module inside the package
    never breaks a notebook."""
    below = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()  # a shell or magic line (!pip, %matplotlib) is no Python
        source = "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                           else line for line in lines)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            below += [n for n in names if n and n.startswith("gancourse") and not PUBLIC.fullmatch(n)]
    assert not below, f"{path.name} imports below gancourse's public surface: {sorted(set(below))}"
