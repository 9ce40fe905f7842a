import json

from gancourse.course import course_notebooks, write_index
from gancourse.notebook import record_headline


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


def test_the_course_has_numbered_notebooks():
    names = [nb.name for nb in course_notebooks()]
    assert names == sorted(names)
