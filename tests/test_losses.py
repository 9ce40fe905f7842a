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


def test_dcgan_r1_adds_half_gamma_times_the_penalty_to_d():
    from gancourse.data import Batch
    from gancourse.recipes import DCGAN, GANConfig, WGANConfig

    torch.manual_seed(0)
    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none")
    recipe = DCGAN(GANConfig(**small, r1=10.0))
    logs = recipe.step(Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None))
    assert logs["r1"] > 0 and "r2" not in logs
    assert not {"r1", "r2"} & set(DCGAN(GANConfig(**small)).step(Batch(torch.zeros(8, 3, 16, 16), None)))
    with pytest.raises(ValueError, match="r1"):
        WGANConfig(r1=1.0)
    with pytest.raises(ValueError, match="r2"):
        WGANConfig(r2=1.0)
    with pytest.raises(ValueError, match="r1"):
        GANConfig(r1=-1.0)


def test_dcgan_adds_exactly_half_gamma_times_each_penalty_to_ds_gradient():
    # Two copies from the same state take one D update on the same batch; the one with r1 = r2 = gamma must
    # end where plain SGD on loss_D + gamma/2 (R1 + R2) takes it: the penalties are added once, with gamma / 2.
    from gancourse.data import Batch
    from gancourse.losses import get_loss
    from gancourse.recipes import DCGAN, GANConfig

    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none", lr_d=0.1, beta1=0.0)
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(**small, r1=4.0, r2=2.0, loss="relativistic"))
    recipe.optimizers["D"] = torch.optim.SGD(recipe.D.parameters(), lr=0.1)
    d_before = {k: v.clone() for k, v in recipe.D.state_dict().items()}
    torch.manual_seed(1)
    fake = recipe.G(recipe.noise(8)).detach()
    torch.manual_seed(1)
    logs = recipe.step(Batch(real, None))

    expected = DCGAN(GANConfig(**small))
    expected.D.load_state_dict(d_before)
    x, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    d_real, d_fake = expected.D(x), expected.D(f)
    loss = get_loss("relativistic").discriminator(d_real, d_fake)
    grads_r1 = torch.autograd.grad(d_real.sum(), x, create_graph=True)[0].flatten(1).pow(2).sum(1).mean()
    grads_r2 = torch.autograd.grad(d_fake.sum(), f, create_graph=True)[0].flatten(1).pow(2).sum(1).mean()
    assert logs["r1"] == pytest.approx(grads_r1.item(), rel=1e-4)
    assert logs["r2"] == pytest.approx(grads_r2.item(), rel=1e-4)
    (loss + 4.0 / 2 * grads_r1 + 2.0 / 2 * grads_r2).backward()
    for name, p in expected.D.named_parameters():
        assert torch.allclose(recipe.D.state_dict()[name], p.detach() - 0.1 * p.grad, atol=1e-6), name


def test_gradient_penalties_refuse_what_mixes_images_in_d():
    from gancourse.recipes import GANConfig
    from gancourse.recipes.cgan import CGANConfig

    for mixing in (dict(d_norm="batch"), dict(d_norm="none", minibatch_std=True), dict(d_norm="none", pack=2)):
        with pytest.raises(ValueError, match="r1 and r2"):
            GANConfig(r1=1.0, **mixing)
        with pytest.raises(ValueError, match="r1 and r2"):
            GANConfig(r2=1.0, **mixing)
    for ok in ("none", "spectral", "layer"):
        GANConfig(r1=1.0, r2=1.0, d_norm=ok)
    CGANConfig(loss="relativistic", minibatch_std=False, r1=1.0, r2=1.0, d_norm="none")  # cgan shares DCGAN's step
    with pytest.raises(ValueError, match="label smoothing"):
        GANConfig(loss="relativistic", label_smoothing=0.1)


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


def test_relativistic_dcgan_step_trains_g_against_the_real_batch():
    from gancourse.data import Batch
    from gancourse.recipes import DCGAN, GANConfig

    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, loss="relativistic"))
    before = [p.clone() for p in recipe.G.parameters()]
    logs = recipe.step(Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None))
    assert logs["loss_g"] > 0 and logs["loss_d"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, recipe.G.parameters(), strict=True))


def test_lazy_penalties_apply_on_every_kth_d_update_weighted_k_times():
    # StyleGAN2's lazy regularisation: with penalty_every = 3, D's updates 0, 3, 6, ... carry 3 x gamma / 2 x R1
    # and the others none; each must equal the update of an eager twin from the same state.
    import copy
    import dataclasses

    from gancourse.data import Batch
    from gancourse.recipes import DCGAN, GANConfig

    def twin(recipe: DCGAN, **changes) -> DCGAN:
        other = copy.deepcopy(recipe)
        other.config = dataclasses.replace(recipe.config, **changes)
        return other

    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none")
    batch = Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None)
    torch.manual_seed(0)
    lazy = DCGAN(GANConfig(**small, r1=4.0, penalty_every=3))
    for step in range(5):
        penalised = step % 3 == 0
        eager = twin(lazy, r1=12.0 if penalised else 0.0, penalty_every=1)
        torch.manual_seed(step)
        logs = lazy.step(batch)
        torch.manual_seed(step)
        eager.step(batch)
        for (name, p), q in zip(lazy.D.named_parameters(), eager.D.parameters(), strict=True):
            assert torch.allclose(p, q, atol=1e-6), (step, name)
        assert logs["r1"] > 0  # the last value measured, on the lazy steps too
    assert lazy.extra_state["d_updates"] == 5
    with pytest.raises(ValueError, match="penalty_every"):
        GANConfig(penalty_every=0)
