import dataclasses

import pytest
import torch

from gancourse.checkpoints import save_checkpoint
from gancourse.engine.restore import restore_recipe
from gancourse.errors import MissingInput
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
