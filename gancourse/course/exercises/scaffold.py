"""The plumbing around the code a student writes, so that it trains through the course's ``fit``.

A student subclasses one of these recipes and writes only the part the exercise asks for (``step``, a
network, the image pool, a loss); the rest (optimisers, sampling, checkpoints, metrics, resume) is the
package's, so their run is measured exactly like the reference run beside it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ...data import Batch
from ...losses import gradient_penalty
from ...recipes.cyclegan import CycleGAN
from ...recipes.dcgan import DCGAN
from ...recipes.wgan import WGANGP


class GANExercise(DCGAN):
    """DCGAN's networks, optimisers (``self.optimizers["G"]``, ``["D"]``), noise (``self.noise(n)``) and
    losses (``self.loss``) around a ``step`` you write. ``G``/``D``: your own networks instead of the package's.

    Your generator may take ``z`` alone (``G(z)``); the package's also accepts labels.
    """

    name = "your-gan"

    def __init__(self, config: Any, device: torch.device | str = "cpu", G: nn.Module | None = None,
                 D: nn.Module | None = None) -> None:
        super().__init__(config, device)
        if G is not None or D is not None:
            self.use_networks(G, D)

    def use_networks(self, G: nn.Module | None = None, D: nn.Module | None = None) -> None:
        """Put ``G`` and/or ``D`` in place of the package's networks (fresh optimisers for both)."""
        if G is not None:
            self.G = G.to(self.device)
        if D is not None:
            self.D = D.to(self.device)
        self.modules = {"G": self.G, "D": self.D}
        self.optimizers = self.build_optimizers()

    def step(self, batch: Batch) -> dict[str, float]:
        raise NotImplementedError("write step(batch) in your subclass")

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.G(z) if labels is None else self.G(z, labels)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        was_training = self.G.training
        self.G.eval()
        if self.config.n_classes and labels is None:
            labels = torch.arange(n, device=self.device) % self.config.n_classes
        images = self._generate(self.noise(n, generator), labels.to(self.device) if labels is not None else None)
        self.G.train(was_training)
        return images.float()

    @torch.no_grad()
    def sample_fixed(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        was_training = self.G.training
        self.G.eval()
        labels = inputs.get("labels")
        images = self._generate(inputs["z"].to(self.device), labels.to(self.device) if labels is not None else None)
        self.G.train(was_training)
        return images.float()

    def generator_export(self) -> dict[str, Any]:
        if isinstance(getattr(self.G, "config", None), dict):
            return super().generator_export()
        # A student's own generator: its weights, for reloading into the same class in the notebook.
        return {"recipe": self.name, "class": type(self.G).__name__, "config": {}, "state_dict": self.G.state_dict()}


def plain_gan_step(recipe: DCGAN, batch: Batch) -> dict[str, float]:
    """The step notebook 01 asks for: D on real and detached fake, then G against the updated D."""
    real = batch.images
    fake = recipe.G(recipe.noise(real.shape[0]))
    loss_d = recipe.loss.discriminator(recipe.D(real), recipe.D(fake.detach()))
    recipe.optimizers["D"].zero_grad()
    loss_d.backward()
    recipe.optimizers["D"].step()
    loss_g = recipe.loss.generator(recipe.D(fake))
    recipe.optimizers["G"].zero_grad()
    loss_g.backward()
    recipe.optimizers["G"].step()
    return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}


def identity(images: torch.Tensor) -> torch.Tensor:
    return images


