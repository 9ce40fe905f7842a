"""The run as a value: RunSpec checks itself, names its run, round-trips through config.json and is the
identity a resume is checked against (old config.json files included)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.engine.training import ResumeMismatch
from gancourse.errors import UserError
from gancourse.runs import RunDir

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
    result = train(spec, data=DATA, progress=False)
    assert result.run.path == tmp_path / spec.run_name() and result.step == 4
    config = result.run.read_config()
    assert RunSpec.from_config(config) == spec  # batch size and options as given: nothing filled in
    assert train(spec.replace(steps=6), data=DATA, progress=False).step == 6  # a larger budget extends it


def test_a_resume_with_another_spec_lists_every_difference(tmp_path):
    train(tiny_spec(), out=tmp_path / "run", data=DATA, progress=False)
    with pytest.raises(ResumeMismatch) as info:
        train(tiny_spec(lr_d=4e-4, seed=5), out=tmp_path / "run", data=DATA, progress=False)
    message = str(info.value)
    assert "lr_d: there 0.0002, now 0.0004" in message and "seed: there 0, now 5" in message
    assert "delete" in message


def _old_format(run: RunDir) -> None:
    """config.json as gancourse wrote it before specs: no spec, no flip, a recipe config without a later field."""
    config = run.read_config()
    for key in ("spec", "flip"):
        config.pop(key)
    config["recipe_config"].pop("amp")
    run.config_path.write_text(json.dumps(config, indent=2))


def test_an_old_config_json_still_resumes_and_gives_its_spec(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "old", data=DATA, progress=False).run
    _old_format(run)
    old_spec = RunSpec.from_config(run.read_config())
    assert old_spec.identity() == tiny_spec().identity()  # rebuilt from the recorded recipe config
    assert train(tiny_spec(steps=6), out=run.path, data=DATA, progress=False).step == 6
    assert "spec" in run.read_config()  # written in the new format from now on


def test_an_old_config_json_of_another_run_is_refused_with_the_difference(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "old", data=DATA, progress=False).run
    _old_format(run)
    with pytest.raises(ResumeMismatch, match="dropout: there 0.0, now 0.3"):
        train(tiny_spec(dropout=0.3, steps=6), out=run.path, data=DATA, progress=False)


def test_from_config_refuses_a_config_that_names_no_run():
    with pytest.raises(UserError, match="no dataset or recipe"):
        RunSpec.from_config({"something": 1})


def test_the_cli_builds_a_spec_and_the_spec_names_its_run(tmp_path, monkeypatch, capsys):
    from gancourse.cli import main

    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "empty-data"))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "runs"))
    args = ["train", "--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--batch-size", "8", "--set",
            "g_width=8", "--set", "d_width=8", "--no-eval", "--quiet", "--steps", "2"]
    assert main(args) == 0
    expected = RunSpec("mnist", "dcgan", recipe_options={"g_width": 8, "d_width": 8}, batch_size=8, limit=64)
    run = RunDir(tmp_path / "runs" / expected.run_name("stand-in"))
    assert f"run directory: {run.path}" in capsys.readouterr().out
    spec = RunSpec.from_config(run.read_config())
    assert spec.identity() == expected.identity() and spec.steps == 2 and spec.allow_stand_in
    assert main([*args[:-1], "4"]) == 0  # the same command with a larger budget extends that run
    assert RunSpec.from_config(run.read_config()).steps == 4 and run.samples_dir.joinpath("step_000004.png").is_file()
    assert main([*args, "--set", "lr_d=1e-3"]) == 0  # another setting: another run beside it
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_the_cli_points_at_a_run_directory_of_the_old_default_name(tmp_path, monkeypatch, capsys):
    from gancourse.cli.train import _point_at_the_old_default

    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path))
    _point_at_the_old_default(RunSpec(seed=3))
    assert capsys.readouterr().err == ""
    (tmp_path / "mnist-dcgan-seed3").mkdir()
    (tmp_path / "mnist-dcgan-seed3" / "config.json").write_text("{}")
    _point_at_the_old_default(RunSpec(seed=3))
    assert f"--out {tmp_path / 'mnist-dcgan-seed3'}" in capsys.readouterr().err
