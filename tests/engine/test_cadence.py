"""What fit does outside its steps stays cheap: paced grids and checkpoints under a time budget, fast PNG grids."""

import torch
from PIL import Image
from torchvision.utils import save_image

from gancourse.engine import training
from gancourse.engine.training import Training, save_sample_grid

from ..helpers import fit_blobs


def fake_clock(monkeypatch, seconds_per_step):
    """Every step "takes" ``seconds_per_step`` of training time, whatever the machine's load; the steps saved."""
    monkeypatch.setattr(Training, "elapsed", lambda self: self.step_count * seconds_per_step)
    saves, real_save = [], training.save_rotating

    def counting_save(state, *paths):
        saves.append(state["step"])
        return real_save(state, *paths)

    monkeypatch.setattr(training, "save_rotating", counting_save)
    return saves


def grid_steps(result):
    return [int(p.stem.removeprefix("step_")) for p in result.run.sample_paths()]


def test_a_time_budget_alone_paces_grids_and_checkpoints_by_the_clock(tmp_path, monkeypatch):
    saves = fake_clock(monkeypatch, 0.03)
    result = fit_blobs(tmp_path / "t", 0, time_budget=12.0)  # 400 steps; the default cadence: every 100 steps
    assert result.step == 400 and result.stopped_by == "time budget"
    assert grid_steps(result) == [0, 200, 400]  # at 100-step boundaries 5 s apart at least (not every 3 s)
    assert saves == [400]  # 12 s in all: the final checkpoint alone (not 4)


def test_a_time_budget_paces_checkpoints_every_thirty_seconds(tmp_path, monkeypatch):
    saves = fake_clock(monkeypatch, 0.25)
    result = fit_blobs(tmp_path / "t", 0, time_budget=80.0)  # 320 steps, 25 s per 100
    assert saves == [200, 320]  # the first 100-step boundary 30 s after the last save, then the end
    assert grid_steps(result) == [0, 100, 200, 300, 320]  # 25 s apart: slow steps keep every grid


def test_a_cadence_the_user_chose_is_kept_under_a_time_budget(tmp_path, monkeypatch):
    saves = fake_clock(monkeypatch, 0.02)
    result = fit_blobs(tmp_path / "t", 0, time_budget=2.0, sample_every=25, checkpoint_every=50)
    assert grid_steps(result) == [0, 25, 50, 75, 100]
    assert saves == [50, 100]


def test_a_step_budget_keeps_its_ten_grids_whatever_the_clock(tmp_path, monkeypatch):
    saves = fake_clock(monkeypatch, 0.02)
    result = fit_blobs(tmp_path / "s", 30)
    assert grid_steps(result) == list(range(0, 31, 3)) and saves == list(range(3, 31, 3))


def test_grids_hold_save_images_pixels_written_at_zlibs_fastest_level(tmp_path):
    images = torch.tanh(torch.randn(10, 3, 12, 12, generator=torch.Generator().manual_seed(0)))
    save_sample_grid(images, tmp_path / "fast.png", 4)
    save_image(images, tmp_path / "reference.png", nrow=4, normalize=True, value_range=(-1, 1), padding=1)
    with Image.open(tmp_path / "fast.png") as fast, Image.open(tmp_path / "reference.png") as reference:
        assert fast.size == reference.size and fast.tobytes() == reference.tobytes()
    assert zlib_level(tmp_path / "fast.png") == 0 and zlib_level(tmp_path / "reference.png") == 2


def zlib_level(png) -> int:
    """FLEVEL of the first IDAT's zlib header: 0 for the fastest compression, 2 for the default."""
    data = png.read_bytes()
    idat = data.index(b"IDAT") + 4
    return data[idat + 1] >> 6
