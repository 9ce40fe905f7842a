"""Several variants of one experiment on the same data, seed and budget, scored by the same evaluator.

Notebook 02 compares the balancing knobs (two learning rates, dropout, label smoothing, the loss-ratio
gate, spectral norm), notebook 03 and ``benchmarks/stacked_mnist.py`` the cures for mode collapse. A
variant is a name and the options that differ from the common ones; ``recipe`` among them picks another
recipe (e.g. ``wgan-gp``). Each variant is an ordinary run directory, so a re-run resumes instead of
retraining, and sweeps and plots read them like any other run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import ImageSet
from ..runs import RunDir
from .experiment import train
from .training import Evaluator


@dataclass
class VariantResult:
    name: str
    options: dict[str, Any]
    run: RunDir
    steps: int
    seconds: float  # training wall time of this call (0 when the run was already complete)
    metrics: dict[str, float] = field(default_factory=dict)


def run_variants(variants: dict[str, dict[str, Any]], *, dataset: str, data: ImageSet, out_root: str | Path,
                 steps: int, evaluator: Evaluator | None, recipe: str = "dcgan", seed: int = 0,
                 batch_size: int = 64, eval_every: int = 0, progress: bool = True, hooks=(), flip: bool = False,
                 data_options: dict[str, Any] | None = None, **common: Any) -> list[VariantResult]:
    """Train every variant for ``steps`` steps (same seed, same data order) and score it with ``evaluator``."""
    results = []
    for name, options in variants.items():
        options = dict(options)
        variant_recipe = options.pop("recipe", recipe)
        start = time.perf_counter()
        result = train(dataset, variant_recipe, Path(out_root) / name, steps=steps, data=data, seed=seed,
                       batch_size=batch_size, evaluator=evaluator, evaluate=evaluator is not None,
                       eval_every=eval_every, progress=progress, hooks=hooks, flip=flip,
                       data_options=data_options, **{**common, **options})
        results.append(VariantResult(name, {"recipe": variant_recipe, **options}, result.run, result.step,
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
