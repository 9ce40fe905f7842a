"""WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017): a critic instead of a discriminator.

The critic is ``models.Discriminator`` read differently: its raw output is a score, not a logit, and
``E[f(real)] - E[f(fake)]`` estimates the Wasserstein-1 distance *if* f is 1-Lipschitz. The two recipes
differ only in how they keep f Lipschitz:

- ``wgan``: clamp every critic weight to [-c, c] after each update (RMSprop, lr 5e-5, c = 0.01).
- ``wgan-gp``: penalise ``(||grad_x f(x_hat)|| - 1)^2`` at random interpolates x_hat between real and
  fake (Adam 1e-4, betas (0.0, 0.9), lambda = 10). Batch norm is refused in this critic: it makes each
  sample's score depend on the rest of the batch, while the penalty constrains the gradient of each
  sample's score with respect to that sample alone.

Both take ``n_critic`` critic updates per generator update. A step logs the critic's estimate
(``w_estimate``), the penalty (``gp``) and the mean gradient norm at interpolates (``grad_norm``,
the quantity the penalty pushes to 1 and clipping drives far below it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from ..data import Batch
from ..losses import gradient_penalty
from .dcgan import DCGAN, GANConfig

OPTIMIZERS = ("rmsprop", "adam")


@dataclass
class WGANConfig(GANConfig):
    """GANConfig plus the critic's knobs. Defaults: WGAN with weight clipping, as in Arjovsky et al."""

    loss: str = "wasserstein"
    d_norm: str = "batch"  # Arjovsky et al. kept the DCGAN critic, batch norm included
    lr_g: float = 5e-5
    lr_d: float = 5e-5
    optimizer: str = "rmsprop"  # rmsprop | adam (momentum destabilised the clipped critic in the paper)
    n_critic: int = 5  # critic updates per generator update
    clip: float = 0.01  # > 0: clamp every critic parameter to [-clip, clip] after each update
    gp_weight: float = 0.0  # lambda of the gradient penalty; > 0 turns it on
    track_grad_norm: bool = True  # log ||grad_x f|| at fresh interpolates each step (one extra critic pass)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss != "wasserstein":
            raise ValueError(f"a WGAN critic is trained with loss='wasserstein', got {self.loss!r}; "
                             f"use the dcgan recipe for other losses")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {self.n_critic}")
        if self.clip < 0 or self.gp_weight < 0:
            raise ValueError(f"clip and gp_weight must be >= 0, got clip={self.clip}, gp_weight={self.gp_weight}")
        if self.r1 or self.r2:
            raise ValueError("r1 and r2 are penalties for a discriminator's loss; a WGAN critic is kept Lipschitz by "
                             "clip or gp_weight instead: leave r1 and r2 at 0")
        if self.label_smoothing or self.d_gate:
            raise ValueError("label_smoothing and d_gate belong to the DCGAN discriminator; a critic has no "
                             "labels to smooth and is meant to be trained to optimality: leave them at 0")
        if self.gp_weight > 0:
            if self.d_norm == "batch":
                raise ValueError(
                    "d_norm='batch' cannot be used with a gradient penalty: batch norm makes each sample's "
                    "critic score depend on the whole batch, but the penalty constrains the gradient of each "
                    "score with respect to its own sample. Use d_norm='layer' (as Gulrajani et al.) or 'none'.")
            if self.minibatch_std or self.pack > 1:
                raise ValueError("minibatch_std and pack > 1 mix samples inside the critic, which breaks the "
                                 "per-sample gradient penalty; turn them off (minibatch_std=False, pack=1)")
        if self.clip == 0 and self.gp_weight == 0:
            warnings.warn("neither weight clipping nor a gradient penalty: the critic is unconstrained and "
                          "its Wasserstein estimate can grow without bound", stacklevel=3)


@dataclass
class WGANGPConfig(WGANConfig):
    """WGAN-GP defaults (Gulrajani et al. 2017, Algorithm 1): Adam 1e-4, betas (0, 0.9), lambda 10."""

    d_norm: str = "layer"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0  # (0.5, 0.9) is the other common choice
    beta2: float = 0.9
    optimizer: str = "adam"
    clip: float = 0.0
    gp_weight: float = 10.0


