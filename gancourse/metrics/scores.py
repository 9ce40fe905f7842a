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
                      subset_size: int = 1000, seed: int = 0) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel.

    Unlike FID it is unbiased, so it can be compared across sample sizes; it is averaged over subsets.
    """
    a, b = _np64(a), _np64(b)
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    d = a.shape[1]
    scores = []
    with _blas_threads_for(d):
        for _ in range(subsets):
            x = a[rng.choice(len(a), m, replace=False)]
            y = b[rng.choice(len(b), m, replace=False)]
            kxx, kyy, kxy = [(p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y))]
            mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
            scores.append(mmd)
    return float(np.mean(scores))


def precision_recall(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = 3
                     ) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Precision: the share of fake samples inside the real manifold (balls of each real point's k-th
    neighbour distance); low precision = poor quality. Recall: the share of real samples inside the fake
    manifold; low recall = missing variety (mode collapse).
    """
    real_t = torch.as_tensor(_np64(real), dtype=torch.float64)
    fake_t = torch.as_tensor(_np64(fake), dtype=torch.float64)

    def radii(x: torch.Tensor) -> torch.Tensor:
        dist = torch.cdist(x, x)
        return dist.kthvalue(k + 1, dim=1).values  # +1: the distance to itself is 0

    def coverage(points: torch.Tensor, centres: torch.Tensor, r: torch.Tensor) -> float:
        return float((torch.cdist(points, centres) <= r[None, :]).any(dim=1).double().mean())

    return coverage(fake_t, real_t, radii(real_t)), coverage(real_t, fake_t, radii(fake_t))


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
