"""Checkers of the discriminators module: R1 (02), the projection discriminator's logits (05), the least-squares
discriminator loss and a PatchGAN's receptive field (06). Each passes its reference, says NOT YET on the
placeholder, and rejects each named wrong answer, written as a student would, with the hint that names it."""

import pytest
import torch
import torch.nn.functional as F

from gancourse.course import exercises
from gancourse.course.exercises import solutions
from gancourse.course.exercises.discriminators import RECEPTIVE_FIELD_STACKS, RecordingDiscriminator
from gancourse.losses import zero_centred_penalty

from ..helpers import verdict


def placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("checker", [exercises.check_r1_penalty, exercises.check_projection_logits,
                                     exercises.check_lsgan_discriminator_loss, exercises.check_receptive_field])
def test_each_checker_says_not_yet_on_the_placeholder(capsys, checker):
    assert not checker(placeholder)
    out = verdict(capsys)
    assert out.startswith("NOT YET") and "FAIL" not in out


# -- R1 (notebook 02) -------------------------------------------------------------------------------------------

def _r1(at="real", norm="squared", reduce="mean", create_graph=True, wrt="inputs", grad_of="sum"):
    """R1 as a student writes it, with one slip switched on."""
    def penalty(D, real):
        real = real.detach()
        x = {"real": real, "noisy": real + 0.1 * torch.randn_like(real),
             "interpolated": 0.5 * real + 0.5 * torch.randn_like(real)}[at].requires_grad_(wrt == "inputs")
        scores = D(x)
        target = scores.sum() if grad_of == "sum" else scores.mean()
        if wrt == "parameters":
            grads = torch.autograd.grad(target, list(D.parameters()), create_graph=create_graph)
            return sum(g.pow(2).sum() for g in grads)
        (grad,) = torch.autograd.grad(target, x, create_graph=create_graph)
        per_image = grad.flatten(1).pow(2).sum(1)
        if norm == "norm":
            per_image = per_image.sqrt()
        return per_image.mean() if reduce == "mean" else per_image.sum()
    return penalty


def test_r1_checker_passes_the_reference_and_the_packages_penalty(capsys):
    def with_package(D, real):
        real = real.detach().requires_grad_(True)
        return zero_centred_penalty(D(real), real)

    assert exercises.check_r1_penalty(solutions.r1_penalty)
    assert exercises.check_r1_penalty(with_package)
    assert exercises.check_r1_penalty(_r1())
    assert verdict(capsys).count("PASS") == 3


def test_the_checkers_discriminator_has_another_gradient_away_from_the_real_images():
    D = RecordingDiscriminator((3, 6, 6), torch.Generator().manual_seed(0), 0.4)
    real, fake = torch.randn(4, 3, 6, 6), torch.randn(4, 3, 6, 6)
    at_real, at_fake = D.input_gradient(real), D.input_gradient(fake)
    assert not torch.allclose(at_real.pow(2).sum(1), at_fake.pow(2).sum(1), rtol=0.1)
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    assert torch.allclose(grad.flatten(1).double(), at_real, atol=1e-5) and D.inputs[-1] is x


@pytest.mark.parametrize("slip, hint", [
    (dict(at="interpolated"), "other points than the real images"),
    (dict(at="noisy"), "other points than the real images"),
    (dict(norm="norm"), "that is the norm: R1 uses the squared norm"),
    (dict(reduce="sum"), "that is a sum over the batch"),
    (dict(create_graph=False), "cannot be backpropagated into D's weights"),
    (dict(wrt="parameters"), "not D's weights"),
    (dict(grad_of="mean"), "averaged before differentiating"),
])
def test_r1_checker_names_each_mistake(capsys, slip, hint):
    assert not exercises.check_r1_penalty(_r1(**slip))
    out = verdict(capsys)
    assert out.startswith("FAIL") and hint in out, out
    assert 'show_solution("r1_penalty")' in out


def test_r1_checker_names_the_gradient_with_respect_to_weights_even_with_inputs_requiring_grad(capsys):
    def weights(D, real):
        real = real.detach().requires_grad_(True)
        grads = torch.autograd.grad(D(real).sum(), list(D.parameters()), create_graph=True)
        return sum(g.pow(2).sum() for g in grads)

    assert not exercises.check_r1_penalty(weights)
    assert "gradient with respect to D's weights" in verdict(capsys)


