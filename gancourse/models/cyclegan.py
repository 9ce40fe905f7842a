"""CycleGAN networks (Zhu et al. 2017): image-to-image generators and the PatchGAN discriminator.

Both generators map an image to an image of the same size; the translation recipe uses two of them
(A -> B and B -> A). Options are named as in the reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix): ``ngf``/``ndf`` widths, ``norm`` (the norm layer, by name so a
generator's config stays plain JSON for export), ``use_dropout``, ``n_blocks``.

- :class:`ResnetGenerator`: two stride-2 convolutions down, ``n_blocks`` residual blocks, two up.
  Reflection padding keeps borders free of the dark frame zero padding leaves in translated images.
- :class:`UnetGenerator`: an encoder-decoder down to 1x1 with a skip connection at every scale, so
  fine detail can bypass the bottleneck (pix2pix's generator).
- :class:`PatchDiscriminator`: a fully convolutional D that outputs one logit per overlapping 70x70
  patch (a 30x30 map at 256 px): it judges texture and local style, not global layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn as nn

from .dcgan import UPSAMPLES, init_weights

CYCLEGAN_NORMS = ("instance", "batch", "none")
RESIDUAL_BOUND = 1 - 1e-3  # |x| at most this before atanh (one uint8 level is 2/255)


def norm_layer(name: str) -> Callable[[int], nn.Module]:
    """The norm layer factory for ``name``: instance (CycleGAN's default), batch or none.

    Instance norm has no learned scale and no running statistics (the reference's choice): each image
    is normalised on its own, so a translation does not depend on what else is in the batch, and
    train and eval mode compute the same thing.
    """
    if name == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if name == "batch":
        return nn.BatchNorm2d
    if name == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(CYCLEGAN_NORMS)}, got {name!r}")


def _conv_bias(norm: str) -> bool:
    # A bias right before batch norm is cancelled by its mean subtraction; instance norm here has no
    # affine shift, so the convolution keeps its own.
    return norm != "batch"


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-[dropout]-conv-norm(x), with reflection padding."""

    def __init__(self, dim: int, norm: str = "instance", use_dropout: bool = False) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), _conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim),
                                   nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """image (B, C, H, W) in [-1, 1] -> image (B, C, H, W) in [-1, 1]; H and W multiples of 4.

    The reference uses 9 blocks at 256 px and 6 at 128 px with ``ngf=64``; the course's CPU profile
    uses a narrower, shallower one. ``upsample``: how the decoder doubles its maps: ``transposed`` (the
    reference's stride-2 3x3 transposed convolution, whose uneven overlap draws checkerboards) or
    ``nearest``/``bilinear`` resizing followed by a reflection-padded 3x3 convolution (Odena et al. 2016).

    ``residual``: the network predicts a change to its input instead of a new image: the output is
    ``tanh(atanh(x) + f(x))``, and ``f``'s last convolution starts at zero, so an untrained generator returns
    its input exactly. A translation then only has to learn what differs between the domains (palette,
    brushwork) and keeps the input's sharp detail, which a small generator trained briefly otherwise blurs.
    """

    def __init__(self, channels: int = 3, ngf: int = 64, n_blocks: int = 9, norm: str = "instance",
                 use_dropout: bool = False, n_downsampling: int = 2, upsample: str = "transposed",
                 residual: bool = False) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLES)}, got {upsample!r}")
        self.config = dict(channels=channels, ngf=ngf, n_blocks=n_blocks, norm=norm, use_dropout=use_dropout,
                           n_downsampling=n_downsampling)
        if upsample != "transposed":  # only when used, so exports made before the option existed still match
            self.config["upsample"] = upsample
        if residual:
            self.config["residual"] = True
        self.residual = residual
        self.multiple = 2**n_downsampling
        make_norm, bias = norm_layer(norm), _conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7, bias=bias), make_norm(ngf),
                                   nn.ReLU(True)]
        width = ngf
        for _ in range(n_downsampling):
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias), make_norm(2 * width),
                       nn.ReLU(True)]
            width *= 2
        layers += [ResnetBlock(width, norm, use_dropout) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            if upsample == "transposed":
                doubling: list[nn.Module] = [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1,
                                                                output_padding=1, bias=bias)]
            else:  # every output pixel gets the same taps: no checkerboard by construction
                doubling = [nn.Upsample(scale_factor=2, mode=upsample), nn.ReflectionPad2d(1),
                            nn.Conv2d(width, width // 2, 3, bias=bias)]
            layers += [*doubling, make_norm(width // 2), nn.ReLU(True)]
            width //= 2
        last = nn.Conv2d(width, channels, 7)
        layers += [nn.ReflectionPad2d(3), last]
        if not residual:  # the residual form applies tanh after adding the input (forward)
            layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)
        init_weights(self)
        if residual:
            nn.init.zeros_(last.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.multiple or x.shape[-2] % self.multiple:
            raise ValueError(f"ResnetGenerator needs H and W divisible by {self.multiple}, got {tuple(x.shape[-2:])}")
        if not self.residual:
            return self.model(x)
        # atanh(+-1) is infinite: pull the extremes in by less than half a uint8 level, so identity survives to_uint8
        return torch.tanh(torch.atanh(x.clamp(-RESIDUAL_BOUND, RESIDUAL_BOUND)) + self.model(x))


class UnetSkipBlock(nn.Module):
    """down -> [inner block] -> up, with the input concatenated to the output (the skip connection)."""

    def __init__(self, outer: int, inner: int, submodule: nn.Module | None = None, *, in_channels: int | None = None,
                 outermost: bool = False, norm: str = "instance", use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_layer(norm), _conv_bias(norm)
        in_channels = in_channels or outer
        down_conv = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            layers = [down_conv, submodule, nn.ReLU(True), nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1), nn.Tanh()]
        elif submodule is None:  # innermost: the 1x1 bottleneck, left unnormalised (a 1x1 map has no spread)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), make_norm(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, make_norm(inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=bias), make_norm(outer)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], dim=1)


class UnetGenerator(nn.Module):
    """U-Net with ``num_downs`` halvings (7 at 128 px, 8 at 256 px: down to 1x1) and skips at every scale.

    ``num_downs=0`` picks log2 of ``image_size``. Widths: ngf, 2ngf, 4ngf, then 8ngf for the deeper levels.
    """

    def __init__(self, channels: int = 3, ngf: int = 64, num_downs: int = 0, norm: str = "instance",
                 use_dropout: bool = False, image_size: int = 256) -> None:
        super().__init__()
        num_downs = num_downs or int(round(math.log2(image_size)))
        if num_downs < 5:
            raise ValueError(f"UnetGenerator needs num_downs >= 5 (an image of at least 32 px), got {num_downs}")
        self.config = dict(channels=channels, ngf=ngf, num_downs=num_downs, norm=norm, use_dropout=use_dropout,
                           image_size=image_size)
        self.multiple = 2**num_downs
        block = UnetSkipBlock(8 * ngf, 8 * ngf, None, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(8 * ngf, 8 * ngf, block, norm=norm, use_dropout=use_dropout)
        for outer, inner in ((4 * ngf, 8 * ngf), (2 * ngf, 4 * ngf), (ngf, 2 * ngf)):
            block = UnetSkipBlock(outer, inner, block, norm=norm)
        self.model = UnetSkipBlock(channels, ngf, block, in_channels=channels, outermost=True, norm=norm)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.multiple or x.shape[-2] % self.multiple:
            raise ValueError(f"UnetGenerator(num_downs={self.config['num_downs']}) needs H and W divisible by "
                             f"{self.multiple}, got {tuple(x.shape[-2:])}")
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """image (B, C, H, W) -> logits (B, 1, h, w), one per overlapping patch (70x70 for n_layers=3).

    ``n_layers`` stride-2 convolutions, then two stride-1 ones; at 256 px the output is 30x30, at 128 px
    14x14. No sigmoid: the least-squares loss takes the raw scores.
    """

    def __init__(self, channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        self.config = dict(channels=channels, ndf=ndf, n_layers=n_layers, norm=norm)
        make_norm, bias = norm_layer(norm), _conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=bias), make_norm(out),
                       nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def receptive_field(self) -> int:
        """The side of the input patch each output logit sees (70 for the default n_layers=3)."""
        size = 1
        for m in reversed([m for m in self.model if isinstance(m, nn.Conv2d)]):
            size = (size - 1) * m.stride[0] + m.kernel_size[0]
        return size


GENERATORS: dict[str, type[nn.Module]] = {"resnet": ResnetGenerator, "unet": UnetGenerator}
GENERATORS_BY_CLASS: dict[str, type[nn.Module]] = {cls.__name__: cls for cls in GENERATORS.values()}  # exports
