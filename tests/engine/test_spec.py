"""The run as a value: RunSpec checks itself (from its fields' metadata), names its run, round-trips through
config.json and is the identity a resume is checked against. Old config.json files: test_config_schema.py."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
import torch

from gancourse.engine.config_schema import SCHEMA, read_config
from gancourse.engine.experiment import train
from gancourse.engine.spec import BadValue, RunSpec
from gancourse.engine.training import ResumeMismatch
from gancourse.errors import UserError
from gancourse.recipes import DCGAN

from ..helpers import blob_images

DATA = blob_images()
TINY = {"nz": 8, "g_width": 8, "d_width": 8}


def tiny_spec(**changes) -> RunSpec:
    return RunSpec("mnist", "dcgan", recipe_options=TINY, batch_size=16, steps=4, evaluate=False).replace(**changes)


def test_a_spec_is_frozen_and_equal_to_its_config_json_round_trip():
    spec = RunSpec("quickdraw", "cgan", data_options={"categories": ("cat", "apple")},
                   recipe_options={"lr_d": 4e-4}, seed=3, flip=True, steps=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 4
    assert RunSpec.from_json(json.dumps(spec.to_json())) == spec
    assert RunSpec.from_json(spec.to_json()).data_options == {"categories": ["cat", "apple"]}
    assert len({spec, RunSpec.from_json(spec.to_json()), spec.replace(seed=4)}) == 2  # usable as a key


@pytest.mark.parametrize(("changes", "named"), [
    ({"dataset": "mnits"}, "fashion-mnist"),  # the allowed datasets are listed
    ({"recipe": "dcgna"}, "wgan-gp"),
    ({"recipe_options": {"lr_dd": 1e-3}}, "lr_d"),  # an unknown option lists the recipe's options
    ({"recipe_options": {"lr_d": "fast"}}, "lr_d"),  # a value of the wrong type names the option
    ({"recipe_options": {"loss": "nope"}}, "non-saturating"),  # the recipe's Config checks the value
    ({"recipe_options": {"label_smoothing": 0.7}}, "label_smoothing"),
    ({"data_options": {"colour": "red"}}, "mnist has no option colour"),
    ({"seed": -1}, "seed"),
    ({"batch_size": 0}, "batch_size"),
    ({"steps": 2.5}, "steps"),
    ({"time_budget": -1}, "time_budget"),
    ({"eval_samples": 1}, "eval_samples"),
    ({"flip": "yes"}, "flip"),
])
def test_a_spec_refuses_wrong_values_naming_what_is_allowed(changes, named):
    with pytest.raises(UserError, match=named):
        RunSpec(**{"steps": 1, **changes})


def test_replace_routes_recipe_options_and_keeps_only_those_of_a_new_recipe():
    spec = RunSpec(recipe_options={"dropout": 0.3}, steps=5)
    variant = spec.replace(lr_d=4e-4, seed=2)
    assert variant.recipe_options == {"dropout": 0.3, "lr_d": 4e-4} and variant.seed == 2
    assert spec.recipe_options == {"dropout": 0.3}  # the original is untouched
    critic = variant.replace(recipe="wgan-gp", n_critic=3)
    assert critic.recipe_options == {"dropout": 0.3, "lr_d": 4e-4, "n_critic": 3}
    assert critic.replace(recipe="dcgan").recipe_options == {"dropout": 0.3, "lr_d": 4e-4}  # DCGAN has no n_critic
    with pytest.raises(UserError, match="no option n_critik; its options: .*lr_d"):
        spec.replace(n_critik=3)


def test_run_names_are_readable_stable_and_differ_for_every_change_of_identity():
    spec = RunSpec("mnist", "dcgan", recipe_options={"lr_d": 4e-4}, batch_size=64, seed=1, steps=100)
    name = spec.run_name()
    assert name.startswith("mnist-dcgan-lr_d0.0004-bs64") and "seed1" in name
    assert spec.replace(steps=5000, eval_every=10).run_name() == name  # a larger budget extends the same run
    others = {spec.replace(lr_d=2e-4).run_name(), spec.replace(seed=2).run_name(), spec.replace(flip=True).run_name(),
              spec.replace(batch_size=32).run_name(), spec.replace(limit=100).run_name(), spec.run_name("stand-in"),
              spec.replace(dataset="fashion-mnist").run_name()}
    assert name not in others and len(others) == 7
    many = RunSpec("quickdraw", "cgan", data_options={"categories": [f"c{i}" for i in range(40)]}, steps=1)
    assert len(many.run_name()) < 120 and "/" not in many.run_name() and "and1more" in many.run_name()
    assert many.run_name() != many.replace(data_options={"categories": [f"c{i}" for i in range(41)]}).run_name()


def test_train_takes_a_spec_names_its_run_and_records_the_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path))
    spec = tiny_spec()
    filled = spec.replace(**DCGAN.defaults_for(torch.device("cpu"), "mnist")["recipe_options"])  # left out
    result = train(spec, data=DATA, progress=False)
    assert result.run.path == tmp_path / filled.run_name() and result.step == 4
    config = read_config(result.run)
    assert config["schema"] == SCHEMA and RunSpec.from_json(config["spec"]) == filled
    assert train(spec.replace(steps=6), data=DATA, progress=False).step == 6  # a larger budget extends it


def test_a_resume_with_another_spec_lists_every_difference(tmp_path):
    train(tiny_spec(lr_d=2e-4), out=tmp_path / "run", data=DATA, progress=False)
    with pytest.raises(ResumeMismatch) as info:
        train(tiny_spec(lr_d=4e-4, seed=5), out=tmp_path / "run", data=DATA, progress=False)
    message = str(info.value)
    assert "lr_d: there 0.0002, now 0.0004" in message and "seed: there 0, now 5" in message
    assert "delete" in message


@pytest.mark.parametrize(("field", "flag"), [("steps", "--steps"), ("time_budget", "--time-budget"),
                                             ("eval_samples", "--eval-samples"), ("evaluate", "--no-eval")])
def test_the_fields_carry_their_flag_and_help(field, flag):
    metadata = RunSpec.__dataclass_fields__[field].metadata
    assert metadata["flag"] == flag and metadata["help"]


def test_a_bad_value_names_its_field_and_what_is_wrong_apart():
    with pytest.raises(BadValue) as info:
        RunSpec(steps=1, time_budget=-1)
    assert info.value.name == "time_budget" and info.value.problem == "must be at least 0, got -1"
    assert str(info.value) == "time_budget must be at least 0, got -1"
    with pytest.raises(BadValue, match="epochs must be a finite number"):
        RunSpec(steps=1, epochs=float("nan"))
    assert RunSpec(steps=1, evaluate=False, eval_samples=0).eval_samples == 0  # not evaluated: not checked
    assert pickle.loads(pickle.dumps(info.value)).name == "time_budget"  # a sweep worker sends it back whole
