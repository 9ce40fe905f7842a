import math

import numpy as np
import pytest
import torch

from gancourse.data import to_unit_range
from gancourse.metrics import (
    Evaluator,
    fid_from_features,
    kid_from_features,
    kid_within_terms,
    kl_from_uniform,
    knn_radii,
    modes_covered,
    precision_recall,
    train_judge,
)

from ..helpers import blob_images


def test_fid_is_zero_for_identical_sets_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)
    assert fid_from_features(x, x + 1.0) == pytest.approx(8.0, rel=1e-3)  # ||mu shift||^2 = 8
    assert fid_from_features(x, x + 2.0) > fid_from_features(x, x + 1.0)


def test_fid_survives_a_collapsed_sample_set():
    x = np.random.default_rng(0).normal(size=(200, 8))
    collapsed = np.repeat(x[:1], 200, axis=0)
    assert math.isfinite(fid_from_features(x, collapsed)) and fid_from_features(x, collapsed) > 1


def test_kid_is_near_zero_for_same_distribution_and_positive_for_different():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    assert abs(kid_from_features(a, b, subset_size=300)) < 0.05
    assert kid_from_features(a, b + 1.5, subset_size=300) > 0.5


def _kid_by_definition(a, b, subsets, m, seed=0):
    """Unbiased MMD² with the cubic kernel, subset by subset, the subsets drawn as the course draws them."""
    rng, scores = np.random.default_rng(seed), []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((u @ v.T / u.shape[1] + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        scores.append(within - 2 * kxy.mean())
    return np.mean(scores)


@pytest.mark.parametrize("n_a, n_b, subsets", [(150, 120, 10), (400, 300, 3)])  # whole kernels; one per subset
def test_kid_is_the_unbiased_mmd_averaged_over_subsets(n_a, n_b, subsets):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(n_a, 8)), rng.normal(size=(n_b, 8)) * 1.2 + 0.3
    expected = _kid_by_definition(a, b, subsets, 100)
    assert kid_from_features(a, b, subsets=subsets, subset_size=100) == pytest.approx(expected, rel=1e-9)
    assert kid_from_features(a, b + 0.01, subsets=subsets, subset_size=100) != pytest.approx(expected, rel=1e-9)


def test_kid_and_precision_take_the_real_side_computed_once():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 8)), rng.normal(size=(200, 8)) + 0.5
    kept = kid_within_terms(real, len(fake), subset_size=100)
    assert kid_from_features(real, fake, subset_size=100, a_terms=kept) == pytest.approx(
        kid_from_features(real, fake, subset_size=100), rel=1e-12)
    assert precision_recall(real, fake, real_radii=knn_radii(real)) == precision_recall(real, fake)
    assert precision_recall(real, fake, real_radii=knn_radii(real) * 0) != precision_recall(real, fake)


def test_precision_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 2))
    half = real[real[:, 0] > 0] + rng.normal(scale=0.01, size=(int((real[:, 0] > 0).sum()), 2))
    precision, recall = precision_recall(real, half)
    assert precision > 0.9  # every fake sample is realistic...
    assert recall < 0.7  # ...but half the real distribution is never produced
    far_precision, _ = precision_recall(real, real + 10)
    assert far_precision == 0


def test_modes_and_kl():
    uniform = np.arange(1000) % 10
    assert modes_covered(uniform, 10) == 10 and kl_from_uniform(uniform, 10) == pytest.approx(0, abs=1e-9)
    one = np.zeros(1000, dtype=int)
    assert modes_covered(one, 10) == 1 and kl_from_uniform(one, 10) == pytest.approx(math.log(10))
    rare = np.array([0] * 990 + [1] * 10)  # 1% < the 2% threshold for 10 classes
    assert modes_covered(rare, 10) == 1 and modes_covered(rare, 10, min_count=1) == 2


def test_judge_learns_and_evaluator_ranks_real_above_noise():
    data = blob_images(n=512, size=16)
    judge = train_judge(data, epochs=3, batch_size=32, progress=False)
    _, pred = judge.embed(to_unit_range(data.images))
    assert (pred == data.labels).float().mean() > 0.95
    evaluator = Evaluator(blob_images(n=256, size=16, seed=1), judge, floor_reference=data, n=200)

    class Real:
        def sample(self, n, generator=None):
            return to_unit_range(blob_images(n=n, size=16, seed=2).images)

    class Noise:
        def sample(self, n, generator=None):
            return torch.rand(n, 1, 16, 16, generator=generator) * 2 - 1

    real, noise = evaluator(Real()), evaluator(Noise())
    assert real["fid"] < noise["fid"] and real["modes"] == 4 and real["kl_uniform"] < 0.05
    assert real["precision"] > noise["precision"]
    assert "fid_floor" in real and real["fid"] < 10 * max(real["fid_floor"], 1e-3) + 1
    # the real side it keeps between evaluations gives what the score functions compute afresh
    for sampler, scores in ((Real(), real), (Noise(), noise)):
        features, _ = evaluator.judge.embed(evaluator.sample(sampler))
        assert scores["kid"] == pytest.approx(kid_from_features(evaluator.real_features, features), rel=1e-12)
        assert (scores["precision"], scores["recall"]) == precision_recall(evaluator.real_features, features)
