"""Helpers that belong to one notebook each; every module's docstring names its notebook.

- 02 WikiArt DCGAN: :mod:`.overfitting` (is D memorising the paintings?)
- 03 mode collapse: :mod:`.toys`, :mod:`.mode_collapse`
- 04 WGAN-GP: :mod:`.critic_plots`
- 05 Quick Draw cGAN: :mod:`.class_grids`, :mod:`.class_picker`
- 06 Monet CycleGAN: :mod:`.cyclegan_presets`, :mod:`.translation_picker`
"""
