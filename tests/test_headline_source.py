"""A headline measured on a generated stand-in is recorded as such and shown in red in the course index."""

from __future__ import annotations

import json

import pytest

from gancourse.course.notebook import record_headline
from gancourse.course.runner import write_index
from gancourse.data import load_dataset


def course_run(tmp_path, monkeypatch, notebook: str) -> None:
    monkeypatch.setenv("GANCOURSE_COURSE_DIR", str(tmp_path))
    monkeypatch.setenv("GANCOURSE_COURSE_NOTEBOOK", notebook)
    (tmp_path / f"{notebook}.status.json").write_text(
        json.dumps({"status": "ok", "error": "", "wall_time": 5.0, "profile": "smoke"}))


def test_real_and_stand_in_headlines_are_told_apart(tmp_path, tmp_data_root, monkeypatch, capsys):
    course_run(tmp_path, monkeypatch, "01_mnist_dcgan")
    record = record_headline("FID (judge)", 3.0, floor=1.0)
    assert record["source"] == "real" and "STAND-IN" not in capsys.readouterr().out

    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    with pytest.warns(UserWarning, match="stand-in"):
        load_dataset("wikiart", size=32, allow_stand_in=True)
    course_run(tmp_path, monkeypatch, "02_wikiart_dcgan")
    record = record_headline("FID (course feature network)", 7.0, floor=1.0)
    assert record["source"] == "stand-in" and record["stand_ins"] == ["wikiart"]
    out = capsys.readouterr().out
    assert "STAND-IN DATA (wikiart): not a result" in out and "gancourse download wikiart" in out

    index = write_index(tmp_path).read_text()
    row_01, row_02 = (line for line in index.split("<tr>") if "_dcgan.html" in line or "_dcgan.ipynb" in line)
    assert "stand-in data: not a result" not in row_01
    assert 'color:#c00' in row_02 and "stand-in data: not a result" in row_02
    assert "stand-in data: not a result" in (tmp_path / "index.md").read_text()
