"""Generators trained for hours, shipped with the course: ``load_pretrained("wikiart64")``.

A student on a CPU trains for minutes; these show what the same recipe reaches with hours of compute. Each is
a run's generator export (``checkpoints/generator.pt``) in half precision, stored in this folder, and described
in ``SHIPPED``: its file's SHA-256 (checked before the file is read, which is then read with
``weights_only=True``), what it is, the compute that made it, the command that reproduces it, and what it
measures. ``gancourse export RUN --out FILE`` makes such a file and prints the line to add here.

The command line takes a shipped generator wherever it takes a run: ``gancourse sample pretrained:wikiart64``,
``gancourse translate pretrained:monet photo.jpg``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..checkpoints import (
    generator_entries,
    generator_from_export,
    load_checkpoint,
    save_checkpoint,
    translators_from_export,
)
from ..errors import CheckpointDamaged, MissingInput, UserError

FOLDER = Path(__file__).parent
PREFIX = "pretrained:"  # how the command line names one: pretrained:wikiart64
HALF_MAX = torch.finfo(torch.float16).max


@dataclass(frozen=True)
class Pretrained:
    """One shipped generator: its file in this folder and what a student should know about it."""

    name: str
    file: str
    sha256: str  # of the file's bytes
    image_size: int  # what it was trained at (translate resizes its inputs to this)
    what: str  # "WikiArt Impressionism, 64 px, DCGAN with resize-convolution, EMA of G and DiffAugment"
    compute: str  # "2 h 10 min on 2 CPU cores (AMD EPYC), 14,000 steps of 32"
    command: str  # the command that trains it again
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return FOLDER / self.file


# name -> the generator shipped under it; an entry is added with the file, from `gancourse export`'s output
SHIPPED: dict[str, Pretrained] = {
    "wikiart64": Pretrained(
        "wikiart64", "wikiart64.pt", "130492ac91239fa42c0586ce86b87d2f3702c53dad23610362f480b028dc8719", 64,
        what="WikiArt Impressionism at 64 px: notebook 02's DCGAN (resize-convolution G, the EMA of G over 1,000 "
             "images) at width 64, with DiffAugment (colour, translation, cutout) and flips",
        compute="1 h 58 min on 2 CPU cores (AMD EPYC, torch 2.14): 12,000 steps of 32 paintings",
        command="gancourse train --dataset wikiart --data-option style=Impressionism --data-option size=64 --flip "
                "--batch-size 32 --seed 0 --set g_width=64 --set d_width=64 --set nz=100 --set upsample=nearest "
                "--set ema=1000 --set diffaugment=color,translation,cutout --steps 12000 --out runs/wikiart64",
        # benchmarks/long_training.py (docs/results/02_wikiart.md): 400 samples against the 103 held-out paintings
        metrics={"fid_course": 0.35, "kid_course": 0.0018, "recall_course": 0.90, "kid_random_resnet": 0.13,
                 "two_sample_accuracy": 0.998}),
    "monet": Pretrained(
        "monet", "monet.pt", "b47e6edd7a7a915e461a34b26b2b7e963277fc0c5d962831a6c4207400447b98", 128,
        what="photo <-> Monet at 128 px: notebook 06's quick-profile CycleGAN (residual ResNet generators, ngf 16, "
             "6 blocks, cycle weight 0.3, no identity term, discriminators without a norm, EMA of both generators) "
             "trained 14.5 times as long",
        compute="66 min on 2 CPU cores (AMD EPYC, torch 2.14), about 2 CPU-hours: 14,500 steps of one painting "
                "and one photo (the last 2,500 under bfloat16 autocast)",
        command="gancourse train --recipe cyclegan --dataset monet2photo --seed 0 --steps 14500 --out runs/monet-long",
        # benchmarks/long_training.py --dataset monet (docs/results/06_monet.md): the quick profile's seed 0 run
        # scores 0.044, 0.029, 0.759 and 0.727 on the last four
        metrics={"fid_course": 2.43, "kid_course": 0.034, "kid_random_resnet": 0.067,
                 "two_sample_accuracy_vs_monet": 0.714, "two_sample_accuracy_vs_photos": 0.726}),
}


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def half_precision(export: dict[str, Any]) -> dict[str, Any]:
    """A generator export with every floating tensor of its weights in float16 (half the size; a generator
    samples the same pictures to the eye); refused in one line when a weight is not finite or does not fit
    float16's range."""
    halved = dict(export)
    if "reverse" in export:
        halved["reverse"] = dict(export["reverse"])
    for entry in generator_entries(halved):
        state = {}
        for key, value in entry["state_dict"].items():
            if value.is_floating_point():
                if not torch.isfinite(value).all():
                    raise UserError(f"weight {key} holds NaN or infinite values (a run that diverged): "
                                    "this generator cannot be shipped")
                if value.numel() and value.abs().max() > HALF_MAX:
                    raise UserError(f"weight {key} reaches {value.abs().max():.3g}, beyond float16's {HALF_MAX:.0f}: "
                                    "this generator cannot be shipped in half precision")
                value = value.to(torch.float16)
            state[key] = value
        entry["state_dict"] = state
    return halved


def export_half_precision(export: dict[str, Any], out: str | os.PathLike) -> tuple[Path, str]:
    """Write a generator export (a run's ``checkpoints/generator.pt``, loaded) to ``out`` in half precision;
    returns the file and its SHA-256."""
    path = save_checkpoint(half_precision(export), out)
    return path, file_sha256(path)


def shipped(name: str) -> Pretrained:
    """The ``SHIPPED`` entry of ``name`` (``pretrained:`` in front is allowed); one line naming the others."""
    name = name.removeprefix(PREFIX)
    if name not in SHIPPED:
        names = ", ".join(SHIPPED) or "none yet"
        raise MissingInput(f"no generator named {name!r} ships with this version of the course (shipped: {names})")
    return SHIPPED[name]


def load_pretrained_export(name: str, device: str | torch.device = "cpu") -> tuple[Pretrained, dict[str, Any]]:
    """The ``SHIPPED`` entry of ``name`` and its export, the file checked against the recorded SHA-256 first."""
    entry = shipped(name)
    if not entry.path.is_file():
        raise MissingInput(f"{entry.path} is missing: reinstall the course package to get the shipped generators")
    found = file_sha256(entry.path)
    if found != entry.sha256:
        raise CheckpointDamaged(f"{entry.path} is not the file that was shipped (SHA-256 {found[:12]}..., expected "
                                f"{entry.sha256[:12]}...); reinstall the course package")
    return entry, load_checkpoint(entry.path, map_location=device)


def load_pretrained(name: str, device: str | torch.device = "cpu") -> nn.Module:
    """The generator shipped as ``name`` (e.g. ``"wikiart64"``), in float32 and eval mode, ready to sample;
    for a CycleGAN its main direction (photo -> Monet), see :func:`load_pretrained_translators` for both."""
    entry, export = load_pretrained_export(name, device)
    return generator_from_export(export, entry.path, device)


def load_pretrained_translators(name: str, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Both generators of a shipped CycleGAN by direction (``{"photo2monet": ..., "monet2photo": ...}``)."""
    entry, export = load_pretrained_export(name, device)
    if "reverse" not in export:
        raise UserError(f"{PREFIX}{entry.name} is a {export.get('recipe', '?')} generator, not a CycleGAN's "
                        "translators")
    return translators_from_export(export, entry.path, device)
