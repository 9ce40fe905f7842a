"""Figures that read run directories: losses, metrics over training, sample grids, a training GIF.

Every function returns the matplotlib Figure so notebooks display it and scripts can save it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

if not matplotlib.get_backend() or "inline" not in matplotlib.get_backend():
    try:  # headless (CLI, CI): no display needed; inside Jupyter the inline backend is kept
        import IPython

        if IPython.get_ipython() is None:
            matplotlib.use("Agg")
    except ImportError:
        matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from ..runs import RunDir
from .frontend import live_frontend
from .grids import grid_image


def _run(run: RunDir | str | Path) -> RunDir:
    return run if isinstance(run, RunDir) else RunDir(run)


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def show_images(images: torch.Tensor, title: str = "", nrow: int | None = None, ax=None, size: float = 5.0):
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(grid_image(images, nrow), interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    return ax.figure


def show_sample_file(path: str | Path, title: str = "", ax=None, size: float = 5.0):
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(Image.open(path), interpolation="nearest")
    ax.set_title(title or Path(path).stem.replace("_", " "))
    ax.axis("off")
    return ax.figure


def plot_losses(run: RunDir | str | Path, keys: Sequence[str] = ("loss_d", "loss_g"), window: int = 5, ax=None):
    """Discriminator and generator losses over steps (raw, faint; smoothed, solid)."""
    records = _run(run).losses()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = [r["step"] for r in records]
    for key in keys:
        values = [r[key] for r in records if key in r]
        if not values:
            continue
        line, = ax.plot(steps[: len(values)], values, alpha=0.25)
        ax.plot(steps[: len(values)], smooth(values, window), color=line.get_color(), label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Losses: they say who is winning, not how good the samples are")
    ax.legend()
    return ax.figure


def plot_metric(run: RunDir | str | Path, key: str = "fid", floor_key: str | None = "fid_floor", ax=None,
                label: str | None = None, log: bool = True):
    """A metric over training, with the real-data floor as a dashed line."""
    evals = _run(run).evaluations()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = [r["step"] for r in evals if key in r["eval"]]
    values = [r["eval"][key] for r in evals if key in r["eval"]]
    ax.plot(steps, values, marker="o", label=label or key)
    floors = [r["eval"][floor_key] for r in evals if floor_key and floor_key in r["eval"]]
    if floors:
        ax.axhline(floors[-1], ls="--", color="grey", label=f"real-vs-real floor ({floors[-1]:.2f})")
    if log and values and min(values) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(key)
    ax.set_title(f"{key} over training (lower is better)" if key in ("fid", "kid", "kl_uniform") else key)
    ax.legend()
    return ax.figure


def plot_training(run: RunDir | str | Path, metrics: Sequence[str] = ("fid", "modes")):
    """Losses and metrics on a shared step axis: the figure that shows what the losses hide."""
    run = _run(run)
    present = [m for m in metrics if any(m in r["eval"] for r in run.evaluations())]
    fig, axes = plt.subplots(1 + len(present), 1, figsize=(8, 2.8 * (1 + len(present))), sharex=True)
    axes = np.atleast_1d(axes)
    plot_losses(run, ax=axes[0])
    for ax, key in zip(axes[1:], present, strict=True):
        plot_metric(run, key, "fid_floor" if key == "fid" else None, ax=ax, log=key == "fid")
    fig.tight_layout()
    return fig


def sample_strip(run: RunDir | str | Path, count: int = 6):
    """Sample grids at evenly spaced steps through training, left to right."""
    paths = _run(run).sample_paths()
    if not paths:
        raise FileNotFoundError(f"{_run(run).path} has no sample grids yet")
    chosen = [paths[round(i)] for i in np.linspace(0, len(paths) - 1, min(count, len(paths)))]
    fig, axes = plt.subplots(1, len(chosen), figsize=(2.6 * len(chosen), 2.8))
    for ax, path in zip(np.atleast_1d(axes), chosen, strict=True):
        show_sample_file(path, f"step {int(path.stem.split('_')[1])}", ax=ax)
    fig.tight_layout()
    return fig


def training_gif(run: RunDir | str | Path, out: str | Path | None = None, ms_per_frame: int = 250) -> Path:
    """An animated GIF of the fixed-noise sample grids, one frame per saved step."""
    run = _run(run)
    paths = run.sample_paths()
    if not paths:
        raise FileNotFoundError(f"{run.path} has no sample grids to animate")
    frames = [Image.open(p).convert("RGB") for p in paths]
    out = Path(out) if out else run.path / "training.gif"
    frames[0].save(out, save_all=True, append_images=frames[1:] + [frames[-1]] * 4, duration=ms_per_frame, loop=0)
    return out


class LiveView:
    """A ``fit`` hook that redraws the latest samples and the loss curves in a notebook as training runs.

    Outside a notebook (papermill, nbmake, scripts) it draws only at the end, so executed notebooks keep
    one figure instead of dozens.
    """

    def __init__(self, every_samples: int = 1) -> None:
        self.interactive = live_frontend()
        self.every, self.seen, self.handle = every_samples, 0, None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "sample":
            self.seen += 1
            if self.interactive and self.seen % self.every == 0:
                self._draw(info)
        elif event == "end":
            self._draw(info)

    def _draw(self, info: dict[str, Any]) -> None:
        from IPython.display import display

        run: RunDir = info["run"]
        paths = run.sample_paths()
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.6]})
        if paths:
            show_sample_file(paths[-1], f"samples at step {info['step']}", ax=left)
        if run.losses():
            plot_losses(run, ax=right)
        fig.tight_layout()
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
