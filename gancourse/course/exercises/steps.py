"""Checkers for a training step a student writes, and for CycleGAN's generator loss.

A step is checked by what it does to the networks: from one seeded state, two steps of the student's recipe
and two of the reference on the same batches and the same latent vectors, comparing the parameter updates
of G and of D after each step. When they differ, the known mistakes are replayed from the same state (D's
loss reaching G, gradients accumulated across steps, G updated against the old D, a loss with the wrong
sign...) and the one whose updates match the student's names the hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ...data import Batch
from ...recipes.dcgan import GANConfig
from ...recipes.wgan import WGANGPConfig
from ._common import Attempt, call, close, guarded, scalar
from .scaffold import CriticExercise, GANExercise, plain_critic_step, plain_gan_step

StepFn = Callable[[Any, Batch], Any]
TOLERANCE = 1e-3  # relative L2 difference of two updates that still counts as the same update


# -- running steps and comparing updates -------------------------------------------------------------------

def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


def _run(recipe: Any, batches: list[Batch], latents: list[list[torch.Tensor]], step: StepFn
         ) -> list[dict[str, torch.Tensor]]:
    """Per step, the update of every network: parameters after minus before.

    The k-th call of ``recipe.noise`` in a step returns the k-th latent batch of ``latents`` for that step (the
    same for the student and the reference); a list of one batch returns it at every call.
    """
    updates = []
    for batch, zs in zip(batches, latents, strict=True):
        queue = list(zs)
        calls = []

        def noise(n: int, generator: torch.Generator | None = None, queue: list = queue, calls: list = calls
                  ) -> torch.Tensor:
            calls.append(n)
            z = queue.pop(0) if len(queue) > 1 else queue[0]
            return z[:n].clone()

        recipe.noise = noise
        before = {k: _flat(m) for k, m in recipe.modules.items()}
        torch.manual_seed(0)
        step(recipe, batch)
        if not calls:
            raise Attempt("draw the latent vectors with self.noise(batch_size): the checker hands you and the "
                          "reference the same ones through it")
        updates.append({k: _flat(m) - before[k] for k, m in recipe.modules.items()})
    return updates


def _differs(a: torch.Tensor, b: torch.Tensor) -> bool:
    return float((a - b).norm()) > TOLERANCE * max(float(b.norm()), 1e-12)


def _first_difference(got: list[dict], expected: list[dict]) -> tuple[int, str] | None:
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        for name in e:
            if _differs(g[name], e[name]):
                return i, name
    return None


_ERROR_HINTS = {
    "backward through the graph a second time": (
        "D's loss back-propagated through G and freed G's graph, so G's backward failed: use fake.detach() in D's "
        "loss (D's update must not reach G)"),
    "modified by an inplace operation": (
        "G's loss used D's output from before D's update (the optimiser changed D's weights in place since): "
        "after D's step, judge the fakes again, D(fake), for G's loss"),
}


def _student_step(recipe: Any, batch: Batch) -> Any:
    try:
        return call(recipe.step, batch)
    except Attempt as attempt:
        for text, hint in _ERROR_HINTS.items():
            if text in attempt.hint:
                raise Attempt(hint) from None
        raise


def _diagnose(student: list[dict], variants: dict[str, tuple[StepFn, str]], replay: Callable[[StepFn], list[dict]],
              reference: list[dict]) -> str:
    for _, (step, hint) in variants.items():
        if _first_difference(student, replay(step)) is None:
            return hint
    step_index, network = _first_difference(student, reference)
    if step_index > 0:
        return (f"the first step matches but the second updates {network} differently: gradients accumulated "
                f"across steps? call self.optimizers['{network}'].zero_grad() before each backward()")
    return (f"{network}'s update differs from the reference's on the first step: check {network}'s loss, which "
            f"images {network} sees, and that each optimiser steps once, after its own backward()")


# -- the DCGAN step (notebook 01) ----------------------------------------------------------------------------

def _gan_config() -> GANConfig:
    # d_norm="none": judging real and fake in one batch or in two is then the same (batch norm would mix them)
    return GANConfig(image_size=16, channels=1, nz=8, g_width=4, d_width=4, d_norm="none", amp=False,
                     lr_g=1e-3, lr_d=1e-3)


def _gan_flaw(flaw: str) -> StepFn:
    def step(r: Any, batch: Batch) -> None:
        real, opt_d, opt_g = batch.images, r.optimizers["D"], r.optimizers["G"]
        d_loss = (lambda a, b: r.loss.discriminator(b, a)) if flaw == "swapped" else r.loss.discriminator
        d_sign = -1.0 if flaw == "d_sign" else 1.0
        fake = r.G(r.noise(real.shape[0]))
        if flaw == "g_first":
            opt_g.zero_grad()
            r.loss.generator(r.D(fake)).backward()
            opt_g.step()
        if flaw == "moves_g":
            opt_d.zero_grad()
            opt_g.zero_grad()
            (d_sign * d_loss(r.D(real), r.D(fake))).backward(retain_graph=True)
        else:
            if flaw not in ("no_zero_d", "no_zero"):
                opt_d.zero_grad()
            (d_sign * d_loss(r.D(real), r.D(fake.detach()))).backward()
        opt_d.step()
        if flaw == "g_first":
            return
        if flaw not in ("no_zero_g", "no_zero", "moves_g"):
            opt_g.zero_grad()
        if flaw == "minimax":
            loss_g = -F.softplus(r.D(fake)).mean()
        else:
            loss_g = (-1.0 if flaw == "g_sign" else 1.0) * r.loss.generator(r.D(fake))
        loss_g.backward()
        opt_g.step()

    return step


_GAN_VARIANTS = {
    "moves_g": "D's update moved G's parameters: use fake.detach() in D's loss, so D's loss does not reach G",
    "no_zero": ("gradients accumulated across steps: call each optimiser's zero_grad() before its backward() "
                "(self.optimizers['D'].zero_grad(), self.optimizers['G'].zero_grad())"),
    "no_zero_d": ("gradients accumulated across steps in D: call self.optimizers['D'].zero_grad() before D's "
                  "backward() (G's backward also leaves gradients in D)"),
    "no_zero_g": "gradients accumulated across steps in G: call self.optimizers['G'].zero_grad() before G's backward()",
    "g_first": ("G was updated against the old D: update D first, then compute G's loss with the updated D "
                "(the wrong order)"),
    "g_sign": "G's update goes the wrong way: G minimises -log sigmoid(D(G(z))) (check the sign of G's loss)",
    "d_sign": "D's update goes the wrong way: D minimises its BCE (check the sign of D's loss)",
    "swapped": "D learned real and fake the wrong way round: real images have target 1, fakes target 0",
    "minimax": ("G used the saturating minimax loss log(1 - D(G(z))): use the non-saturating -log D(G(z)) "
                "(self.loss.generator)"),
}


def _setup(config: Any, base_cls: type, student_cls: type, batches: int, batch_size: int, noise_draws: int
           ) -> tuple[Any, Callable[[], Any], list[Batch], list[list[torch.Tensor]]]:
    torch.manual_seed(0)
    base = base_cls(config, "cpu")
    state = base.state_dict()

    def fresh(cls: type = base_cls) -> Any:
        torch.manual_seed(0)
        recipe = call(cls, config, "cpu")
        try:
            recipe.load_state_dict(state)
        except (KeyError, RuntimeError) as exc:
            raise Attempt(f"your recipe's networks differ from the package's ({type(exc).__name__}); for this check "
                          f"keep the networks {base_cls.__name__} builds and only write step()") from None
        # Adam with a tiny eps is invariant to the loss's scale (the ½ convention passes) and still sees every
        # mistake; the rest of the optimisers' settings are the recipe's own.
        for opt in recipe.optimizers.values():
            for group in opt.param_groups:
                group["eps"] = 1e-12
        return recipe

    g = torch.Generator().manual_seed(12)
    data = [Batch(torch.rand(batch_size, config.channels, config.image_size, config.image_size, generator=g) * 2 - 1,
                  None) for _ in range(batches)]
    latents = [[torch.randn(batch_size, config.nz, generator=g) for _ in range(noise_draws)] for _ in range(batches)]
    student = fresh(student_cls)
    return student, fresh, data, latents


def _check_returns(out: Any) -> str | None:
    if not isinstance(out, dict) or not {"loss_d", "loss_g"} <= set(out):
        return "step() must return a dict of numbers with at least 'loss_d' and 'loss_g' (fit logs them)"
    try:
        [float(v) for v in out.values()]
    except (TypeError, ValueError):
        return "step() must return plain numbers (float(loss)), not tensors that keep the graph alive"
    return None


def check_gan_step(recipe_cls: type) -> bool:
    """Notebook 01's training step: ``recipe_cls`` subclasses :class:`GANExercise` and writes ``step(batch)``:
    D on real and detached fake, then G against the updated D. Compared update for update with the reference."""

    def body() -> str | None:
        config = _gan_config()
        # one latent batch per step, whatever the number of calls: G's update may reuse D's fakes or draw again
        student, fresh, batches, latents = _setup(config, GANExercise, recipe_cls, 2, 8, noise_draws=1)
        returned: list[Any] = []

        def student_step(r: Any, b: Batch) -> None:
            returned.append(_student_step(r, b))

        got = _run(student, batches, latents, student_step)
        hint = _check_returns(returned[-1])
        if hint:
            return hint
        expected = _run(fresh(), batches, latents, plain_gan_step)
        if _first_difference(got, expected) is None:
            return None
        variants = {k: (_gan_flaw(k), hint) for k, hint in _GAN_VARIANTS.items()}
        return _diagnose(got, variants, lambda step: _run(fresh(), batches, latents, step), expected)

    return guarded("GAN training step", body, solution="GAN")


# -- the WGAN-GP step (notebook 04) --------------------------------------------------------------------------

def _critic_config() -> WGANGPConfig:
    return WGANGPConfig(image_size=16, channels=1, nz=8, g_width=4, d_width=4, amp=False, n_critic=3,
                        track_grad_norm=False, lr_g=1e-3, lr_d=1e-3)


def _fixed_penalty(critic: Any, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The penalty at fixed interpolates (eps spread over [0, 1]), so that student and reference agree."""
    eps = torch.linspace(0.1, 0.9, real.shape[0])[:, None, None, None]
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _critic_flaw(flaw: str) -> StepFn:
    def step(r: Any, batch: Batch) -> None:
        c, real, opt_d, opt_g = r.config, batch.images, r.optimizers["D"], r.optimizers["G"]
        if flaw == "g_first":
            opt_g.zero_grad()
            (-r.D(r.G(r.noise(real.shape[0]))).mean()).backward()
            opt_g.step()
        if flaw == "moves_g":
            opt_g.zero_grad()
        for _ in range(1 if flaw == "one_update" else c.n_critic):
            fake = r.G(r.noise(real.shape[0]))
            if flaw != "moves_g":
                fake = fake.detach()
            gap = r.D(fake).mean() - r.D(real).mean()
            weight = {"no_weight": 1.0, "gp_sign": -c.gp_weight}.get(flaw, c.gp_weight)
            loss = (-gap if flaw == "d_sign" else gap) + weight * r.penalty(real, fake)
            if flaw != "no_zero_d":
                opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        if flaw == "g_first":
            return
        if flaw != "moves_g":
            opt_g.zero_grad()
        loss_g = -r.D(r.G(r.noise(real.shape[0]))).mean()
        (-loss_g if flaw == "g_sign" else loss_g).backward()
        opt_g.step()

    return step


