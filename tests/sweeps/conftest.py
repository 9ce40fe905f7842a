"""What the sweeps tests share: a tiny notebook that trains nothing, and one sweep of it (run once per session)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from gancourse.sweeps import parse_grid, run_sweep

# A notebook that trains nothing: it counts its executions in its run directory, writes a metrics.json and
# a sample grid there, and fails on purpose when a == fail_on.
TINY_PARAMETERS = 'a = 1  # an int\nb = 0.5  # a float\nfail_on = -1  # the value of a that raises\nrun_dir = ""\n'

TINY_BODY = """
import json, pathlib
from PIL import Image
out = pathlib.Path(run_dir)
(out / "samples").mkdir(parents=True, exist_ok=True)
counter = out / "executions.txt"
counter.write_text((counter.read_text() if counter.exists() else "") + "x")
if a == fail_on:
    raise ValueError(f"combination a={a} fails on purpose")
(out / "metrics.json").write_text(json.dumps({"step": 10, "fid": a * 10 + b, "precision": 0.5}))
Image.new("L", (20, 20), int(40 * a)).save(out / "samples" / "step_000010.png")
"""


def make_notebook(path: Path, parameters: str = TINY_PARAMETERS, body: str = TINY_BODY) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def executions(sweep: Path, name: str) -> int:
    return len((sweep / name / "run" / "executions.txt").read_text())


GRID = {"parameters": {"a": [1, 2], "b": [0.5, 1.5]}, "combinations": [{"a": 3, "b": 0.5}], "fixed": {"fail_on": 3}}


@pytest.fixture(scope="session")
def swept(tmp_path_factory):
    """A 2x2 grid plus one explicit combination that fails, run with two jobs; once, for test_runner and
    test_report (the tests that use it share one pytest-xdist worker, their xdist_group "swept")."""
    tmp = tmp_path_factory.mktemp("sweep")
    notebook = make_notebook(tmp / "tiny.ipynb")
    out = tmp / "sweeps" / "tiny"
    result = run_sweep(notebook, parse_grid(GRID), out, jobs=2, progress=False)
    return notebook, out, result
