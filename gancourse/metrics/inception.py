"""Inception-v3 FID, only where the network's weights are already on this machine (nothing is downloaded).

Published FIDs use the TensorFlow Inception graph of Heusel et al. (``pt_inception-2015-12-05``, as
packaged by pytorch-fid and torch-fidelity). We use torchvision's ``inception_v3`` (torchvision is
already a dependency, so this costs nothing to install) when its ImageNet weights sit in the torch hub
cache, or when ``$GANCOURSE_INCEPTION`` names a state-dict file for it. Its FIDs are close to but *not*
identical with published ones (different weights and resizing); torchmetrics/torch-fidelity would match
them exactly but add a package and a 100 MB download the course does not need: its own feature
networks (the judge, :mod:`gancourse.metrics.features`) give numbers comparable within the course.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from .scores import fid_from_features

TORCHVISION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"  # torchvision's Inception_V3_Weights.IMAGENET1K_V1
_NET: dict[str, torch.nn.Module] = {}


def inception_weights() -> Path | None:
    """The local Inception-v3 weights file, or None."""
    env = os.environ.get("GANCOURSE_INCEPTION")
    if env:
        return Path(env) if Path(env).is_file() else None
    path = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_WEIGHTS
    return path if path.is_file() else None


def inception_status() -> str:
    """One line for notebooks: whether Inception FID will be computed here, and why not."""
    path = inception_weights()
    if path is not None:
        return f"Inception-v3 weights found at {path}: Inception FID is computed too (torchvision weights)."
    return ("Inception FID skipped: no Inception-v3 weights on this machine (looked for "
            f"{Path(torch.hub.get_dir()) / 'checkpoints' / TORCHVISION_WEIGHTS} and $GANCOURSE_INCEPTION), "
            "and the course downloads nothing. The course's own feature network gives FID/KID instead.")


def _network(path: Path) -> torch.nn.Module:
    if str(path) not in _NET:
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.fc = torch.nn.Identity()  # the 2048-d pool features, as FID uses
        _NET[str(path)] = net.eval()
    return _NET[str(path)]


@torch.no_grad()
def inception_features(images: torch.Tensor, path: Path, batch_size: int = 50) -> torch.Tensor:
    """2048-d pool features of float images in [-1, 1] (grey images are repeated to three channels)."""
    net = _network(path)
    mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None]
    out = []
    for chunk in images.split(batch_size):
        x = chunk.float().cpu()
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
        out.append(net((x - mean) / std))
    return torch.cat(out)


def inception_fid(real: torch.Tensor, fake: torch.Tensor) -> float | None:
    """FID in Inception-v3 space between two float image batches in [-1, 1], or None without local weights."""
    path = inception_weights()
    if path is None:
        return None
    return fid_from_features(inception_features(real, path), inception_features(fake, path))
