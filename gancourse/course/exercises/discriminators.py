"""Checkers for what a student writes about discriminators: the R1 penalty (02), the projection discriminator's
output (05), the least-squares discriminator loss and a PatchGAN's receptive field (06).

Each runs the student's code where the usual mistakes give other numbers (a discriminator whose gradient
changes from point to point, features and embeddings of different sizes, patch maps, stacks with strides),
then replays those mistakes to name the one that matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._common import Attempt, call, close, guarded, scalar

# -- R1 (notebook 02) --------------------------------------------------------------------------------------------


class RecordingDiscriminator(nn.Module):
    """D(x) = sum over (C, H, W) of w x + ½ v x², one score per image, shape (B, 1).

    Its gradient with respect to an image, w + v x, changes from point to point, so a penalty taken anywhere
    but at the real images has another value; it remembers every input it was evaluated at.
    """

    def __init__(self, shape: tuple[int, ...], generator: torch.Generator, scale: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape, generator=generator) * scale)
        self.v = nn.Parameter(torch.rand(shape, generator=generator) * scale + 0.5 * scale)
        self.inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x)
        return (x * self.w + 0.5 * self.v * x * x).flatten(1).sum(1, keepdim=True)

    def input_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """The exact per-image gradient of D at ``x``, flattened to (B, C*H*W), in float64."""
        return (self.w.detach().double() + self.v.detach().double() * x.detach().double()).flatten(1)


_PARAMETERS_HINT = ("that is the gradient with respect to D's weights: R1 differentiates with respect to the real "
                    "images, torch.autograd.grad(scores.sum(), real, create_graph=True)")


def _r1_slips(D: RecordingDiscriminator, real: torch.Tensor) -> dict[str, float]:
    """The values of the usual wrong R1s at ``real``, each with the hint that names it."""
    grad = D.input_gradient(real)
    squared = grad.pow(2).sum(1)
    b, size = real.shape[0], grad.shape[1]
    x = real.double()  # D's gradient with respect to its weights w and v, of D(real).sum()
    parameters = float(x.sum(0).pow(2).sum() + (0.5 * x * x).sum(0).pow(2).sum())
    return {
        "that is the norm: R1 uses the squared norm ||grad||^2 of each image's gradient (.pow(2).sum over (C, H, W))":
            float(squared.sqrt().mean()),
        "that is a sum over the batch: average the per-image squared norms (.mean())": float(squared.sum()),
        "that is WGAN-GP's (||grad|| - 1)^2: R1 pushes D's gradient at the real images towards 0, mean ||grad||^2":
            float(((squared.sqrt() - 1) ** 2).mean()),
        "sum the squared gradient over (C, H, W) for each image, then average over the batch (not a mean over "
        "pixels)": float(squared.mean() / size),
        "the scores were averaged before differentiating, which divides each gradient by B: differentiate "
        "D(real).sum() (each score depends on its own image only)": float(squared.mean() / b**2),
        "return the penalty without the ½ of gamma / 2: the caller multiplies it": float(0.5 * squared.mean()),
        _PARAMETERS_HINT: parameters,
        _PARAMETERS_HINT + " ": parameters / b**2,  # the same slip on D(real).mean()
    }


def _off_the_real_images(evaluated: torch.Tensor, real: torch.Tensor) -> bool:
    return evaluated.shape != real.shape or not torch.allclose(evaluated.detach(), real, atol=1e-6)


def check_r1_penalty(fn: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> bool:
    """R1 (Mescheder et al. 2018): ``fn(D: nn.Module, real: Tensor (B, C, H, W)) -> Tensor`` (0-d), the mean over
    the batch of ||grad_x D(x)||^2 at the real images, the squared norm over all of (C, H, W).

    Without the gamma / 2 factor: the caller multiplies (the recipes add ``r1 / 2`` times it to D's loss). The
    gradient must be taken with ``torch.autograd.grad(..., create_graph=True)``, so that the penalty can be
    backpropagated into D's weights. The checker's D has a gradient that changes from point to point and
    records where it was evaluated, so a penalty at fakes or interpolates is caught.
    """

    def body() -> str | None:
        g = torch.Generator().manual_seed(15)
        for scale in (0.05, 0.4, 2.0):
            D = RecordingDiscriminator((3, 6, 6), g, scale)
            real = torch.randn(5, 3, 6, 6, generator=g)
            try:
                got = call(fn, D, real.clone())
            except Attempt as attempt:
                if "does not require grad" in attempt.hint:
                    raise Attempt("the real images need .requires_grad_(True) (on a detached copy) before D sees "
                                  "them, so torch.autograd.grad can differentiate D's scores with respect to them"
                                  ) from None
                raise
            value = float(scalar(got, "the penalty"))
            with_grad = [x for x in D.inputs if x.requires_grad]
            if not D.inputs:
                return "D was never called: score the real images with D, then differentiate the scores"
            if not with_grad:
                return ("no image D saw required a gradient: R1 differentiates D's scores with respect to the images "
                        "(not D's weights): real.detach().requires_grad_(True), then torch.autograd.grad(scores.sum(),"
                        " real, create_graph=True)")
            if _off_the_real_images(with_grad[-1], real):
                return ("the gradient was taken at other points than the real images (fakes, interpolates or noisy "
                        "copies): R1 is the squared gradient norm at the real images themselves")
            expected = float(D.input_gradient(real).pow(2).sum(1).mean())
            if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-8):
                for hint, slip in _r1_slips(D, real).items():
                    if math.isclose(value, slip, rel_tol=1e-4, abs_tol=1e-8):
                        return hint
                return "expected the mean over the batch of each image's squared gradient norm, over all of (C, H, W)"
            if not (isinstance(got, torch.Tensor) and got.requires_grad):
                return ("the penalty cannot be backpropagated into D's weights: take the gradient with "
                        "torch.autograd.grad(..., create_graph=True) and keep it a tensor (no .item(), .detach())")
            D.zero_grad()
            got.backward()
            if D.w.grad is None or not bool(D.w.grad.abs().sum() > 0):
                return "no gradient reaches D's weights from the penalty: create_graph=True, and no .detach()"
        return None

    return guarded("R1 penalty", body, solution="r1_penalty")


# -- the projection discriminator (notebook 05) ----------------------------------------------------------------

def check_projection_logits(fn: Callable[[torch.Tensor, torch.Tensor, nn.Linear, nn.Embedding], torch.Tensor]
                            ) -> bool:
    """The projection discriminator's head (Miyato & Koyama 2018): ``fn(features: Tensor (B, F), labels:
    LongTensor (B,), psi: nn.Linear(F, 1), embed: nn.Embedding(n_classes, F)) -> Tensor (B,)``, one logit per
    image: ``psi(features).squeeze(1) + (embed(labels) * features).sum(1)``, an unconditional term plus the
    inner product of the features with the label's embedding."""

    def body() -> str | None:
        g = torch.Generator().manual_seed(16)
        for b, f, k in ((6, 5, 3), (9, 7, 4)):
            psi, embed = nn.Linear(f, 1), nn.Embedding(k, f)
            with torch.no_grad():
                for p in (*psi.parameters(), embed.weight):
                    p.copy_(torch.randn(p.shape, generator=g))
            features = torch.randn(b, f, generator=g).requires_grad_(True)
            labels = torch.randint(k, (b,), generator=g)
            try:
                out = call(fn, features, labels.clone(), psi, embed)
            except Attempt as attempt:
                if "cannot be multiplied" in attempt.hint and f"x{f + k}" in attempt.hint:
                    raise Attempt("that concatenates a one-hot label to the features: the projection discriminator "
                                  "takes the inner product of the features with the label's embedding, "
                                  "(embed(labels) * features).sum(1), and adds it to psi(features)") from None
                if "must match the size" in attempt.hint and f"({b})" in attempt.hint and f"({f})" in attempt.hint:
                    raise Attempt("one term was summed over the batch (dim=0), leaving (F,) values: sum over the "
                                  "features, dim=1, so each term has one value per image, (B,)") from None
                raise
            if not isinstance(out, torch.Tensor):
                return f"return a tensor of one logit per image, shape ({b},), got {type(out).__name__}"
            unconditional = psi(features).squeeze(1)
            projection = (embed(labels) * features).sum(1)
            if out.shape == (b, 1):
                return f"return shape ({b},), not ({b}, 1): psi(features) is (B, 1), squeeze(1) it"
            if out.shape == (b, b):
                return ("the result is (B, B): psi(features) is (B, 1) and adding a (B,) tensor broadcasts; "
                        "squeeze(1) psi's output first")
            if out.shape == (f,):
                return "that sums over the batch (dim=0): sum over the features, dim=1, one logit per image"
            if out.numel() == 1:
                return f"one number for the whole batch: sum over the features only (dim=1), one logit each, ({b},)"
            if out.shape != (b,):
                return f"return one logit per image, shape ({b},), got {tuple(out.shape)}"
            if close(out, projection, tol=1e-5):
                return "the unconditional term is missing: add psi(features).squeeze(1) (it judges realism alone)"
            if close(out, unconditional, tol=1e-5):
                return "the projection term is missing: add the inner product (embed(labels) * features).sum(1)"
            if close(out, unconditional - projection, tol=1e-5):
                return "the projection term is added, not subtracted: psi(features) + <embed(y), features>"
            if not close(out, unconditional + projection, tol=1e-5):
                return "expected psi(features).squeeze(1) + (embed(labels) * features).sum(1)"
            out.sum().backward()
            for what, grad in (("psi", psi.weight.grad), ("the embedding", embed.weight.grad),
                               ("the features", features.grad)):
                if grad is None or not bool(grad.abs().sum() > 0):
                    return f"no gradient reaches {what}: no .detach(), torch.no_grad() or .item() in the head"
        return None

    return guarded("projection discriminator's logits", body, solution="projection_logits")