_CRITIC_VARIANTS = {
    "one_update": "one critic update per step: the critic must take self.config.n_critic updates before G's one",
    "no_zero_d": ("the critic's gradients accumulated across its updates: call self.optimizers['D'].zero_grad() "
                  "before every critic backward(), inside the n_critic loop"),
    "moves_g": "the critic's updates moved G's parameters: detach the fakes the critic is trained on",
    "d_sign": "the critic's update goes the wrong way: it minimises mean(D(fake)) - mean(D(real)) (+ the penalty)",
    "gp_sign": "the penalty is subtracted: add gp_weight * penalty to the critic's loss (it pulls gradient norms to 1)",
    "no_weight": "the penalty is not weighted: multiply it by self.config.gp_weight (lambda = 10)",
    "g_sign": "G's update goes the wrong way: G minimises -mean(D(G(z)))",
    "g_first": "G was updated before the critic: first the n_critic critic updates, then G against the trained critic",
}


_NO_PENALTY_HINT = (
    "the critic's loss never called self.penalty(real, fake): add c.gp_weight * self.penalty(real, fake) to each "
    "critic loss. If you computed the gradient penalty yourself, use self.penalty instead: your penalty from "
    "exercise 4 is plugged in there, and through it the checker gives you and the reference the same interpolates")


