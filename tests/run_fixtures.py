"""Run directories for tests of what reads runs: one written by hand (history, evaluations, sample grids), one
trained on the blobs whose generator was then spoiled with NaN."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from gancourse.checkpoints import load_checkpoint
from gancourse.runs import RunDir

from .helpers import fit_blobs


def fake_run(path: Path, steps: int = 10, every_eval: int = 2, samples: int = 3) -> RunDir:
    """A run whose loss_d falls 1 -> 0.1 and whose FID falls with it, plus ``samples`` sample grids."""
    run = RunDir(path).create()
    run.write_config({"recipe": "dcgan", "dataset": "blobs"})
    for step in range(1, steps + 1):
        run.append_history({"step": step, "loss_d": 1.0 - 0.09 * (step - 1), "loss_g": 0.5 + 0.1 * step})
        if step % every_eval == 0:
            run.append_history({"step": step, "eval": {"fid": 100.0 - 8 * step, "fid_floor": 5.0, "modes": step}})
    for i in range(samples):
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(run.samples_dir / f"step_{(i + 1) * 100:06d}.png")
    return run


def nan_run(tmp_path: Path) -> RunDir:
    """A finished run whose exported generator holds NaN (as runs before this fix could end)."""
    out = tmp_path / "nanrun"
    fit_blobs(out, 2)
    run = RunDir(out)
    export = load_checkpoint(run.generator_path)
    export["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                            for k, v in export["state_dict"].items()}
    torch.save(export, run.generator_path)
    return run
