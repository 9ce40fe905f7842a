"""Mode collapse on stacked MNIST: the cures as variants of one baseline, the counts, and the published numbers.

Notebook 03 and ``benchmarks/stacked_mnist.py`` share this module, so the table a student sees and the
figures the benchmark prints come from the same definitions: :data:`CURES` (each a set of options on top
of the baseline), :func:`cure_variants`, :data:`PUBLISHED` (what the PacGAN and Unrolled GAN papers report)
and the plots of the mode histogram.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from ..metrics.samples import CHUNK, EVAL_SEED, draw_samples
from ..metrics.scores import mode_histogram
from ..recipes import RECIPES

# The baseline collapses by the Unrolled GAN paper's recipe: D a quarter of the width of G (and G learning
# five times faster, the setting that collapsed the 2-D toys): a few digit triples drawn well, which training
# leaves only slowly. What it and each cure measured: docs/results/03_mode_collapse.md.
BASELINE: dict[str, Any] = dict(g_width=32, d_width=8, lr_g=1e-3, lr_d=2e-4)

# Each cure is the baseline plus these options (``recipe`` picks another recipe); D keeps the baseline's
# width unless the option says otherwise, so each row changes one thing (except WGAN-GP, see its note).
# "D width 16" and "D width 32" turn the knob of the Unrolled GAN table (D of 1/4 and 1/2 the size): how
# much capacity D has to notice what G leaves out.
CURES: dict[str, dict[str, Any]] = {
    "baseline": {},
    "minibatch std": dict(minibatch_std=True),
    "pack 2": dict(pack=2),
    "pack 4": dict(pack=4),
    "spectral norm D": dict(d_norm="spectral"),
    # one change of the several WGAN-GP makes (below): layer norm in D instead of batch norm, nothing else
    "layer norm D": dict(d_norm="layer"),
    # Not one change but several: the same width-8 network as a critic with the Wasserstein loss and the gradient
    # penalty (lambda 10), layer norm instead of batch norm, Adam's betas (0, 0.9) instead of (0.5, 0.999), and
    # n_critic=2 critic updates per G step (the paper uses 5; 2 keeps it near the others' cost). The learning
    # rates stay the baseline's. "layer norm D" is the normalisation change alone.
    "WGAN-GP": dict(recipe="wgan-gp", n_critic=2, track_grad_norm=False),
    "D width 16": dict(d_width=16),
    "D width 32": dict(d_width=32),
}


def cure_variants(names: list[str] | tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """``{name: options}`` for :func:`gancourse.engine.comparisons.run_variants`: the cures named (default: all).

    WGAN-GP is left out, with a note, when the ``wgan-gp`` recipe is not installed.
    """
    names = list(CURES) if names is None else list(names)
    unknown = [n for n in names if n not in CURES]
    if unknown:
        raise ValueError(f"unknown cure {', '.join(map(repr, unknown))}; choose from {', '.join(CURES)}")
    variants = {}
    for name in names:
        options = dict(CURES[name])
        if options.get("recipe", "dcgan") not in RECIPES:
            print(f"[gancourse] skipping {name}: recipe {options['recipe']!r} is not available "
                  f"(see notebook 04 for WGAN-GP)")
            continue
        variants[name] = options
    return variants


@dataclass(frozen=True)
class Published:
    """One row of a paper's stacked-MNIST table (mean over their runs; modes out of 1000, KL from uniform)."""

    paper: str
    table: str
    method: str
    setting: str
    modes: float
    kl: float
    budget: str


# As printed in the papers' tables (means; the papers also give standard deviations over runs). *PacGAN's table
# of the VEEGAN experiment (Table 2 in the authors' repository README, fjxmlzn/PacGAN; check the number in the
# version you cite). Both count
# modes on 26,000 generated samples with a pre-trained MNIST classifier per channel (a mode is covered when
# it holds at least one sample) and train for many epochs on a GPU.
_VEEGAN_SETTING = "VEEGAN's stacked-MNIST setup (rows other than Pac* quoted from VEEGAN)"
_UNROLLED_BUDGET = "Unrolled GAN setting, trained to convergence on a GPU"
PUBLISHED: tuple[Published, ...] = (
    Published("PacGAN (Lin et al. 2018)", "Table 2*", "DCGAN", _VEEGAN_SETTING, 99.0, 3.40,
              "VEEGAN setting, GPU"),
    Published("PacGAN (Lin et al. 2018)", "Table 2*", "Unrolled GAN", _VEEGAN_SETTING, 48.7, 4.32,
              "VEEGAN setting, GPU"),
    Published("PacGAN (Lin et al. 2018)", "Table 2*", "VEEGAN", _VEEGAN_SETTING, 150.0, 2.95, "VEEGAN setting, GPU"),
    Published("PacGAN (Lin et al. 2018)", "Table 2*", "PacDCGAN2 (pack 2)", _VEEGAN_SETTING, 1000.0, 0.06,
              "VEEGAN setting, GPU"),
    Published("PacGAN (Lin et al. 2018)", "Table 2*", "PacDCGAN4 (pack 4)", _VEEGAN_SETTING, 1000.0, 0.07,
              "VEEGAN setting, GPU"),
    Published("Unrolled GAN (Metz et al. 2017)", "Table 2", "DCGAN, no unrolling", "D of 1/4 the size",
              30.6, 5.99, _UNROLLED_BUDGET),
    Published("Unrolled GAN (Metz et al. 2017)", "Table 2", "10 unrolling steps", "D of 1/4 the size",
              327.2, 4.66, _UNROLLED_BUDGET),
    Published("Unrolled GAN (Metz et al. 2017)", "Table 2", "DCGAN, no unrolling", "D of 1/2 the size",
              628.0, 2.58, _UNROLLED_BUDGET),
    Published("Unrolled GAN (Metz et al. 2017)", "Table 2", "10 unrolling steps", "D of 1/2 the size",
              817.4, 1.43, _UNROLLED_BUDGET),
)


