"""Checkers for the notebooks' exercises: ``check_xxx(your_function)`` prints PASS or FAIL with a hint.

Each checker compares a student's function with the package's implementation on random inputs; the
solutions stay in the package, not in the notebooks. Checkers return True/False so tests can use them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from . import losses
from .metrics import scores


def _report(name: str, ok: bool, hint: str = "") -> bool:
    print(f"PASS  {name}" if ok else f"FAIL  {name}: {hint}")
    return ok


def _close(a, b, tol: float = 1e-4) -> bool:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _call(name: str, fn: Callable, *args):
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "it raises NotImplementedError: replace the placeholder with your code"
    except Exception as exc:  # a student's bug should print a hint, not a traceback
        return None, f"it raised {type(exc).__name__}: {exc}"


def check_generator_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """The non-saturating generator loss: ``fn(fake_logits) -> scalar`` (mean of -log D(G(z)))."""
    name = "non-saturating generator loss"
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        logits = torch.randn(32, generator=g) * 3
        got, error = _call(name, fn, logits)
        if error:
            return _report(name, False, error)
        expected = losses.NonSaturatingLoss().generator(logits)
        if not _close(torch.as_tensor(got).reshape(()), expected):
            if _close(torch.as_tensor(got).reshape(()), losses.MinimaxLoss().generator(logits)):
                return _report(name, False, "that is the saturating minimax loss log(1 - D(G(z))); "
                                            "G should maximise log D(G(z)) instead")
            return _report(name, False, "expected mean(-log(sigmoid(logits))); use F.softplus(-logits) for "
                                        "stability, and average over the batch")
    return _report(name, True)


def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """The discriminator's BCE loss: ``fn(real_logits, fake_logits) -> scalar``."""
    name = "discriminator BCE loss"
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        real, fake = torch.randn(32, generator=g) * 3, torch.randn(32, generator=g) * 3
        got, error = _call(name, fn, real, fake)
        if error:
            return _report(name, False, error)
        if not _close(torch.as_tensor(got).reshape(()), losses.NonSaturatingLoss().discriminator(real, fake)):
            swapped = losses.NonSaturatingLoss().discriminator(fake, real)
            hint = ("real and fake are swapped: real images have target 1" if _close(got, swapped) else
                    "expected mean(-log sigmoid(real)) + mean(-log(1 - sigmoid(fake)))")
            return _report(name, False, hint)
    return _report(name, True)


def check_gradient_penalty(fn: Callable[..., torch.Tensor]) -> bool:
    """WGAN-GP's penalty: ``fn(critic, real, fake) -> scalar``.

    A linear critic f(x) = <w, x> has gradient w everywhere, so the exact penalty is (||w||_2 - 1)^2
    whatever interpolates are drawn: this catches norms over the wrong dimensions.
    """
    name = "gradient penalty"
    g = torch.Generator().manual_seed(2)
    for scale in (0.05, 0.3, 2.0):
        w = (torch.randn(3, 8, 8, generator=g) * scale).requires_grad_(True)  # the critic's "parameters"

        def critic(x: torch.Tensor, w: torch.Tensor = w) -> torch.Tensor:
            return (x * w).flatten(1).sum(1)

        real, fake = torch.randn(6, 3, 8, 8, generator=g), torch.randn(6, 3, 8, 8, generator=g)
        got, error = _call(name, fn, critic, real, fake)
        if error:
            return _report(name, False, error)
        expected = (w.detach().flatten().norm() - 1) ** 2
        if not _close(torch.as_tensor(got).reshape(()).detach(), expected, tol=1e-3):
            return _report(name, False, "take each sample's gradient norm over all of (C, H, W): "
                                        "grad.flatten(1).norm(2, dim=1), then mean((norm - 1)^2)")
        if not torch.as_tensor(got).requires_grad:
            return _report(name, False, "the penalty must be differentiable: torch.autograd.grad(..., "
                                        "create_graph=True), so the critic's optimiser can minimise it")
    return _report(name, True)


