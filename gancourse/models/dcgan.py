"""The DCGAN family (Radford et al. 2016), built from the image size instead of hard-coded for 64 px.

Sizes that are powers of two start from a 4x4 map; 28 px (MNIST) starts from 7x7. Every stride-2
layer doubles (G) or halves (D) the map. Width is the channel count next to the image; deeper layers
double it, capped at 8x so 256 px models stay trainable.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

NORMS = ("batch", "none", "spectral", "layer")
UPSAMPLES = ("transposed", "nearest", "bilinear")


def _plan(image_size: int) -> tuple[int, int]:
    """(start size, number of stride-2 layers) for an image size."""
    if image_size == 28:
        return 7, 2
    doublings = math.log2(image_size / 4)
    if image_size < 16 or doublings != int(doublings):
        raise ValueError(f"image_size must be 28 or a power of two from 16 to 256, got {image_size}")
    return 4, int(doublings)


def _widths(width: int, layers: int) -> list[int]:
    """Channels after each stride-2 layer of D (G uses them reversed)."""
    return [width * min(2**i, 8) for i in range(layers)]


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalises each sample on its own: safe under a gradient penalty
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class NearestResizeConv(nn.Sequential):
    """Nearest-neighbour x2 resize, then a zero-padded 3x3 convolution: computed in one stride-2 step.

    Resizing copies each input pixel into a 2x2 block, so each output pixel's nine taps fall on only four
    input pixels. The layer is therefore a stride-2 transposed convolution whose 4x4 kernel is the 3x3
    kernel summed over 2x2 windows: the same function (equal up to float rounding), at 4 instead of 9
    multiply-adds per output pixel, the cost of DCGAN's own transposed convolution. Its children stay
    ``Upsample`` and ``Conv2d``, so checkpoints of the two-step form load unchanged (and spectral norm
    wraps the convolution as before).
    """

    def __init__(self, c_in: int, c_out: int, bias: bool) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self[1]
        k = F.pad(conv.weight.flip(-1, -2), (1, 1, 1, 1))  # a transposed convolution applies its kernel flipped
        kernel = k[..., :-1, :-1] + k[..., 1:, :-1] + k[..., :-1, 1:] + k[..., 1:, 1:]
        return F.conv_transpose2d(x, kernel.transpose(0, 1), conv.bias, stride=2, padding=1)


def _doubling(c_in: int, c_out: int, upsample: str, bias: bool) -> nn.Module:
    """One layer that doubles the map: a stride-2 transposed convolution, or resize then a 3x3 convolution.

    A 4x4 kernel at stride 2 overlaps unevenly (each output pixel gets 1, 2 or 4 kernel taps), which
    leaves a checkerboard unless training cancels it out; resizing first gives every output pixel the
    same taps (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
    """
    if upsample == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)
    if upsample == "nearest":
        return NearestResizeConv(c_in, c_out, bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode=upsample),
                         nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))


def _wrap_conv(wrap, layer: nn.Module) -> nn.Module:
    """Apply ``wrap`` (spectral norm or nothing) to the convolution of a doubling layer."""
    if isinstance(layer, nn.Sequential):
        layer[1] = wrap(layer[1])
        return layer
    return wrap(layer)


class Generator(nn.Module):
    """z (B, nz) [+ class label] -> image (B, C, S, S) in [-1, 1].

    ``upsample``: how each stride-2 layer doubles the map: ``transposed`` (DCGAN's transposed convolution)
    or ``nearest`` / ``bilinear`` resize followed by a 3x3 convolution (no checkerboard by construction).
    """

    def __init__(self, image_size: int = 28, channels: int = 1, nz: int = 64, width: int = 32,
                 n_classes: int = 0, norm: str = "batch", embed_dim: int = 32, upsample: str = "transposed") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        self.config = dict(image_size=image_size, channels=channels, nz=nz, width=width,
                           n_classes=n_classes, norm=norm, embed_dim=embed_dim)
        if upsample != "transposed":  # only when used, so exports made before the option existed still match
            self.config["upsample"] = upsample
        self.nz, self.n_classes = nz, n_classes
        start, layers = _plan(image_size)
        widths = _widths(width, layers)[::-1]  # deepest first
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        z_dim = nz + (embed_dim if n_classes else 0)
        conv_norm = "none" if norm == "spectral" else norm
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        blocks: list[nn.Module] = [wrap(nn.ConvTranspose2d(z_dim, widths[0], start, 1, 0, bias=False)),
                                   _norm(conv_norm, widths[0]), nn.ReLU(True)]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            blocks += [_wrap_conv(wrap, _doubling(c_in, c_out, upsample, bias=False)), _norm(conv_norm, c_out),
                       nn.ReLU(True)]
        blocks += [_doubling(widths[-1], channels, upsample, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*blocks)
        init_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(z[:, :, None, None])


class MinibatchStdDev(nn.Module):
    """Appends the mean per-feature standard deviation across groups of samples as one more channel.

    A collapsed generator produces near-identical samples; their low spread is then visible to D
    (Karras et al. 2018), which pushes G back towards variety.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        while b % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w).float()
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # one value per group
        std = std.to(x.dtype).repeat(g)[:, None, None, None].expand(b, 1, h, w)
        return torch.cat([x, std], dim=1)


class Discriminator(nn.Module):
    """image (B, C, S, S) [+ class label] -> one logit per sample (per pack of ``pack`` samples).

    ``norm``: batch (classic DCGAN), none, spectral (Miyato et al. 2018) or layer (for WGAN-GP critics,
    where batch norm would couple the samples the penalty treats independently). ``pack`` > 1 is PacGAN:
    D judges ``pack`` samples stacked along channels. ``n_classes`` > 0 adds a projection term
    (Miyato & Koyama 2018) so D judges image *and* label. ``aux_classes`` > 0 adds a class head on the same
    features (AC-GAN, Odena et al. 2017): ``forward(..., with_classes=True)`` returns its logits beside the
    real/fake one.
    """

    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 32, norm: str = "batch",
                 dropout: float = 0.0, n_classes: int = 0, minibatch_std: bool = False, pack: int = 1,
                 aux_classes: int = 0) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if aux_classes and pack > 1:  # a pack mixes samples of several classes: one class per logit is undefined
            raise ValueError(f"aux_classes needs pack=1 (one sample per logit), got pack={pack}")
        self.config = dict(image_size=image_size, channels=channels, width=width, norm=norm, dropout=dropout,
                           n_classes=n_classes, minibatch_std=minibatch_std, pack=pack)
        if aux_classes:  # only when used, so configs saved before the head existed still match
            self.config["aux_classes"] = aux_classes
        self.pack = pack
        start, layers = _plan(image_size)
        widths = _widths(width, layers)
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        blocks: list[nn.Module] = []
        c_in = channels * pack
        for i, c_out in enumerate(widths):
            blocks.append(wrap(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm not in ("batch", "layer"))))
            if i > 0:  # DCGAN leaves the first layer unnormalised
                blocks.append(_norm(norm, c_out))
            blocks.append(nn.LeakyReLU(0.2, inplace=True))
            if dropout:
                blocks.append(nn.Dropout(dropout))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.mbstd = MinibatchStdDev() if minibatch_std else None
        c_final = c_in + (1 if minibatch_std else 0)
        self.head = wrap(nn.Conv2d(c_final, 1, start, 1, 0))
        self.embed = wrap(nn.Embedding(n_classes, c_final)) if n_classes else None
        self.classifier = wrap(nn.Conv2d(c_final, aux_classes, start, 1, 0)) if aux_classes else None
        init_weights(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, with_classes: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Real/fake logits (B,); with ``with_classes``, also the class head's logits (B, aux_classes) from the
        same pass. A flag rather than a second method, so the call goes through ``__call__`` (and DDP's)."""
        h, labels = self._features(x, labels)
        if not with_classes:
            return self._logits(h, labels)
        if self.classifier is None:
            raise ValueError("this discriminator has no class head: build it with aux_classes > 0")
        return self._logits(h, labels), self.classifier(h).flatten(1)

    def _features(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.pack > 1:
            b, c, h, w = x.shape
            if b % self.pack:
                raise ValueError(f"batch size {b} is not a multiple of pack={self.pack}")
            x = x.reshape(b // self.pack, c * self.pack, h, w)
            labels = labels[:: self.pack] if labels is not None else None
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return h, labels

    def _logits(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        logits = self.head(h).flatten()
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is conditional: pass labels")
            logits = logits + (self.embed(labels) * h.sum(dim=(2, 3))).sum(dim=1)
        return logits
