"""Every notebook runs top to bottom in the smoke profile, and every code snippet an exercise gives runs as written.

Exercise instructions put the code a student is told to run in fenced ```python blocks of markdown cells
(code meant only to be read goes in ```text). For each notebook (the numbered ones and the sweep targets) this
test appends those blocks, in order, as code cells at its end, executes it in the smoke profile, and fails
with each cell that raised: a snippet with its text and error, or the notebook's own cell. `make test`
executes each notebook once with its defaults, as a student first runs it (``test_the_notebook_runs``); CI's
`make test-snippets` executes it again with its snippets (marked ``snippets`` and deselected by default: they
train about thirty more runs). What a notebook leaves off by default (01's and 02's comparisons, 06's simple
GAN) runs in CI's full-profile pass (``tests/course/test_full_profile.py``, ``PARAMETERS``).

Runs go to the checkout's runs/ (or the ``$GANCOURSE_RUNS`` the suite was started with), so a second
`make test` resumes the finished runs instead of training them again.
"""

from __future__ import annotations

import copy
import json
import os
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("**/*.ipynb"))
SNIPPET_TAG = "exercise-snippet"
# A fence opens a line (after a list item's indent) and closes at the same indent.
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
STARTED_WITH_RUNS = os.environ.get("GANCOURSE_RUNS")  # read before the suite's fixtures point it at tmp_path


def extract_snippets(notebook: dict) -> list[str]:
    """The ```python blocks of a notebook's markdown cells, in order, dedented (list items indent them)."""
    snippets = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        snippets += [textwrap.dedent(m.group("body")).strip("\n") + "\n" for m in FENCE.finditer(source)]
    return snippets


def with_snippets(notebook: nbformat.NotebookNode, snippets: list[str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with each snippet appended as a code cell tagged ``exercise-snippet``."""
    extended = copy.deepcopy(notebook)
    for i, snippet in enumerate(snippets):
        cell = nbformat.v4.new_code_cell(snippet)
        cell.metadata["tags"] = [SNIPPET_TAG]
        cell.metadata["snippet"] = i + 1
        extended.cells.append(cell)
    return extended


def execute(notebook: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel, carrying on after an error so that every failing snippet is reported."""
    client = NotebookClient(notebook, timeout=None, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook


def failures(notebook: nbformat.NotebookNode) -> list[str]:
    """One report per cell that raised: a snippet's text and its error, or the notebook's own cell."""
    reports = []
    for index, cell in enumerate(notebook.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type != "code" or not errors:
            continue
        error = f"{errors[0]['ename']}: {errors[0]['evalue']}"
        if SNIPPET_TAG in cell.metadata.get("tags", []):
            text = textwrap.indent(cell.source, "    ")
            reports.append(f"snippet {cell.metadata['snippet']} raised {error}\n{text}")
        else:
            reports.append(f"the notebook's own cell {index} raised {error} (the snippets after it ran on a broken "
                           f"state)")
    return reports


@pytest.fixture
def smoke_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """make test's environment for notebooks: smoke profile, headless, Agg; runs in the checkout's runs/."""
    monkeypatch.setenv("GANCOURSE_PROFILE", "smoke")
    monkeypatch.setenv("GANCOURSE_HEADLESS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if STARTED_WITH_RUNS:
        monkeypatch.setenv("GANCOURSE_RUNS", STARTED_WITH_RUNS)
    else:
        monkeypatch.delenv("GANCOURSE_RUNS", raising=False)  # the checkout's runs/


# -- the extraction, on small notebooks in memory -------------------------------------------------------------

def _notebook(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    return nbformat.v4.new_notebook(cells=[make[kind](source) for kind, source in cells])


def test_snippets_are_the_python_fences_of_markdown_cells_dedented_in_order():
    notebook = _notebook(
        ("markdown", "## Exercises\n\n1. **One.** Run\n\n   ```python\n   y = x + 1\n   if y:\n"
                     "       print(y)\n   ```\n\n2. **Two.** Not Python:\n\n   ```bash\n   gancourse doctor\n   ```\n"),
        ("code", "```python\nnot = a snippet  # a code cell's text is the notebook's own\n```"),
        ("markdown", "```text\nread = only\n```\nand\n```python\nz = 2\n```"),
    )
    assert extract_snippets(notebook) == ["y = x + 1\nif y:\n    print(y)\n", "z = 2\n"]
    extended = with_snippets(notebook, extract_snippets(notebook))
    assert [c.source for c in extended.cells[3:]] == extract_snippets(notebook)
    assert all(SNIPPET_TAG in c.metadata["tags"] for c in extended.cells[3:]) and len(notebook.cells) == 3


def test_a_snippet_that_raises_is_reported_with_its_text_and_error(tmp_path):
    notebook = _notebook(
        ("code", "x = 41"),
        ("markdown", "1. Run this:\n\n   ```python\n   x = x + 1\n   ```\n\n2. And this:\n\n   ```python\n"
                     "   fit(recipe, steps=10)\n   ```\n\n3. Then:\n\n   ```python\n   assert x == 42\n   ```\n"),
    )
    ran = execute(with_snippets(notebook, extract_snippets(notebook)), tmp_path)
    reports = failures(ran)
    assert len(reports) == 1, reports  # snippets 1 and 3 ran (3 after 2 failed: every failure is reported)
    assert reports[0].startswith("snippet 2 raised NameError: name 'fit' is not defined")
    assert "fit(recipe, steps=10)" in reports[0]


def test_a_broken_notebook_cell_is_reported_as_the_notebooks_own(tmp_path):
    notebook = _notebook(("code", "1 / 0"), ("markdown", "```python\nprint('fine')\n```"))
    reports = failures(execute(with_snippets(notebook, extract_snippets(notebook)), tmp_path))
    assert reports == ["the notebook's own cell 0 raised ZeroDivisionError: division by zero (the snippets after "
                       "it ran on a broken state)"]


# -- every notebook ------------------------------------------------------------------------------------

@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs(path, smoke_environment):
    """`make test`: the notebook top to bottom with its defaults, as a student first runs it."""
    reports = failures(execute(load_notebook_node(str(path)), path.parent))
    assert not reports, f"{path.name}:\n\n" + "\n\n".join(reports)


@pytest.mark.notebook
@pytest.mark.snippets
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_and_its_exercise_snippets_run(path, smoke_environment):
    """`make test-snippets`: the notebook again with its exercise snippets at the end. Its own runs resume
    from `make test`'s when both use the same runs/ folder, so mostly the snippets' own trainings cost; run it
    after ``test_the_notebook_runs``, not beside it (two kernels cannot train into one run folder at once)."""
    snippets = extract_snippets(json.loads(path.read_text()))
    notebook = load_notebook_node(str(path))  # nbformat.read, with the empty tags papermill's injection looks for
    notebook = with_snippets(notebook, snippets)
    reports = failures(execute(notebook, path.parent))
    assert not reports, f"{path.name}:\n\n" + "\n\n".join(reports)