# -- CycleGAN's discriminator (notebook 06) --------------------------------------------------------------------

def _lsgan_slips(real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    r1, f0 = ((real - 1) ** 2), fake**2
    return {
        "real and fake targets are swapped: real patches have target 1, fakes target 0":
            0.5 * ((real**2).mean() + ((fake - 1) ** 2).mean()),
        "that is the BCE of the DCGAN: the least-squares loss is mean((real - 1)^2) + mean(fake^2), no log":
            F.softplus(-real).mean() + F.softplus(fake).mean(),
        "only the real term: D's loss also has the fake term mean(fake^2)": 0.5 * r1.mean(),
        "only the fake term: D's loss also has the real term mean((real - 1)^2)": 0.5 * f0.mean(),
        "that is a sum: average over every patch of the batch (.mean()), as F.mse_loss does":
            0.5 * (r1.sum() + f0.sum()),
        "that sums each image's patches: average over every patch too (.mean() over all elements), a PatchGAN "
        "scores each patch": 0.5 * (r1.flatten(1).sum(1).mean() + f0.flatten(1).sum(1).mean()),
        "the sign is flipped: D minimises the squared distances to its targets (a loss >= 0)":
            -0.5 * (r1.mean() + f0.mean()),
    }


def check_lsgan_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """CycleGAN's least-squares discriminator loss (Mao et al. 2017): ``fn(real_logits: Tensor, fake_logits:
    Tensor) -> Tensor`` (0-d) = 0.5 * (mean((real - 1)^2) + mean(fake^2)), each mean over every patch of the
    batch (a PatchGAN's outputs are (B, 1, h, w) maps).

    With or without the 0.5 passes (CycleGAN halves D's loss to slow D down; the ½ only rescales D's gradient,
    which Adam undoes), and the PASS line says which.
    """
    halved: list[bool] = []

    def body() -> str | None:
        g = torch.Generator().manual_seed(17)
        for shape in ((4, 1, 6, 6), (3, 1, 5, 5)):
            real = (torch.randn(shape, generator=g) + 0.7).requires_grad_(True)
            fake = (torch.randn(shape, generator=g) + 0.2).requires_grad_(True)
            got = call(fn, real, fake)
            value = scalar(got)
            with torch.no_grad():
                expected = 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean())
                slips = _lsgan_slips(real, fake)
            if close(value, expected):
                halved.append(True)
            elif not close(value, 2 * expected):
                for hint, slip in slips.items():
                    if close(value, slip) or close(value, 2 * slip):
                        return hint
                return "expected 0.5 * (mean((real - 1)^2) + mean(fake^2))"
            if not (isinstance(got, torch.Tensor) and got.requires_grad):
                return "the loss must keep its graph (no .item() or .detach()), so D's optimiser can minimise it"
        return None

    return guarded("least-squares discriminator loss", body, solution="lsgan_discriminator_loss",
                   note=lambda: "with CycleGAN's ½" if halved else "without the ½: the same direction as CycleGAN's")


