"""GANCOURSE_STEP_CAP: every training stops after a few steps, evaluated and checkpointed there, and resumes."""

from __future__ import annotations

import pytest

from gancourse.devices import seed_everything
from gancourse.engine.dry_run import STEP_CAP, capped, sittings
from gancourse.engine.training import Loop, fit
from gancourse.errors import UserError
from gancourse.recipes import DCGAN
from gancourse.runs import RunDir

from ..helpers import BLOBS


def test_no_cap_leaves_the_loop_alone():
    loop = Loop(steps=1000, eval_every=100)
    assert capped(loop) is loop


def test_the_cap_cuts_steps_and_time_budgets_and_keeps_an_evaluation_and_a_checkpoint(monkeypatch):
    monkeypatch.setenv(STEP_CAP, "3")
    assert capped(Loop(steps=12000, eval_every=1000, sample_every=500)) == Loop(
        steps=3, eval_every=3, sample_every=3, checkpoint_every=3, log_every=3)
    by_time = capped(Loop(time_budget=900.0, eval_every=0, epochs=2))
    assert (by_time.steps, by_time.time_budget, by_time.epochs, by_time.eval_every) == (3, 0.0, 0, 0)
    assert capped(Loop(steps=2)).steps == 2  # a budget under the cap stays


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_cap_that_is_not_a_number_of_steps_is_one_clear_error(monkeypatch, bad):
    monkeypatch.setenv(STEP_CAP, bad)
    with pytest.raises(UserError, match=STEP_CAP):
        capped(Loop(steps=10))


def test_the_dry_run_trains_in_two_sittings_so_that_every_run_resumes_once(monkeypatch):
    loop = Loop(steps=5000, eval_every=500)
    assert sittings(loop) == [loop]
    monkeypatch.setenv(STEP_CAP, "4")
    first, second = sittings(loop)
    assert (first.steps, first.eval_every, first.checkpoint_every) == (2, 2, 2) and second == capped(loop)
    monkeypatch.setenv(STEP_CAP, "1")
    assert sittings(loop) == [capped(loop)]  # one step cannot be split


def test_a_capped_run_is_resumed_and_resumes_again_when_the_cap_rises(monkeypatch, tmp_path):
    def train(cap: int):
        monkeypatch.setenv(STEP_CAP, str(cap))
        seed_everything(0)
        recipe = DCGAN(DCGAN.config_for(BLOBS, g_width=8, d_width=8, nz=8))
        return fit(recipe, BLOBS, tmp_path / "run", Loop(steps=12000, batch_size=8), progress=False,
                   evaluator=lambda r: {"score": 1.0})

    assert train(2).step == 2 and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    assert train(4).step == 4
    run = RunDir(tmp_path / "run")
    assert [e["step"] for e in run.evaluations()] == [1, 2, 2, 4]  # 1 then 2 in two sittings; 2 scored again, 4
    assert run.read_config()["dry_run"] == {"steps": 12000, "epochs": 0, "time_budget": 0.0, "cap": 4}