class AugmentedGAN(GANExercise):
    """Notebook 01's step with every image D sees (real and fake, in D's and in G's update) passed through
    ``augment`` (DiffAugment, Zhao et al. 2020). Set ``recipe.augment = your_function``."""

    name = "augmented-gan"

    def __init__(self, config: Any, device: torch.device | str = "cpu",
                 augment: Callable[[torch.Tensor], torch.Tensor] = identity, **networks: nn.Module) -> None:
        super().__init__(config, device, **networks)
        self.augment = augment

    def step(self, batch: Batch) -> dict[str, float]:
        real, aug = batch.images, self.augment
        fake = self.G(self.noise(real.shape[0]))
        loss_d = self.loss.discriminator(self.D(aug(real)), self.D(aug(fake.detach())))
        self.optimizers["D"].zero_grad()
        loss_d.backward()
        self.optimizers["D"].step()
        loss_g = self.loss.generator(self.D(aug(fake)))
        self.optimizers["G"].zero_grad()
        loss_g.backward()
        self.optimizers["G"].step()
        return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}


class CriticExercise(WGANGP):
    """WGAN-GP's critic, generator, optimisers and ``self.config.n_critic``/``gp_weight`` around a ``step``
    you write. ``self.penalty(real, fake)`` is the gradient penalty (yours: ``recipe.penalty = ...``)."""

    name = "your-wgan-gp"

    def penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return gradient_penalty(self.D, real, fake)

    def step(self, batch: Batch) -> dict[str, float]:
        raise NotImplementedError("write step(batch) in your subclass")


def plain_critic_step(recipe: CriticExercise, batch: Batch) -> dict[str, float]:
    """The step notebook 04 asks for: n_critic critic updates with the penalty, then one G update."""
    c, real = recipe.config, batch.images
    for _ in range(c.n_critic):
        fake = recipe.G(recipe.noise(real.shape[0])).detach()
        loss_d = recipe.D(fake).mean() - recipe.D(real).mean() + c.gp_weight * recipe.penalty(real, fake)
        recipe.optimizers["D"].zero_grad()
        loss_d.backward()
        recipe.optimizers["D"].step()
    loss_g = -recipe.D(recipe.G(recipe.noise(real.shape[0]))).mean()
    recipe.optimizers["G"].zero_grad()
    loss_g.backward()
    recipe.optimizers["G"].step()
    return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}


class _PoolWithoutState:
    """A student's image pool in the recipe's checkpoints: it keeps its images in memory only."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def query(self, images: torch.Tensor) -> torch.Tensor:
        return self.pool.query(images)

    def state_dict(self) -> dict[str, Any]:
        return self.pool.state_dict() if hasattr(self.pool, "state_dict") else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and hasattr(self.pool, "load_state_dict"):
            self.pool.load_state_dict(state)


class CycleGANExercise(CycleGAN):
    """CycleGAN with your generator loss and/or your image pools.

    ``generator_loss(G_AB, G_BA, D_A, D_B, real_a, real_b, lambda_cycle, lambda_identity) -> total`` replaces
    the package's; ``pool``: a class with ``__init__(size)`` and ``query(images)`` for both domains.
    """

    name = "your-cyclegan"

    def __init__(self, config: Any, device: torch.device | str = "cpu", generator_loss: Callable | None = None,
                 pool: type | None = None) -> None:
        super().__init__(config, device)
        self.student_loss = generator_loss
        if pool is not None:
            self.pools = {k: _PoolWithoutState(pool(config.pool_size)) for k in ("A", "B")}

    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor):
        if self.student_loss is None:
            return super().generator_losses(real_a, real_b)
        with torch.no_grad():  # the fakes the discriminators will judge, from the generators before their update
            fake_a, fake_b = self.G_BA(real_b), self.G_AB(real_a)
        c = self.config
        total = self.student_loss(self.G_AB, self.G_BA, self.D_A, self.D_B, real_a, real_b, c.lambda_cycle,
                                  c.lambda_identity)
        with torch.no_grad():  # logged beside the total, as the package's step logs it
            cycle = (self.G_BA(fake_b) - real_a).abs().mean() + (self.G_AB(fake_a) - real_b).abs().mean()
        return total, {"cycle": cycle}, fake_a, fake_b


def fresh_copy(recipe: Any) -> Any:
    """A deep copy of a recipe (networks, optimisers, state), to run a step on without touching the original."""
    return copy.deepcopy(recipe)
