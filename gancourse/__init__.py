"""gancourse: the package every notebook of the GAN course imports.

Data flows one way: ``data`` (files, download or stand-in) -> ``ImageSet`` (uint8) -> batches on the
device in [-1, 1] -> a recipe's ``step`` -> ``fit`` (the one training loop) -> a run directory that
``metrics``, ``plots`` and ``sweeps`` read.
"""

__version__ = "0.1.0"
