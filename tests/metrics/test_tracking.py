import math

import numpy as np
import pytest

from gancourse.metrics.tracking import correlate, loss_at_evaluations, loss_tracking
from gancourse.runs import RunDir

from ..run_fixtures import fake_run


def test_each_evaluation_is_paired_with_the_mean_of_the_losses_logged_before_it(tmp_path):
    run = fake_run(tmp_path / "run")
    steps, losses, metrics = loss_at_evaluations(run, "loss_d", "fid", window=3)
    assert steps.tolist() == [2, 4, 6, 8, 10]
    # at step 4: the mean of loss_d at steps 2, 3, 4 (not 1, outside the window; not 5, after the evaluation)
    assert losses[1] == np.mean([1.0 - 0.09 * s for s in (1, 2, 3)])
    assert metrics.tolist() == [84.0, 68.0, 52.0, 36.0, 20.0]


def test_an_evaluation_at_step_zero_is_skipped_only_when_asked(tmp_path):
    run = RunDir(tmp_path / "run").create()
    run.append_history({"step": 0, "loss_d": 1.0})
    run.append_history({"step": 0, "eval": {"fid": 300.0}})
    run.append_history({"step": 5, "loss_d": 0.5})
    run.append_history({"step": 5, "eval": {"fid": 100.0}})
    assert loss_at_evaluations(run, "loss_d")[0].tolist() == [5]
    assert loss_at_evaluations(run, "loss_d", skip_first=False)[0].tolist() == [0, 5]


def test_a_loss_that_falls_with_the_metric_tracks_it_and_one_that_rises_does_not(tmp_path):
    run = fake_run(tmp_path / "run")
    falling = loss_tracking(run, "loss_d", "fid")
    rising = loss_tracking(run, "loss_g", "fid")
    assert falling.n == 5 and falling.pearson > 0.99 and falling.spearman == pytest.approx(1.0)
    assert rising.spearman == pytest.approx(-1.0)
    assert falling.as_row()["evaluations"] == 5 and falling.run == "run"


def test_a_run_without_logged_losses_or_with_too_few_evaluations_gives_nan(tmp_path):
    empty = RunDir(tmp_path / "empty").create()
    assert loss_tracking(empty, "loss_d").n == 0
    assert all(math.isnan(v) for v in correlate(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    assert all(math.isnan(v) for v in correlate(np.ones(5), np.arange(5.0)))  # a constant series says nothing
