"""A run directory written by hand (history, evaluations, sample grids), for tests of what reads runs."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from gancourse.runs import RunDir


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
