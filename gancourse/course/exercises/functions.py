"""Checkers for functions a student writes: losses, the penalty, metrics, an augmentation, a label input.

Each compares the student's function with the package's on random inputs, and when they differ, tries the
plausible wrong answers (the saturating loss, real and fake swapped, a norm over the wrong dimensions, a
penalty at the wrong points...) so that the hint names the mistake instead of printing the formula again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ... import losses
from ...metrics import scores
from ._common import Attempt, call, close, guarded, scalar


def check_generator_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """The non-saturating generator loss: ``fn(fake_logits) -> scalar`` (mean of -log D(G(z)))."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(0)
        for _ in range(5):
            logits = torch.randn(32, generator=g) * 3
            got = scalar(call(fn, logits.clone()))
            if close(got, losses.NonSaturatingLoss().generator(logits)):
                continue
            if close(got, losses.MinimaxLoss().generator(logits)):
                return ("that is the saturating minimax loss log(1 - D(G(z))); G should maximise log D(G(z)) "
                        "instead")
            if close(got, -losses.NonSaturatingLoss().generator(logits)):
                return "the sign is flipped: G minimises -log D(G(z)), a positive number"
            if close(got, F.softplus(-logits.sigmoid()).mean()):
                return "the logits went through a sigmoid twice: softplus(-logits) takes the raw logits"
            return ("expected mean(-log(sigmoid(logits))); use F.softplus(-logits) for stability, and average "
                    "over the batch")
        return None

    return guarded("non-saturating generator loss", body)


def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """The discriminator's BCE loss: ``fn(real_logits, fake_logits) -> scalar``.

    Both the sum of the two means (the package's, PyTorch's DCGAN example) and half of it (d2l, deeplearning.ai:
    the mean over real and fake together) pass: the ½ only rescales D's gradient, which Adam undoes.
    """
    halved = []

    def body() -> str | None:
        g = torch.Generator().manual_seed(1)
        for _ in range(5):
            real, fake = torch.randn(32, generator=g) * 3, torch.randn(32, generator=g) * 3
            got = scalar(call(fn, real.clone(), fake.clone()))
            expected = losses.NonSaturatingLoss().discriminator(real, fake)
            if close(got, expected):
                continue
            if close(got, 0.5 * expected):
                halved.append(True)
                continue
            swapped = losses.NonSaturatingLoss().discriminator(fake, real)
            if close(got, swapped) or close(got, 0.5 * swapped):
                return "real and fake are swapped: real images have target 1, generated ones target 0"
            if close(got, F.softplus(-real).mean()) or close(got, F.softplus(fake).mean()):
                return "only one of the two terms: D's loss has a real term and a fake term"
            if close(got, -expected) or close(got, -0.5 * expected):
                return "the sign is flipped: the BCE is mean(-log sigmoid(real)) + mean(-log(1 - sigmoid(fake))) >= 0"
            return "expected mean(-log sigmoid(real)) + mean(-log(1 - sigmoid(fake)))"
        return None

    return guarded("discriminator BCE loss", body,
                   note=lambda: "with the ½ convention: half the package's sum, the same direction" if halved else "")


