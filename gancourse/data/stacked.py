"""Stacked MNIST: three MNIST digits in the red, green and blue channels -> 1000 modes (000 to 999).

The benchmark of mode collapse in the Unrolled GAN (Metz et al. 2017), VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018) papers. The label of an image is 100 * red digit + 10 * green digit + blue digit.
Construction is deterministic: the three MNIST indices of image i are drawn from a NumPy generator seeded
per split, so every machine builds the same set (option ``n``: how many images; default 60000 / 10000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import DATASETS, DatasetSpec, idx, register_dataset, standins
from .imageset import ImageSet

CLASS_NAMES = [f"{i:03d}" for i in range(1000)]
DEFAULT_SIZE = {"train": 60000, "test": 10000}
_SEEDS = {"train": 2017, "test": 2018}


def stack_digits(digits: ImageSet, n: int, seed: int) -> ImageSet:
    """``n`` images whose channels are three digits drawn (with replacement) from a grey MNIST set."""
    if digits.channels != 1 or digits.labels is None:
        raise ValueError(f"stack_digits needs labelled grey digits, got {digits.describe()}")
    if n < 1:
        raise ValueError(f"stacked-mnist needs n >= 1 images, got {n}")
    rng = np.random.default_rng(seed)
    picks = torch.from_numpy(rng.integers(0, len(digits), size=(n, 3)))
    images = torch.as_tensor(np.asarray(digits.images))[:, 0]  # (N, 28, 28)
    stacked = images[picks]  # (n, 3, 28, 28): channel c is digit picks[:, c]
    d = digits.labels[picks]
    labels = 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]
    return ImageSet("stacked-mnist", stacked.contiguous(), labels.long(), list(CLASS_NAMES), digits.source)


def find_stacked_mnist(root: Path, split: str = "train", n: int = 0) -> ImageSet | None:
    if split not in DEFAULT_SIZE:
        raise ValueError(f"stacked-mnist has the splits train, test; got {split!r}")
    digits = idx.load_idx_dataset("mnist", Path(root), split)
    if digits is None:
        return None
    return stack_digits(digits, int(n) or DEFAULT_SIZE[split], _SEEDS[split])


def stacked_mnist_stand_in(split: str = "train", n: int = 0) -> ImageSet:
    return stack_digits(standins.make("mnist", split), int(n) or DEFAULT_SIZE[split], _SEEDS[split])


def channel_digits(labels: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Stacked labels (N,) -> the three digits (N, 3): 472 -> (4, 7, 2)."""
    labels = torch.as_tensor(labels).long()
    return torch.stack([labels // 100, labels // 10 % 10, labels % 10], dim=1)


register_dataset(DatasetSpec(
    name="stacked-mnist",
    description="Stacked MNIST: three digits in the RGB channels, 28x28 colour, 1000 modes",
    find=find_stacked_mnist,
    download=lambda root, n=0: DATASETS["mnist"].download(root),
    stand_in=stacked_mnist_stand_in,
    expected="It is built from MNIST: expected the four MNIST IDX files in <data root>/mnist/.",
    options=("n",),
    splits=tuple(DEFAULT_SIZE),
    size_note="built from MNIST (about 11 MB); nothing else to download",
))
