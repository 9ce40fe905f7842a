"""WGAN and WGAN-GP: the penalty's norm, that the penalty and the clipping really act, n_critic."""

import pytest
import torch
import torch.nn as nn

from gancourse.data import Batch
from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.losses import gradient_penalty
from gancourse.recipes import RECIPES, WGAN, WGANGP, WGANConfig, WGANGPConfig, recipe_class
from gancourse.recipes.wgan import critic_gradient_norms

from ..helpers import SMALL, blob_images

DATA = blob_images(n=128, size=16)


def batch(seed: int = 0, n: int = 16) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, 1, 16, 16, generator=g) * 2 - 1, None)


def make(name: str, **options):
    seed_everything(0)
    cls = recipe_class(name)
    return cls(cls.config_for(DATA, **SMALL, **options))


class LinearCritic(nn.Module):
    """f(x) = <w, x>: its gradient with respect to every sample is w, so the penalty is known by hand."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, labels=None):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_takes_the_norm_over_all_of_chw():
    w = torch.randn(3, 4, 5)  # (C, H, W)
    real, fake = torch.randn(6, 3, 4, 5), torch.randn(6, 3, 4, 5)
    by_hand = (w.flatten().norm() - 1) ** 2  # ||grad|| = ||w|| over all 60 numbers, for every sample
    assert torch.allclose(gradient_penalty(LinearCritic(w), real, fake), by_hand)
    # The published bug: a norm over one dimension (here channels) of the 4-D gradient, then a mean.
    one_dim = ((w.norm(2, dim=0) - 1) ** 2).mean()
    assert not torch.allclose(one_dim, by_hand, rtol=1e-2)


def test_penalty_and_logged_norms_match_a_per_sample_computation():
    recipe = make("wgan-gp")
    critic, real, fake = recipe.D, batch(1).images, batch(2).images
    torch.manual_seed(5)
    norms = critic_gradient_norms(critic, real, fake)
    torch.manual_seed(5)  # same interpolation weights
    alpha = torch.rand(len(real), 1, 1, 1)
    manual = []
    for a, r, f in zip(alpha, real, fake, strict=True):  # one sample at a time: nothing shared across the batch
        x = (a * r + (1 - a) * f)[None].requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        manual.append(grad.flatten().norm())
    assert torch.allclose(norms, torch.stack(manual), rtol=1e-4, atol=1e-7)
    torch.manual_seed(5)
    assert torch.allclose(gradient_penalty(critic, real, fake), ((torch.stack(manual) - 1) ** 2).mean(), rtol=1e-4)


def critic_grads_after_one_update(gp_weight: float) -> tuple[dict[str, float], list[torch.Tensor]]:
    recipe = make("wgan-gp", gp_weight=gp_weight)
    terms = recipe.critic_step(batch())
    return terms, [p.grad.clone() for p in recipe.D.parameters()]


def test_wgan_gp_really_applies_the_penalty():
    with pytest.warns(UserWarning, match="unconstrained"):
        _, g0 = critic_grads_after_one_update(0.0)
    t10, g10 = critic_grads_after_one_update(10.0)
    _, g20 = critic_grads_after_one_update(20.0)
    assert t10["gp"] > 0
    assert t10["loss_d"] == pytest.approx(-t10["w_estimate"] + 10 * t10["gp"], rel=1e-5)
    # Same seed, same fakes, same interpolates: the critic's gradient is linear in lambda.
    diff10 = torch.cat([(a - b).flatten() for a, b in zip(g10, g0, strict=True)])
    diff20 = torch.cat([(a - b).flatten() for a, b in zip(g20, g0, strict=True)])
    assert diff10.abs().max() > 1e-4
    assert torch.allclose(diff20, 2 * diff10, rtol=1e-3, atol=1e-6)


def test_weight_clipping_keeps_every_critic_weight_in_range():
    recipe = make("wgan", clip=0.01)
    for i in range(3):
        recipe.step(batch(i))
    values = torch.cat([p.detach().flatten() for p in recipe.D.parameters()])
    assert values.abs().max() <= 0.01 + 1e-9
    assert (values.abs() == 0.01).any()  # the clamp was active (initial weights and norm scales exceed c)


def test_batch_norm_is_refused_in_a_gradient_penalty_critic():
    with pytest.raises(ValueError, match="d_norm='layer'"):
        WGANGPConfig(d_norm="batch")
    with pytest.raises(ValueError, match="batch norm"):
        recipe_class("wgan-gp").config_for(DATA, d_norm="batch")
    WGANConfig(d_norm="batch")  # fine with clipping (Arjovsky et al.'s critic)
    with pytest.raises(ValueError, match="minibatch_std"):
        WGANGPConfig(minibatch_std=True)


def test_defaults_follow_the_papers():
    wgan, gp = WGANConfig(), WGANGPConfig()
    assert (wgan.optimizer, wgan.lr_d, wgan.clip, wgan.n_critic, wgan.gp_weight) == ("rmsprop", 5e-5, 0.01, 5, 0)
    assert (gp.optimizer, gp.lr_d, (gp.beta1, gp.beta2), gp.gp_weight, gp.n_critic, gp.clip, gp.d_norm) == (
        "adam", 1e-4, (0.0, 0.9), 10.0, 5, 0.0, "layer")
    assert RECIPES["wgan"] is WGAN and RECIPES["wgan-gp"] is WGANGP
    assert isinstance(make("wgan").optimizers["D"], torch.optim.RMSprop)
    assert isinstance(make("wgan-gp").optimizers["D"], torch.optim.Adam)
    with pytest.raises(ValueError, match="wasserstein"):
        WGANConfig(loss="hinge")


def count_updates(recipe) -> dict[str, int]:
    counts = {"G": 0, "D": 0}
    for name, opt in recipe.optimizers.items():
        opt.register_step_post_hook(lambda *_, name=name: counts.__setitem__(name, counts[name] + 1))
    return counts


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_critic_updates_per_generator_update(n_critic):
    recipe = make("wgan-gp", n_critic=n_critic)
    counts = count_updates(recipe)
    scalars = recipe.step(batch())
    assert counts == {"D": n_critic, "G": 1}
    assert {"loss_d", "loss_g", "w_estimate", "gp", "grad_norm"} <= set(scalars)


def test_a_short_run_trains_the_critic_in_the_right_direction(tmp_path):
    recipe = make("wgan-gp", n_critic=5)
    first = recipe.critic_step(Batch(DATA.images[:32].float() / 127.5 - 1, None))
    result = fit(recipe, DATA, tmp_path / "run", Loop(steps=12, batch_size=32, log_every=4), progress=False)
    history = result.run.losses()
    assert [r["step"] for r in history] == [4, 8, 12]
    # The critic learns to score real above fake: its estimate of W rises from about 0, its loss falls.
    assert history[-1]["w_estimate"] > first["w_estimate"] + 0.5
    assert history[-1]["loss_d"] < first["loss_d"]
    # The penalty pulls the gradient norm at interpolates to 1: it shrinks while W rises.
    assert history[-1]["gp"] < first["gp"] / 2 and 0.7 < history[-1]["grad_norm"] < 1.3
