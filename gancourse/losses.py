"""GAN objectives as named pairs: how D (or the critic) scores itself and how G scores itself.

Every loss takes raw logits (no sigmoid in the networks) so the log-sigmoid terms stay numerically
stable: ``softplus(-x) = -log sigmoid(x)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class GANLoss:
    """Base class: ``discriminator(real_logits, fake_logits)`` and ``generator(fake_logits)``.

    A *relativistic* loss scores fakes against reals in G's update too: its ``generator`` needs the real
    logits as well (``relativistic = True`` tells a recipe to pass them).
    """

    name = "gan"
    relativistic = False

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
        raise NotImplementedError

    def generator(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


def _bce_discriminator(real: torch.Tensor, fake: torch.Tensor, smoothing: float) -> torch.Tensor:
    # One-sided label smoothing (Salimans et al. 2016): real targets 1 - smoothing, fake targets stay 0.
    target = 1.0 - smoothing
    real_term = target * F.softplus(-real) + (1 - target) * F.softplus(real)
    return real_term.mean() + F.softplus(fake).mean()


class MinimaxLoss(GANLoss):
    """The original game (Goodfellow et al. 2014): G minimises log(1 - D(G(z))). Saturates early."""

    name = "minimax"

    def discriminator(self, real, fake, smoothing=0.0):
        return _bce_discriminator(real, fake, smoothing)

    def generator(self, fake, real=None):
        return -F.softplus(fake).mean()


class NonSaturatingLoss(GANLoss):
    """G maximises log D(G(z)) instead: same fixed point, strong gradients when D is winning."""

    name = "non-saturating"

    def discriminator(self, real, fake, smoothing=0.0):
        return _bce_discriminator(real, fake, smoothing)

    def generator(self, fake, real=None):
        return F.softplus(-fake).mean()


class LeastSquaresLoss(GANLoss):
    """LSGAN (Mao et al. 2017): squared distance to the targets 1 (real) and 0 (fake)."""

    name = "least-squares"

    def discriminator(self, real, fake, smoothing=0.0):
        return 0.5 * ((real - (1.0 - smoothing)) ** 2).mean() + 0.5 * (fake**2).mean()

    def generator(self, fake, real=None):
        return 0.5 * ((fake - 1.0) ** 2).mean()


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN): D stops pushing once a sample is past the margin."""

    name = "hinge"

    def discriminator(self, real, fake, smoothing=0.0):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def generator(self, fake, real=None):
        return -fake.mean()


class WassersteinLoss(GANLoss):
    """WGAN (Arjovsky et al. 2017): the critic's E[f(fake)] - E[f(real)] estimates minus the W1 distance."""

    name = "wasserstein"

    def discriminator(self, real, fake, smoothing=0.0):
        return fake.mean() - real.mean()

    def generator(self, fake, real=None):
        return -fake.mean()


class RelativisticLoss(GANLoss):
    """RpGAN (Jolicoeur-Martineau 2019), R3GAN's loss with R1 + R2 (Huang et al. 2024): each real is scored
    against a fake, ``softplus(D(fake) - D(real))`` for D and the reverse for G. D can no longer push every
    real logit up on its own, only the gap to the fakes; R3GAN proves it converges locally with both penalties.
    """

    name = "relativistic"
    relativistic = True

    def discriminator(self, real, fake, smoothing=0.0):
        if smoothing:
            raise ValueError("label smoothing has no target to smooth in the relativistic loss: leave it at 0")
        return F.softplus(fake - real).mean()

    def generator(self, fake, real=None):
        if real is None:
            raise ValueError("the relativistic loss scores G's fakes against D's logits of a real batch: pass real")
        return F.softplus(real - fake).mean()


LOSSES: dict[str, GANLoss] = {cls.name: cls() for cls in (MinimaxLoss, NonSaturatingLoss, LeastSquaresLoss,
                                                          HingeLoss, WassersteinLoss, RelativisticLoss)}


def get_loss(name: str) -> GANLoss:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None,
                     target: float = 1.0) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x f(x_hat)||_2 - 1)^2] on random interpolates.

    The norm is taken per sample over *all* of (C, H, W): a norm over one dimension of the 4-D
    gradient (a common bug) penalises the wrong quantity.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed, labels) if labels is not None else critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - target) ** 2).mean()


def zero_centred_penalty(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """E[||grad_x D(x)||^2]: R1 when ``inputs`` are real images (Mescheder et al. 2018), R2 on fakes (R3GAN).

    ``scores`` must come from ``inputs`` (with ``requires_grad``) in a graph this call can differentiate
    again, so the penalty reuses D's forward on the real batch. The squared norm is per sample, over all
    of (C, H, W); the recipes add ``r1 / 2`` times it to D's loss (gamma / 2 in the paper).
    Pushing the gradient towards zero on the data (not towards 1 between the distributions, as WGAN-GP)
    stops D from growing steep around the real images, where its gradient would throw G past them.
    """
    (grad,) = torch.autograd.grad(scores.float().sum(), inputs, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(dim=1).mean()