def published_table():
    """The :data:`PUBLISHED` rows as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame([{"paper": p.paper, "table": p.table, "method": p.method, "setting": p.setting,
                          "modes (of 1000)": p.modes, "KL": p.kl, "budget": p.budget} for p in PUBLISHED])


def ours_beside_published(results, budget: str, samples: int):
    """Our measured rows (VariantResults) in the same columns as :func:`published_table`, then the papers'."""
    import pandas as pd

    ours = [{"paper": "this course (measured)", "table": "", "method": r.name, "setting": _relative_d_size(r.options),
             "modes (of 1000)": r.metrics.get("modes"), "KL": round(r.metrics.get("kl_uniform", float("nan")), 2),
             "budget": f"{budget}, {samples} samples"} for r in results]
    return pd.concat([pd.DataFrame(ours), published_table()], ignore_index=True)


def _relative_d_size(options: dict[str, Any]) -> str:
    """"D of 1/4 the size" in the papers' words: D's width relative to G's, for a variant's options."""
    settings = BASELINE | options
    ratio = Fraction(settings["d_width"], settings["g_width"])
    return "course DCGAN, D as wide as G" if ratio == 1 else f"course DCGAN, D {ratio} of G's width"


def predicted_modes(sampler, judge, n: int, seed: int = EVAL_SEED, batch_size: int = CHUNK) -> torch.Tensor:
    """The judge's mode (class) for ``n`` samples of ``sampler`` (a recipe, or anything with ``sample``)."""
    _, modes = judge.embed(draw_samples(sampler, n, seed=seed, batch_size=batch_size))
    return modes


def plot_mode_histograms(histograms: dict[str, np.ndarray], title: str = "", names: list[str] | None = None):
    """Bar charts of the share of samples per class (10 classes), one panel per entry, uniform as a line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(histograms), figsize=(2.6 * len(histograms), 2.4), sharey=True, squeeze=False)
    for ax, (label, hist) in zip(axes[0], histograms.items(), strict=True):
        k = len(hist)
        ax.bar(range(k), hist, color="tab:blue")
        ax.axhline(1 / k, ls="--", color="grey")
        ax.set_xticks(range(k))
        ax.set_xticklabels(names or [str(i) for i in range(k)], fontsize=7)
        ax.set_title(label, fontsize=9)
    axes[0][0].set_ylabel("share of samples")
    fig.suptitle(title or "which classes the generator draws (dashed: uniform)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_mode_coverage(modes: dict[str, torch.Tensor | np.ndarray], num_modes: int = 1000, title: str = ""):
    """Each stacked-MNIST mode as one cell of a 10 x 100 map (row: red digit, column: green and blue digits).

    Colour is the number of samples in the mode (log scale); white cells are modes never drawn.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(len(modes), 1, figsize=(10, 1.15 * len(modes) + 0.6), squeeze=False)
    for ax, (label, predicted) in zip(axes[:, 0], modes.items(), strict=True):
        hist = mode_histogram(predicted, num_modes) * len(np.asarray(predicted).ravel())
        grid = np.ma.masked_equal(hist.reshape(10, num_modes // 10), 0)
        ax.imshow(grid, aspect="auto", cmap="viridis", norm=LogNorm(vmin=1, vmax=max(2.0, hist.max())),
                  interpolation="nearest")
        ax.set_yticks(range(10))
        ax.set_yticklabels(range(10), fontsize=6)
        ax.set_xticks([])
        covered = int((hist > 0).sum())
        ax.set_title(f"{label}: {covered} of {num_modes} modes drawn", fontsize=9)
    axes[-1, 0].set_xlabel("green digit x 10 + blue digit (00 ... 99); rows: red digit")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
