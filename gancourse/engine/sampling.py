"""Drawing images from a trained (exported) generator, without its recipe or optimisers."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import UserError


@torch.no_grad()
def sample_generator(generator: nn.Module, n: int, *, labels: torch.Tensor | None = None, seed: int = 0,
                     batch_size: int = 500) -> torch.Tensor:
    """``n`` images in [-1, 1] (float32, CPU) from a latent-noise generator; ``labels`` for conditional ones."""
    nz = getattr(generator, "nz", None)
    if nz is None:
        raise UserError(f"{type(generator).__name__} does not draw from noise (an image translator?): "
                        "use `gancourse translate` for CycleGAN runs")
    n_classes = getattr(generator, "n_classes", 0)
    if n_classes and labels is None:
        labels = torch.arange(n) % n_classes
    device = next(generator.parameters()).device
    g = torch.Generator().manual_seed(seed)
    generator.eval()
    chunks = []
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        z = torch.randn(k, nz, generator=g).to(device)
        y = labels[start:start + k].to(device) if labels is not None else None
        chunks.append(generator(z, y).float().cpu())
    return torch.cat(chunks)


class GeneratorSampler:
    """Gives an exported generator the ``sample(n, generator=...)`` method evaluators call on recipes."""

    def __init__(self, generator: nn.Module) -> None:
        self.generator = generator

    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        seed = int(torch.randint(2**31, (1,), generator=generator)) if generator is not None else 0
        return sample_generator(self.generator, n, labels=labels, seed=seed)
