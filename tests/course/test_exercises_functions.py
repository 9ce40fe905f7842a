"""Checkers of the functions module (losses, the gradient penalty, an augmentation): each accepts its reference
and rejects the plausible wrong answers with the hint that names them, written the way a student would."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse.course import exercises
from gancourse.losses import NonSaturatingLoss

from ..helpers import rejects, verdict


def test_loss_checkers_name_the_mistakes(capsys):
    assert not exercises.check_generator_loss(lambda f: -F.softplus(f).mean())  # the saturating loss
    assert "minimax" in verdict(capsys)
    assert not exercises.check_generator_loss(lambda f: -F.softplus(-f).mean())
    assert "sign is flipped" in verdict(capsys)
    assert not exercises.check_generator_loss(lambda f: F.softplus(-f))  # forgot .mean(): a hint, no traceback
    assert "average over the batch" in verdict(capsys)

    assert not exercises.check_discriminator_loss(lambda r, f: NonSaturatingLoss().discriminator(f, r))
    assert "swapped" in verdict(capsys)
    assert not exercises.check_discriminator_loss(lambda r, f: F.softplus(-r) + F.softplus(f))
    assert "average over the batch" in verdict(capsys)
    assert not exercises.check_discriminator_loss(lambda r, f: F.softplus(-r).mean())
    assert "only one of the two terms" in verdict(capsys)


def test_discriminator_loss_accepts_the_half_convention_and_says_so(capsys):
    def halved(real, fake):  # d2l / deeplearning.ai: the mean of the two BCE terms
        bce = F.binary_cross_entropy_with_logits
        return (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))) / 2

    assert exercises.check_discriminator_loss(halved)
    assert "½ convention" in verdict(capsys)


def test_augment_checker_names_the_mistakes(capsys):
    def detached(x):
        return torch.as_tensor(np.roll(x.detach().numpy(), 1, axis=-1))

    def same_shift(x):  # every image two pixels to the right
        return F.pad(x, (2, 0, 0, 0))[..., :-2]

    def wraps(x):
        shifts = torch.randint(-2, 3, (x.shape[0], 2))
        return torch.stack([torch.roll(img, (int(dy), int(dx)), (1, 2))
                            for img, (dy, dx) in zip(x, shifts, strict=True)])

    for wrong, hint in ((detached, "no gradient flows back"), (same_shift, "same shift"),
                        (wraps, "wraps the image around")):
        rejects(capsys, exercises.check_augment, wrong, hint)


def _penalty(where="between", per="sample", norm_dims=None, reduce=True):
    def penalty(critic, real, fake):
        shape = (real.shape[0], 1, 1, 1) if per == "sample" else real.shape
        eps = torch.rand(shape)
        x = {"between": eps * real + (1 - eps) * fake, "real": real, "fake": fake}[where].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        norms = grad.norm(2, dim=norm_dims) if norm_dims is not None else grad.flatten(1).norm(2, dim=1)
        out = (norms - 1) ** 2
        return out.mean() if reduce else out
    return penalty


def test_gradient_penalty_checker_explains_interpolates_without_grad(capsys):
    def no_grad_interpolates(critic, real, fake):
        eps = torch.rand(real.shape[0], 1, 1, 1)
        x = eps * real + (1 - eps) * fake
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    assert not exercises.check_gradient_penalty(no_grad_interpolates)
    assert "requires_grad_(True)" in verdict(capsys)


@pytest.mark.parametrize("mistake, hint", [
    (dict(where="real"), "real images only"),
    (dict(where="fake"), "fakes only"),
    (dict(per="pixel"), "one eps per pixel"),
    (dict(norm_dims=-1), "all of (C, H, W)"),  # the published bug: a norm over the last dimension only
    (dict(norm_dims=1), "all of (C, H, W)"),
    (dict(reduce=False), "average over the batch"),
])
def test_gradient_penalty_checker_names_each_mistake(capsys, mistake, hint):
    assert exercises.check_gradient_penalty(_penalty())
    assert "PASS" in verdict(capsys)
    assert not exercises.check_gradient_penalty(_penalty(**mistake))
    assert hint in verdict(capsys)
