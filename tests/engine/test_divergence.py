"""Stopping a run whose numbers are no longer numbers (gancourse.engine.divergence)."""

from __future__ import annotations

import pytest
import torch

from gancourse.checkpoints import load_checkpoint, load_generator
from gancourse.cli import main
from gancourse.devices import seed_everything
from gancourse.errors import TrainingDiverged, UserError
from gancourse.runs import RunDir

from ..helpers import BLOBS as DATA
from ..helpers import CLI_TINY as TINY
from ..helpers import error_line, fit_blobs, poison_at
from ..helpers import tiny_dcgan as make_recipe
from ..run_fixtures import nan_run


def test_a_run_that_diverges_keeps_its_last_good_checkpoint_and_generator(tmp_path):
    out = tmp_path / "run"
    fit_blobs(out, 10, checkpoint_every=5)
    run = RunDir(out)
    generator_before = run.generator_path.read_bytes()
    recipe = make_recipe()
    poison_at(recipe, 3)  # the resumed run's third step: step 13; the next checkpoint is due at 15
    with pytest.raises(TrainingDiverged) as info:
        fit_blobs(out, 30, recipe=recipe, checkpoint_every=5, sample_every=1)
    message = str(info.value)
    assert "step 14" in message and "loss" in message and "learning rate" in message and "clip" in message
    assert load_checkpoint(run.last_checkpoint)["step"] == 10
    assert load_checkpoint(run.previous_checkpoint)["step"] == 5
    assert run.generator_path.read_bytes() == generator_before
    assert all(torch.isfinite(p).all() for p in load_generator(run.generator_path).parameters())
    names = [p.name for p in run.sample_paths()]
    assert "step_000012.png" in names and "step_000013.png" not in names  # no grid of infinite weights


def test_a_weight_gone_bad_between_checks_is_never_saved(tmp_path):
    recipe = make_recipe()
    poison_at(recipe, 5)  # the weights turn at step 5, a checkpoint is due at once
    with pytest.raises(TrainingDiverged, match="step 5: the weight G"):
        fit_blobs(tmp_path / "w", 20, recipe=recipe, checkpoint_every=5)
    assert not RunDir(tmp_path / "w").last_checkpoint.exists()
    assert not RunDir(tmp_path / "w").generator_path.exists()


def test_an_absurd_learning_rate_stops_the_cli_with_one_line_and_exit_2(offline_root, tmp_path, capsys):
    out = tmp_path / "nan"
    code = main(["train", *TINY, "--steps", "60", "--set", "lr_d=1e30", "--set", "lr_g=1e30", "--out", str(out)])
    assert code == 2
    line = error_line(capsys)
    assert "diverged at step" in line and "lower learning rate" in line and "lr_d=1e+30" in line
    run = RunDir(out)
    assert not run.generator_path.exists()
    for path in (run.last_checkpoint, run.previous_checkpoint):
        if path.exists():  # whatever was saved before the divergence is finite
            state = load_checkpoint(path)["recipe"]["modules"]["G"]
            assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_evaluating_a_nan_generator_says_so_instead_of_a_scipy_error(tmp_path):
    from gancourse.engine.experiment import evaluate_run

    with pytest.raises(UserError, match="NaN"):
        evaluate_run(nan_run(tmp_path).path, n=10, progress=False)


def test_evaluation_during_training_never_sees_nan_weights(tmp_path):
    seen = []
    recipe = make_recipe()
    poison_at(recipe, 4)  # weights turn during step 4, an evaluation is due right after it
    with pytest.raises(TrainingDiverged, match="step 4: the weight"):
        fit_blobs(tmp_path / "e", 10, recipe=recipe, eval_every=4, evaluator=lambda r: seen.append(1) or {"x": 1.0})
    assert seen == []


def test_wgan_gp_at_an_absurd_learning_rate_stops_before_saving_anything(tmp_path):
    from gancourse.recipes import build_recipe, recipe_class

    seed_everything(0)
    config = recipe_class("wgan-gp").config_for(DATA, nz=8, g_width=8, d_width=8, lr_d=1e6, lr_g=1e6)
    with pytest.raises(TrainingDiverged, match="loss_d = nan") as info:
        fit_blobs(tmp_path / "wgp", 60, recipe=build_recipe("wgan-gp", config, "cpu"))
    assert "lr_d=1e+06 now" in str(info.value) and "no checkpoint had been saved yet" in str(info.value)
    assert not list((tmp_path / "wgp" / "checkpoints").iterdir())
