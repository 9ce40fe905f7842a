"""FastGAN-style networks (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity
Few-shot Image Synthesis"), sized like the course's DCGAN: ``width`` channels next to the image, doubling
deeper, capped at 8x.

Two ideas, each a few lines:

- **Skip-layer excitation** in G: a small map (4x4, 8x8) is pooled into one gate per channel that scales a
  map eight times larger (32x32, 64x64). The layout decided early reaches the fine layers directly, at the
  cost of a channel-wise product instead of a skip connection's extra convolutions.
- **A discriminator that also reconstructs**: from its 8x8 features a small decoder redraws the image it
  saw at half size. A D that keeps only the few features that tell real from fake today memorises a small
  dataset quickly; redrawing makes it keep features that describe the whole painting. The recipe trains the
  decoder on real images only (``recipes.fastgan``).

Simplified from the paper for 64 px and a CPU: no noise injection, a plain L1 reconstruction instead of a
perceptual one, one decoder on the whole image instead of a second one on a random crop.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from .dcgan import NORMS, _norm, _widths, init_weights


def doubling_count(image_size: int) -> int:
    """How many times a 4x4 map doubles to reach ``image_size`` (a power of two from 32 to 256)."""
    doublings = math.log2(image_size / 4)
    if image_size < 32 or image_size > 256 or doublings != int(doublings):
        raise ValueError(f"FastGAN networks need image_size a power of two from 32 to 256, got {image_size}")
    return int(doublings)


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Double the map: nearest resize, a 3x3 convolution to twice ``c_out``, batch norm, then a gated linear
    unit (half the channels gate the other half), as FastGAN's generator does."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1))


class SkipExcitation(nn.Module):
    """``large * gate(small)``: one sigmoid gate per channel of the large map, read from the small map."""

    def __init__(self, c_small: int, c_large: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_small, c_large, 4, 1, 0), nn.SiLU(),
                                  nn.Conv2d(c_large, c_large, 1), nn.Sigmoid())

    def forward(self, small: torch.Tensor, large: torch.Tensor) -> torch.Tensor:
        return large * self.gate(small)


class FastGenerator(nn.Module):
    """z (B, nz) -> image (B, C, S, S) in [-1, 1], with skip-layer excitation from the 4x4 map to the 32x32
    one and from 8x8 to 64x64 (each small map gates the map three doublings further)."""

    def __init__(self, image_size: int = 64, channels: int = 3, nz: int = 100, width: int = 32) -> None:
        super().__init__()
        self.config = dict(image_size=image_size, channels=channels, nz=nz, width=width)
        self.nz, self.n_classes = nz, 0
        doublings = doubling_count(image_size)
        # channels at 4x4, 8x8, ..., image_size: the DCGAN's widths, deepest first, then half of width at full size
        self.widths = _widths(width, doublings)[::-1] + [max(width // 2, 8)]
        self.start = nn.Sequential(nn.ConvTranspose2d(nz, 2 * self.widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(2 * self.widths[0]), nn.GLU(dim=1))
        self.ups = nn.ModuleList(_up(c_in, c_out) for c_in, c_out in zip(self.widths[:-1], self.widths[1:],
                                                                         strict=True))
        # gates from map i to map i + 3: 4x4 -> 32x32 and 8x8 -> 64x64 at 64 px (three at 128 px and above)
        self.skips = nn.ModuleDict({str(i + 3): SkipExcitation(self.widths[i], self.widths[i + 3])
                                    for i in range(min(3, doublings - 2))})
        self.to_image = nn.Conv2d(self.widths[-1], channels, 3, 1, 1)
        init_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            raise ValueError("this generator is unconditional: it draws no class")
        maps = [self.start(z[:, :, None, None])]
        for i, up in enumerate(self.ups, start=1):
            x = up(maps[-1])
            if str(i) in self.skips:
                x = self.skips[str(i)](maps[i - 3], x)
            maps.append(x)
        return torch.tanh(self.to_image(maps[-1]))


class FastDiscriminator(nn.Module):
    """image (B, C, S, S) -> one logit per image; with ``with_reconstruction``, also the image redrawn at half
    size from D's 8x8 features (a small decoder of resize-convolutions).

    The encoder is the DCGAN discriminator's (stride-2 4x4 convolutions, ``norm`` after all but the first).
    """

    classifier = None  # no class head (DCGAN's judge asks)

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 32, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.config = dict(image_size=image_size, channels=channels, width=width, norm=norm)
        doublings = doubling_count(image_size)
        widths = _widths(width, doublings)  # at image_size / 2, / 4, ..., 4x4
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        conv_norm = "none" if norm == "spectral" else norm
        blocks, c_in = [], channels
        for i, c_out in enumerate(widths):
            block = [wrap(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm not in ("batch", "layer")))]
            block += [_norm(conv_norm, c_out)] if i > 0 else []  # DCGAN leaves the first layer unnormalised
            blocks.append(nn.Sequential(*block, nn.LeakyReLU(0.2, inplace=True)))
            c_in = c_out
        self.encoder = nn.ModuleList(blocks)
        self.at_8 = doublings - 2  # the block whose output is 8x8
        self.head = wrap(nn.Conv2d(c_in, 1, 4, 1, 0))
        decoder, c = [], widths[self.at_8]
        for _ in range(doublings - 2):  # 8x8 up to image_size / 2
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c // 2, 3, 1, 1, bias=False),
                        _norm(conv_norm, c // 2), nn.LeakyReLU(0.2, inplace=True)]
            c //= 2
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())
        init_weights(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, with_reconstruction: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B,); with ``with_reconstruction``, also the half-size redrawing (B, C, S/2, S/2). A flag
        rather than a second method, so the call goes through ``__call__`` (and DDP's)."""
        if labels is not None:
            raise ValueError("this discriminator is unconditional: it judges no class")
        redrawn = None
        for i, block in enumerate(self.encoder):
            x = block(x)
            if i == self.at_8 and with_reconstruction:
                redrawn = self.decoder(x)
        logits = self.head(x).flatten()
        return (logits, redrawn) if with_reconstruction else logits


def reconstruction_error(redrawn: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
    """Each image's mean absolute error between D's half-size redrawing and the image D saw, shrunk to half size
    by averaging 2x2 blocks: (B,)."""
    return (redrawn.float() - F.avg_pool2d(seen.float(), 2)).abs().mean(dim=(1, 2, 3))
