"""A batch of images in [-1, 1] tiled into one picture: every sample PNG, figure and widget of the course.

torchvision's ``make_grid`` does the tiling; it is imported when the first grid is drawn, not with this module:
importing torchvision loads ``torch._dynamo`` and costs about 1.5 s, a third of every command line's start-up
(a refused ``gancourse train`` included).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 1) -> np.ndarray:
    """float images in [-1, 1] (N, C, H, W) -> an (H, W, 3) uint8 array of the grid, ``nrow`` images per row
    (a square by default): the pixels torchvision's ``save_image`` writes."""
    from torchvision.utils import make_grid

    nrow = nrow or int(np.ceil(np.sqrt(len(images))))
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=padding)
    return grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()


def save_grid(images: torch.Tensor, target: str | Path | IO[bytes], nrow: int | None = None, padding: int = 1,
              **save_options: Any) -> None:
    """Write :func:`grid_image` to ``target``; ``save_options`` go to PIL's ``Image.save`` (``format=`` for a
    file object, ``compress_level=`` for a PNG)."""
    Image.fromarray(grid_image(images, nrow, padding)).save(target, **save_options)
