"""Unpaired data: two image domains (A and B) that ``fit`` streams side by side.

CycleGAN never sees a painting and "its" photo together: each step takes a batch of paintings and an
independent batch of photos. :class:`UnpairedSet` holds the two domains as :class:`ImageSet` s (uint8,
like every dataset here) and knows how to stream itself: ``fit`` calls ``data.stream(...)`` and gets an
:class:`UnpairedStream` whose ``next()`` returns an :class:`UnpairedBatch` ``(a, b)`` on the device in
[-1, 1], randomly cropped (and flipped) there, batch by batch: no per-image PIL work in the loop.

Each domain has its own shuffled :class:`BatchStream`, so the two sets may differ in size; an epoch is
one pass over the larger one (the reference implementation's convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .imageset import BatchStream, ImageSet


class UnpairedBatch(NamedTuple):
    a: torch.Tensor  # float (B, C, S, S) in [-1, 1], domain A, on the device
    b: torch.Tensor  # float (B, C, S, S) in [-1, 1], domain B, independent of ``a``


def random_crop(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``size`` x ``size`` window of each image of a (B, C, H, W) batch, on the batch's device.

    One gather for the whole batch; the offsets come from ``generator`` (CPU), so they are reproducible
    and resumable whatever the device.
    """
    b, _, h, w = images.shape
    if size > h or size > w:
        raise ValueError(f"crop size {size} is larger than the images ({h}x{w})")
    if size == h and size == w:
        return images
    top = torch.randint(0, h - size + 1, (b,), generator=generator).to(images.device)
    left = torch.randint(0, w - size + 1, (b,), generator=generator).to(images.device)
    span = torch.arange(size, device=images.device)
    rows = (top[:, None] + span)[:, :, None]  # (B, S, 1)
    cols = (left[:, None] + span)[:, None, :]  # (B, 1, S)
    batch = torch.arange(b, device=images.device)[:, None, None]
    return images.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


@dataclass
class UnpairedSet:
    """Two unpaired image domains; ``crop`` > 0: train on random ``crop`` px windows of larger images.

    ``preview`` optionally holds held-out images of both domains at the training size: what a
    translation recipe shows in its sample grids (``recipe.prepare(data)`` keeps them).
    """

    name: str
    a: ImageSet
    b: ImageSet
    domains: tuple[str, str] = ("A", "B")
    crop: int = 0
    preview: UnpairedSet | None = None
    class_names: list[str] = field(default_factory=list)  # unlabelled: nothing treats it as conditional

    def __post_init__(self) -> None:
        if self.a.channels != self.b.channels:
            raise ValueError(f"{self.name}: domain {self.domains[0]} has {self.a.channels} channels but "
                             f"{self.domains[1]} has {self.b.channels}")
        if self.crop and self.crop > min(self.a.size, self.b.size):
            raise ValueError(f"{self.name}: crop {self.crop} is larger than the images "
                             f"({self.a.size} and {self.b.size} px)")
        if not self.crop and self.a.size != self.b.size:
            raise ValueError(f"{self.name}: the domains have different sizes ({self.a.size} and {self.b.size} px); "
                             f"give a crop size")

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    @property
    def channels(self) -> int:
        return self.a.channels

    @property
    def size(self) -> int:
        """The side of the images the networks see (the crop when cropping)."""
        return self.crop or self.a.size

    @property
    def num_classes(self) -> int:
        return 0

    @property
    def source(self) -> str:
        return "real" if not (self.a.is_stand_in or self.b.is_stand_in) else "stand-in"

    @property
    def is_stand_in(self) -> bool:
        return self.source != "real"

    def domain(self, name: str) -> ImageSet:
        """One domain by its name (``"monet"``) or letter (``"A"``)."""
        if name in (self.domains[0], "A"):
            return self.a
        if name in (self.domains[1], "B"):
            return self.b
        raise ValueError(f"{self.name} has no domain {name!r}; its domains: {', '.join(self.domains)} (or A, B)")

    def head(self, n: int) -> UnpairedSet:
        """At most ``n`` images per domain (all if ``n`` is 0)."""
        if not n:
            return self
        return UnpairedSet(self.name, self.a.head(n), self.b.head(n), self.domains, self.crop, self.preview)

    def describe(self) -> str:
        kind = "REAL data" if not self.is_stand_in else "GENERATED STAND-IN (not the real data set)"
        crop = f", random {self.crop} px crops of {self.a.size} px images" if self.crop else ""
        return (f"{self.name}: {len(self.a)} {self.domains[0]} + {len(self.b)} {self.domains[1]} images, "
                f"{self.channels}x{self.size}x{self.size}{crop}, {kind}")

    def stream(self, batch_size: int, device: torch.device | str = "cpu", *, flip: bool = False, seed: int = 0,
               shard: tuple[int, int] = (0, 1)) -> UnpairedStream:
        return UnpairedStream(self, batch_size, device, flip=flip, seed=seed, shard=shard)


class UnpairedStream:
    """Endless unpaired batches: one :class:`BatchStream` per domain plus the crop offsets, all resumable."""

    def __init__(self, data: UnpairedSet, batch_size: int, device: torch.device | str = "cpu", *,
                 flip: bool = False, seed: int = 0, shard: tuple[int, int] = (0, 1)) -> None:
        self.data, self.batch_size, self.device = data, batch_size, torch.device(device)
        # Distinct seeds per domain: the two shuffles must not be the same permutation.
        self.a = BatchStream(data.a, batch_size, device, flip=flip, seed=2 * seed, shard=shard)
        self.b = BatchStream(data.b, batch_size, device, flip=flip, seed=2 * seed + 1, shard=shard)
        self.crop_generator = torch.Generator().manual_seed(seed + 7919)

    @property
    def batches_per_epoch(self) -> int:
        return max(self.a.batches_per_epoch, self.b.batches_per_epoch)

    @property
    def epoch(self) -> int:
        return self.a.epoch if len(self.data.a) >= len(self.data.b) else self.b.epoch

    def _crop(self, images: torch.Tensor) -> torch.Tensor:
        return random_crop(images, self.data.crop, self.crop_generator) if self.data.crop else images

    def next(self) -> UnpairedBatch:
        return UnpairedBatch(self._crop(self.a.next().images), self._crop(self.b.next().images))

    def __iter__(self):
        while True:
            yield self.next()

    def state_dict(self) -> dict:
        return {"a": self.a.state_dict(), "b": self.b.state_dict(), "crop": self.crop_generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])
        self.crop_generator.set_state(state["crop"])
