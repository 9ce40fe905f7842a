"""Walking the latent space of a generator: interpolation strips and sweeps along directions.

Gaussian latents live near a sphere of radius sqrt(nz), so a straight line between two of them passes
through the low-norm middle the generator rarely saw; spherical interpolation (slerp, White 2016) keeps
the norm and usually gives cleaner in-between images. Everything returns float images in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn as nn


def latent_for_seed(nz: int, seed: int, n: int = 1) -> torch.Tensor:
    """The same ``n`` latent vectors for the same seed, on every machine."""
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors ``a`` and ``b`` (nz,) at fractions ``t`` (k,) -> (k, nz)."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_n * b_n).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    t = t[:, None]
    if float(omega) < 1e-4:  # (nearly) parallel: slerp becomes lerp
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t = t[:, None]
    return (1 - t) * a + t * b


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, label: int | None = None) -> torch.Tensor:
    """Images for latents ``z`` from ``generator`` in eval mode (its mode is restored afterwards)."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    labels = None
    if getattr(generator, "n_classes", 0):
        labels = torch.full((len(z),), int(label or 0), dtype=torch.long, device=device)
    images = generator(z.to(device), labels).float().cpu()
    generator.train(was_training)
    return images


def interpolation_strip(generator: nn.Module, seed_a: int = 0, seed_b: int = 1, steps: int = 8,
                        spherical: bool = True, label: int | None = None) -> torch.Tensor:
    """``steps`` images walking from the latent of ``seed_a`` to that of ``seed_b``."""
    nz = generator.nz
    a, b = latent_for_seed(nz, seed_a)[0], latent_for_seed(nz, seed_b)[0]
    t = torch.linspace(0, 1, steps)
    return generate(generator, (slerp if spherical else lerp)(a, b, t), label)


def random_directions(nz: int, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` orthonormal directions in latent space (rows), fixed by ``seed``."""
    if not 1 <= k <= nz:
        raise ValueError(f"need 1 <= k <= nz={nz} directions, got {k}")
    q, _ = torch.linalg.qr(torch.randn(nz, k, generator=torch.Generator().manual_seed(seed)))
    return q.T.contiguous()


def direction_sweep(generator: nn.Module, directions: torch.Tensor, seed: int = 0, span: float = 3.0,
                    steps: int = 7, label: int | None = None) -> torch.Tensor:
    """One row per direction: the seed's image moved from -span to +span along it (rows x steps images)."""
    base = latent_for_seed(generator.nz, seed)[0]
    offsets = torch.linspace(-span, span, steps)
    z = base[None, None, :] + offsets[None, :, None] * directions[:, None, :]
    return generate(generator, z.reshape(-1, generator.nz), label)
