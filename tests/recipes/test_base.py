"""gancourse.recipes.base: what every recipe inherits (its config from the data, one optimiser update, the hooks the
loop calls with their defaults, its state), checked on a toy recipe of two linear layers."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn as nn

from gancourse.recipes import RECIPES
from gancourse.recipes.base import Recipe

from ..helpers import BLOBS


@dataclass
class ToyConfig:
    image_size: int = 8
    channels: int = 1
    n_classes: int = 0
    width: int = 3
    lr: float = 0.5


class Toy(Recipe):
    """Two linear "networks" trained by plain SGD, so one update is checkable by hand."""

    name = "toy"
    Config = ToyConfig

    def __init__(self, config: ToyConfig, device: torch.device | str = "cpu") -> None:
        super().__init__(config, torch.device(device))
        torch.manual_seed(0)
        self.modules = {"G": nn.Linear(2, config.width), "D": nn.Linear(config.width, 1)}
        self.optimizers = {k: torch.optim.SGD(m.parameters(), lr=config.lr) for k, m in self.modules.items()}
        self.extra_state = {"steps": 0}


class ConditionalToy(Toy):
    conditional = True


def test_config_for_reads_size_channels_and_classes_from_the_data():
    assert Toy.config_for(BLOBS) == ToyConfig(image_size=16, channels=1, n_classes=0)
    assert ConditionalToy.config_for(BLOBS).n_classes == 4  # only a conditional recipe takes the data's classes
    assert Toy.config_for(BLOBS, width=7, image_size=32) == ToyConfig(image_size=32, channels=1, width=7)


def test_config_for_refuses_an_unknown_option_and_lists_the_known_ones():
    with pytest.raises(TypeError, match=r"toy has no option depth, nz; its options: channels, image_size, lr, "
                                        r"n_classes, width"):
        Toy.config_for(BLOBS, depth=2, nz=8)


def test_defaults_for_is_a_batch_of_64_and_no_options_and_a_fresh_copy_each_time():
    defaults = Toy.defaults_for(torch.device("cpu"), "mnist")
    assert defaults == {"batch_size": 64, "data_options": {}, "recipe_options": {}}
    defaults["recipe_options"]["width"] = 99  # a caller that fills in the options does not change the next run's
    assert Toy.defaults_for(torch.device("cpu"), "mnist")["recipe_options"] == {}
    for name, cls in RECIPES.items():  # every recipe answers, whatever the dataset
        answer = cls.defaults_for(torch.device("cpu"), "a-dataset-nobody-measured")
        assert set(answer) == {"batch_size", "data_options", "recipe_options"} and answer["batch_size"] >= 1, name


def test_update_clears_old_gradients_backpropagates_and_steps_only_that_network():
    recipe = Toy(ToyConfig())
    g, d = recipe.modules["G"], recipe.modules["D"]
    d.weight.grad = torch.full_like(d.weight, 100.0)  # stale gradients of an earlier backward must not count
    g.weight.grad = torch.full_like(g.weight, 100.0)
    g_before = copy.deepcopy(g)
    x = torch.randn(4, 2)
    loss = d(g(x)).square().mean()
    expected = torch.autograd.grad(d(g_before(x)).square().mean(), [g_before.weight])[0]
    d_before = d.weight.detach().clone()
    recipe.update("G", loss)
    assert torch.allclose(g.weight, g_before.weight - 0.5 * expected, atol=1e-6)
    assert torch.equal(d.weight, d_before)  # D got a gradient from this loss, but only G's optimiser stepped


def test_the_loops_hooks_have_defaults_so_a_recipe_needs_none_of_them():
    recipe = Toy(ToyConfig())
    assert recipe.prepare(BLOBS) is None  # nothing to keep from the data by default
    assert [recipe.grid_columns(n) for n in (1, 4, 10, 16, 64)] == [1, 2, 3, 4, 8]  # a square grid
    with pytest.raises(NotImplementedError):
        recipe.step(None)
    with pytest.raises(NotImplementedError):
        recipe.fixed_inputs(4)


def test_train_switches_every_network():
    recipe = Toy(ToyConfig())
    recipe.train(False)
    assert not any(m.training for m in recipe.modules.values())
    recipe.train()
    assert all(m.training for m in recipe.modules.values())


def test_parameter_counts_are_per_network():
    assert Toy(ToyConfig(width=3)).parameter_counts() == {"G": 2 * 3 + 3, "D": 3 + 1}


def test_state_dict_round_trips_networks_optimisers_and_extra_state():
    trained = Toy(ToyConfig())
    for _ in range(2):
        loss = trained.modules["D"](trained.modules["G"](torch.randn(4, 2))).mean()
        trained.update("G", loss)
        trained.extra_state["steps"] += 1
    trained.optimizers["G"].param_groups[0]["lr"] = 0.125  # e.g. a schedule moved it
    state = trained.state_dict()
    assert set(state) == {"modules", "optimizers", "extra"}

    fresh = Toy(ToyConfig(lr=0.9))
    fresh.modules["G"].weight.data.zero_()
    fresh.load_state_dict(state)
    for name, module in trained.modules.items():
        for key, value in module.state_dict().items():
            assert torch.equal(fresh.modules[name].state_dict()[key], value), (name, key)
    assert fresh.optimizers["G"].param_groups[0]["lr"] == 0.125
    assert fresh.extra_state == {"steps": 2}
    state["extra"]["steps"] = 7
    assert trained.extra_state["steps"] == 2  # the saved state is a copy, not the live counters


def test_generator_export_names_the_recipe_class_and_config_of_g():
    class Configured(nn.Linear):
        config = {"in_features": 2, "out_features": 3}

    recipe = Toy(ToyConfig())
    recipe.modules["G"] = Configured(2, 3)
    export = recipe.generator_export()
    assert (export["recipe"], export["class"], export["config"]) == ("toy", "Configured", recipe.modules["G"].config)
    assert export["config"] is not recipe.modules["G"].config
    assert export["state_dict"].keys() == {"weight", "bias"}
