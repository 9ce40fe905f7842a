import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gancourse.runs import RunDir  # noqa: E402
from gancourse.viz.plots import (  # noqa: E402
    LiveView,
    grid_image,
    plot_losses,
    plot_metric,
    plot_training,
    plt,
    sample_strip,
    smooth,
    training_gif,
)

from ..run_fixtures import fake_run  # noqa: E402


def test_smooth_is_a_trailing_mean_of_the_same_length():
    values = [0.0, 2.0, 4.0, 6.0]
    out = smooth(values, window=2)
    assert len(out) == len(values)
    assert out[-1] == pytest.approx(5.0)  # mean of the last two
    assert smooth([1.0], window=10).tolist() == [1.0]


def test_grid_image_maps_minus_one_to_black_and_one_to_white():
    images = torch.stack([-torch.ones(1, 4, 4), torch.ones(1, 4, 4)])
    grid = grid_image(images, nrow=2)
    assert grid.dtype == np.uint8 and grid.shape == (6, 11, 3)  # one pixel of padding around each image
    assert grid[1:5, 1:5].max() == 0 and grid[1:5, 6:10].min() == 255


def test_plots_of_a_run_draw_its_losses_and_its_metric_with_the_floor(tmp_path):
    run = fake_run(tmp_path / "run")
    fig = plot_losses(run)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "loss_d" in labels and "loss_g" in labels
    plt.close(fig)
    fig = plot_metric(run, "fid")
    ax = fig.axes[0]
    fid_line = next(line for line in ax.lines if line.get_label() == "fid")
    assert list(fid_line.get_xdata()) == [2, 4, 6, 8, 10]
    assert any("floor" in line.get_label() for line in ax.lines) and ax.get_yscale() == "log"
    plt.close(fig)
    fig = plot_training(run, metrics=("fid", "modes", "not logged"))
    assert len(fig.axes) == 3  # losses + the two metrics the run has
    plt.close(fig)


def test_sample_strip_and_gif_use_the_saved_grids_and_refuse_a_run_without_any(tmp_path):
    run = fake_run(tmp_path / "run", samples=3)
    fig = sample_strip(run, count=2)
    assert [ax.get_title() for ax in fig.axes] == ["step 100", "step 300"]  # first and last
    plt.close(fig)
    gif = training_gif(run)
    assert gif == run.path / "training.gif" and Image.open(gif).n_frames >= 3
    bare = RunDir(tmp_path / "bare").create()
    with pytest.raises(FileNotFoundError, match="no sample grids"):
        sample_strip(bare)
    with pytest.raises(FileNotFoundError, match="no sample grids"):
        training_gif(bare)


def test_live_view_without_a_front_end_draws_once_at_the_end(tmp_path, monkeypatch):
    run = fake_run(tmp_path / "run")
    view = LiveView()
    assert not view.interactive  # pytest is no live notebook
    drawn = []
    monkeypatch.setattr(view, "_draw", lambda info: drawn.append(info))
    view("sample", {"run": run, "step": 1})
    view("log", {"run": run, "step": 2})
    assert drawn == []
    view("end", {"run": run, "step": 10})
    assert len(drawn) == 1


def test_live_view_with_a_front_end_redraws_every_few_sample_grids(tmp_path, monkeypatch):
    run = fake_run(tmp_path / "run")
    view = LiveView(every_samples=2)
    view.interactive = True
    drawn = []
    monkeypatch.setattr(view, "_draw", lambda info: drawn.append(info["step"]))
    for step in range(1, 6):
        view("sample", {"run": run, "step": step})
    assert drawn == [2, 4]
