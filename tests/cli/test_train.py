"""``gancourse train`` (gancourse.cli.train): its flags are generated from RunSpec's fields, the spec checks
their values once (one line naming the flag), the recipe's options are listed, and a tiny run trains,
resumes and resumes a run written before config.json had a schema."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math

import pytest

from gancourse.cli import main
from gancourse.cli.train import add_spec_flags, flag_of, spec_fields
from gancourse.engine import run_options
from gancourse.engine.config_schema import SCHEMA
from gancourse.engine.spec import RunSpec
from gancourse.runs import RunDir

from ..helpers import CLI_TINY, HAS_MNIST, error_line

TINY_REAL = ["--dataset", "mnist", "--limit", "64", "--batch-size", "8", "--set", "g_width=8", "--set", "d_width=8",
             "--no-eval", "--quiet"]


def spec_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_spec_flags(parser)
    return parser


def test_every_spec_field_with_a_flag_has_that_flag_with_the_fields_help_and_default():
    actions = {a.dest: a for a in spec_parser()._actions}
    fields = spec_fields()
    assert {f.name for f in fields} >= {"steps", "epochs", "time_budget", "batch_size", "seed", "limit", "flip",
                                        "allow_stand_in", "eval_every", "eval_samples", "sample_every",
                                        "checkpoint_every", "evaluate", "dataset", "recipe"}
    for f in fields:
        action = actions[f.name]
        assert action.option_strings == [f.metadata["flag"]] and action.help == f.metadata["help"]
        assert action.default == f.default  # no flag given: the spec's own default
    assert tuple(actions["dataset"].choices) == RunSpec.__dataclass_fields__["dataset"].metadata["choices"]
    # the options given no flag: the recipe's and the dataset's, set with --set and --data-option
    assert {f.name for f in dataclasses.fields(RunSpec)} - {f.name for f in fields} == {"data_options",
                                                                                        "recipe_options"}


def test_flags_parse_into_the_spec_they_describe():
    args = spec_parser().parse_args(["--steps", "7", "--time-budget", "2.5", "--no-eval", "--flip", "--seed", "3"])
    spec = RunSpec(**{f.name: getattr(args, f.name) for f in spec_fields()})
    assert spec == RunSpec(steps=7, time_budget=2.5, evaluate=False, flip=True, seed=3)


def test_help_shows_each_flags_help_and_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert exit_info.value.code == 0
    for f in spec_fields():
        assert f.metadata["flag"] in text and " ".join(f.metadata["help"].split()) in text
    assert "(default: 2000)" in text and "(default: mnist)" in text
    assert "skip metrics (default" not in text  # an on/off flag's default goes unsaid


def below_minimum(field: dataclasses.Field) -> list[object]:
    """Values the field's metadata refuses: below its least value, not finite, above its greatest."""
    low = field.metadata["minimum"]
    values = [low - 1]
    if field.type == "float":
        values.append(math.inf)
    if "maximum" in field.metadata:
        values.append(field.metadata["maximum"] + 1)
    return values


CHECKED = [(f, value) for f in spec_fields() if "minimum" in f.metadata for value in below_minimum(f)]


@pytest.mark.parametrize(("field", "value"), CHECKED, ids=[f"{f.name}={v}" for f, v in CHECKED])
def test_each_bad_number_is_one_line_naming_its_flag_and_nothing_is_written(tmp_path, capsys, field, value):
    out = tmp_path / "r"
    budget = [] if field.name in ("steps", "epochs", "time_budget") else ["--steps", "5"]
    assert main(["train", "--dataset", "mnist", *budget, field.metadata["flag"], str(value), "--out", str(out)]) == 2
    line = error_line(capsys)
    assert line.endswith(str(value)) or f"got {value}" in line
    assert line.split(": error: ")[1].startswith(f"{field.metadata['flag']} must be")  # the flag, not the field
    assert not out.exists()


def test_no_budget_is_one_line_naming_the_flags(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "give a training budget" in line and "--steps" in line and "--time-budget" in line
    assert not (tmp_path / "r").exists()


def test_flag_of_names_the_flag_a_user_types():
    assert flag_of("time_budget") == "--time-budget" and flag_of("evaluate") == "--no-eval"


def test_options_lists_the_recipes_config_fields_with_their_defaults(capsys):
    assert main(["train", "--recipe", "wgan-gp", "--options"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("wgan-gp options (--set KEY=VALUE")
    listed = {line.split()[0] for line in lines[1:]}
    assert {"n_critic=5", "lr_d=0.0001", "amp=true"} <= listed, listed
    assert not any(name.startswith(("image_size=", "channels=")) for name in listed)  # those follow the data


def test_options_show_a_config_fields_help_from_its_metadata(monkeypatch):
    @dataclasses.dataclass
    class Config:
        image_size: int = 28
        lr: float = dataclasses.field(default=2e-4, metadata={"help": "Adam's step size"})
        policy: str = ""

    class Recipe:
        pass

    Recipe.Config = Config
    monkeypatch.setattr(run_options, "recipe_class", lambda name: Recipe)
    text = run_options.describe_options("mine")
    assert "lr=0.0002" in text and "Adam's step size" in text and 'policy=""' in text and "image_size=" not in text


@pytest.mark.skipif(not HAS_MNIST, reason="needs real MNIST under $GANCOURSE_DATA")
def test_a_tiny_real_run_trains_records_its_flags_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY_REAL, "--steps", "2", "--seed", "3", "--out", str(out)]) == 0
    assert f"run directory: {out}" in capsys.readouterr().out
    config = RunDir(out).read_config()
    spec = RunSpec.from_json(config["spec"])
    assert config["schema"] == SCHEMA and config["data"]["source"] == "real"
    assert (spec.steps, spec.seed, spec.limit, spec.batch_size, spec.evaluate) == (2, 3, 64, 8, False)
    assert spec.recipe_options["g_width"] == 8 and spec.recipe_options["d_width"] == 8
    assert main(["train", *TINY_REAL, "--steps", "4", "--seed", "3", "--out", str(out)]) == 0  # resumes
    assert "steps: 4 (steps)" in capsys.readouterr().out and (out / "samples" / "step_000004.png").is_file()


def test_a_run_written_before_schemas_resumes_from_the_same_command(offline_root, tmp_path, capsys):
    out = tmp_path / "old"
    assert main(["train", *CLI_TINY, "--steps", "2", "--out", str(out)]) == 0
    run = RunDir(out)
    config = run.read_config()
    for key in ("schema", "spec", "flip"):  # as gancourse wrote it before specs
        config.pop(key)
    run.config_path.write_text(json.dumps(config))
    assert main(["train", *CLI_TINY, "--steps", "4", "--out", str(out)]) == 0
    assert run.read_config()["schema"] == SCHEMA and RunSpec.from_json(run.read_config()["spec"]).steps == 4
    capsys.readouterr()
    assert main(["train", *CLI_TINY, "--steps", "6", "--flip", "--out", str(out)]) == 2  # another run: refused
    assert "flip: there False, now True" in capsys.readouterr().err  # the list of differences, a line each


def test_a_diffaugment_policy_is_given_with_commas_as_the_docs_write_it(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *CLI_TINY, "--set", "diffaugment=color,translation,cutout", "--steps", "2", "--out",
                 str(out)]) == 0
    assert RunDir(out).read_config()["recipe_config"]["diffaugment"] == "color,translation,cutout"
    # numbers where text is wanted are still refused
    assert main(["train", *CLI_TINY, "--set", "upsample=1,2", "--steps", "2", "--out", str(tmp_path / "other")]) == 2
