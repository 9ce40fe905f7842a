"""Network families. ``dcgan`` builds generators and discriminators for any image size from 28 to 256; ``fastgan``
the FastGAN-style pair (skip-layer excitation, a discriminator that also redraws its input) from 32 to 256."""

from .dcgan import Discriminator, Generator, MinibatchStdDev, init_weights
from .fastgan import FastDiscriminator, FastGenerator

__all__ = ["Discriminator", "FastDiscriminator", "FastGenerator", "Generator", "MinibatchStdDev", "init_weights"]
