"""ImageSet: a dataset as one uint8 array, and BatchStream: shuffled batches on the device in [-1, 1].

Images stay uint8 until they reach the device, where they become floats for the whole batch at once;
there is no per-sample PIL or ToTensor work in the training loop. ``images`` may be a torch tensor or a
NumPy memory map (datasets larger than RAM): a batch reads only its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch


@dataclass
class ImageSet:
    """Images (N, C, H, W) uint8, integer labels (or None) and the names of the classes."""

    name: str
    images: torch.Tensor | np.ndarray
    labels: torch.Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    source: str = "real"  # "real", or "stand-in" for a generated substitute (recorded in every run)

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"{self.name}: images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if self.images.dtype not in (torch.uint8, np.uint8):
            raise ValueError(f"{self.name}: images must be uint8, got {self.images.dtype}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_stand_in(self) -> bool:
        return self.source != "real"

    def rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """uint8 images and labels at ``index`` (a 1-D LongTensor), read lazily from a memory map."""
        if isinstance(self.images, np.ndarray):
            order = np.sort(index.numpy())  # sorted reads are sequential on disk
            images = torch.from_numpy(np.ascontiguousarray(self.images[order]))
            index = torch.from_numpy(order)
        else:
            images = self.images[index]
        labels = self.labels[index] if self.labels is not None else None
        return images, labels

    def subset(self, index: torch.Tensor | slice) -> ImageSet:
        if isinstance(index, slice):
            index = torch.arange(len(self))[index]
        images, labels = self.rows(index)
        return ImageSet(self.name, images, labels, list(self.class_names), self.source)

    def head(self, n: int) -> ImageSet:
        """The first ``n`` images (all if ``n`` is 0 or larger than the set)."""
        return self if not n or n >= len(self) else self.subset(slice(0, n))

    def stream(self, batch_size: int, device: torch.device | str = "cpu", *, flip: bool = False, seed: int = 0,
               shard: tuple[int, int] = (0, 1)) -> BatchStream:
        """An endless, resumable stream of shuffled batches of this set (what ``fit`` trains on)."""
        return BatchStream(self, batch_size, device, flip=flip, seed=seed, shard=shard)

    def describe(self) -> str:
        kind = "REAL data" if not self.is_stand_in else "GENERATED STAND-IN (not the real data set)"
        return (f"{self.name}: {len(self)} images {self.channels}x{self.size}x{self.size}, "
                f"{self.num_classes} classes, {kind}")


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of a tanh generator."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


class Batch(NamedTuple):
    images: torch.Tensor  # float (B, C, H, W) in [-1, 1], on the device
    labels: torch.Tensor | None  # long (B,), on the device


class BatchStream:
    """An endless stream of shuffled batches, reshuffled every epoch, with a resumable position.

    Shuffling and flips draw from the stream's own generator, so its ``state_dict`` fixes exactly which
    images come next: a resumed run sees the same batches as an uninterrupted one.

    ``shard=(rank, world)``: this stream is one of ``world`` (one per process of a distributed run, all
    with the same seed), each reading ``batch_size`` rows per batch. Together the ``world`` batches of a
    step are the batch of ``batch_size * world`` rows (and flips) that one unsharded stream would read,
    so the position saved by ``state_dict`` counts rows of that global stream and means the same under
    any ``world``.
    """

    def __init__(self, data: ImageSet, batch_size: int, device: torch.device | str = "cpu", *,
                 flip: bool = False, seed: int = 0, shard: tuple[int, int] = (0, 1)) -> None:
        rank, world = shard
        if not 0 <= rank < world:
            raise ValueError(f"shard {shard}: expected (rank, world) with 0 <= rank < world")
        if batch_size < 1 or batch_size * world > len(data):
            raise ValueError(f"batch_size {batch_size} x {world} process(es) does not fit the data set "
                             f"({len(data)} images); use a batch size from 1 to {len(data) // world}")
        self.data, self.batch_size, self.device, self.flip = data, batch_size, torch.device(device), flip
        self.rank, self.world = rank, world
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self._perm: torch.Tensor | None = None
        self._pos = 0
        self._epoch_start_state = self.generator.get_state()
        # Small in-memory sets live on the accelerator once, so a batch is an index, not a copy.
        self._resident = (self.device.type in ("cuda", "mps") and isinstance(data.images, torch.Tensor)
                          and data.images.numel() < 2**31)
        if self._resident:
            self._images = data.images.to(self.device)
            self._labels = data.labels.to(self.device) if data.labels is not None else None

    @property
    def batches_per_epoch(self) -> int:
        return len(self.data) // self.world // self.batch_size

    def _new_epoch(self) -> None:
        self._epoch_start_state = self.generator.get_state()
        perm = torch.randperm(len(self.data), generator=self.generator)
        # Each rank takes every world-th image of the same permutation, cut to a multiple of world so that
        # every rank has as many batches per epoch.
        self._perm = perm[:len(perm) - len(perm) % self.world][self.rank::self.world]
        self._pos = 0
        self.epoch += 1

    def next(self) -> Batch:
        if self._perm is None or self._pos + self.batch_size > len(self._perm):
            self._new_epoch()
        index = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        # The global batch's flips, of which this rank takes its rows' share (all of them when world is 1).
        flips = (torch.rand(self.batch_size * self.world, generator=self.generator)[self.rank::self.world] < 0.5
                 if self.flip else None)
        if self._resident:
            images = self._images[index.to(self.device)]
            labels = self._labels[index.to(self.device)] if self._labels is not None else None
        else:
            images, labels = self.data.rows(index)
            non_blocking = self.device.type == "cuda"
            images = images.pin_memory().to(self.device, non_blocking=True) if non_blocking else images.to(self.device)
            labels = labels.to(self.device) if labels is not None else None
        images = to_unit_range(images)
        if flips is not None:
            images = torch.where(flips.to(self.device)[:, None, None, None], images.flip(-1), images)
        return Batch(images, labels)

    def __iter__(self):
        while True:
            yield self.next()

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self._pos * self.world, "started": self._perm is not None,
                "epoch_start_state": self._epoch_start_state, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["epoch_start_state"])
        if state["started"]:
            self._new_epoch()  # regenerates this epoch's permutation from its starting state
        if state["pos"] % self.world:
            raise ValueError(f"this stream position ({state['pos']} rows into the epoch) cannot be split "
                             f"across {self.world} processes; resume with a number of processes that divides it")
        self.epoch, self._pos = state["epoch"], state["pos"] // self.world
        self.generator.set_state(state["generator"])
