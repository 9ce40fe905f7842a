"""Will this configuration fit in memory? A rough estimate made before training starts.

How the estimate is made (simple on purpose): one training step of a copy of the recipe runs on a batch
of ``PROBE_BATCH`` images while forward hooks on every layer add up the bytes of the tensors the layers
return, over every forward pass of the step (G, D on real and on fake images, CycleGAN's cycles). That
sum, per image (times ``BACKWARD_FACTOR``), times the batch size, plus the parameters with their
gradients and two Adam moments (``PARAMETER_COPIES``), is the estimate. The backward pass's gradients
of activations are short-lived, and the sum over all forward passes already counts more than is alive
at once, so the factor is 1. Calibration (CPU, CycleGAN 128 px, ngf 16, 6 blocks, ndf 32): estimate
151 MB per image; measured peak RSS grew by 201 MB at batch 1 and by 1112 MB at batch 8, i.e. 130 MB
per extra image. It exists to refuse configurations that are off by several times (CycleGAN at 256 px
and batch 64 on a 24 GB machine: about 170 GB), not to pack a batch to the last megabyte.

The free memory is ``torch.cuda.mem_get_info`` on a GPU; on a CPU the smaller of the system's
available memory (psutil, else ``/proc/meminfo``) and the cgroup's limit when one is set.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ..data import BatchStream, ImageSet
from ..devices import rng_state, set_rng_state
from ..errors import NotEnoughMemory

PROBE_BATCH = 2  # two images, not one: batch statistics (BatchNorm, minibatch std) need two
BACKWARD_FACTOR = 1  # see the calibration above: every forward pass's outputs summed already cover backward
PARAMETER_COPIES = 4  # weights, gradients, Adam's two moments
GB = 1024 ** 3


@dataclass(frozen=True)
class MemoryEstimate:
    per_image: int  # activation bytes of one image in a training step, backward included
    fixed: int  # parameters, gradients and optimiser state
    batch_size: int

    @property
    def total(self) -> int:
        return self.per_image * self.batch_size + self.fixed

    def largest_batch(self, available: int) -> int:
        return max(0, (available - self.fixed) // max(self.per_image, 1))


def _tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    return 0


def _probe_stream(data: ImageSet, device: torch.device, batch: int):
    if hasattr(data, "stream"):  # unpaired data streams itself
        return data.stream(batch, device, seed=0)
    return BatchStream(data, batch, device, seed=0)


def activation_bytes(recipe, data: ImageSet, batch: int = PROBE_BATCH) -> int:
    """Bytes returned by the layers of ``recipe``'s networks in one training step on ``batch`` images.

    The step runs on a deep copy, with every RNG saved and restored: ``recipe`` and the run are untouched.
    """
    probe = copy.deepcopy(recipe)
    total = 0

    def count(module: nn.Module, inputs, output) -> None:
        nonlocal total
        total += _tensor_bytes(output)

    layers = [m for network in probe.modules.values() for m in network.modules() if not list(m.children())]
    handles = [layer.register_forward_hook(count) for layer in layers]
    saved = rng_state()
    try:
        probe.train()
        probe.step(_probe_stream(data, probe.device, batch).next())
    finally:
        set_rng_state(saved)
        for handle in handles:
            handle.remove()
    return total


def estimate(recipe, data: ImageSet, batch_size: int) -> MemoryEstimate:
    batch = max(1, min(PROBE_BATCH, len(data)))
    per_image = BACKWARD_FACTOR * activation_bytes(recipe, data, batch) // batch
    parameters = sum(p.numel() * p.element_size() for m in recipe.modules.values() for p in m.parameters())
    return MemoryEstimate(per_image, PARAMETER_COPIES * parameters, batch_size)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_room() -> int | None:
    """What the cgroup (v2) still allows this process's group, when it has a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Free memory on ``device`` now, or None when it cannot be told."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":  # mps shares the system memory, but without a reliable figure
        return None
    try:
        import psutil

        system = int(psutil.virtual_memory().available)
    except ImportError:
        system = _meminfo_available()
    room = _cgroup_room() if os.name == "posix" else None
    known = [x for x in (system, room) if x is not None]
    return min(known) if known else None


def check_memory(recipe, data: ImageSet, batch_size: int) -> MemoryEstimate:
    """Refuse (``NotEnoughMemory``) a configuration whose estimate exceeds the free memory of its device."""
    found = estimate(recipe, data, batch_size)
    available = available_bytes(recipe.device)
    if available is not None and found.total > available:
        fits = found.largest_batch(available)
        size = getattr(recipe.config, "image_size", data.size)
        lower = (f"lower --batch-size (at most {fits} fits)" if fits else
                 f"even --batch-size 1 does not fit: lower the image size ({size} px now; e.g. --data-option "
                 f"size={max(16, size // 2)}) or the networks' width")
        raise NotEnoughMemory(
            f"this configuration needs about {found.total / GB:.1f} GB ({found.per_image / GB:.2f} GB per image "
            f"at {size} px, batch size {batch_size}) but {recipe.device.type} has {available / GB:.1f} GB free: "
            f"{lower}.")
    return found
