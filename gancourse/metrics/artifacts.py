"""Checkerboards, measured: how much of an image's detail sits in a pattern that repeats every 2 pixels.

A stride-2 transposed convolution with a 4x4 kernel gives output pixels 1, 2 or 4 kernel taps in an
alternating pattern (Odena et al. 2016); unless training cancels it exactly, the image carries a faint
grid with a period of 2 pixels. In the Fourier spectrum that grid is energy at the highest frequencies,
(pi, 0), (0, pi) and (pi, pi). Paintings put very little there. Resize-then-convolve upsampling has no
such pattern by construction.
"""

from __future__ import annotations

import torch


def checkerboard_energy(images: torch.Tensor) -> float:
    """The share of the images' spectral energy (mean removed per image and channel) at the period-2 frequencies.

    ``images``: (N, C, H, W) with even H and W, uint8 or floats. About 3/(H*W) of the energy for white noise;
    near 0 for smooth images; larger when a period-2 grid is present.
    """
    x = images.float()
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"checkerboard_energy needs even image sides, got {tuple(x.shape[-2:])}")
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square()
    h, w = x.shape[-2:]
    grid = power[..., h // 2, 0] + power[..., 0, w // 2] + power[..., h // 2, w // 2]
    total = power.sum(dim=(-2, -1)).clamp_min(1e-12)
    return float((grid / total).mean())