def check_critic_step(recipe_cls: type) -> bool:
    """Notebook 04's step: ``recipe_cls`` subclasses :class:`CriticExercise` and writes ``step(batch)``:
    ``n_critic`` critic updates, each on fresh detached fakes with ``gp_weight * self.penalty(real, fake)``,
    then one generator update. Compared update for update with the reference (the same interpolates, handed to
    both through ``self.penalty``: a step that computes its penalty without it is told so)."""

    def body() -> str | None:
        config = _critic_config()
        # fresh noise for every critic update and for G's: the k-th call of a step gets the k-th batch
        student, fresh, batches, latents = _setup(config, CriticExercise, recipe_cls, 2, 6, noise_draws=8)

        def with_fixed_penalty(recipe: Any, calls: list | None = None) -> Any:
            def penalty(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
                if calls is not None:
                    calls.append(real.shape[0])
                return _fixed_penalty(recipe.D, real, fake)

            recipe.penalty = penalty
            return recipe

        returned: list[Any] = []
        penalty_calls: list[int] = []

        def student_step(r: Any, b: Batch) -> None:
            returned.append(_student_step(r, b))

        got = _run(with_fixed_penalty(student, penalty_calls), batches, latents, student_step)
        hint = _check_returns(returned[-1])
        if hint:
            return hint
        expected = _run(with_fixed_penalty(fresh()), batches, latents, plain_critic_step)
        if _first_difference(got, expected) is None:
            return None
        if not penalty_calls:
            return _NO_PENALTY_HINT
        variants = {k: (_critic_flaw(k), hint) for k, hint in _CRITIC_VARIANTS.items()}
        return _diagnose(got, variants, lambda step: _run(with_fixed_penalty(fresh()), batches, latents, step),
                         expected)

    return guarded("WGAN-GP training step", body, solution="WGANGP")


# -- CycleGAN's generator loss (notebook 06) -----------------------------------------------------------------

def _cyclegan_terms(G_AB, G_BA, D_A, D_B, a, b) -> dict[str, torch.Tensor]:
    fake_b, fake_a = G_AB(a), G_BA(b)
    l1 = F.l1_loss
    return {
        "adversarial": ((D_A(fake_a) - 1) ** 2).mean() + ((D_B(fake_b) - 1) ** 2).mean(),
        "cycle": l1(G_BA(fake_b), a) + l1(G_AB(fake_a), b),
        "identity": l1(G_BA(a), a) + l1(G_AB(b), b),
        # the mistakes
        "adversarial swapped": ((D_B(fake_a) - 1) ** 2).mean() + ((D_A(fake_b) - 1) ** 2).mean(),
        "adversarial target 0": (D_A(fake_a) ** 2).mean() + (D_B(fake_b) ** 2).mean(),
        "cycle squared": F.mse_loss(G_BA(fake_b), a) + F.mse_loss(G_AB(fake_a), b),
        "identity swapped": l1(G_AB(a), a) + l1(G_BA(b), b),
    }


def check_cyclegan_generator_loss(fn: Callable[..., torch.Tensor]) -> bool:
    """CycleGAN's total generator loss: ``fn(G_AB, G_BA, D_A, D_B, real_a, real_b, lambda_cycle,
    lambda_identity) -> scalar``: least-squares adversarial (both directions, target 1) + lambda_cycle x cycle L1
    + lambda_identity x lambda_cycle x identity L1, as notebook 06's formula (= the package's generator_losses)."""
    from ...recipes.cyclegan import CycleGAN, CycleGANConfig

    def body() -> str | None:
        torch.manual_seed(0)
        recipe = CycleGAN(CycleGANConfig(image_size=16, channels=3, ngf=4, n_blocks=1, ndf=4, d_layers=2, amp=False))
        g = torch.Generator().manual_seed(13)
        a, b = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1, torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
        nets = (recipe.G_AB, recipe.G_BA, recipe.D_A, recipe.D_B)
        with torch.no_grad():
            t = {k: float(v) for k, v in _cyclegan_terms(*nets, a, b).items()}
        for lc, li in ((10.0, 0.5), (4.0, 0.25)):
            for net in nets:
                net.zero_grad()
            got = call(fn, *nets, a.clone(), b.clone(), lc, li)
            value = float(scalar(got))
            expected = t["adversarial"] + lc * t["cycle"] + li * lc * t["identity"]
            if close(value, expected, tol=1e-4):
                if not (isinstance(got, torch.Tensor) and got.requires_grad):
                    return "the loss must be differentiable (a tensor with a graph), so G's optimiser can minimise it"
                got.backward()
                if any(p.grad is None for p in recipe.G_AB.parameters()) or any(
                        p.grad is None for p in recipe.G_BA.parameters()):
                    return "every generator parameter must receive a gradient: both G_AB and G_BA appear in the loss"
                continue
            mistakes = {
                "the identity term is missing: add lambda_identity * lambda_cycle * (|G_BA(a) - a| + |G_AB(b) - b|)":
                    t["adversarial"] + lc * t["cycle"],
                "the identity term's weight is lambda_identity x lambda_cycle (0.5 x 10 = 5), not lambda_identity":
                    t["adversarial"] + lc * t["cycle"] + li * t["identity"],
                "the cycle term is missing: add lambda_cycle * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)":
                    t["adversarial"] + li * lc * t["identity"],
                "the cycle term is an L1 distance (F.l1_loss), not a squared error":
                    t["adversarial"] + lc * t["cycle squared"] + li * lc * t["identity"],
                "each fake is judged by the discriminator of the domain it pretends to be: D_A(G_BA(b)), D_B(G_AB(a))":
                    t["adversarial swapped"] + lc * t["cycle"] + li * lc * t["identity"],
                "the generators want their fakes called real: target 1, ((D(fake) - 1)^2).mean()":
                    t["adversarial target 0"] + lc * t["cycle"] + li * lc * t["identity"],
                "identity means a domain's own generator leaves it unchanged: G_BA(a) = a (into A), G_AB(b) = b":
                    t["adversarial"] + lc * t["cycle"] + li * lc * t["identity swapped"],
                "the least-squares term is ((D(fake) - 1)^2).mean(), without the ½":
                    0.5 * t["adversarial"] + lc * t["cycle"] + li * lc * t["identity"],
            }
            for hint, value_if in mistakes.items():
                if close(value, value_if, tol=1e-4):
                    return hint
            return ("expected sum over both directions of ((D(fake) - 1)^2).mean() + lambda_cycle * cycle L1 + "
                    "lambda_identity * lambda_cycle * identity L1")
        return None

    return guarded("CycleGAN generator loss", body, solution="cyclegan_generator_loss")
