"""The score functions, on feature arrays and predicted classes. NumPy float64 on the CPU, any device upstream."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch
from scipy import linalg

from ..cpu_threads import one_blas_thread

# Up to this many features the BLAS work is too small for a thread pool of its own, which would only wait on
# torch's threads (docs/performance.md, "CPU threads"); Inception's 2048 features are worth the pool.
SMALL_FEATURES = 512


def _np64(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)


def _blas_threads_for(features: int) -> contextlib.AbstractContextManager:
    return one_blas_thread() if features <= SMALL_FEATURES else contextlib.nullcontext()


def fid_from_features(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017)."""
    a, b = _np64(a), _np64(b)
    with _blas_threads_for(a.shape[1]):
        return _frechet(a, b)


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            covmean = linalg.sqrtm(cov_a @ cov_b)
            singular = not np.isfinite(covmean).all()
        except linalg.LinAlgWarning:
            singular = True
    if singular:  # collapsed samples give a singular covariance: regularise as the reference code does
        offset = np.eye(cov_a.shape[0]) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def kid_from_features(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, subsets: int = 10,
                      subset_size: int = 1000, seed: int = 0, *, a_terms: list[float] | None = None) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel.

    Unlike FID it is unbiased, so it can be compared across sample sizes; it is averaged over subsets.
    ``a_terms``: :func:`kid_within_terms` of ``a`` for ``len(b)`` samples, when the caller keeps them (an evaluator
    scores every evaluation's samples against one real set); the result is the same.
    """
    a, b = _np64(a), _np64(b)
    rows_a, rows_b = _kid_subsets(len(a), len(b), subsets, subset_size, seed)
    with _blas_threads_for(a.shape[1]):
        if a_terms is None:
            a_terms = _within_means(a, rows_a)
        mmd = np.asarray(a_terms) + _within_means(b, rows_b) - 2 * _cross_means(a, b, rows_a, rows_b)
    return float(mmd.mean())


def kid_within_terms(a: torch.Tensor | np.ndarray, n_b: int, subsets: int = 10, subset_size: int = 1000,
                     seed: int = 0) -> list[float]:
    """The part of :func:`kid_from_features` that depends on ``a`` alone, for a ``b`` of ``n_b`` samples."""
    a = _np64(a)
    rows_a, _ = _kid_subsets(len(a), n_b, subsets, subset_size, seed)
    with _blas_threads_for(a.shape[1]):
        return list(_within_means(a, rows_a))


def _kid_subsets(n_a: int, n_b: int, subsets: int, subset_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``a`` and of ``b`` each subset compares, (subsets, m) each: the same for the same sizes and seed."""
    rng = np.random.default_rng(seed)
    m = min(subset_size, n_a, n_b)
    drawn = [(rng.choice(n_a, m, replace=False), rng.choice(n_b, m, replace=False)) for _ in range(subsets)]
    return np.stack([rows for rows, _ in drawn]), np.stack([rows for _, rows in drawn])


def _indicator(n: int, rows: np.ndarray) -> np.ndarray:
    """(n, subsets): column s is 1 at subset s's rows."""
    columns = np.zeros((n, len(rows)))
    columns[rows, np.arange(len(rows))[:, None]] = 1.0
    return columns


def _subset_sums(x: np.ndarray, y: np.ndarray, rows_x: np.ndarray, rows_y: np.ndarray) -> np.ndarray:
    """Per subset s, the kernel's sum over every pair of a row ``rows_x[s]`` of x and a row ``rows_y[s]`` of y.

    When one kernel over all of x and y has fewer entries than one per subset (2,000 samples: 4 against 10
    million), it is computed once and each subset's sum read from it by a product with indicator columns.
    """
    if len(x) * len(y) > rows_x.size * rows_y.shape[1]:
        return np.array([_kernel(x[rx], y[ry]).sum() for rx, ry in zip(rows_x, rows_y, strict=True)])
    return np.einsum("ns,ns->s", _indicator(len(x), rows_x), _kernel(x, y) @ _indicator(len(y), rows_y))


def _within_means(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per subset, the kernel's mean over pairs of distinct rows of ``x`` (the unbiased within-set term of MMD²)."""
    m = rows.shape[1]
    with_itself = (np.einsum("nd,nd->n", x, x) / x.shape[1] + 1) ** 3  # each row's kernel with itself
    return (_subset_sums(x, x, rows, rows) - with_itself[rows].sum(axis=1)) / (m * (m - 1))


def _cross_means(x: np.ndarray, y: np.ndarray, rows_x: np.ndarray, rows_y: np.ndarray) -> np.ndarray:
    """Per subset, the kernel's mean over every pair of a row of ``x`` and a row of ``y``."""
    return _subset_sums(x, y, rows_x, rows_y) / rows_x.shape[1] ** 2


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The cubic polynomial kernel (x.y / d + 1)^3, computed mostly in place: one temporary matrix, not three."""
    k = x @ y.T
    k *= 1 / x.shape[1]
    k += 1
    cube = k * k
    cube *= k
    return cube



def precision_recall(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = 3, *,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Precision: the share of fake samples inside the real manifold (balls of each real point's k-th
    neighbour distance); low precision = poor quality. Recall: the share of real samples inside the fake
    manifold; low recall = missing variety (mode collapse). ``real_radii``: ``knn_radii(real, k)``, when the
    caller keeps it.
    """
    real_t = torch.as_tensor(_np64(real), dtype=torch.float64)
    fake_t = torch.as_tensor(_np64(fake), dtype=torch.float64)
    real_radii = knn_radii(real_t, k) if real_radii is None else real_radii
    distance = torch.cdist(fake_t, real_t)  # one matrix serves both directions
    precision = (distance <= real_radii[None, :]).any(dim=1).double().mean()
    recall = (distance <= knn_radii(fake_t, k)[:, None]).any(dim=0).double().mean()
    return float(precision), float(recall)


def knn_radii(features: torch.Tensor | np.ndarray, k: int = 3) -> torch.Tensor:
    """Each point's distance to its k-th nearest neighbour among ``features``: the balls of precision and recall."""
    x = torch.as_tensor(_np64(features), dtype=torch.float64)
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # +1: the distance to itself is 0


def mode_histogram(predicted: torch.Tensor | np.ndarray, num_modes: int) -> np.ndarray:
    """The share of samples per mode (class), summing to 1."""
    counts = np.bincount(np.asarray(predicted, dtype=np.int64).ravel(), minlength=num_modes).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def modes_covered(predicted: torch.Tensor | np.ndarray, num_modes: int, min_fraction: float | None = None,
                  min_count: int | None = None) -> int:
    """How many modes hold enough samples. Default: at least a fifth of a uniform share (2% of 10 classes).

    Stacked-MNIST papers count a mode covered when it holds at least one sample: pass ``min_count=1``.
    """
    hist = mode_histogram(predicted, num_modes)
    if min_count is not None:
        n = len(np.asarray(predicted).ravel())
        return int((hist * n >= min_count - 1e-9).sum())
    threshold = 0.2 / num_modes if min_fraction is None else min_fraction
    return int((hist >= threshold).sum())


def kl_from_uniform(predicted: torch.Tensor | np.ndarray, num_modes: int) -> float:
    """KL(p || uniform) of the predicted-mode histogram: 0 for perfect balance, log(K) for one mode."""
    p = mode_histogram(predicted, num_modes)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] * num_modes)).sum())
