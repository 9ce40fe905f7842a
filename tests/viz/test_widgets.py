"""The notebooks' widgets build and update without a front end, and fall back to static figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from PIL import Image

from gancourse.runs import RunDir
from gancourse.viz.frontend import live_frontend
from gancourse.viz.widgets import SampleScrubber

matplotlib.use("Agg")


def _fake_run(tmp_path: Path, steps=(0, 100, 200)) -> RunDir:
    run = RunDir(tmp_path / "run").create()
    for i, step in enumerate(steps):
        Image.new("L", (8, 8), color=40 * i).save(run.samples_dir / f"step_{step:06d}.png")
    run.append_history({"step": 100, "eval": {"fid": 12.5}})
    return run


def test_scrubber_walks_through_the_saved_grids(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    scrubber = SampleScrubber(run.path)
    box = scrubber.widget()
    slider, image, caption = (box.controls[k] for k in ("slider", "image", "caption"))
    assert slider.max == 2 and slider.value == 2  # opens on the last grid
    assert image.value == run.sample_paths()[2].read_bytes()
    assert caption.value.startswith("step 200") and "FID at step 100: 12.50" in caption.value
    slider.value = 0
    assert image.value == run.sample_paths()[0].read_bytes()
    assert caption.value == "step 0 (1/3)"  # no evaluation yet at step 0
    assert scrubber.widget() is box


def test_scrubber_degrades_to_a_static_strip_and_explains_an_empty_run(tmp_path: Path, capsys) -> None:
    run = _fake_run(tmp_path)
    assert not live_frontend()
    fig = SampleScrubber(run).show(count=2)
    assert len(fig.axes) == 2 and "no widget frontend" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="train it first"):
        SampleScrubber(tmp_path / "empty")

