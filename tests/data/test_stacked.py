"""Stacked MNIST: three digits in three channels (gancourse.data.stacked)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gancourse.data import load_dataset
from gancourse.data.stacked import CLASS_NAMES, channel_digits, stack_digits

from ..helpers import toy_digits


def test_stacked_digits_carry_their_label_in_the_channels() -> None:
    stacked = stack_digits(toy_digits(), n=500, seed=3)
    assert tuple(stacked.images.shape) == (500, 3, 28, 28) and stacked.images.dtype == torch.uint8
    assert stacked.class_names == CLASS_NAMES and stacked.num_classes == 1000
    per_channel = stacked.images[:, :, 0, 0].long() // 20
    assert torch.equal(per_channel, channel_digits(stacked.labels))
    assert torch.equal(stack_digits(toy_digits(), 500, 3).images, stacked.images)  # deterministic
    assert not torch.equal(stack_digits(toy_digits(), 500, 4).labels, stacked.labels)
    assert len(set(stacked.labels.tolist())) > 350  # 500 draws from 1000 modes cover ~390 of them


def test_stacked_mnist_from_the_real_digits(real_data_root: Path) -> None:
    from tests.conftest import require_dataset

    require_dataset(real_data_root, "mnist")
    train = load_dataset("stacked-mnist", n=3000)
    test = load_dataset("stacked-mnist", "test", n=3000)
    assert train.source == "real" and train.images.shape == (3000, 3, 28, 28)
    assert not torch.equal(train.images[:10], test.images[:10])
    assert len(set(train.labels.tolist())) > 900  # 3000 uniform draws cover ~950 of 1000 modes
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_dataset("stacked-mnist", "validation")
