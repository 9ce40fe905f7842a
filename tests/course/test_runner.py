import json
import os
from pathlib import Path

import papermill
import pytest

from gancourse.course.notebook import record_headline
from gancourse.course.notebooks import COURSE
from gancourse.course.runner import course_notebooks, run_course, write_index
from gancourse.sweeps.grid import notebook_parameters


def test_index_is_built_from_status_and_headline_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_COURSE_DIR", str(tmp_path))
    monkeypatch.setenv("GANCOURSE_COURSE_NOTEBOOK", "01_mnist_dcgan")
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"\x89PNG fake")
    record_headline("FID (judge)", 12.5, floor=1.2, samples=grid)
    (tmp_path / "01_mnist_dcgan.status.json").write_text(
        json.dumps({"status": "ok", "error": "", "wall_time": 61.0, "profile": "quick"}))
    (tmp_path / "02_wikiart_dcgan.status.json").write_text(
        json.dumps({"status": "failed", "error": "boom", "wall_time": 3.0, "profile": "quick"}))
    index = write_index(tmp_path).read_text()
    assert "FID (judge) = 12.5" in index and "1.2" in index and "61 s" in index
    assert "01_mnist_dcgan.samples.png" in index and "failed: boom" in index
    assert "| 02_wikiart_dcgan.ipynb" not in index  # links point at the executed notebooks
    assert (tmp_path / "index.md").read_text().count("\n") == 4


def test_the_course_is_the_manifests_numbered_notebooks_in_order(tmp_path):
    """Not whatever lies in the folder: a stray 08_draft.ipynb is not part of the course until it has an entry."""
    (tmp_path / "08_draft.ipynb").write_text("{}")
    assert course_notebooks(tmp_path) == [tmp_path / entry.file for entry in COURSE]
    course = course_notebooks()
    assert [p.name[:2] for p in course] == ["01", "02", "03", "04", "05", "06", "07"]
    assert all(p.is_file() for p in course) and "sweep_targets" not in str(course)


NOTEBOOKS = sorted(Path(__file__).resolve().parents[2].glob("notebooks/**/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_follow_the_course_conventions(path):
    """Committed without outputs, one `parameters` cell, and every parameter visible to papermill itself.

    papermill's own inspection (``papermill --help-notebook``, its "unknown parameter" warning) skips any line
    with a second ``=`` (``# 0 = default``), so such a comment would hide a parameter from instructors.
    """
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "clear the outputs"
    tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    assert set(papermill.inspect_notebook(str(path))) == set(notebook_parameters(path))
    if path.parent.name == "notebooks":  # the course notebooks, not the sweep targets
        assert "colab.research.google.com" in "".join(nb["cells"][0]["source"])


def test_the_course_puts_its_runs_under_its_own_folder(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: seen.append(os.environ["GANCOURSE_RUNS"]))
    monkeypatch.delenv("GANCOURSE_RUNS")
    for name in ("GANCOURSE_COURSE_DIR", "GANCOURSE_COURSE_NOTEBOOK"):  # run_course sets them: restore after
        monkeypatch.setenv(name, "")
    notebook = tmp_path / "01_x.ipynb"
    notebook.write_text("{}")
    run_course(tmp_path / "course", "smoke", [notebook], html_export=False)
    assert seen == [str((tmp_path / "course" / "runs").resolve())]
    assert "GANCOURSE_RUNS" not in os.environ  # set for the course only
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "elsewhere"))
    run_course(tmp_path / "course2", "smoke", [notebook], html_export=False)
    assert seen[-1] == str(tmp_path / "elsewhere")
