"""Notebook 05 (Quick Draw cGAN): per-class sample grids of a conditional generator, one row per class.

Keeping the noise fixed across rows makes each column one "style" drawn as every class, and keeping it
fixed across training (``ClassGridRecorder``, a ``fit`` hook) turns the saved grids into an animation of
the generator learning each class (``class_grid_gif``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..data import to_unit_range
from ..engine.sampling import sample_generator
from ..runs import RunDir
from ..viz.grids import grid_image

FOLDER = "class_grids"


@torch.no_grad()
def draw_class(source, label: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images of class ``label`` in [-1, 1] from a recipe, a ``GeneratorSampler`` or an exported generator.

    The noise depends only on ``seed``, so the same seed gives the same "style" for every class.
    """
    labels = torch.full((n,), int(label), dtype=torch.long)
    if hasattr(source, "sample"):
        return source.sample(n, labels=labels, generator=torch.Generator().manual_seed(seed)).float().cpu()

    return sample_generator(source, n, labels=labels, seed=seed)


def class_grid(source, num_classes: int, per_class: int = 8, seed: int = 0) -> torch.Tensor:
    """(num_classes * per_class, C, H, W): row k holds ``per_class`` drawings of class k."""
    return torch.cat([draw_class(source, k, per_class, seed) for k in range(num_classes)])


def labelled_grid(images: torch.Tensor, class_names: Sequence[str], per_class: int, title: str = "") -> Image.Image:
    """The grid as a PIL image with each row's class name on its left (and a title above)."""
    grid = Image.fromarray(grid_image(images, nrow=per_class))
    if images.shape[-1] <= 32:  # small drawings: doubled, so a GIF viewer shows strokes, not specks
        grid = grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST)
    font = ImageFont.load_default()
    margin = 8 + max(int(ImageDraw.Draw(grid).textlength(name, font=font)) for name in class_names)
    top = 18 if title else 0
    canvas = Image.new("RGB", (grid.width + margin, grid.height + top), "white")
    canvas.paste(grid, (margin, top))
    draw = ImageDraw.Draw(canvas)
    row = grid.height / len(class_names)
    for k, name in enumerate(class_names):
        draw.text((4, top + row * (k + 0.5) - 6), name, fill="black", font=font)
    if title:
        draw.text((margin, 3), title, fill="black", font=font)
    return canvas


def show_class_rows(images: torch.Tensor, class_names: Sequence[str], per_class: int, title: str = "", ax=None):
    """A matplotlib figure of images laid out one row per class (row k: ``per_class`` images of class k)."""
    import matplotlib.pyplot as plt

    picture = grid_image(images, nrow=per_class)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * per_class, 0.6 * len(class_names) + 0.6))
    ax.imshow(picture, interpolation="nearest")
    rows = picture.shape[0] / len(class_names)
    ax.set_yticks([rows * (k + 0.5) for k in range(len(class_names))], list(class_names))
    ax.set_xticks([])
    ax.set_title(title)
    return ax.figure


def show_class_grid(source, class_names: Sequence[str], per_class: int = 8, seed: int = 0, title: str = "",
                    ax=None):
    """The generator's per-class grid (the same noise in every row), class names down the left."""
    images = class_grid(source, len(class_names), per_class, seed)
    return show_class_rows(images, class_names, per_class, title or "one row per class, the same noise in every row",
                           ax)


def real_class_grid(data, per_class: int = 8, seed: int = 0) -> torch.Tensor:
    """Real images of a labelled ``ImageSet``, ``per_class`` of each class, one class after the other."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for k in range(data.num_classes):
        where = torch.nonzero(data.labels == k).flatten()
        picks.append(where[torch.randperm(len(where), generator=g)[:per_class]].sort().values)
    rows = [data.rows(index)[0] for index in picks]  # per class, so a memory map's sorting keeps classes apart
    return to_unit_range(torch.cat(rows))


def plot_conditional_report(report):
    """Per-class conditional accuracy beside the judge's accuracy on real images, and the confusion matrix."""
    import matplotlib.pyplot as plt

    names = report.class_names
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    x = np.arange(len(names))
    left.bar(x - 0.2, [report.per_class_accuracy[n] for n in names], 0.4, label="generated, asked for this class")
    left.bar(x + 0.2, [report.real_accuracy[n] for n in names], 0.4, label="real test drawings", alpha=0.6)
    left.axhline(0.9, color="black", ls="--", lw=1)
    left.set_xticks(x, names, rotation=30, ha="right")
    left.set_ylim(0, 1.05)
    left.set_ylabel("share the judge labels as that class")
    left.set_title(f"conditional accuracy: {report.accuracy:.1%} overall")
    left.legend(fontsize=8, loc="lower left")
    shares = report.confusion / np.maximum(report.confusion.sum(axis=1, keepdims=True), 1)
    right.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    right.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    right.set_yticks(x, names, fontsize=8)
    right.set_xlabel("judged as")
    right.set_ylabel("asked for")
    right.set_title("where the misses go")
    fig.tight_layout()
    return fig


class ClassGridRecorder:
    """A ``fit`` hook: every time ``fit`` saves its fixed-noise samples, save them as a labelled per-class grid.

    A conditional recipe's fixed samples cycle through the classes (sample i has label i % n_classes,
    see ``CGAN.fixed_inputs``), so row k of the grid is samples k, k + K, k + 2K, ... Frames go to
    ``<run>/class_grids/step_XXXXXX.png``; ``fit``'s ``sample_every`` sets how often. It draws nothing
    itself, so it leaves the training run exactly as it would be without it.
    """

    def __init__(self, class_names: Sequence[str], per_class: int = 8) -> None:
        self.class_names, self.per_class = list(class_names), per_class

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event != "sample":
            return
        k = len(self.class_names)
        images = info["images"].detach().float().cpu()
        per_class = min(self.per_class, len(images) // k)
        if per_class < 1:
            raise ValueError(f"fit saves {len(images)} samples: too few for {k} classes (raise n_samples)")
        rows = torch.cat([images[c::k][:per_class] for c in range(k)])
        folder = info["run"].path / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        labelled_grid(rows, self.class_names, per_class, f"step {info['step']}").save(
            folder / f"step_{info['step']:06d}.png")


def class_grid_frames(run: RunDir | str | Path) -> list[Path]:
    run = run if isinstance(run, RunDir) else RunDir(run)
    return sorted((run.path / FOLDER).glob("step_*.png"))


def class_grid_gif(run: RunDir | str | Path, out: str | Path | None = None, ms_per_frame: int = 400) -> Path:
    """An animated GIF of the per-class grids saved by ``ClassGridRecorder``, one frame per saved step."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    paths = class_grid_frames(run)
    if not paths:
        raise FileNotFoundError(f"{run.path / FOLDER} has no frames: train with ClassGridRecorder among the hooks")
    frames = [Image.open(p).convert("RGB") for p in paths]
    size = frames[-1].size  # the row labels' width is the same in every frame, but be safe
    frames = [f if f.size == size else f.resize(size) for f in frames]
    out = Path(out) if out else run.path / "class_grid.gif"
    frames[0].save(out, save_all=True, append_images=frames[1:] + [frames[-1]] * 3, duration=ms_per_frame,
                   loop=0)
    return out

