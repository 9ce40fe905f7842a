"""Checkers for the measures a student writes: FID and KID from features, KL from uniform, per-class
accuracy, a rank correlation and the nearest training image (the memorisation check).

Each compares the student's function with the package's on inputs where the usual mistakes give different
numbers (a biased estimator, the wrong kernel, precision instead of recall, Pearson instead of Spearman...),
so the hint names the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from ...metrics import scores
from ...metrics.conditional import conditional_accuracy
from ._common import call, close, guarded, scalar


def check_kl_from_uniform(fn: Callable[[np.ndarray, int], float]) -> bool:
    """KL(p || uniform) of a predicted-class histogram: ``fn(predicted_labels, num_classes) -> float``."""

    def body() -> str | None:
        rng = np.random.default_rng(3)
        for predicted in [np.arange(100) % 10, np.zeros(100, dtype=int), rng.integers(0, 4, 500)]:
            got = float(scalar(call(fn, predicted.copy(), 10), "the KL"))
            expected = scores.kl_from_uniform(predicted, 10)
            if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
                continue
            p = np.bincount(predicted, minlength=10) / len(predicted)
            reverse = float(np.sum(np.log(1 / (10 * np.maximum(p, 1e-12))) / 10))
            if math.isclose(got, reverse, rel_tol=1e-3) or not math.isfinite(got):
                return ("that is KL(uniform || p) or it divides by 0 for an empty class: KL(p || u) sums only over "
                        "classes with p > 0")
            if math.isclose(got, expected / math.log(2), rel_tol=1e-4):
                return "that is in bits (log2): use the natural log, as the course's tables do"
            return ("p = bincount / N; KL = sum over p > 0 of p * log(p * K) (0 for a uniform histogram, log K for a "
                    "single class)")
        return None

    return guarded("KL divergence from uniform", body, solution="kl_from_uniform")


def check_fid(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """FID's formula: ``fn(real_features: np.ndarray (N, d), fake_features: np.ndarray (M, d)) -> float``, the
    Fréchet distance between Gaussians fitted to the two feature sets (Heusel et al. 2017):
    ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)), covariances with N - 1 (np.cov)."""

    def body() -> str | None:
        rng = np.random.default_rng(4)
        a = rng.normal(size=(400, 6))
        for b in (a.copy(), rng.normal(size=(400, 6)) * 1.5 + 0.5):
            got = float(scalar(call(fn, a.copy(), b.copy()), "the distance"))
            expected = scores.fid_from_features(a, b)
            if math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-6):
                continue
            if math.isclose(got, float(((a.mean(0) - b.mean(0)) ** 2).sum()), rel_tol=1e-3, abs_tol=1e-6):
                return "only the means: add the covariance term Tr(S_a + S_b - 2 sqrtm(S_a S_b))"
            return ("||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 sqrtm(S_a S_b)); covariances with np.cov(x, rowvar=False), "
                    "scipy.linalg.sqrtm, keep the real part")
        return None

    return guarded("Fréchet distance (FID)", body, solution="fid")


def _kid(x: torch.Tensor, y: torch.Tensor, degree: int = 3, scaled: bool = True, offset: float = 1.0,
         biased: bool = False, cross: float = -2.0, own_counts: bool = True) -> float:
    """KID as written (the defaults) and as each plausible slip writes it, in float64."""
    x, y = x.double(), y.double()
    n, m, d = len(x), len(y), x.shape[1]
    kernel = lambda a, b: (a @ b.T / (d if scaled else 1) + offset) ** degree  # noqa: E731
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    if biased:
        within = kxx.mean() + kyy.mean()
    else:
        pairs_y = m * (m - 1) if own_counts else n * (n - 1)
        within = (kxx.sum() - kxx.trace()) / (n * (n - 1)) + (kyy.sum() - kyy.trace()) / pairs_y
    return float(within + cross * kxy.mean())


_KID_MISTAKES = {
    "the diagonal is included (the biased estimator): sum k(x_i, x_j) over i != j only and divide by N(N - 1), "
    "and the same for the fakes with M(M - 1)": dict(biased=True),
    "the cross term is subtracted: MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)": dict(cross=2.0),
    "the fakes' term is averaged over the real set's N(N - 1) pairs: use its own M(M - 1)": dict(own_counts=False),
    "the kernel is cubic: k(x, y) = (x.y / d + 1)^3": dict(degree=2),
    "the kernel is cubic: k(x, y) = (x.y / d + 1)^3, not linear": dict(degree=1),
    "the kernel is cubic: k(x, y) = (x.y / d + 1)^3, not to the 4th power": dict(degree=4),
    "the kernel divides the dot product by the feature dimension d: (x.y / d + 1)^3": dict(scaled=False),
    "the kernel adds 1 to the scaled dot product: (x.y / d + 1)^3": dict(offset=0.0),
}


def check_kid(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> bool:
    """KID's formula: ``fn(real_features: Tensor (N, d), fake_features: Tensor (M, d)) -> float``, the unbiased
    MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3 (Bińkowski et al. 2018) on the whole sets
    (one subset: no averaging over subsets, unlike ``metrics.kid_from_features``):
    sum_{i != j} k(x_i, x_j) / (N(N-1)) + sum_{i != j} k(y_i, y_j) / (M(M-1)) - 2 mean_{i, j} k(x_i, y_j).
    Unbiased means it can be negative when the two sets come from one distribution; N != M here."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(14)
        real = torch.randn(60, 8, generator=g)
        cases = [torch.randn(45, 8, generator=g) * 1.3 + 0.3,  # different
                 torch.randn(45, 8, generator=torch.Generator().manual_seed(9)),  # alike: KID below 0 (-0.03)
                 torch.randn(30, 8, generator=g) * 0.5]
        for fake in cases:
            got = float(scalar(call(fn, real.clone(), fake.clone()), "KID"))
            expected = _kid(real, fake)
            if math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-4):
                continue
            if expected < 0 and got == 0.0:
                return "do not clip at 0: the unbiased estimate is negative when the sets are alike, and that is right"
            for hint, slip in _KID_MISTAKES.items():
                if math.isclose(got, _kid(real, fake, **slip), rel_tol=1e-3, abs_tol=1e-4):
                    return hint
            return ("expected sum_{i != j} k(x_i, x_j) / (N(N-1)) + sum_{i != j} k(y_i, y_j) / (M(M-1)) "
                    "- 2 mean k(x_i, y_j), with k(x, y) = (x.y / d + 1)^3")
        return None

    return guarded("kernel inception distance (KID)", body, solution="kid")


