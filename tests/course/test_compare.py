"""beside_reference: runs with different batch sizes line up over training images."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from gancourse.course.exercises import beside_reference  # noqa: E402

from ..run_fixtures import fake_run  # noqa: E402


def _run_with_batch(path, batch, steps):
    run = fake_run(path, steps=steps, every_eval=2)
    run.write_config(run.read_config() | {"batch_size": batch})
    run.write_metrics({"fid": 1.0, "step": steps})
    return run


def test_images_axis_multiplies_each_runs_steps_by_its_own_batch(tmp_path):
    runs = {"batch 64": _run_with_batch(tmp_path / "a", 64, 4), "batch 32": _run_with_batch(tmp_path / "b", 32, 8)}
    table = beside_reference(runs, metrics=("fid",), x="images")
    lines = plt.gcf().axes[0].get_lines()
    assert list(lines[0].get_xdata()) == [128, 256]  # steps 2, 4 at 64 images each
    assert list(lines[1].get_xdata()) == [64, 128, 192, 256]  # steps 2, 4, 6, 8 at 32 images each
    assert plt.gcf().axes[0].get_xlabel() == "training images"
    assert table.loc["batch 64", "images"] == table.loc["batch 32", "images"] == 256
    plt.close("all")


def test_step_axis_is_unchanged_and_a_run_without_batch_size_is_refused_by_name(tmp_path):
    run = fake_run(tmp_path / "a", steps=4, every_eval=2)  # its config.json has no batch_size
    beside_reference({"run": run}, metrics=("fid",))
    assert list(plt.gcf().axes[0].get_lines()[0].get_xdata()) == [2, 4]
    plt.close("all")
    with pytest.raises(ValueError, match="batch size"):
        beside_reference({"run": run}, metrics=("fid",), x="images")
    with pytest.raises(ValueError, match="x must be"):
        beside_reference({"run": run}, x="seconds")
    plt.close("all")
