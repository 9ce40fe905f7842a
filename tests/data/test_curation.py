"""Colour-vibrancy curation (gancourse.data.curation)."""

from __future__ import annotations

import pytest
import torch

from gancourse.data.curation import every_kth, rank_by_vibrancy, vibrancy


def test_vibrancy_formula_and_ranking():
    colours = torch.tensor([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0], [0.5, 0.25, 0.25], [0.0, 0.0, 0.0]])
    assert vibrancy(colours).tolist() == pytest.approx([0.0, 1.0, 0.375, 0.0])
    grey = torch.full((1, 3, 16, 16), 128, dtype=torch.uint8)
    dull = grey.clone()
    dull[:, 0] = 170
    vivid = torch.zeros((1, 3, 16, 16), dtype=torch.uint8)
    vivid[:, 2] = 250
    order, scores = rank_by_vibrancy(torch.cat([vivid, grey, dull]))
    assert order.tolist() == [1, 2, 0] and scores[1] == pytest.approx(0.0, abs=1e-6)
    assert every_kth(torch.arange(10), 3).tolist() == [1, 4, 7]
