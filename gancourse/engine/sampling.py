"""Drawing images from a trained (exported) generator, without its recipe or optimisers."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import UserError
from ..metrics.samples import CHUNK, draw_samples


def sample_generator(generator: nn.Module, n: int, *, labels: torch.Tensor | None = None, seed: int = 0,
                     batch_size: int = CHUNK) -> torch.Tensor:
    """``n`` images in [-1, 1] (float32, CPU) from a latent-noise generator; ``labels`` for conditional ones."""
    n_classes = getattr(generator, "n_classes", 0)
    if n_classes and labels is None:
        labels = torch.arange(n) % n_classes
    return draw_samples(GeneratorSampler(generator), n, labels=labels, seed=seed, batch_size=batch_size)


class GeneratorSampler:
    """Gives an exported generator the ``sample(n, labels=..., generator=...)`` method evaluators call on recipes.

    The noise is drawn as the recipe draws it (``torch.randn(n, nz, generator=generator)`` on the CPU), so
    scoring the export of a run sees the same images as scoring its recipe.
    """

    def __init__(self, generator: nn.Module) -> None:
        self.generator = generator

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        g = self.generator
        nz = getattr(g, "nz", None)
        if nz is None:
            raise UserError(f"{type(g).__name__} does not draw from noise (an image translator?): "
                            "use `gancourse translate` for CycleGAN runs")
        n_classes = getattr(g, "n_classes", 0)
        if n_classes and labels is None:
            labels = torch.arange(n) % n_classes
        device = next(g.parameters()).device
        g.eval()
        z = torch.randn(n, nz, generator=generator).to(device)
        return g(z, labels.to(device) if labels is not None else None).float().cpu()
