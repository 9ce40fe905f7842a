"""Does a training loss track sample quality? Align a logged loss with a metric over training, correlate.

The WGAN argument (Arjovsky et al. 2017, Gulrajani et al. 2017) is that the critic's estimate of the
Wasserstein distance falls as the samples get better, while a DCGAN discriminator's loss says who is
winning the game, not how good the samples are. Here both claims become numbers: for each evaluation of
a run (say FID at step s), take the loss logged just before s (averaged over the last ``window`` log
records, since single-batch losses are noisy) and correlate the two series across training.

What the numbers can say: whether, *within one run*, the loss moves with the metric. They cannot say
that equal losses mean equal quality across runs or architectures, and with few evaluations (under ~6)
a correlation is mostly noise; both FID and the estimate also trend with training time, so a strong
correlation is necessary for a useful loss, not proof of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from ..runs import RunDir


def loss_at_evaluations(run: RunDir | str | Path, loss_key: str, metric_key: str = "fid", window: int = 3,
                        skip_first: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, loss, metric) at every evaluation of ``run`` that has a logged loss before it.

    ``skip_first`` drops an evaluation at step 0 (before any training, when no loss exists anyway).
    """
    run = run if isinstance(run, RunDir) else RunDir(run)
    logs = [r for r in run.losses() if loss_key in r]
    if not logs:  # nothing logged yet (a run shorter than its logging interval)
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    log_steps = np.array([r["step"] for r in logs])
    log_values = np.array([r[loss_key] for r in logs], dtype=float)
    steps, losses, metrics = [], [], []
    for record in run.evaluations():
        step, value = record["step"], record["eval"].get(metric_key)
        if value is None or (skip_first and step == 0):
            continue
        before = np.flatnonzero(log_steps <= step)
        if len(before) == 0:
            continue
        steps.append(step)
        losses.append(log_values[before[-window:]].mean())
        metrics.append(value)
    return np.array(steps), np.array(losses), np.array(metrics, dtype=float)


@dataclass
class Tracking:
    """How well one logged loss tracked one metric over a run."""

    run: str
    loss_key: str
    metric_key: str
    n: int  # evaluations used
    pearson: float
    spearman: float  # rank correlation: insensitive to the scale, only to the order

    def as_row(self) -> dict[str, object]:
        return {"run": self.run, "loss": self.loss_key, "metric": self.metric_key, "evaluations": self.n,
                "pearson r": round(self.pearson, 3), "spearman rho": round(self.spearman, 3)}


def correlate(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Pearson r, Spearman rho); NaN when fewer than 3 points or a constant series."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def loss_tracking(run: RunDir | str | Path, loss_key: str, metric_key: str = "fid", window: int = 3,
                  name: str | None = None) -> Tracking:
    run = run if isinstance(run, RunDir) else RunDir(run)
    _, losses, metrics = loss_at_evaluations(run, loss_key, metric_key, window)
    pearson, spearman = correlate(losses, metrics)
    return Tracking(name or run.path.name, loss_key, metric_key, len(losses), pearson, spearman)
