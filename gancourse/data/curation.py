"""Data curation by colour vibrancy: rank paintings from subdued to vivid, keep every k-th.

Each painting's dominant colours are found by k-means over its pixels; a colour's vibrancy is
``(max + min) * (max - min) / max`` of its RGB components (in [0, 1]): the saturation ``(max - min) / max``
weighted by a lightness term ``max + min``, so a bright pure colour scores high and a grey or a dark
brown scores low. A painting scores the vibrancy of its most vibrant dominant colour. Taking every k-th
painting of the ranking gives a k-times smaller training set that still spans the whole range, instead
of, say, only the vivid ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dominant_colours(images: torch.Tensor, k: int = 5, iterations: int = 12, pixels: int = 32
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means colours of each uint8 image (N, 3, H, W): (colours (N, k, 3) in [0, 1], pixel shares (N, k)).

    Images are first shrunk to ``pixels`` x ``pixels`` (area average): dominant colours do not need every
    pixel. All images are clustered at once; the centres start at brightness quantiles, so the result is
    deterministic.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images (N, 3, H, W), got shape {tuple(images.shape)}")
    x = F.adaptive_avg_pool2d(images.float() / 255.0, pixels).flatten(2).transpose(1, 2)  # (N, P, 3)
    n, p, _ = x.shape
    order = x.mean(2).argsort(dim=1)
    starts = order[:, ((torch.arange(k) + 0.5) * p / k).long()]
    centres = torch.gather(x, 1, starts[..., None].expand(n, k, 3))
    for _ in range(iterations):
        assign = torch.cdist(x, centres).argmin(dim=2)  # (N, P)
        onehot = F.one_hot(assign, k).float()  # (N, P, k)
        counts = onehot.sum(1)  # (N, k)
        sums = onehot.transpose(1, 2) @ x  # (N, k, 3)
        centres = torch.where(counts[..., None] > 0, sums / counts.clamp(min=1)[..., None], centres)
    return centres, counts / p


def vibrancy(colours: torch.Tensor) -> torch.Tensor:
    """``(max + min)(max - min) / max`` over the last (RGB, [0, 1]) axis; 0 for black."""
    hi, lo = colours.max(-1).values, colours.min(-1).values
    return torch.where(hi > 0, (hi + lo) * (hi - lo) / hi.clamp(min=1e-8), torch.zeros_like(hi))


def vibrancy_scores(images: torch.Tensor, k: int = 5, min_share: float = 0.05) -> torch.Tensor:
    """Each image's score: the highest vibrancy among its dominant colours covering >= ``min_share``.

    ``min_share`` ignores clusters of a few stray pixels (a signature, a dust speck).
    """
    colours, shares = dominant_colours(images, k)
    v = vibrancy(colours).masked_fill(shares < min_share, 0.0)
    return v.max(dim=1).values


def rank_by_vibrancy(images: torch.Tensor, k: int = 5, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices from most subdued to most vivid, each image's score) for uint8 images (N, 3, H, W)."""
    scores = torch.cat([vibrancy_scores(part, k) for part in torch.as_tensor(images).split(chunk)])
    return scores.argsort(stable=True), scores


def every_kth(order: torch.Tensor, k: int) -> torch.Tensor:
    """Every ``k``-th index of a ranking, starting in the middle of the first group of ``k``."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return order[k // 2::k]


def plot_ranked_strip(images: torch.Tensor, order: torch.Tensor, scores: torch.Tensor, count: int = 12,
                      selected: torch.Tensor | None = None, k: int = 5):
    """``count`` paintings evenly spaced along the ranking, each with its score and dominant colours.

    ``selected``: indices of a curated subset; those paintings get a green frame.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    positions = np.linspace(0, len(order) - 1, min(count, len(order))).round().astype(int)
    chosen = order[positions]
    colours, shares = dominant_colours(images[chosen], k)
    keep = set(selected.tolist()) if selected is not None else set()
    fig, axes = plt.subplots(2, len(chosen), figsize=(1.5 * len(chosen), 2.3),
                             gridspec_kw={"height_ratios": [4, 1]}, squeeze=False)
    for col, index in enumerate(chosen.tolist()):
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(images[index].permute(1, 2, 0).numpy())
        top.set_title(f"#{positions[col] + 1}\n{float(scores[index]):.2f}", fontsize=8)
        top.set_xticks([])
        top.set_yticks([])
        for spine in top.spines.values():
            spine.set_visible(index in keep)
            spine.set_color("limegreen")
            spine.set_linewidth(3)
        # the dominant colours as a bar, each as wide as its share of the pixels
        widths = shares[col].numpy()
        left = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
        bottom.barh(0, widths, left=left, color=colours[col].clamp(0, 1).numpy(), height=1.0)
        bottom.set_xlim(0, 1)
        bottom.axis("off")
    fig.suptitle("Paintings ranked by colour vibrancy (rank, score): subdued -> vivid; bars: dominant colours",
                 fontsize=9)
    fig.tight_layout()
    return fig
