"""Network families. ``dcgan`` builds generators and discriminators for any image size from 28 to 256."""

from .dcgan import Discriminator, Generator, MinibatchStdDev, init_weights

__all__ = ["Discriminator", "Generator", "MinibatchStdDev", "init_weights"]
