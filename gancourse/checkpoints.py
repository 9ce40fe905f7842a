"""Checkpoints that survive a kill mid-write and restore a run bit for bit.

A checkpoint holds every network, every optimiser, the recipe's extra state, every RNG (Python,
NumPy, torch, CUDA, and the data stream's own generator) and the step. It is written to a temporary
file in the same folder and renamed over the old one, so the last good checkpoint is never
half-overwritten. Loading uses ``weights_only=True``: a checkpoint cannot execute code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


def export_generator(export: dict[str, Any], path: str | os.PathLike) -> Path:
    """Save a generator alone (``Recipe.generator_export()``): small, and enough to sample."""
    return save_checkpoint(export, path)


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild an exported generator in eval mode, ready to sample."""
    from . import models

    export = load_checkpoint(path, map_location=device)
    cls = GENERATOR_CLASSES.get(export["class"]) or getattr(models, export["class"], None)
    if cls is None:
        raise ValueError(f"{path}: unknown generator class {export['class']!r}")
    generator = cls(**export["config"])
    generator.load_state_dict(export["state_dict"])
    return generator.to(device).eval()


# Generator classes outside ``gancourse.models`` register here (e.g. the CycleGAN generators).
GENERATOR_CLASSES: dict[str, type[nn.Module]] = {}
