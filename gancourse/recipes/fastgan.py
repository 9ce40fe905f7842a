"""The FastGAN-style recipe: DCGAN's step with FastGAN's networks (``models.fastgan``) and a discriminator
that is also trained to redraw the real images it sees.

The step, the loss, DiffAugment, EMA and the R1/R2 penalties are DCGAN's. What changes is how D judges the
real batch in its own update (``judge_real``): beside the logits it returns its error redrawing each image
(where a conditional recipe returns class logits), and D pays ``reconstruction`` times its mean (``d_terms``).
The error is measured on what D saw, so with DiffAugment D redraws the augmented image. Unconditional only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.fastgan import FastDiscriminator, FastGenerator, doubling_count, reconstruction_error
from .dcgan import DCGAN, GANConfig


@dataclass
class FastGANConfig(GANConfig):
    """GANConfig's knobs, but for the DCGAN networks' own (``g_norm``, ``upsample``, ``dropout``: FastGAN's G
    always resizes and uses batch norm), plus the weight of D's reconstruction term; 64 px colour by default."""

    image_size: int = 64
    channels: int = 3
    nz: int = 100
    reconstruction: float = 1.0  # weight of D's L1 error redrawing the real images; 0 turns the decoder's training off

    def __post_init__(self) -> None:
        super().__post_init__()
        doubling_count(self.image_size)  # fails early on a size the networks cannot be built for
        if self.n_classes or self.aux_weight or self.minibatch_std or self.pack > 1:
            raise ValueError("the fastgan recipe is unconditional, with one image per logit: leave n_classes, "
                             "aux_weight, minibatch_std and pack at their defaults")
        if self.g_norm != "batch" or self.upsample != "transposed" or self.dropout:
            raise ValueError("g_norm, upsample and dropout shape the dcgan recipe's networks, not fastgan's: "
                             "leave them at their defaults")
        if self.reconstruction < 0:
            raise ValueError(f"reconstruction must be >= 0, got {self.reconstruction}")


class FastGAN(DCGAN):
    name = "fastgan"
    Config = FastGANConfig
    # D's decoder runs in D's update only: G's backward through D leaves it without a gradient, which DDP
    # must be told to expect (gancourse.engine.distributed)
    ddp_find_unused_parameters = True

    def build_networks(self) -> None:
        c = self.config
        self.G = FastGenerator(c.image_size, c.channels, c.nz, c.g_width).to(self.device)
        self.D = FastDiscriminator(c.image_size, c.channels, c.d_width, c.d_norm).to(self.device)

    def judge_real(self, images: torch.Tensor, labels: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits of the real batch as D sees it (DiffAugment), and its error redrawing each image. Only here:
        the fakes' redrawing would train nothing, and the decoder costs more than D's encoder at 64 px."""
        if not self.config.reconstruction:
            return self.judge(images, labels)
        seen = self.seen_by_d(images)
        logits, redrawn = self.D(seen, with_reconstruction=True)
        return logits, reconstruction_error(redrawn, seen)

    def d_terms(self, heads_real: torch.Tensor | None, heads_fake: torch.Tensor | None, labels: torch.Tensor | None,
                fake_labels: torch.Tensor | None, logs: dict[str, float]) -> list[torch.Tensor]:
        """D's error redrawing the real images, weighted."""
        if heads_real is None:
            return []
        error = heads_real.mean()
        logs["loss_reconstruction"] = float(error.detach())
        return [self.config.reconstruction * error]