class RecordingCritic:
    """A critic whose gradient changes from point to point, f(x) = <w, x> + ½ <v, x²>, and which remembers
    every input it was evaluated at (to check *where* a penalty was computed, not only its value)."""

    def __init__(self, shape: tuple[int, ...], generator: torch.Generator, scale: float) -> None:
        self.w = torch.randn(shape, generator=generator) * scale
        self.v = torch.rand(shape, generator=generator) * scale + 0.5 * scale
        self.inputs: list[torch.Tensor] = []

    def __call__(self, x: torch.Tensor, *rest) -> torch.Tensor:
        self.inputs.append(x)
        return (x * self.w + 0.5 * self.v * x * x).flatten(1).sum(1)

    def exact_penalty(self, points: torch.Tensor) -> torch.Tensor:
        grad = self.w + self.v * points.detach().double()
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _where_evaluated(x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> str | None:
    """None if each sample of ``x`` is real + (1 - eps) fake for one eps in [0, 1] per sample, else a hint."""
    if x.shape != real.shape:
        return f"the critic was evaluated on a batch of shape {tuple(x.shape)}; interpolate real and fake " \
               f"(shape {tuple(real.shape)})"
    x, real, fake = x.detach().double(), real.double(), fake.double()
    diff = (real - fake).flatten(1)
    eps = ((x - fake).flatten(1) * diff).sum(1) / (diff * diff).sum(1)
    residual = (x - fake).flatten(1) - eps[:, None] * diff
    if residual.norm(dim=1).max() > 1e-4 * diff.norm(dim=1).min():
        per_element = (x - fake).flatten(1) / diff
        if bool(((per_element > -1e-6) & (per_element < 1 + 1e-6)).all()):
            return ("the points are between real and fake, but with one eps per pixel: draw one eps per sample, "
                    "torch.rand(B, 1, 1, 1), so each point lies on the line from a fake to its real image")
        return ("the critic was evaluated off the lines between real[i] and fake[i]: "
                "x_hat = eps * real + (1 - eps) * fake")
    if bool((eps > 1 - 1e-6).all()):
        return "the penalty was computed at the real images only: evaluate it at random points between real and fake"
    if bool((eps < 1e-6).all()):
        return "the penalty was computed at the fakes only: evaluate it at random points between real and fake"
    if eps.min() < -1e-6 or eps.max() > 1 + 1e-6:
        return "eps must lie in [0, 1] (torch.rand), so the points lie between a real image and a fake"
    if float(eps.max() - eps.min()) < 1e-9:
        return "every sample used the same eps: draw one per sample, torch.rand(B, 1, 1, 1)"
    return None


def check_gradient_penalty(fn: Callable[..., torch.Tensor]) -> bool:
    """WGAN-GP's penalty: ``fn(critic, real, fake) -> scalar``.

    The critic records the points it was evaluated at: they must be one eps in [0, 1] per sample along the
    segment from fake[i] to real[i]. Its gradient w + v * x varies with x, so the exact penalty at those
    points is known and a penalty at the reals only, at the fakes only, or with one eps per pixel fails.
    """

    def body() -> str | None:
        g = torch.Generator().manual_seed(2)
        for scale in (0.05, 0.3, 2.0):
            critic = RecordingCritic((3, 8, 8), g, scale)
            real, fake = torch.randn(6, 3, 8, 8, generator=g), torch.randn(6, 3, 8, 8, generator=g)
            try:
                got = call(fn, critic, real.clone(), fake.clone())
            except Attempt as attempt:
                if "does not require grad" in attempt.hint:
                    raise Attempt("the interpolates need .requires_grad_(True) before the critic sees them, so "
                                  "torch.autograd.grad can differentiate the scores with respect to them") from None
                raise
            value = scalar(got, "the penalty")
            evaluated = [x for x in critic.inputs if x.requires_grad] or critic.inputs
            if not evaluated:
                return "the critic was never called: evaluate it at the interpolates"
            hint = _where_evaluated(evaluated[-1], real, fake)
            if hint:
                return hint
            if not close(value, critic.exact_penalty(evaluated[-1]), tol=1e-3):
                return ("take each sample's gradient norm over all of (C, H, W): grad.flatten(1).norm(2, dim=1), "
                        "then mean((norm - 1)^2)")
            if not (isinstance(got, torch.Tensor) and got.requires_grad):
                return ("the penalty must be differentiable: torch.autograd.grad(..., create_graph=True), so the "
                        "critic's optimiser can minimise it")
        return None

    return guarded("gradient penalty", body)


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

    return guarded("KL divergence from uniform", body)


def check_fid(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """The Fréchet distance between two feature sets: ``fn(features_a, features_b) -> float``."""

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

    return guarded("Fréchet distance", body)


def check_cycle_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """CycleGAN's cycle-consistency term: ``fn(original, reconstructed) -> scalar`` (mean L1)."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(5)
        x, y = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
        got = scalar(call(fn, x.clone(), y.clone()))
        if close(got, (x - y).abs().mean()):
            return None
        if close(got, ((x - y) ** 2).mean()):
            return "that looks like a squared error; CycleGAN uses the L1 distance"
        if close(got, (x - y).abs().sum()) or close(got, (x - y).abs().flatten(1).sum(1).mean()):
            return "that is a sum: average over every pixel of the batch (.mean()), as F.l1_loss does"
        return "expected the mean absolute difference between the image and its reconstruction"

    return guarded("cycle-consistency loss", body)


def check_per_class_accuracy(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """Conditional accuracy per class: ``fn(predicted, requested, num_classes) -> (num_classes,)``.

    Entry c is the share of the samples drawn *for* class c that the judge labels c (every class is
    requested at least once in these cases).
    """
    from ...metrics.conditional import conditional_accuracy

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

    return guarded("per-class conditional accuracy", body)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def check_spearman(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """Spearman's rank correlation: ``fn(x, y) -> float`` in [-1, 1], ties sharing their average rank."""
    from scipy.stats import spearmanr

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

    return guarded("Spearman rank correlation", body)


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
                return "that is the nearest by angle (cosine): use the Euclidean distance, torch.cdist"
            return ("for each query: the index of the reference at the smallest Euclidean distance "
                    "(torch.cdist(...).argmin(1))")
        return None

    return guarded("nearest training image", body)


def check_augment(fn: Callable[[torch.Tensor], torch.Tensor], max_shift: float = 0.125) -> bool:
    """A differentiable random translation: ``fn(images (B, C, H, W) in [-1, 1]) -> same shape``, each image
    shifted by its own random (dx, dy) of at most ``max_shift`` of its side, the uncovered border filled with 0.

    D sees every image through it (real and fake alike), so G's gradient must flow through it.
    """

    def body() -> str | None:
        g = torch.Generator().manual_seed(9)
        size, b = 16, 32
        base = torch.rand(1, 3, size, size, generator=g) * 2 - 1
        x = base.repeat(b, 1, 1, 1).requires_grad_(True)
        with torch.random.fork_rng(devices=[]):  # the student's notebook keeps its own random stream
            torch.manual_seed(0)
            out = call(fn, x)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            return f"return a batch of the input's shape {tuple(x.shape)}, got {getattr(out, 'shape', type(out))}"
        if out.grad_fn is None:
            return ("G cannot learn through it: no gradient flows back to the images (no .detach(), numpy or PIL; "
                    "build the shifted batch from the input with torch operations)")
        call(out.sum().backward)
        if x.grad is None or not bool(x.grad.abs().sum() > 0):
            return "no gradient reaches the input images: the output must be computed from them"
        out = out.detach()
        s = round(max_shift * size)
        padded = F.pad(base, (s, s, s, s))  # zero fill
        shifts = []
        for i in range(b):
            found = None
            for dy in range(-s, s + 1):
                for dx in range(-s, s + 1):
                    window = padded[0, :, s + dy:s + dy + size, s + dx:s + dx + size]
                    if torch.allclose(out[i], window, atol=1e-5):
                        found = (dx, dy)
                        break
                if found:
                    break
            if found is None:
                rolled = any(torch.allclose(out[i], torch.roll(base[0], (dy, dx), (1, 2)), atol=1e-5)
                             for dy in range(-s, s + 1) for dx in range(-s, s + 1))
                if rolled:
                    return ("that wraps the image around (torch.roll): what leaves one side must not come back on the "
                            "other; fill the uncovered border with 0 (pad, then crop)")
                return (f"image {i} is not its input shifted by at most {s} px with a 0 border: shift each image by "
                        f"(dx, dy) in [-{s}, {s}] (pad with zeros, then crop a window)")
            shifts.append(found)
        if len(set(shifts)) == 1:
            return ("every image got the same shift: draw one random (dx, dy) per image, so D cannot learn the "
                    "augmentation as part of the data")
        if len(set(shifts)) < 4 or all(sx == 0 and sy == 0 for sx, sy in shifts[:8]):
            return f"the shifts hardly vary: draw dx, dy uniformly from [-{s}, {s}] per image"
        return None

    return guarded("random translation (DiffAugment)", body)


def check_label_input(fn: Callable[[torch.Tensor, torch.Tensor, torch.nn.Embedding], torch.Tensor]) -> bool:
    """The conditional generator's input: ``fn(z (B, nz), labels (B,), embedding) -> (B, nz + embed_dim)``,
    z followed by the label's learned embedding (the package's order, so a trained G loads)."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(10)
        nz, k, e, b = 16, 5, 6, 12
        embedding = torch.nn.Embedding(k, e)
        with torch.no_grad():
            embedding.weight.copy_(torch.randn(k, e, generator=g))
        z, labels = torch.randn(b, nz, generator=g), torch.randint(k, (b,), generator=g)
        out = call(fn, z.clone(), labels.clone(), embedding)
        if not isinstance(out, torch.Tensor):
            return f"return a tensor, got {type(out).__name__}"
        expected = torch.cat([z, embedding(labels)], dim=1)
        if out.shape != expected.shape:
            if out.shape == (2 * b, nz) or out.shape[0] != b:
                return f"concatenate along the features (dim=1), not the batch: expected shape {tuple(expected.shape)}"
            if out.shape == (b, nz + k):
                return ("that looks like a one-hot label: pass the labels through the embedding (a learned vector "
                        "per class)")
            if out.shape == (b, nz + 1):
                return "the label was appended as a number: look it up in the embedding, embedding(labels)"
            return f"expected shape {tuple(expected.shape)}: z (B, {nz}) then embedding(labels) (B, {e})"
        if close(out, torch.cat([embedding(labels), z], dim=1), tol=1e-6) and not close(out, expected, tol=1e-6):
            return "z comes first, then the embedding (the package's generator is built for that order)"
        if not close(out, expected, tol=1e-6):
            return "expected torch.cat([z, embedding(labels)], dim=1)"
        if out.requires_grad:
            out.sum().backward()
        if embedding.weight.grad is None or not bool(embedding.weight.grad.abs().sum() > 0):
            return "no gradient reaches the embedding: it must learn with G (no .detach() or torch.no_grad())"
        return None

    return guarded("conditional generator input", body)
