"""Small builders shared by the tests: toy data sets, tiny recipes and runs on them, image folders on disk.

One place for each, so that a test module asks for "the blob images" or "the CycleGAN toy" instead of
carrying its own copy. Fixtures built from these live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gancourse.data import ImageSet
from gancourse.data.unpaired import UnpairedSet
from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.recipes import CGAN, DCGAN
from gancourse.recipes.cyclegan import CycleGAN

# Real MNIST is under the data root: the tests that train from the command line on it can run.
HAS_MNIST = bool(os.environ.get("GANCOURSE_DATA")) and os.path.isdir(
    os.path.join(os.environ.get("GANCOURSE_DATA", ""), "mnist"))


# -- blob images and the tiny GANs trained on them ------------------------------------------------------

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


BLOBS = blob_images()  # 256 grey 16 px images in 4 classes: what the tiny recipes below train on
SMALL = dict(nz=8, g_width=8, d_width=8)  # networks small enough for a test to train in a second


def tiny_dcgan(**options) -> DCGAN:
    """A DCGAN for the blobs, the same initial weights every time."""
    seed_everything(0)
    return DCGAN(DCGAN.config_for(BLOBS, **SMALL, **options))


def tiny_cgan(**options) -> CGAN:
    """A conditional GAN for the blobs' four classes, the same initial weights every time."""
    seed_everything(0)
    return CGAN(CGAN.config_for(BLOBS, **SMALL, **options))


def fit_blobs(out, steps, recipe=None, evaluator=None, hooks=(), **loop):
    """Train ``recipe`` (a fresh ``tiny_dcgan()`` by default) on the blobs into ``out``, batches of 16."""
    return fit(recipe or tiny_dcgan(), BLOBS, out, Loop(steps=steps, batch_size=16, **loop), evaluator=evaluator,
               hooks=hooks, progress=False)


def poison_at(recipe, bad_step: int) -> None:
    """Make the weights of G infinite during step ``bad_step`` (as an absurd learning rate does)."""
    original, calls = recipe.step, {"n": 0}

    def step(batch):
        calls["n"] += 1
        scalars = original(batch)
        if calls["n"] == bad_step:
            with torch.no_grad():
                next(recipe.G.parameters()).fill_(float("inf"))
        return scalars

    recipe.step = step


def tiny_generator():
    """An untrained 16 px colour generator (nz 8), the same weights every time."""
    from gancourse.models import Generator

    torch.manual_seed(0)
    return Generator(image_size=16, channels=3, nz=8, width=4).eval()


# -- stand-in generators for the conditional metrics -----------------------------------------------------

class RealSampler:
    """Returns real test images of the requested classes (shifted by ``offset`` classes)."""

    def __init__(self, data: ImageSet, offset: int = 0) -> None:
        self.data, self.offset = data, offset

    def sample(self, n, labels=None, generator=None):
        picks = []
        for label in labels.tolist():
            where = torch.nonzero(self.data.labels == (label + self.offset) % self.data.num_classes).flatten()
            picks.append(where[torch.randint(len(where), (1,), generator=generator)])
        images, _ = self.data.rows(torch.cat(picks))
        return images.float() / 127.5 - 1


class OneImageSampler(RealSampler):
    """The first real test image of the requested class, every time: right class, no variety."""

    def sample(self, n, labels=None, generator=None):
        first = {c: int(torch.nonzero(self.data.labels == c)[0]) for c in labels.unique().tolist()}
        images, _ = self.data.rows(torch.tensor([first[c] for c in labels.tolist()]))
        return images.float() / 127.5 - 1


# -- stacked MNIST toys ----------------------------------------------------------------------------------

def toy_digits(per_class: int = 3) -> ImageSet:
    """Grey 28 x 28 "digits" whose pixels all equal 20 * label: the label can be read back from the image."""
    labels = torch.arange(10).repeat_interleave(per_class)
    images = (labels * 20).to(torch.uint8)[:, None, None, None].expand(-1, 1, 28, 28).contiguous()
    return ImageSet("digits", images, labels, [str(d) for d in range(10)], "real")


class BrightnessJudge(torch.nn.Module):
    """A stand-in for the MNIST judge: reads the digit from the mean brightness of a grey image."""

    config = {"channels": 1}
    num_classes = 10

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 500):
        level = (images.mean(dim=(1, 2, 3)) + 1) * 127.5 / 20
        return torch.stack([level, level**2], dim=1), level.round().long().clamp(0, 9)


