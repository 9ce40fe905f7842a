"""Checkers of the measures module (FID, KID, KL, per-class accuracy, Spearman, nearest neighbours): each accepts
its reference and rejects the plausible wrong answers with the hint that names them."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse.course import exercises
from gancourse.course.exercises import solutions

from ..helpers import verdict


def test_fid_checker_rejects_means_only(capsys):
    assert not exercises.check_fid(lambda a, b: float(((a.mean(0) - b.mean(0)) ** 2).sum()))
    assert "covariance term" in verdict(capsys)
    assert not exercises.check_fid(lambda a, b: 0.0)
    assert "Tr(S_a" in verdict(capsys)


def test_nearest_neighbour_checker_names_the_mistakes(capsys):
    assert not exercises.check_nearest_neighbours(lambda q, r: torch.cdist(q, r).argmax(1))
    assert "farthest" in verdict(capsys)
    assert not exercises.check_nearest_neighbours(lambda q, r: torch.cdist(q, r).argmin(0))
    assert "one index per query" in verdict(capsys)
    cosine = lambda q, r: (F.normalize(q, dim=1) @ F.normalize(r, dim=1).T).argmax(1)  # noqa: E731
    assert not exercises.check_nearest_neighbours(cosine)
    assert "cosine" in verdict(capsys)


def test_kl_checker_names_the_mistakes(capsys):
    assert not exercises.check_kl_from_uniform(lambda p, k: float(np.log(k)))
    assert "p * log(p * K)" in verdict(capsys)
    assert not exercises.check_kl_from_uniform(lambda p, k: solutions.kl_from_uniform(p, k) / np.log(2))
    assert "bits" in verdict(capsys)


def test_per_class_accuracy_checker_rejects_precision(capsys):
    from gancourse.metrics.conditional import conditional_accuracy

    def precision(predicted, requested, k):  # divides by the predictions instead of the requests
        confusion = conditional_accuracy(predicted, requested, k)[2]
        return np.diag(confusion) / np.maximum(confusion.sum(axis=0), 1)

    assert not exercises.check_per_class_accuracy(precision)
    assert "precision" in verdict(capsys)
    assert not exercises.check_per_class_accuracy(lambda p, r, k: (p == r).float().mean().repeat(k))
    assert "requested == c" in verdict(capsys)


def test_spearman_checker_names_the_mistakes(capsys):
    assert not exercises.check_spearman(lambda x, y: float(np.corrcoef(x, y)[0, 1]))
    assert "rank each variable first" in verdict(capsys)

    def ordinal(x, y):
        rank = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable")  # noqa: E731
        return float(np.corrcoef(rank(x), rank(y))[0, 1])

    assert not exercises.check_spearman(ordinal)
    assert "average of their ranks" in verdict(capsys)


# -- KID (notebook 01) -----------------------------------------------------------------------------------------

def _kid(biased=False, degree=3, scaled=True, cross=-2.0, clip=False):
    """KID as a student writes it, with one slip switched on."""
    def kid(real, fake):
        d = real.shape[1]
        kernel = lambda a, b: (a @ b.T / (d if scaled else 1) + 1) ** degree  # noqa: E731
        kxx, kyy, kxy = kernel(real, real), kernel(fake, fake), kernel(real, fake)
        n, m = len(real), len(fake)
        if biased:
            value = kxx.mean() + kyy.mean() + cross * kxy.mean()
        else:
            value = ((kxx.sum() - kxx.diag().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diag().sum()) / (m * (m - 1))
                     + cross * kxy.mean())
        return max(float(value), 0.0) if clip else float(value)
    return kid


def test_kid_checker_passes_the_reference_and_a_student_float32_version(capsys):
    assert exercises.check_kid(solutions.kid)
    assert exercises.check_kid(_kid())  # float32 arithmetic, as the features come
    assert verdict(capsys).count("PASS") == 2


def test_kid_reference_agrees_with_the_packages_kid_on_one_whole_subset():
    from gancourse.metrics import kid_from_features

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(50, 6, generator=g), torch.randn(50, 6, generator=g) + 0.3
    # the package averages over random subsets; with one subset of every sample it is the same estimator
    assert solutions.kid(real, fake) == pytest.approx(kid_from_features(real, fake, subsets=1, subset_size=50))


@pytest.mark.parametrize("slip, hint", [
    (dict(biased=True), "biased estimator"),
    (dict(degree=2), "the kernel is cubic"),
    (dict(degree=1), "not linear"),
    (dict(scaled=False), "divides the dot product by the feature dimension d"),
    (dict(cross=2.0), "the cross term is subtracted"),
    (dict(clip=True), "do not clip at 0"),
])
def test_kid_checker_names_each_mistake(capsys, slip, hint):
    assert not exercises.check_kid(_kid(**slip))
    out = verdict(capsys)
    assert out.startswith("FAIL") and hint in out, out


def test_kid_checker_names_the_fakes_divided_by_the_reals_pair_count(capsys):
    def same_count(real, fake):
        n, d = len(real), real.shape[1]
        k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
        kxx, kyy = k(real, real), k(fake, fake)
        return float((kxx.sum() - kxx.diag().sum() + kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
                     - 2 * k(real, fake).mean())

    assert not exercises.check_kid(same_count)
    assert "its own M(M - 1)" in verdict(capsys)


def test_kid_and_fid_say_not_yet_on_the_placeholder(capsys):
    def placeholder(real_features, fake_features):
        raise NotImplementedError

    assert not exercises.check_kid(placeholder)
    assert not exercises.check_fid(placeholder)
    assert verdict(capsys).count("NOT YET") == 2


def test_fid_checker_passes_the_reference_solution(capsys):
    assert exercises.check_fid(solutions.fid)
    assert "PASS" in verdict(capsys)


def test_nearest_neighbour_hints_do_not_print_the_answer(capsys):
    assert not exercises.check_nearest_neighbours(lambda q, r: torch.zeros(len(q), dtype=torch.long))
    out = verdict(capsys)
    assert "FAIL" in out and "argmin" not in out and "cdist" not in out
