"""Several variants of one experiment on the same data, seed and budget, scored by the same evaluator.

Notebook 02 compares the balancing knobs (two learning rates, dropout, label smoothing, the loss-ratio
gate, spectral norm), notebook 03 and ``benchmarks/stacked_mnist.py`` the cures for mode collapse. A
variant is a name and the changes to a base run spec (``spec.replace(**changes)``); ``recipe`` among
them picks another recipe (e.g. ``wgan-gp``). Each variant is an ordinary run directory, so a re-run
resumes instead of retraining, and sweeps and plots read them like any other run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import ImageSet
from ..runs import RunDir
from .experiment import train
from .spec import RunSpec
from .training import Evaluator, Hook


@dataclass
class VariantResult:
    name: str
    options: dict[str, Any]
    run: RunDir
    steps: int
    seconds: float  # training wall time of this call (0 when the run was already complete)
    metrics: dict[str, float] = field(default_factory=dict)


def run_variants(base: RunSpec, variants: dict[str, dict[str, Any]], *, out_root: str | Path,
                 data: ImageSet | None = None, evaluator: Evaluator | None = None, hooks: Sequence[Hook] = (),
                 progress: bool = True) -> list[VariantResult]:
    """Train ``base.replace(**options)`` for every variant into ``out_root/<name>`` and score it with ``evaluator``.

    Every variant shares the base's seed, data order and budget; ``evaluator`` (built once) judges them all,
    and without one none is evaluated.
    """
    results = []
    for name, options in variants.items():
        spec = base.replace(**options, evaluate=evaluator is not None)
        start = time.perf_counter()
        result = train(spec, out=Path(out_root) / name, data=data, evaluator=evaluator, hooks=hooks,
                       progress=progress)
        results.append(VariantResult(name, {"recipe": spec.recipe, **options}, result.run, result.step,
                                     time.perf_counter() - start, dict(result.metrics)))
    return results


def variants_table(results: list[VariantResult], metrics: tuple[str, ...] = ()):
    """A pandas DataFrame, one row per variant: its options, its metrics (all, or ``metrics``) and its time."""
    import pandas as pd

    rows = []
    for r in results:
        shown = {k: v for k, v in r.metrics.items() if not metrics or k in metrics}
        described = ", ".join(f"{k}={v}" for k, v in r.options.items() if k != "recipe" or v != "dcgan")
        rows.append({"variant": r.name, "options": described or "(baseline)", **shown,
                     "steps": r.steps, "train s": round(r.seconds, 1)})
    return pd.DataFrame(rows).set_index("variant")


def plot_variants(results: list[VariantResult], metrics: tuple[str, ...] = ("fid",), floors: bool = True):
    """One bar chart per metric, variants side by side, with the real-data floor as a dashed line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    names = [r.name for r in results]
    for ax, key in zip(axes[0], metrics, strict=True):
        values = [r.metrics.get(key, float("nan")) for r in results]
        ax.bar(range(len(names)), values, color="tab:blue")
        floor = next((r.metrics[f"{key}_floor"] for r in results if f"{key}_floor" in r.metrics), None)
        if floors and floor is not None:
            ax.axhline(floor, ls="--", color="grey", label=f"real data ({floor:.3g})")
            ax.legend(fontsize=8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        better = "lower" if key in ("fid", "kid", "kl_uniform", "kl_per_channel") else "higher"
        ax.set_title(f"{key} ({better} is better)", fontsize=10)
    fig.tight_layout()
    return fig