def test_r1_checker_explains_images_without_grad_and_wgan_gps_penalty(capsys):
    def no_requires_grad(D, real):
        (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
        return grad.flatten(1).pow(2).sum(1).mean()

    def wgan_gp_at_real(D, real):
        real = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    assert not exercises.check_r1_penalty(no_requires_grad)
    assert ".requires_grad_(True)" in verdict(capsys)
    assert not exercises.check_r1_penalty(wgan_gp_at_real)
    assert "WGAN-GP's (||grad|| - 1)^2" in verdict(capsys)


# -- the projection discriminator (notebook 05) -----------------------------------------------------------------

def test_projection_checker_passes_the_reference_and_an_equivalent_one_hot_product(capsys):
    def one_hot_product(features, labels, psi, embed):  # one-hot @ the embedding matrix = the lookup
        rows = F.one_hot(labels, embed.num_embeddings).float() @ embed.weight
        return psi(features)[:, 0] + torch.einsum("bf,bf->b", rows, features)

    assert exercises.check_projection_logits(solutions.projection_logits)
    assert exercises.check_projection_logits(one_hot_product)
    assert verdict(capsys).count("PASS") == 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda h, y, psi, embed: (embed(y) * h).sum(1), "the unconditional term is missing"),
    (lambda h, y, psi, embed: psi(h).squeeze(1), "the projection term is missing"),
    (lambda h, y, psi, embed: psi(h).squeeze(1) + (embed(y) * h).sum(0), "summed over the batch (dim=0)"),
    (lambda h, y, psi, embed: (embed(y) * h).sum(0), "sums over the batch (dim=0)"),
    (lambda h, y, psi, embed: psi(h).sum() + (embed(y) * h).sum(), "one number for the whole batch"),
    (lambda h, y, psi, embed: psi(h) + (embed(y) * h).sum(1, keepdim=True), "not ("),
    (lambda h, y, psi, embed: psi(h) + (embed(y) * h).sum(1), "broadcasts"),
    (lambda h, y, psi, embed: psi(torch.cat([h, F.one_hot(y, embed.num_embeddings).float()], 1)).squeeze(1),
     "concatenates a one-hot label"),
    (lambda h, y, psi, embed: psi(h).squeeze(1) + (embed(y).detach() * h).sum(1), "no gradient reaches the embedding"),
    (lambda h, y, psi, embed: psi(h).squeeze(1) - (embed(y) * h).sum(1), "added, not subtracted"),
])
def test_projection_checker_names_each_mistake(capsys, wrong, hint):
    assert not exercises.check_projection_logits(wrong)
    out = verdict(capsys)
    assert out.startswith("FAIL") and hint in out and "Traceback" not in out, out


# -- the least-squares discriminator loss (notebook 06) --------------------------------------------------------

def test_lsgan_checker_accepts_both_conventions_and_says_which(capsys):
    assert exercises.check_lsgan_discriminator_loss(solutions.lsgan_discriminator_loss)
    assert "with CycleGAN's ½" in verdict(capsys)
    assert exercises.check_lsgan_discriminator_loss(lambda r, f: F.mse_loss(r, torch.ones_like(r))
                                                    + F.mse_loss(f, torch.zeros_like(f)))
    assert "without the ½" in verdict(capsys)


@pytest.mark.parametrize("wrong, hint", [
    (lambda r, f: 0.5 * ((r**2).mean() + ((f - 1) ** 2).mean()), "targets are swapped"),
    (lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
     + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), "that is the BCE"),
    (lambda r, f: 0.5 * ((r - 1) ** 2).mean(), "only the real term"),
    (lambda r, f: ((r - 1) ** 2).sum() + (f**2).sum(), "that is a sum"),
    (lambda r, f: 0.5 * (((r - 1) ** 2).flatten(1).sum(1).mean() + (f**2).flatten(1).sum(1).mean()),
     "sums each image's patches"),
    (lambda r, f: (0.5 * (((r - 1) ** 2).mean() + (f**2).mean())).item(), "keep its graph"),
])
def test_lsgan_checker_names_each_mistake(capsys, wrong, hint):
    assert not exercises.check_lsgan_discriminator_loss(wrong)
    out = verdict(capsys)
    assert out.startswith("FAIL") and hint in out, out


# -- a PatchGAN's receptive field (notebook 06) ------------------------------------------------------------------

def forward_form(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r


def test_receptive_field_reference_and_the_forward_form_agree_on_known_stacks(capsys):
    assert solutions.receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]) == 70  # CycleGAN's PatchGAN
    assert solutions.receptive_field([(3, 1)] * 3) == 7
    assert solutions.receptive_field([(7, 2), (3, 2)]) == 11
    assert solutions.receptive_field([]) == 1
    assert all(forward_form(layers) == solutions.receptive_field(layers) for layers in RECEPTIVE_FIELD_STACKS)
    assert exercises.check_receptive_field(solutions.receptive_field)
    assert exercises.check_receptive_field(forward_form)
    assert exercises.check_receptive_field(lambda layers: float(forward_form(layers)))  # 70.0 is 70 pixels
    assert verdict(capsys).count("PASS") == 3


def backward(layers, start=1, reverse=True, step=lambda k, s: k - s):
    r = start
    for kernel, stride in (reversed(layers) if reverse else layers):
        r = r * stride + step(kernel, stride)
    return r


def late_jump(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        r += (kernel - 1) * jump
    return r


@pytest.mark.parametrize("wrong, hint", [
    (lambda layers: 1 + sum(k - 1 for k, _ in layers), "the strides are ignored"),
    (lambda layers: sum(k for k, _ in layers), "adds the kernel sizes"),
    (lambda layers: backward(layers, step=lambda k, s: k - 1), "off by one per layer"),
    (lambda layers: backward(layers, start=0), "start from one output unit"),
    (lambda layers: backward(layers, reverse=False), "walk from the last layer back"),
    (late_jump, "the jump was multiplied by this layer's stride before it was used"),
    (lambda layers: backward(layers) + 1, "wrong for layers="),
    (lambda layers: str(backward(layers)), "a whole number of pixels"),
])
def test_receptive_field_checker_names_each_mistake(capsys, wrong, hint):
    assert not exercises.check_receptive_field(wrong)
    out = verdict(capsys)
    assert out.startswith("FAIL") and hint in out, out
