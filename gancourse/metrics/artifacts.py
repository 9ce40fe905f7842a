"""Checkerboards, measured: how much of an image's detail sits in a pattern that repeats every 2 (or 4, 8) pixels.

A stride-2 transposed convolution with a 4x4 kernel gives output pixels 1, 2 or 4 kernel taps in an
alternating pattern (Odena et al. 2016); unless training cancels it exactly, the image carries a faint
grid with a period of 2 pixels. In the Fourier spectrum that grid is energy at the highest frequencies,
(pi, 0), (0, pi) and (pi, pi). Paintings put very little there. Resize-then-convolve upsampling has no
such pattern by construction.

A chain of such layers stacks the patterns: the layer that doubles 8 to 16 px leaves a period-8 tiling in a
64 px image, the one before it a period-16 one. ``period=8`` measures everything that repeats every 8 pixels
(the period-2 and period-4 grids included): tiles a student sees as wallpaper, even where the period-2 grid
is faint.
"""

from __future__ import annotations

import torch


def checkerboard_energy(images: torch.Tensor, period: int = 2) -> float:
    """The share of the images' spectral energy (mean removed per image and channel) in patterns that repeat
    every ``period`` pixels: the frequencies that are multiples of (H / period, W / period), zero excepted.

    ``images``: (N, C, H, W), uint8 or floats, H and W multiples of ``period``. For white noise about
    (period^2 - 1) / (H * W) of the energy (3 / (H * W) at period 2); near 0 for smooth images at period 2;
    larger when a grid of that period is present. Compare with real images of the same size: natural images
    put some energy at period 8 (coarse structure), very little at period 2.
    """
    x = images.float()
    h, w = x.shape[-2:]
    if period < 2 or h % period or w % period:
        raise ValueError(f"checkerboard_energy needs image sides that are multiples of period={period} (>= 2), "
                         f"got {tuple(x.shape[-2:])}")
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square()
    on_grid = torch.zeros(h, w, dtype=torch.bool, device=power.device)
    on_grid[:: h // period, :: w // period] = True
    on_grid[0, 0] = False  # the mean, removed above
    total = power.sum(dim=(-2, -1)).clamp_min(1e-12)
    return float((power[..., on_grid].sum(dim=-1) / total).mean())
