"""Notebook 03's toy GANs on 2-D mixtures (gancourse.lessons.toys)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gancourse.lessons.toys import ToyConfig, grid, ring, score_points, train_toy


def test_toy_mixtures_and_their_scores() -> None:
    r, g = ring(), grid()
    assert r.num_modes == 8 and torch.allclose(r.centres.norm(dim=1), torch.full((8,), 2.0))
    assert g.num_modes == 25 and sorted(set(g.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    points = g.sample(5000, torch.Generator().manual_seed(0))
    perfect = score_points(points, g)
    assert perfect["modes"] == 25 and perfect["high_quality"] > 0.98 and perfect["kl_uniform"] < 0.02
    one = score_points(r.centres[[3]].repeat(100, 1), r)
    assert one["modes"] == 1 and one["kl_uniform"] == pytest.approx(math.log(8))
    far = score_points(torch.full((50, 2), 10.0), r)
    assert far["modes"] == 0 and far["high_quality"] == 0


def test_toy_gan_trains_and_records_what_it_needs() -> None:
    run = train_toy(mixture="ring", steps=40, eval_every=20, batch_size=64, pack=2, seed=1)
    assert [e["step"] for e in run.evaluations] == [0, 20, 40]
    assert all("loss_d" in h for h in run.history[1:]) and sorted(run.snapshots) == [0, 20, 40]
    assert run.snapshots[40].shape == (run.config.eval_samples, 2)
    again = train_toy(mixture="ring", steps=40, eval_every=20, batch_size=64, pack=2, seed=1)
    assert np.array_equal(again.snapshots[40], run.snapshots[40])  # one seed, one run
    with pytest.raises(ValueError, match="pack must"):
        ToyConfig(batch_size=64, pack=3)
    with pytest.raises(ValueError, match="unknown mixture"):
        ToyConfig(mixture="spiral")