# -- a PatchGAN's receptive field (notebook 06) ----------------------------------------------------------------

def _field_backward(layers: Sequence[tuple[int, int]], start: int = 1, reverse: bool = True, overlap: bool = True
                    ) -> int:
    r = start
    for kernel, stride in (reversed(layers) if reverse else layers):
        r = r * stride + (kernel - stride if overlap else kernel - 1)
    return r


def _field_forward_late_jump(layers: Sequence[tuple[int, int]]) -> int:
    r, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        r += (kernel - 1) * jump
    return r


RECEPTIVE_FIELD_STACKS: list[list[tuple[int, int]]] = [
    [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)],  # CycleGAN's 70x70 PatchGAN
    [(3, 1), (3, 1), (3, 1)],
    [(7, 2), (3, 2)],
    [(4, 2), (4, 2), (4, 2), (4, 2)],  # DCGAN's D at 64 px, before its last layer
    [(3, 2), (3, 1)],
    [(5, 1)],
    [],
]

_FIELD_SLIPS: dict[str, Callable[[Sequence[tuple[int, int]]], int]] = {
    "the strides are ignored: a layer after a stride-s layer sees s times further apart, r = r * stride + "
    "(kernel - stride) walking back from the last layer":
        lambda layers: 1 + sum(k - 1 for k, _ in layers),
    "that adds the kernel sizes: neighbouring windows overlap, and strides spread them apart":
        lambda layers: sum(k for k, _ in layers),
    "off by one per layer: walking back, r = r * stride + (kernel - stride), which is (kernel - 1) only at stride 1":
        lambda layers: _field_backward(layers, overlap=False),
    "start from one output unit, r = 1 (it sees one position of the last layer's input window), not 0":
        lambda layers: _field_backward(layers, start=0),
    "the layers were walked first to last with the backward formula: walk from the last layer back, or use the "
    "forward form r += (kernel - 1) * jump; jump *= stride":
        lambda layers: _field_backward(layers, reverse=False),
    "the jump was multiplied by this layer's stride before it was used: r += (kernel - 1) * jump with the jump "
    "of the layers before, then jump *= stride": _field_forward_late_jump,
}


