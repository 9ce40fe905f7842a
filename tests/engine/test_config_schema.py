"""config.json's schema (gancourse.engine.config_schema): every older file migrates to the current one, and
runs trained before a change resume (or are refused, naming the difference) through the migration."""

from __future__ import annotations

import json

import pytest

from gancourse.engine.config_schema import SCHEMA, migrate, read_config
from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.engine.training import ResumeMismatch
from gancourse.errors import UserError
from gancourse.runs import RunDir

from ..helpers import blob_images, fit_blobs

DATA = blob_images()
TINY = {"nz": 8, "g_width": 8, "d_width": 8}


def tiny_spec(**changes) -> RunSpec:
    return RunSpec("mnist", "dcgan", recipe_options=TINY, batch_size=16, steps=4, evaluate=False).replace(**changes)


def before_schemas(run: RunDir) -> dict:
    """config.json as gancourse wrote it before specs and schemas: no schema, no spec, no flip, and a recipe
    config without a field added later (amp). Returns the spec the run was written with."""
    config = run.read_config()
    written = config.pop("spec")
    for key in ("schema", "flip"):
        config.pop(key)
    config["recipe_config"].pop("amp")
    run.config_path.write_text(json.dumps(config, indent=2))
    return written


def test_a_new_config_is_written_in_the_current_schema_and_migrates_to_itself(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "new", data=DATA, progress=False).run
    config = run.read_config()
    assert config["schema"] == SCHEMA and RunSpec.from_json(config["spec"]).steps == 4
    assert migrate(config) == config


def test_a_config_from_before_schemas_migrates_to_the_spec_it_was_trained_with(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "old", data=DATA, progress=False).run
    written = RunSpec.from_json(before_schemas(run))
    raw = run.read_config()
    config = read_config(run)
    assert config["schema"] == SCHEMA and config["flip"] is False  # those runs did not flip
    assert config["recipe_config"]["amp"] is True  # a field added since: the default it trained with
    assert raw == run.read_config() and "schema" not in raw  # reading changes nothing on disk
    spec = RunSpec.from_json(config["spec"])
    assert spec.identity() == written.identity()  # rebuilt from the recorded recipe config
    assert spec.steps == 4 and not spec.evaluate


def test_a_run_from_before_schemas_resumes_and_is_written_in_the_current_schema(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "old", data=DATA, progress=False).run
    before_schemas(run)
    assert train(tiny_spec(steps=6), out=run.path, data=DATA, progress=False).step == 6
    assert run.read_config()["schema"] == SCHEMA and "spec" in run.read_config()


def test_a_run_from_before_schemas_of_another_run_is_refused_with_the_difference(tmp_path):
    run = train(tiny_spec(), out=tmp_path / "old", data=DATA, progress=False).run
    before_schemas(run)
    with pytest.raises(ResumeMismatch, match="dropout: there 0.0, now 0.3"):
        train(tiny_spec(dropout=0.3, steps=6), out=run.path, data=DATA, progress=False)


def test_a_run_of_fit_alone_has_no_spec_and_resumes_from_an_old_config(tmp_path):
    fit_blobs(tmp_path / "fit", 4)
    run = RunDir(tmp_path / "fit")
    config = run.read_config()
    assert config["schema"] == SCHEMA and config["spec"] is None  # no RunSpec behind a recipe built by hand
    for key in ("schema", "spec", "flip"):
        config.pop(key)
    run.config_path.write_text(json.dumps(config))
    assert migrate(run.read_config())["spec"] is None
    assert fit_blobs(tmp_path / "fit", 6).step == 6


def test_what_is_not_a_config_of_this_gancourse_is_one_line():
    with pytest.raises(UserError, match="records no recipe"):
        migrate({"something": 1})
    with pytest.raises(UserError, match="newer than this gancourse"):
        migrate({"recipe": "dcgan", "schema": SCHEMA + 1})