def critic_gradient_norms(critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
                          ) -> torch.Tensor:
    """``||grad_x f(x_hat)||_2`` per sample at random interpolates of ``real`` and ``fake``: shape (B,).

    The norm runs over all of (C, H, W), as in ``losses.gradient_penalty``; a 1-Lipschitz critic that is
    optimal has norm 1 almost everywhere between the two distributions (Gulrajani et al., Prop. 1).
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed, labels) if labels is not None else critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed)
    return grad.flatten(1).norm(2, dim=1).detach()


class WGAN(DCGAN):
    """n_critic critic updates (clipped or penalised), then one generator update."""

    name = "wgan"
    Config = WGANConfig
    cpu_bf16 = False  # weight clipping: not measured with bfloat16

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        if c.optimizer == "rmsprop":
            return {"G": torch.optim.RMSprop(self.G.parameters(), lr=c.lr_g),
                    "D": torch.optim.RMSprop(self.D.parameters(), lr=c.lr_d)}
        return super().build_optimizers()

    @torch.no_grad()
    def clip_critic(self) -> None:
        # Every parameter, norm scales included, as in the reference implementation.
        for p in self.D.parameters():
            p.clamp_(-self.config.clip, self.config.clip)

    def _labels(self, batch: Batch) -> torch.Tensor | None:
        if self.config.n_classes and batch.labels is None:
            raise ValueError(f"{self.name} is conditional (n_classes={self.config.n_classes}): "
                             f"train it on a labelled dataset")
        return batch.labels if self.config.n_classes else None

    def critic_step(self, batch: Batch) -> dict[str, float]:
        """One critic update on a real batch and fresh fakes; returns its loss terms."""
        c = self.config
        real, labels = batch.images, self._labels(batch)
        with torch.no_grad(), self.autocast():
            fake = self.G(self.noise(real.shape[0]), labels)
        real, fake = self.seen_by_d(real), self.seen_by_d(fake)  # DiffAugment: the penalty sees these too
        with self.autocast():
            d_real = self.D(real, labels).float()
            d_fake = self.D(fake, labels).float()
        loss = self.loss.discriminator(d_real, d_fake)  # E[f(fake)] - E[f(real)] = -(W estimate)
        penalty = torch.zeros((), device=self.device)
        if c.gp_weight:
            # Outside autocast: the penalty differentiates twice, where bfloat16 loses too much.
            penalty = gradient_penalty(self.D, real, fake.float(), labels)
        self.optimizers["D"].zero_grad(set_to_none=True)
        (loss + c.gp_weight * penalty).backward()
        self.optimizers["D"].step()
        if c.clip:
            self.clip_critic()
        return {"w_estimate": -float(loss.detach()), "gp": float(penalty.detach()),
                "loss_d": float(loss.detach() + c.gp_weight * penalty.detach())}

    def step(self, batch: Batch) -> dict[str, float]:
        """``n_critic`` critic updates, then one generator update.

        Every critic update reuses the step's real batch, with new fakes and interpolates (the paper's
        Algorithm 1 draws a fresh real batch for each critic update).
        """
        c = self.config
        terms = [self.critic_step(batch) for _ in range(c.n_critic)]
        scalars = {k: sum(t[k] for t in terms) / len(terms) for k in terms[0]}

        labels = self._labels(batch)
        b = batch.images.shape[0]
        if c.track_grad_norm:
            with torch.no_grad():
                fake = self.G(self.noise(b), labels)
            scalars["grad_norm"] = float(critic_gradient_norms(self.D, batch.images, fake, labels).mean())

        with self.autocast():
            loss_g = self.loss.generator(self.D(self.seen_by_d(self.G(self.noise(b), labels)), labels).float())
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["G"].step()
        self.update_ema(b)
        # The critic's gradients from the G update are discarded: its next update zeroes them first.
        scalars["loss_g"] = float(loss_g.detach())
        self.extra_state["last_loss_d"], self.extra_state["last_loss_g"] = scalars["loss_d"], scalars["loss_g"]
        return scalars


class WGANGP(WGAN):
    name = "wgan-gp"
    Config = WGANGPConfig
    cpu_bf16 = True