def check_kl_from_uniform(fn: Callable[[np.ndarray, int], float]) -> bool:
    """KL(p || uniform) of a predicted-class histogram: ``fn(predicted_labels, num_classes) -> float``."""
    name = "KL divergence from uniform"
    rng = np.random.default_rng(3)
    cases = [np.arange(100) % 10, np.zeros(100, dtype=int), rng.integers(0, 4, 500)]
    for predicted in cases:
        got, error = _call(name, fn, predicted, 10)
        if error:
            return _report(name, False, error)
        if not math.isclose(float(got), scores.kl_from_uniform(predicted, 10), rel_tol=1e-4, abs_tol=1e-6):
            return _report(name, False, "p = bincount / N; KL = sum over p > 0 of p * log(p * K) "
                                        "(0 for a uniform histogram, log K for a single class)")
    return _report(name, True)


def check_fid(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """The Fréchet distance between two feature sets: ``fn(features_a, features_b) -> float``."""
    name = "Fréchet distance"
    rng = np.random.default_rng(4)
    a = rng.normal(size=(400, 6))
    for b in (a.copy(), rng.normal(size=(400, 6)) * 1.5 + 0.5):
        got, error = _call(name, fn, a, b)
        if error:
            return _report(name, False, error)
        if not math.isclose(float(got), scores.fid_from_features(a, b), rel_tol=1e-3, abs_tol=1e-6):
            return _report(name, False, "||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 sqrtm(S_a S_b)); covariances with "
                                        "np.cov(x, rowvar=False), scipy.linalg.sqrtm, keep the real part")
    return _report(name, True)


def check_cycle_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """CycleGAN's cycle-consistency term: ``fn(original, reconstructed) -> scalar`` (mean L1)."""
    name = "cycle-consistency loss"
    g = torch.Generator().manual_seed(5)
    x, y = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    got, error = _call(name, fn, x, y)
    if error:
        return _report(name, False, error)
    if not _close(torch.as_tensor(got).reshape(()), (x - y).abs().mean()):
        hint = ("that looks like a squared error; CycleGAN uses the L1 distance" if _close(got, ((x - y) ** 2).mean())
                else "expected the mean absolute difference between the image and its reconstruction")
        return _report(name, False, hint)
    return _report(name, True)


def check_per_class_accuracy(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """Conditional accuracy per class: ``fn(predicted, requested, num_classes) -> (num_classes,)``.

    Entry c is the share of the samples drawn *for* class c that the judge labels c (every class is
    requested at least once in these cases).
    """
    from .metrics.conditional import conditional_accuracy

    name = "per-class conditional accuracy"
    g = torch.Generator().manual_seed(6)
    for k, n in ((3, 30), (5, 200), (10, 1000)):
        requested = torch.cat([torch.arange(k), torch.randint(k, (n - k,), generator=g)])
        # a judge that is right about two times in three, wrong towards low class numbers otherwise
        wrong = torch.rand(n, generator=g) < 0.35
        predicted = torch.where(wrong, torch.randint(k, (n,), generator=g) // 2, requested)
        got, error = _call(name, fn, predicted, requested, k)
        if error:
            return _report(name, False, error)
        _, expected, confusion = conditional_accuracy(predicted, requested, k)
        got = torch.as_tensor(np.asarray(got, dtype=np.float64)).flatten()
        if got.shape != (k,):
            return _report(name, False, f"return one accuracy per class: shape ({k},), got {tuple(got.shape)}")
        if not _close(got, expected, tol=1e-6):
            by_prediction = np.diag(confusion) / np.maximum(confusion.sum(axis=0), 1)
            hint = ("that divides by how often the judge *predicted* each class (precision); divide by how "
                    "often each class was *requested*" if _close(got, by_prediction, tol=1e-6) else
                    "for each class c: among the samples with requested == c, the share with predicted == c")
            return _report(name, False, hint)
    return _report(name, True)
