"""Scoring stacked MNIST: the MNIST judge reads each colour channel, so a sample falls in one of 1000 modes.

As in the Unrolled GAN, VEEGAN and PacGAN papers: a mode counts as covered when at least one sample lands
in it, and the KL divergence of the mode histogram from uniform measures how evenly the samples spread.
Both depend on the number of samples (the papers use about 26,000), so we report real stacked digits
scored the same way, with the same number of samples, beside them: ``modes_floor`` and ``kl_floor``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..data import ImageSet, load_dataset, to_unit_range
from .evaluator import Evaluator
from .judge import Judge, get_judge
from .samples import CHUNK, draw_samples
from .scores import kl_from_uniform, modes_covered


class ChannelJudge(nn.Module):
    """A grey-digit judge applied to every channel: the class is the digits read as one number (R G B).

    Features are the three channels' judge features side by side (3 x 128), for FID and precision/recall.
    """

    def __init__(self, judge: Judge, channels: int = 3) -> None:
        super().__init__()
        if judge.config["channels"] != 1:
            raise ValueError("ChannelJudge needs a judge of grey (1-channel) images")
        self.judge, self.channels = judge, channels
        self.base = judge.num_classes
        self.num_classes = self.base**channels

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
        if images.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels}-channel images, got shape {tuple(images.shape)}")
        feats, mode = [], torch.zeros(len(images), dtype=torch.long)
        for c in range(self.channels):
            f, pred = self.judge.embed(images[:, c:c + 1], batch_size)
            feats.append(f)
            mode = mode * self.base + pred
        return torch.cat(feats, dim=1), mode


class StackedMnistEvaluator(Evaluator):
    """FID/KID/precision/recall on ``n`` samples, modes and KL on ``n_modes`` samples (more: 1000 bins)."""

    def __init__(self, reference: ImageSet, judge: ChannelJudge, *, floor_reference: ImageSet | None = None,
                 n: int = 2000, n_modes: int = 10000, seed: int = 0) -> None:
        super().__init__(reference, judge, floor_reference=floor_reference, n=n, seed=seed)
        self.n_modes = min(n_modes, len(reference))
        index = torch.randperm(len(reference), generator=torch.Generator().manual_seed(seed + 1))[: self.n_modes]
        images, _ = reference.rows(index)
        _, real_modes = judge.embed(to_unit_range(images))
        self.floor["modes_floor"] = float(modes_covered(real_modes, judge.num_classes, min_count=1))
        self.floor["kl_floor"] = kl_from_uniform(real_modes, judge.num_classes)

    def score(self, fake: torch.Tensor) -> dict[str, float]:
        features, modes = self.judge.embed(fake)  # once: FID and the rest use the first n of them
        scores = self.score_embedded(features[: self.n], modes[: self.n])
        scores["modes"] = float(modes_covered(modes, self.num_classes, min_count=1))
        scores["kl_uniform"] = kl_from_uniform(modes, self.num_classes)
        # Per-channel digit spread: a generator can keep all ten digits in each channel yet few combinations.
        digits = torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=1)
        scores["kl_per_channel"] = float(sum(kl_from_uniform(digits[:, c], 10) for c in range(3)) / 3)
        return scores

    def sample(self, recipe, batch_size: int = CHUNK) -> torch.Tensor:
        return draw_samples(recipe, max(self.n, self.n_modes), batch_size=batch_size)


def stacked_mnist_evaluator(train: ImageSet, *, test: ImageSet | None = None, n: int = 2000,
                            n_modes: int = 10000, device: str = "cpu", progress: bool = True) -> StackedMnistEvaluator:
    """The MNIST judge (trained on MNIST itself, shared with notebook 01) read channel by channel."""
    stand_in = train.is_stand_in
    digits_train = load_dataset("mnist", "train", allow_stand_in=stand_in)
    digits_test = load_dataset("mnist", "test", allow_stand_in=stand_in)
    judge = get_judge(digits_train, digits_test, device=device, progress=progress)
    if test is None:
        test = load_dataset("stacked-mnist", "test", allow_stand_in=stand_in)
    return StackedMnistEvaluator(test, ChannelJudge(judge), floor_reference=train, n=n, n_modes=n_modes)