# -- the CycleGAN toy --------------------------------------------------------------------------------------

TINY_CYCLEGAN = {"ngf": 4, "n_blocks": 1, "ndf": 4}


def toy_unpaired(n: int = 12, size: int = 36, crop: int = 32, seed: int = 0) -> UnpairedSet:
    """Reddish noisy 'paintings' (A) and bluish 'photos' (B); preview images at the crop size."""
    g = torch.Generator().manual_seed(seed)

    def domain(name: str, channel: int, count: int, side: int) -> ImageSet:
        images = torch.randint(0, 90, (count, 3, side, side), generator=g, dtype=torch.uint8)
        images[:, channel] += 150
        return ImageSet(name, images)

    preview = UnpairedSet("toy", domain("a", 0, 4, crop), domain("b", 2, 5, crop), ("art", "photo"))
    return UnpairedSet("toy", domain("a", 0, n, size), domain("b", 2, n + 3, size), ("art", "photo"),
                       crop=crop, preview=preview)


def toy_recipe(data: UnpairedSet, **options) -> CycleGAN:
    """A tiny CycleGAN for ``data`` (``TINY_CYCLEGAN`` sizes unless ``options`` say otherwise), seeded."""
    seed_everything(0)
    return CycleGAN(CycleGAN.config_for(data, **(TINY_CYCLEGAN | options)))


# -- image folders on disk ---------------------------------------------------------------------------------

def write_images(folder: Path, names, colour) -> None:
    """40 x 48 images of one ``colour`` whose green channel tells them apart (10 * their index)."""
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        array = np.full((40, 48, 3), colour, np.uint8)
        array[:, :, 1] = i * 10
        Image.fromarray(array).save(folder / name)


def write_monet2photo(root: Path, monets: int = 6, photos: int = 7) -> Path:
    """CycleGAN's monet2photo folders under ``root``: red 'Monets' in A, blue 'photos' in B, small test splits."""
    base = root / "monet2photo"
    write_images(base / "trainA", [f"m{i}.jpg" for i in range(monets)], (200, 0, 0))
    write_images(base / "trainB", [f"p{i}.jpg" for i in range(photos)], (0, 0, 200))
    write_images(base / "testA", ["m_test0.jpg", "m_test1.jpg"], (200, 0, 0))
    write_images(base / "testB", ["p_test0.jpg", "p_test1.jpg", "p_test2.jpg"], (0, 0, 200))
    return base


def jpeg(path: Path, width: int, height: int, colour: tuple[int, int, int]) -> Path:
    """A one-colour JPEG of ``width`` x ``height`` at ``path``."""
    Image.new("RGB", (width, height), colour).save(path, quality=95)
    return path


def three_band(path: Path) -> Path:
    """60 x 40: a red 10 px band, a green middle 40 px square, a blue 10 px band (the crop keeps the green)."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :10] = (255, 0, 0)
    image[:, 10:50] = (0, 255, 0)
    image[:, 50:] = (0, 0, 255)
    Image.fromarray(image).save(path)
    return path


# Impressionist painters of the toy wikiart folder (see the ``wikiart_root`` fixture) and their painting counts.
WIKIART_ARTISTS = {"alice-aa": 12, "bob-bb": 8, "carol-cc": 4}


def all_files(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden ones too), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# -- the command line ----------------------------------------------------------------------------------------

# The smallest CLI training run: stand-in MNIST, 64 images, tiny networks, no evaluation.
CLI_TINY = ["--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--batch-size", "8", "--set", "g_width=8",
            "--set", "d_width=8", "--no-eval", "--quiet"]


def error_line(capsys) -> str:
    """The error the CLI printed: exactly one line starting with ``gancourse <command>: error:``."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gancourse ")]
    assert len(lines) == 1, lines
    return lines[0]


# -- the exercise checkers ---------------------------------------------------------------------------------------

def verdict(capsys) -> str:
    """What a checker printed since the last call."""
    return capsys.readouterr().out


def rejects(capsys, checker, wrong, hint: str) -> None:
    """``checker`` fails ``wrong`` and its FAIL line names ``hint``."""
    assert not checker(wrong), f"{checker.__name__} passed a wrong answer"
    printed = verdict(capsys)
    assert hint in printed, printed
