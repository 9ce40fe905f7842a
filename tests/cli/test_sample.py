"""gancourse sample (gancourse.cli.sample)."""

from __future__ import annotations

import torch

from gancourse.checkpoints import load_checkpoint
from gancourse.cli import main
from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.recipes import DCGAN
from gancourse.runs import RunDir

from ..helpers import blob_images

DATA = blob_images()


def make_recipe(**options):
    seed_everything(0)
    return DCGAN(DCGAN.config_for(DATA, nz=8, g_width=8, d_width=8, **options))


def fit_blobs(out, steps, recipe=None, evaluator=None, hooks=(), **loop):
    return fit(recipe or make_recipe(), DATA, out, Loop(steps=steps, batch_size=16, **loop), evaluator=evaluator,
               hooks=hooks, progress=False)


def nan_run(tmp_path) -> RunDir:
    """A finished run whose exported generator holds NaN (as runs before this fix could end)."""
    out = tmp_path / "nanrun"
    fit_blobs(out, 2)
    run = RunDir(out)
    export = load_checkpoint(run.generator_path)
    export["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                            for k, v in export["state_dict"].items()}
    torch.save(export, run.generator_path)
    return run


def test_sample_refuses_a_generator_that_draws_nan(tmp_path, capsys):
    run = nan_run(tmp_path)
    out = tmp_path / "s.pt"
    assert main(["sample", str(run.path), "--n", "4", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "NaN" in captured.err and "[-1, 1]" not in captured.out and not out.exists()


def test_sample_prints_the_range_it_wrote(tmp_path, capsys):
    out = tmp_path / "run"
    fit_blobs(out, 2)
    assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.pt")]) == 0
    images = torch.load(tmp_path / "s.pt")
    assert f"[{images.min().item():.2f}, {images.max().item():.2f}]" in capsys.readouterr().out
