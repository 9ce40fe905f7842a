import dataclasses

import pytest
import torch

from gancourse.checkpoints import save_checkpoint
from gancourse.engine.restore import restore_recipe
from gancourse.errors import CheckpointDamaged, MissingInput
from gancourse.recipes import RECIPES
from gancourse.runs import RunDir

from ..helpers import blob_images


def test_the_recipe_comes_back_with_its_trained_weights_in_eval_mode(tmp_path):
    cls = RECIPES["wgan-gp"]
    trained = cls(cls.config_for(blob_images(32), g_width=8, d_width=8, nz=8, n_critic=1))
    with torch.no_grad():
        for p in trained.D.parameters():
            p.add_(0.5)  # weights no freshly built recipe has
    run = RunDir(tmp_path / "run").create()
    run.write_config({"recipe": "wgan-gp", "recipe_config": dataclasses.asdict(trained.config)})
    save_checkpoint({"recipe": trained.state_dict(), "step": 1}, run.last_checkpoint)

    restored = restore_recipe(run.path, device="cpu")
    assert type(restored) is cls and restored.config == trained.config
    assert not restored.D.training and not restored.G.training
    for a, b in zip(restored.D.parameters(), trained.D.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_run_without_a_checkpoint_says_to_train_it_first(tmp_path):
    run = RunDir(tmp_path / "run").create()
    run.write_config({"recipe": "dcgan", "recipe_config": {}})
    with pytest.raises(MissingInput, match="no checkpoint yet.*train it first"):
        restore_recipe(run)


def _saved_run(tmp_path):
    cls = RECIPES["wgan-gp"]
    trained = cls(cls.config_for(blob_images(32), g_width=8, d_width=8, nz=8, n_critic=1))
    run = RunDir(tmp_path / "run").create()
    run.write_config({"recipe": "wgan-gp", "recipe_config": dataclasses.asdict(trained.config)})
    return trained, run


def test_a_checkpoint_saved_before_digests_still_restores(tmp_path):
    trained, run = _saved_run(tmp_path)
    torch.save({"recipe": trained.state_dict(), "step": 1}, run.last_checkpoint)  # the old format: no digest
    restored = restore_recipe(run.path, device="cpu")
    for a, b in zip(restored.G.parameters(), trained.G.parameters(), strict=True):
        assert torch.equal(a, b)


def test_changed_bytes_in_the_checkpoint_are_refused_not_restored(tmp_path):
    trained, run = _saved_run(tmp_path)
    save_checkpoint({"recipe": trained.state_dict(), "step": 1}, run.last_checkpoint)
    data = bytearray(run.last_checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    run.last_checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointDamaged, match="last.pt is damaged"):
        restore_recipe(run.path, device="cpu")
