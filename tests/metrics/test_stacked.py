"""The stacked-MNIST evaluator (gancourse.metrics.stacked)."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.data import ImageSet
from gancourse.data.stacked import stack_digits
from gancourse.metrics.stacked import ChannelJudge, StackedMnistEvaluator

from ..helpers import BrightnessJudge, toy_digits


def test_channel_judge_reads_each_channel_as_one_digit() -> None:
    judge = ChannelJudge(BrightnessJudge())
    images = torch.tensor([[4, 7, 2], [0, 0, 9], [9, 9, 9]], dtype=torch.float32) * 20 / 127.5 - 1
    images = images[:, :, None, None].expand(-1, -1, 28, 28)
    features, modes = judge.embed(images)
    assert modes.tolist() == [472, 9, 999] and features.shape == (3, 6)
    with pytest.raises(ValueError, match="3-channel"):
        judge.embed(images[:, :1])


def test_stacked_evaluator_counts_modes_and_kl_against_the_real_floor() -> None:
    reference = stack_digits(toy_digits(), n=3000, seed=1)
    evaluator = StackedMnistEvaluator(reference, ChannelJudge(BrightnessJudge()), n=400, n_modes=3000)
    assert evaluator.floor["modes_floor"] > 900 and evaluator.floor["kl_floor"] < 0.3

    class Fixed:
        def __init__(self, data: ImageSet) -> None:
            self.data = data

        def sample(self, n, generator=None):
            index = torch.randint(len(self.data), (n,), generator=generator)
            return self.data.images[index].float() / 127.5 - 1

    diverse = evaluator(Fixed(stack_digits(toy_digits(), n=5000, seed=9)))
    one_mode = reference.subset(torch.nonzero(reference.labels == reference.labels[0]).flatten())
    collapsed = evaluator(Fixed(one_mode))
    assert diverse["modes"] > 850 and diverse["kl_uniform"] < 0.4
    assert collapsed["modes"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(1000))
    assert collapsed["recall"] < diverse["recall"]
