import json
import os

import pytest
import torch

from gancourse.checkpoints import load_checkpoint, load_generator, save_checkpoint
from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, ResumeMismatch, fit
from gancourse.errors import UserError
from gancourse.runs import RunDir

from ..helpers import BLOBS as DATA
from ..helpers import fit_blobs
from ..helpers import tiny_dcgan as make_recipe


def run(tmp_path, name, steps, **options):
    recipe = make_recipe(**options)
    result = fit(recipe, DATA, tmp_path / name, Loop(steps=steps, batch_size=16, sample_every=5), progress=False)
    return recipe, result


def test_fit_writes_the_run_directory(tmp_path):
    _, result = run(tmp_path, "a", 12)
    d = result.run
    config = d.read_config()
    assert config["recipe"] == "dcgan" and config["data"]["source"] == "real" and config["seed"] == 0
    losses = d.losses()
    assert [r["step"] for r in losses] == [10]
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(losses[0])
    assert [p.name for p in d.sample_paths()] == ["step_000000.png", "step_000005.png", "step_000010.png",
                                                  "step_000012.png"]
    assert d.last_checkpoint.is_file() and d.generator_path.is_file()
    assert result.step == 12 and result.stopped_by == "steps"


def test_resume_is_bit_for_bit_identical_to_an_uninterrupted_run(tmp_path):
    straight, straight_result = run(tmp_path, "straight", 30)
    run(tmp_path, "resumed", 17)  # "interrupted" at step 17 (mid-epoch: 16 batches per epoch)
    resumed, resumed_result = run(tmp_path, "resumed", 30)
    for name in ("G", "D"):
        for key, value in straight.modules[name].state_dict().items():
            assert torch.equal(value, resumed.modules[name].state_dict()[key]), f"{name}.{key} differs"
    resumed_state = resumed.optimizers["G"].state_dict()["state"][0]
    for key, value in straight.optimizers["G"].state_dict()["state"][0].items():
        assert torch.equal(torch.as_tensor(value), torch.as_tensor(resumed_state[key]))
    strip = [{k: v for k, v in r.items() if k != "time"} for r in straight_result.run.losses()]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in resumed_result.run.losses()]


def test_history_written_after_the_last_checkpoint_is_dropped_on_resume(tmp_path):
    _, result = run(tmp_path, "r", 10)
    result.run.append_history({"step": 999, "loss_d": 1.0})  # as if killed after logging, before checkpointing
    _, result = run(tmp_path, "r", 20)
    assert [r["step"] for r in result.run.losses()] == [10, 20]


def test_resume_refuses_a_different_configuration(tmp_path):
    run(tmp_path, "r", 5)
    with pytest.raises(ResumeMismatch, match="lr_d: there 0.0002, now 0.001"):
        run(tmp_path, "r", 10, lr_d=1e-3)


def test_a_run_saved_before_a_config_field_existed_still_resumes(tmp_path):
    _, first = run(tmp_path, "r", 5)
    saved = json.loads(first.run.config_path.read_text())
    del saved["recipe_config"]["aux_weight"]  # as written by a version without the field (default 0)
    first.run.config_path.write_text(json.dumps(saved))
    _, resumed = run(tmp_path, "r", 10)
    assert resumed.step == 10


def test_time_budget_stops_training(tmp_path):
    recipe = make_recipe()
    result = fit(recipe, DATA, tmp_path / "t", Loop(time_budget=0.5, batch_size=16), progress=False)
    assert result.stopped_by == "time budget" and result.step > 0


def test_fit_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="budget"):
        fit(make_recipe(), DATA, tmp_path / "x", Loop(), progress=False)


def test_losses_move_and_d_learns_to_separate(tmp_path):
    recipe, result = run(tmp_path, "l", 40)
    first = json.loads(result.run.history_path.read_text().splitlines()[0])
    # a few steps in, D already tells real from fake better than chance
    assert first["d_real"] > first["d_fake"]


def test_d_gate_skips_d_updates_when_d_is_far_ahead(tmp_path):
    recipe = make_recipe(d_gate=1.0)
    recipe.extra_state.update(last_loss_d=0.1, last_loss_g=5.0)  # D far ahead
    before = [p.clone() for p in recipe.D.parameters()]
    from gancourse.data import BatchStream

    scalars = recipe.step(BatchStream(DATA, 16).next())
    assert scalars["d_trained"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, recipe.D.parameters(), strict=True))


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"step": 1, "w": torch.ones(3)}, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint({"step": 2, "w": torch.zeros(3)}, path)
    assert load_checkpoint(path)["step"] == 1  # the last good checkpoint survives
    assert os.listdir(tmp_path) == ["last.pt"]  # and no temporary file is left behind


def test_checkpoints_load_with_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_checkpoint(path)


def test_exported_generator_reloads_and_samples_the_same(tmp_path):
    recipe, result = run(tmp_path, "g", 5)
    generator = load_generator(result.run.generator_path)
    z = torch.randn(4, 8)
    recipe.G.eval()
    assert torch.allclose(generator(z), recipe.G(z))


def test_seed_everything_turns_off_cudnn_benchmark():
    torch.backends.cudnn.benchmark = True
    seed_everything(3)
    assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True


def test_evaluator_hook_records_metrics(tmp_path):
    calls = []

    def evaluator(recipe):
        calls.append(1)
        return {"fid": 1.0 / len(calls)}

    recipe = make_recipe()
    result = fit(recipe, DATA, tmp_path / "e", Loop(steps=10, batch_size=16, eval_every=5), evaluator=evaluator,
                 progress=False)
    assert [r["step"] for r in result.run.evaluations()] == [5, 10]
    assert RunDir(tmp_path / "e").read_metrics() == {"step": 10, "fid": 0.5}


def test_fit_refuses_negative_budgets_without_naming_itself(tmp_path):
    with pytest.raises(UserError, match="steps must be a number >= 0"):
        fit_blobs(tmp_path / "n", -5)
    with pytest.raises(UserError, match="give a training budget") as info:
        fit(make_recipe(), DATA, tmp_path / "n", Loop(epochs=0), progress=False)
    assert "fit()" not in str(info.value)
