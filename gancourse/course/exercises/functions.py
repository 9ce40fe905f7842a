"""Checkers for functions a student writes: the two DCGAN losses, the gradient penalty, an augmentation.

Each compares the student's function with the package's on random inputs, and when they differ, tries the
plausible wrong answers (the saturating loss, real and fake swapped, a norm over the wrong dimensions, a
penalty at the wrong points...) so that the hint names the mistake instead of printing the formula again.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ... import losses
from ._common import Attempt, call, close, guarded, scalar
from .discriminators import RecordingDiscriminator


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

    return guarded("non-saturating generator loss", body, solution="generator_loss")


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

    return guarded("discriminator BCE loss", body, solution="discriminator_loss",
                   note=lambda: "with the ½ convention: half the package's sum, the same direction" if halved else "")


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

    The critic (a :class:`RecordingDiscriminator`) records the points it was evaluated at: they must be one
    eps in [0, 1] per sample along the segment from fake[i] to real[i]. Its gradient w + v * x varies with x,
    so the exact penalty at those points is known and a penalty at the reals only, at the fakes only, or with
    one eps per pixel fails.
    """

    def body() -> str | None:
        g = torch.Generator().manual_seed(2)
        for scale in (0.05, 0.3, 2.0):
            critic = RecordingDiscriminator((3, 8, 8), g, scale)
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
            exact = ((critic.input_gradient(evaluated[-1]).norm(2, dim=1) - 1) ** 2).mean()
            if not close(value, exact, tol=1e-3):
                return ("take each sample's gradient norm over all of (C, H, W): grad.flatten(1).norm(2, dim=1), "
                        "then mean((norm - 1)^2)")
            if not (isinstance(got, torch.Tensor) and got.requires_grad):
                return ("the penalty must be differentiable: torch.autograd.grad(..., create_graph=True), so the "
                        "critic's optimiser can minimise it")
        return None

    return guarded("gradient penalty", body, solution="gradient_penalty")



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

    return guarded("random translation (DiffAugment)", body, solution="translate")
