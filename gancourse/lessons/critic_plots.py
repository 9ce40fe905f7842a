"""Figures for notebook 04: losses against FID over training, and what clipping does to a critic.

- ``plot_loss_against_metric``: a loss (left axis) and FID (right axis) on one step axis, one panel per
  run, with the correlation in the title.
- ``plot_gradient_norms``: the distribution of ``||grad_x f||`` at interpolates for several critics; the
  penalty centres it on 1, clipping pins it far below (Gulrajani et al. 2017, Figure 1).
- ``plot_critic_weights``: a clipped critic's weights pile up at +-c.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..metrics.tracking import loss_at_evaluations, loss_tracking
from ..runs import RunDir
from ..viz.plots import plt, smooth


def plot_loss_against_metric(panels: Sequence[tuple[str, RunDir | str | Path, str]], metric_key: str = "fid",
                             window: int = 3):
    """One panel per (title, run, loss key): the loss over training, and the metric at each evaluation."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, run, loss_key) in zip(axes[0], panels, strict=True):
        run = run if isinstance(run, RunDir) else RunDir(run)
        logs = [r for r in run.losses() if loss_key in r]
        steps = [r["step"] for r in logs]
        values = [r[loss_key] for r in logs]
        ax.plot(steps, values, color="tab:blue", alpha=0.25)
        ax.plot(steps, smooth(values, 5), color="tab:blue", label=loss_key)
        ax.set_xlabel("generator step")
        ax.set_ylabel(loss_key, color="tab:blue")
        right = ax.twinx()
        eval_steps, _, metric = loss_at_evaluations(run, loss_key, metric_key, window, skip_first=False)
        right.plot(eval_steps, metric, "o-", color="tab:red", label=metric_key)
        right.set_ylabel(f"{metric_key} (lower is better)", color="tab:red")
        if len(metric) and min(metric) > 0:
            right.set_yscale("log")
        tracking = loss_tracking(run, loss_key, metric_key, window)
        ax.set_title(f"{title}\n{loss_key} vs {metric_key}: r = {tracking.pearson:.2f}, "
                     f"rho = {tracking.spearman:.2f} (n = {tracking.n})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_gradient_norms(norms: dict[str, torch.Tensor], bins: int = 40):
    """Histograms of per-sample gradient norms at interpolates, one per critic, on a log axis."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    values = {k: v.detach().cpu().float().clamp_min(1e-8).numpy() for k, v in norms.items()}
    low = min(v.min() for v in values.values())
    high = max(v.max() for v in values.values())
    edges = np.logspace(np.log10(low) - 0.1, np.log10(high) + 0.1, bins)
    for name, v in values.items():
        ax.hist(v, bins=edges, alpha=0.6, label=f"{name} (median {np.median(v):.3g})")
    ax.axvline(1.0, color="black", ls="--", lw=1, label="norm 1 (what the penalty asks for)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\|\nabla_x f(\hat x)\|_2$ at interpolates between real and fake")
    ax.set_ylabel("samples")
    ax.set_title("The critic's gradient norm: clipping vs penalty")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_critic_weights(critic: torch.nn.Module, clip: float, title: str = "clipped critic"):
    """Histogram of every convolution weight of a critic, with the clipping bounds marked."""
    weights = torch.cat([m.weight.detach().flatten().cpu() for m in critic.modules()
                         if isinstance(m, torch.nn.Conv2d)]).numpy()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(weights, bins=60, color="tab:purple")
    for x in (-clip, clip):
        ax.axvline(x, color="black", ls="--", lw=1)
    share = float(np.mean(np.abs(weights) >= clip * (1 - 1e-6)))
    ax.set_title(f"{title}: {share:.0%} of conv weights sit on the bounds +-{clip}")
    ax.set_xlabel("weight value")
    fig.tight_layout()
    return fig
