"""Notebook 02 (WikiArt DCGAN): is D memorising the training images?

D's accuracy on training reals against held-out reals, over training.

With a few hundred paintings a discriminator can learn the training set by heart: it keeps calling
the training paintings real while it starts calling *new* paintings of the same artists fake. The gap
between the two accuracies is the sign (Karras et al. 2020, "Training GANs with limited data", Fig. 1);
DiffAugment closes it. D is judged as training judges it: in training mode (batch statistics), on
batches of real images, through the recipe's augmentation, with its state and every random stream
left as they were, so that watching a run does not change it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from ..data import to_unit_range
from ..runs import RunDir

RECORDS = "d_accuracy.jsonl"


@torch.no_grad()
def d_real_accuracy(recipe: Any, images: torch.Tensor, labels: torch.Tensor | None = None,
                    batch_size: int = 32, seed: int = 0) -> float:
    """The fraction of ``images`` (uint8 or [-1, 1] floats, real ones) that the recipe's D calls real (logit > 0).

    The augmentation's draws (and D's dropout) come from ``seed``, so the same D gives the same answer."""
    d = copy.deepcopy(recipe.D).train()  # a copy: batch norm in training mode would update the real D's statistics
    device = next(d.parameters()).device
    see = getattr(recipe, "seen_by_d", lambda x: x)
    images = to_unit_range(images) if images.dtype == torch.uint8 else images.float()
    called_real = judged = 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size].to(device)
            if len(chunk) < 2:
                continue  # batch norm needs two samples
            y = labels[start:start + batch_size].to(device) if labels is not None else None
            logits = d(see(chunk), y) if y is not None else d(see(chunk))
            called_real += int((logits.float() > 0).sum())
            judged += len(chunk)
    return called_real / max(1, judged)


def same_size_subsets(train: torch.Tensor, held_out: torch.Tensor, n: int = 96, seed: int = 0
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random images of each set (fewer if a set is smaller; the same count on both sides).

    Random, not the first ``n``: image folders are often sorted (by artist here), and a first-96 slice of
    the training set would hold one artist while the held-out slice holds all three; the gap would then
    measure the artists, not memorisation.
    """
    n = min(n, len(train), len(held_out))
    g = torch.Generator().manual_seed(seed)
    pick = [torch.randperm(len(x), generator=g)[:n].sort().values for x in (train, held_out)]
    return torch.as_tensor(train)[pick[0]], torch.as_tensor(held_out)[pick[1]]


class DAccuracyMonitor:
    """A ``fit`` hook: every ``every`` steps, D's accuracy on ``train`` and ``held_out`` real images (uint8).

    The recipe is the one ``fit`` is training (the hook's ``info["recipe"]``), so one monitor serves every
    run of a comparison. Records go to ``d_accuracy.jsonl`` in each run directory (read them with
    :func:`read_d_accuracy`), so a finished run shows its curve again without retraining.
    """

    def __init__(self, train: torch.Tensor, held_out: torch.Tensor, every: int = 50, n: int = 96,
                 seed: int = 0) -> None:
        self.train, self.held_out = same_size_subsets(train, held_out, n, seed)
        self.every = every

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        step = info["step"]
        if event not in ("log", "end") or (event == "log" and step % self.every):
            return
        recipe = info["recipe"]
        record = {"step": step, "d_acc_train": d_real_accuracy(recipe, self.train),
                  "d_acc_held_out": d_real_accuracy(recipe, self.held_out)}
        with open(Path(info["run"].path) / RECORDS, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_d_accuracy(run: RunDir | str | Path) -> list[dict[str, float]]:
    """The monitor's records of a run, one per step (the last written wins after a resume), by step."""
    path = Path(run.path if isinstance(run, RunDir) else run) / RECORDS
    if not path.is_file():
        return []
    by_step = {}
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def plot_d_accuracy(runs: dict[str, RunDir | str | Path], ax=None):
    """D's accuracy on training (solid) and held-out (dashed) real images over training, one colour per run."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, (name, run) in enumerate(runs.items()):
        records = read_d_accuracy(run)
        if not records:
            continue
        steps = [r["step"] for r in records]
        colour = f"C{i}"
        ax.plot(steps, [r["d_acc_train"] for r in records], "-o", ms=3, color=colour, label=f"{name}: training")
        ax.plot(steps, [r["d_acc_held_out"] for r in records], "--o", ms=3, color=colour, label=f"{name}: held out")
    ax.set_xlabel("step")
    ax.set_ylabel("real paintings D calls real")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax.set_title("D memorising: training vs held-out paintings", fontsize=10)
    return ax
