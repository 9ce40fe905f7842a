import math

import pytest
import torch
import torch.nn.functional as F

from gancourse.losses import LOSSES, get_loss, gradient_penalty


def test_bce_losses_at_chance_equal_log_2():
    zero = torch.zeros(16)
    assert LOSSES["non-saturating"].discriminator(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert LOSSES["non-saturating"].generator(zero).item() == pytest.approx(math.log(2))
    assert LOSSES["minimax"].generator(zero).item() == pytest.approx(-math.log(2))


def test_non_saturating_generator_gradient_is_strong_when_d_wins():
    # D confidently rejects fakes (logit -8): the minimax loss barely moves, the non-saturating one does.
    fake = torch.full((8,), -8.0, requires_grad=True)
    (g_min,) = torch.autograd.grad(LOSSES["minimax"].generator(fake), fake)
    (g_ns,) = torch.autograd.grad(LOSSES["non-saturating"].generator(fake), fake)
    assert g_ns.abs().sum() > 100 * g_min.abs().sum()


def test_label_smoothing_changes_only_the_real_target():
    real, fake = torch.full((4,), 5.0), torch.full((4,), -5.0)
    loss = LOSSES["non-saturating"]
    assert loss.discriminator(real, fake, smoothing=0.1) > loss.discriminator(real, fake)
    assert LOSSES["hinge"].discriminator(torch.full((4,), 2.0), torch.full((4,), -2.0)).item() == 0


def test_wasserstein_and_least_squares_values():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert LOSSES["wasserstein"].discriminator(real, fake).item() == pytest.approx(0.0 - 3.0)
    assert LOSSES["least-squares"].generator(torch.ones(3)).item() == 0


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="non-saturating"):
        get_loss("wgan-lp")


def test_gradient_penalty_uses_the_norm_over_all_of_chw():
    # f(x) = sum(w * x): its gradient is w for every sample, so the penalty is (||w||_2 - 1)^2 exactly,
    # with the norm over C, H and W together. A norm over one dimension would give something else.
    w = torch.randn(3, 4, 4)

    def critic(x):
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    expected = (w.flatten().norm() - 1) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    wrong = ((w.norm(dim=-1) - 1) ** 2).mean()  # the known bug: a norm over the last dimension only
    assert not math.isclose(wrong.item(), expected.item(), rel_tol=1e-3)


def test_gradient_penalty_is_differentiable_for_the_critic():
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1))
    penalty = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4))
    penalty.backward()
    assert critic[1].weight.grad is not None and critic[1].weight.grad.abs().sum() > 0


def test_r1_equals_its_analytic_value_on_a_linear_critic():
    # f(x) = <w, x> + b: its gradient is w for every sample, so E||grad f||^2 = ||w||^2 over all of (C, H, W).
    from gancourse.losses import zero_centred_penalty

    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, 4, generator=g)
    x = torch.randn(5, 3, 4, 4, generator=g).requires_grad_(True)
    scores = (x * w).sum(dim=(1, 2, 3)) + 0.5
    penalty = zero_centred_penalty(scores, x)
    assert penalty.item() == pytest.approx(w.square().sum().item(), rel=1e-5)
    per_dimension = w.norm(dim=0).mean().square()  # a norm over one axis of the 4-D gradient: the common bug
    assert per_dimension.item() != pytest.approx(penalty.item(), rel=1e-2)
    w.requires_grad_(True)
    quadratic = (x.square() * w).sum(dim=(1, 2, 3))  # grad 2 w x: the penalty depends on x and w
    penalty = zero_centred_penalty(quadratic, x)
    assert penalty.item() == pytest.approx((2 * w * x).square().sum(dim=(1, 2, 3)).mean().item(), rel=1e-5)
    penalty.backward()  # differentiable (create_graph): D's weights get its gradient
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_relativistic_loss_scores_each_real_against_a_fake():
    from gancourse.losses import get_loss

    loss = get_loss("relativistic")
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    assert loss.relativistic and not get_loss("non-saturating").relativistic
    assert loss.discriminator(real, fake).item() == pytest.approx(F.softplus(fake - real).mean().item())
    assert loss.generator(fake, real).item() == pytest.approx(F.softplus(real - fake).mean().item())
    # shifting every logit by the same amount changes nothing: only the gap between real and fake counts,
    # unlike the non-saturating loss whose D loss falls when every real logit rises
    assert loss.discriminator(real + 3, fake + 3).item() == pytest.approx(loss.discriminator(real, fake).item())
    ns = get_loss("non-saturating")
    assert ns.discriminator(real + 3, fake + 3).item() != pytest.approx(ns.discriminator(real, fake).item())
    with pytest.raises(ValueError, match="pass real"):
        loss.generator(fake)
