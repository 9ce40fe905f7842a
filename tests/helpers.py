"""Small builders shared by the core tests (no files, no downloads)."""

from __future__ import annotations

import torch

from gancourse.data import ImageSet


def blob_images(n: int = 256, size: int = 16, channels: int = 1, classes: int = 4, seed: int = 0) -> ImageSet:
    """A labelled toy set: class k is a bright square in quadrant k, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    images = torch.randint(0, 40, (n, channels, size, size), generator=g, dtype=torch.uint8)
    half = size // 2
    for k in range(classes):
        r, c = divmod(k % 4, 2)
        images[labels == k, :, r * half:(r + 1) * half, c * half:(c + 1) * half] = 220
    return ImageSet("blobs", images, labels, [f"quadrant {k}" for k in range(classes)], "real")


# The smallest CLI training run: stand-in MNIST, 64 images, tiny networks, no evaluation.
CLI_TINY = ["--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--batch-size", "8", "--set", "g_width=8",
            "--set", "d_width=8", "--no-eval", "--quiet"]


def error_line(capsys) -> str:
    """The error the CLI printed: exactly one line starting with ``gancourse <command>: error:``."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gancourse ")]
    assert len(lines) == 1, lines
    return lines[0]
