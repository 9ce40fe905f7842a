"""An exponential moving average of G's weights (Yazıcı et al. 2019; every StyleGAN/BigGAN ``G_ema``).

G's weights oscillate from step to step as it chases D; their running average sits near the middle
of the oscillation and draws cleaner, more stable images at no training cost. The average is what
gets sampled, scored and exported; the raw G keeps training.

After each G update: ``ema = beta * ema + (1 - beta) * G`` for every parameter, and buffers (batch-norm
running statistics) are copied as they are, as StyleGAN2 does. ``beta`` comes from a decay per step,
or from a half-life in images (StyleGAN2's ``ema_kimg``): ``beta = 0.5 ** (batch / half_life_images)``,
so the weight of an old G halves every ``half_life_images`` images whatever the batch size.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn

from .checkpoints import generator_class, load_checkpoint
from .runs import RunDir


def ema_beta(ema: float, batch_size: int) -> float:
    """The per-step decay for the ``ema`` knob: a decay itself if in (0, 1), else a half-life in images."""
    if ema <= 0:
        raise ValueError(f"ema must be > 0 to compute a decay, got {ema}")
    if ema < 1:
        return float(ema)
    return 0.5 ** (batch_size / ema)


def check_ema(ema: float) -> None:
    if ema < 0:
        raise ValueError(f"ema must be 0 (off), a decay per step in (0, 1), or a half-life in images >= 1; got {ema}")


class EMA:
    """A frozen copy of ``model`` whose weights follow ``model``'s by an exponential moving average."""

    def __init__(self, model: nn.Module, ema: float) -> None:
        check_ema(ema)
        self.ema = ema
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, batch_size: int) -> None:
        beta = ema_beta(self.ema, batch_size)
        # parameters() of a DDP wrapper lists the wrapped module's, in the same order
        for avg, p in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.lerp_(p.detach(), 1.0 - beta)
        for avg, b in zip(self.model.buffers(), model.buffers(), strict=True):
            avg.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)


def generators_of_run(run_dir) -> dict[str, nn.Module]:
    """``{"G": ..., "EMA of G": ...}`` of a finished run trained with ``ema``, rebuilt from its last checkpoint,
    in eval mode: the network that was trained and the average that was exported, side by side."""
    run = RunDir(run_dir)
    export = load_checkpoint(run.generator_path)
    state = load_checkpoint(run.last_checkpoint)["recipe"]
    if "ema" not in state:
        raise ValueError(f"{run.path} was trained without ema: it has no average of G")
    cls = generator_class(export["class"], run.generator_path)
    out = {}
    for name, weights in (("G", state["modules"]["G"]), ("EMA of G", state["ema"])):
        g = cls(**export["config"])
        g.load_state_dict(weights)
        out[name] = g.eval()
    return out
