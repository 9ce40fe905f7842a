"""A run end to end (gancourse.engine.experiment): ``train(spec, out=...)`` loads the data, builds the recipe,
trains, evaluates and leaves a run directory; the same call with a larger budget extends it."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from gancourse.checkpoints import load_checkpoint, load_generator
from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.runs import RunDir

from ..helpers import fit_blobs

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# MNIST from $GANCOURSE_DATA (its generated stand-in where the real data is missing), 256 images, tiny networks,
# evaluation on with 100 samples: a whole run in seconds.
TINY_RUN = RunSpec(dataset="mnist", allow_stand_in=True, limit=256, batch_size=16, steps=6, seed=1, sample_every=3,
                   recipe_options={"g_width": 8, "d_width": 8, "nz": 8}, eval_samples=100)


def test_train_leaves_the_whole_run_directory_and_the_same_call_with_more_steps_extends_it(tmp_path):
    out = tmp_path / "run"
    result = train(TINY_RUN, out=out, progress=False)
    run = RunDir(out)
    assert (result.step, result.stopped_by, result.run.path) == (6, "steps", out)

    config = json.loads(run.config_path.read_text())
    recorded = RunSpec.from_json(config["spec"])  # the spec as filled in: what a resume is checked against
    assert recorded.replace(recipe_options=TINY_RUN.recipe_options) == TINY_RUN
    assert recorded.recipe_options.items() >= TINY_RUN.recipe_options.items()  # and the recipe's defaults for the rest
    assert config["dataset"] == "mnist" and config["data"]["images"] == 256 and config["batch_size"] == 16

    assert load_checkpoint(run.last_checkpoint)["step"] == 6
    z = torch.randn(5, 8)
    with torch.no_grad():
        assert load_generator(run.generator_path)(z).shape == (5, 1, 28, 28)
    assert set(result.metrics) >= {"fid", "precision", "recall"}
    assert run.read_metrics()["step"] == 6 and run.read_metrics()["fid"] == pytest.approx(result.metrics["fid"])
    assert [p.name for p in run.sample_paths()] == ["step_000000.png", "step_000003.png", "step_000006.png"]
    width, height = Image.open(run.samples_dir / "step_000006.png").size
    assert width == height > 7 * 28  # the 64 fixed samples, 8 by 8
    early_grid = (run.samples_dir / "step_000003.png").read_bytes()

    extended = train(TINY_RUN.replace(steps=10), out=out, progress=False)
    assert extended.step == 10 and load_checkpoint(run.last_checkpoint)["step"] == 10
    assert [e["step"] for e in run.evaluations()] == [6, 10] and run.read_metrics()["step"] == 10
    assert (run.samples_dir / "step_000003.png").read_bytes() == early_grid  # resumed, not trained again
    assert RunSpec.from_json(json.loads(run.config_path.read_text())["spec"]).steps == 10

    straight = train(TINY_RUN.replace(steps=10), out=tmp_path / "straight", progress=False)
    resumed, uninterrupted = load_checkpoint(run.generator_path), load_checkpoint(straight.run.generator_path)
    for key, value in uninterrupted["state_dict"].items():  # 6 + 4 steps are the 10 steps of one run
        assert torch.equal(resumed["state_dict"][key], value), key


def test_resume_checks_flip(tmp_path):
    from gancourse.engine.training import ResumeMismatch

    out = tmp_path / "flip"
    fit_blobs(out, 2)
    with pytest.raises(ResumeMismatch, match="flip"):
        fit_blobs(out, 4, flip=True)
