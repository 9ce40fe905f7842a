"""The one way a metric network is got: from the cache when an earlier run trained it, else trained and cached.

The judge (digits), the feature network (paintings) and the domain feature network (CycleGAN) are each
keyed by a fingerprint of the data they learn from, so a different data set (or the stand-in) never gets
another's network. A cached file holds the network's constructor arguments (``config``), its weights, its
accuracy on held-out data (None when there is nothing to measure it on) and the seconds training took.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn as nn

from ..checkpoints import load_checkpoint, save_checkpoint
from ..data import ImageSet

Net = TypeVar("Net", bound=nn.Module)


def data_fingerprint(data: ImageSet, probes: int = 64) -> str:
    """Ten hex digits that change when ``data``'s images or labels do (read at ``probes`` evenly spaced rows)."""
    fingerprint = hashlib.sha1()
    probe = torch.linspace(0, len(data) - 1, min(probes, len(data))).long()
    images, labels = data.rows(probe)
    fingerprint.update(images.numpy().tobytes())
    if labels is not None:
        fingerprint.update(labels.numpy().tobytes())
    return fingerprint.hexdigest()[:10]


def load_or_train(path: Path, network: type[Net], train: Callable[[], Net], *,
                  accuracy: Callable[[Net], float | None] | None = None,
                  device: torch.device | str = "cpu") -> Net:
    """The ``network`` cached at ``path``, or ``train()``'s, saved there first; in eval mode on ``device``.

    ``accuracy(net)`` measures a freshly trained network on held-out data; the result is stored beside the
    weights and set as ``net.accuracy`` either way.
    """
    if path.is_file():
        saved = load_checkpoint(path)
        net = network(**saved["config"])
        net.load_state_dict(saved["state_dict"])
        net.accuracy = saved.get("accuracy")
        return net.to(device).eval()
    start = time.perf_counter()
    net = train()
    net.accuracy = accuracy(net) if accuracy is not None else None
    save_checkpoint({"config": net.config, "state_dict": net.state_dict(), "accuracy": net.accuracy,
                     "seconds": time.perf_counter() - start}, path)
    return net.to(device).eval()
