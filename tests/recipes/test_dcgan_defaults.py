"""What a dcgan run gets for the settings its caller leaves out (``DCGAN.defaults_for``, ``MEASURED_DEFAULTS``).

`gancourse train --dataset mnist` trains notebook 01's "discriminator from 2018" with an EMA of G; other datasets
and the recipes built on DCGAN's step keep the base defaults; notebook 01 still trains the 2016 network it
teaches first, whatever the defaults are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gancourse.cli import main
from gancourse.engine import memory
from gancourse.recipes import DCGAN, RECIPES
from gancourse.recipes.base import Recipe
from gancourse.runs import RunDir

THE_2018_DISCRIMINATOR = {"d_norm": "spectral", "beta1": 0.0, "lr_g": 5e-4, "lr_d": 5e-4, "ema": 5000.0}
NOTEBOOK_01 = Path(__file__).parents[2] / "notebooks" / "01_mnist_dcgan.ipynb"
CPU = torch.device("cpu")


@pytest.mark.parametrize("device", [torch.device("cpu"), torch.device("cuda")], ids=["cpu", "cuda"])
def test_mnist_gets_the_2018_discriminator_with_an_ema_of_g(device):
    defaults = DCGAN.defaults_for(device, "mnist")
    assert defaults == {"batch_size": 32, "data_options": {}, "recipe_options": THE_2018_DISCRIMINATOR}
    defaults["recipe_options"]["ema"] = 0.0  # a caller changing its copy changes nobody else's defaults
    assert DCGAN.defaults_for(device, "mnist")["recipe_options"]["ema"] == 5000.0


@pytest.mark.parametrize("dataset", ["fashion-mnist", "stacked-mnist", "quickdraw", "wikiart"])
def test_datasets_nobody_measured_keep_the_base_defaults(dataset):
    assert DCGAN.defaults_for(CPU, dataset) == Recipe.defaults_for(CPU, dataset)


@pytest.mark.parametrize("recipe", ["wgan", "wgan-gp", "cgan", "acgan", "fastgan"])
def test_recipes_built_on_the_dcgan_step_do_not_inherit_its_mnist_measurements(recipe):
    assert issubclass(RECIPES[recipe], DCGAN)
    assert RECIPES[recipe].defaults_for(CPU, "mnist") == Recipe.defaults_for(CPU, "mnist")


def test_the_2018_settings_build_a_valid_config():
    config = DCGAN.Config(**THE_2018_DISCRIMINATOR)
    assert config.d_norm == "spectral" and config.beta1 == 0.0 and config.ema == 5000.0


def test_gancourse_train_on_mnist_records_the_2018_settings_and_says_what_it_filled(offline_root, tmp_path,
                                                                                     monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--steps", "2", "--no-eval",
                 "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    config = RunDir(out).read_config()
    assert config["batch_size"] == 32
    assert {k: config["recipe_config"][k] for k in THE_2018_DISCRIMINATOR} == THE_2018_DISCRIMINATOR
    assert config["spec"]["batch_size"] == 32 and config["spec"]["recipe_options"] == THE_2018_DISCRIMINATOR
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[gancourse] dcgan on mnist")]
    assert len(said) == 1
    assert all(part in said[0] for part in ("batch_size=32", "d_norm=spectral", "beta1=0", "ema=5000", "--set"))


def test_options_given_on_the_command_line_win_over_the_mnist_defaults(offline_root, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--steps", "1", "--no-eval",
                 "--quiet", "--device", "cpu", "--batch-size", "16", "--set", "d_norm=batch", "--set", "beta1=0.5",
                 "--out", str(out)]) == 0
    config = RunDir(out).read_config()
    assert config["batch_size"] == 16
    assert config["recipe_config"]["d_norm"] == "batch" and config["recipe_config"]["beta1"] == 0.5
    assert config["recipe_config"]["ema"] == 5000.0  # what was left out still follows the defaults


def _parameters_and_setup_of_notebook_01() -> tuple[str, str]:
    cells = [c for c in json.loads(NOTEBOOK_01.read_text())["cells"] if c["cell_type"] == "code"]
    index = next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    return "".join(cells[index]["source"]), "".join(cells[index + 1]["source"])


def test_notebook_01s_main_run_is_the_2016_dcgan_whatever_the_defaults(tmp_path, monkeypatch):
    """The setup cell's spec gives every knob the 2018 defaults would change, so train() fills none of them."""
    from gancourse.engine.run_options import fill_defaults

    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path))
    monkeypatch.setenv("GANCOURSE_HEADLESS", "1")
    parameters, setup = _parameters_and_setup_of_notebook_01()
    namespace: dict = {}
    exec("from gancourse import setup\n" + parameters + "\nprofile = 'smoke'\n" + setup, namespace)
    spec = namespace["spec"]
    assert spec.dataset == "mnist" and spec.recipe == "dcgan" and spec.batch_size == 64
    batch_size, _, options = fill_defaults(spec.recipe, spec.dataset, CPU, spec.batch_size, {},
                                           dict(spec.recipe_options), True)
    assert batch_size == 64
    assert options == {"lr_g": 5e-4, "lr_d": 5e-4, "beta1": 0.5, "d_norm": "batch", "ema": 0.0}
    assert namespace["compare"] is False  # the comparison runs are opt-in