def check_receptive_field(fn: Callable[[list[tuple[int, int]]], int]) -> bool:
    """A stack of convolutions' receptive field: ``fn(layers: list[tuple[int, int]]) -> int``, given (kernel,
    stride) per layer, first layer first, how many input pixels (along one side) one output unit sees.

    Walking back from the last layer, r = 1, then r = r * stride + (kernel - stride) per layer; or forward,
    r += (kernel - 1) * jump, jump *= stride. CycleGAN's PatchGAN, [(4, 2)] * 3 + [(4, 1)] * 2, gives 70.
    """

    def body() -> str | None:
        answers = []
        for layers in RECEPTIVE_FIELD_STACKS:
            got = call(fn, [tuple(layer) for layer in layers])
            try:
                whole = int(got)
            except (TypeError, ValueError):
                return f"return a whole number of pixels (an int), got {type(got).__name__}"
            if whole != got:
                return f"return a whole number of pixels (an int), got {got}"
            answers.append(whole)
        expected = [_field_backward(layers) for layers in RECEPTIVE_FIELD_STACKS]
        if answers == expected:
            return None
        for hint, slip in _FIELD_SLIPS.items():
            if answers == [slip(layers) for layers in RECEPTIVE_FIELD_STACKS]:
                return hint
        wrong = next(layers for layers, a, e in zip(RECEPTIVE_FIELD_STACKS, answers, expected, strict=True) if a != e)
        return (f"wrong for layers={wrong}: walking back from the last layer, r = 1, then r = r * stride + "
                f"(kernel - stride)")

    return guarded("receptive field of a conv stack", body, solution="receptive_field")