def check_per_class_accuracy(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """Conditional accuracy per class: ``fn(predicted, requested, num_classes) -> (num_classes,)``.

    Entry c is the share of the samples drawn *for* class c that the judge labels c (every class is
    requested at least once in these cases).
    """
    def body() -> str | None:
        g = torch.Generator().manual_seed(6)
        for k, n in ((3, 30), (5, 200), (10, 1000)):
            requested = torch.cat([torch.arange(k), torch.randint(k, (n - k,), generator=g)])
            # a judge that is right about two times in three, wrong towards low class numbers otherwise
            wrong = torch.rand(n, generator=g) < 0.35
            predicted = torch.where(wrong, torch.randint(k, (n,), generator=g) // 2, requested)
            got = call(fn, predicted.clone(), requested.clone(), k)
            _, expected, confusion = conditional_accuracy(predicted, requested, k)
            got = torch.as_tensor(np.asarray(got, dtype=np.float64)).flatten()
            if got.shape != (k,):
                return f"return one accuracy per class: shape ({k},), got {tuple(got.shape)}"
            if not close(got, expected, tol=1e-6):
                by_prediction = np.diag(confusion) / np.maximum(confusion.sum(axis=0), 1)
                if close(got, by_prediction, tol=1e-6):
                    return ("that divides by how often the judge *predicted* each class (precision); divide by how "
                            "often each class was *requested*")
                return "for each class c: among the samples with requested == c, the share with predicted == c"
        return None

    return guarded("per-class conditional accuracy", body, solution="per_class_accuracy")


def check_spearman(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """Spearman's rank correlation: ``fn(x, y) -> float`` in [-1, 1], ties sharing their average rank."""
    def body() -> str | None:
        rng = np.random.default_rng(7)
        cases = [(np.arange(9.0), np.arange(9.0) ** 3), (np.arange(9.0), -np.exp(np.arange(9.0))),
                 (rng.normal(size=12), rng.normal(size=12)),
                 (np.array([1, 2, 2, 2, 3, 5, 5, 4, 1.0]), rng.normal(size=9)),
                 (np.array([3, 1, 1, 1, 1, 1, 1, 1, 1.0]),
                  np.array([87.1, 62.8, 78.2, 158.8, 231.8, 82.2, 297.8, 131.7, 94.3]))]
        for x, y in cases:
            got = float(scalar(call(fn, x.copy(), y.copy()), "the correlation"))
            expected = float(spearmanr(x, y).statistic)
            if math.isclose(got, expected, abs_tol=1e-6):
                continue
            if math.isclose(got, float(np.corrcoef(x, y)[0, 1]), abs_tol=1e-6):
                return ("that is Pearson's correlation of the values: rank each variable first (Spearman is Pearson's "
                        "correlation of the ranks), so any monotone relation scores ±1")
            ordinal = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float)  # noqa: E731
            if math.isclose(got, float(np.corrcoef(ordinal(x), ordinal(y))[0, 1]), abs_tol=1e-6):
                return ("tied values must share the average of their ranks (scipy.stats.rankdata); argsort breaks "
                        "ties by position")
            return "rank x and y (ties get their average rank), then take Pearson's correlation of the two rank vectors"
        return None

    return guarded("Spearman rank correlation", body, solution="spearman")


def check_nearest_neighbours(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Memorisation check: ``fn(queries (n, d), references (m, d)) -> (n,)`` index of each query's nearest
    reference in Euclidean distance."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(8)
        for n, m, d in ((5, 40, 8), (16, 300, 32)):
            references = torch.randn(m, d, generator=g) * torch.rand(m, 1, generator=g) * 3
            queries = torch.randn(n, d, generator=g)
            queries[: n // 2] = references[torch.randint(m, (n // 2,), generator=g)] + 0.01 * queries[: n // 2]
            got = torch.as_tensor(np.asarray(call(fn, queries.clone(), references.clone()))).flatten()
            distances = torch.cdist(queries, references)
            if got.shape != (n,):
                return f"return one index per query: shape ({n},), got {tuple(got.shape)}" + (
                    " (an index per reference: take the minimum over the references, dim=1)"
                    if got.numel() == m else "")
            if torch.equal(got.long(), distances.argmin(1)):
                continue
            if torch.equal(got.long(), distances.argmax(1)):
                return "that is the farthest one: the nearest reference has the smallest distance (argmin)"
            cosine = F.normalize(queries, dim=1) @ F.normalize(references, dim=1).T
            if torch.equal(got.long(), cosine.argmax(1)):
                return "that is the nearest by angle (cosine): use the Euclidean distance"
            return "for each query: the index of the reference at the smallest Euclidean distance"
        return None

    return guarded("nearest training image", body, solution="nearest_neighbours")
