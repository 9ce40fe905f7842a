"""The stacked-MNIST evaluator (gancourse.metrics.stacked)."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.data import ImageSet
from gancourse.data.stacked import stack_digits
from gancourse.metrics.stacked import ChannelJudge, StackedMnistEvaluator


def _digits(per_class: int = 3) -> ImageSet:
    """Grey 28 x 28 "digits" whose pixels all equal 20 * label: the label can be read back from the image."""
    labels = torch.arange(10).repeat_interleave(per_class)
    images = (labels * 20).to(torch.uint8)[:, None, None, None].expand(-1, 1, 28, 28).contiguous()
    return ImageSet("digits", images, labels, [str(d) for d in range(10)], "real")


class BrightnessJudge(torch.nn.Module):
    """A stand-in for the MNIST judge: reads the digit from the mean brightness of a grey image."""

    config = {"channels": 1}
    num_classes = 10

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 500):
        level = (images.mean(dim=(1, 2, 3)) + 1) * 127.5 / 20
        return torch.stack([level, level**2], dim=1), level.round().long().clamp(0, 9)


def test_channel_judge_reads_each_channel_as_one_digit() -> None:
    judge = ChannelJudge(BrightnessJudge())
    images = torch.tensor([[4, 7, 2], [0, 0, 9], [9, 9, 9]], dtype=torch.float32) * 20 / 127.5 - 1
    images = images[:, :, None, None].expand(-1, -1, 28, 28)
    features, modes = judge.embed(images)
    assert modes.tolist() == [472, 9, 999] and features.shape == (3, 6)
    with pytest.raises(ValueError, match="3-channel"):
        judge.embed(images[:, :1])


def test_stacked_evaluator_counts_modes_and_kl_against_the_real_floor() -> None:
    reference = stack_digits(_digits(), n=3000, seed=1)
    evaluator = StackedMnistEvaluator(reference, ChannelJudge(BrightnessJudge()), n=400, n_modes=3000)
    assert evaluator.floor["modes_floor"] > 900 and evaluator.floor["kl_floor"] < 0.3

    class Fixed:
        def __init__(self, data: ImageSet) -> None:
            self.data = data

        def sample(self, n, generator=None):
            index = torch.randint(len(self.data), (n,), generator=generator)
            return self.data.images[index].float() / 127.5 - 1

    diverse = evaluator(Fixed(stack_digits(_digits(), n=5000, seed=9)))
    one_mode = reference.subset(torch.nonzero(reference.labels == reference.labels[0]).flatten())
    collapsed = evaluator(Fixed(one_mode))
    assert diverse["modes"] > 850 and diverse["kl_uniform"] < 0.4
    assert collapsed["modes"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(1000))
    assert collapsed["recall"] < diverse["recall"]
