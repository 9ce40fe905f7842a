"""Training on several processes through torch.distributed: torchrun starts them, DDP keeps them in step.

    torchrun --nproc_per_node 2 -m gancourse train --dataset mnist --steps 2000 --out runs/mnist-ddp

torchrun starts one process (a *rank*) per GPU, or per CPU slot with the gloo backend, and tells each
its place in RANK, WORLD_SIZE and LOCAL_RANK. ``init()`` joins the process group; ``fit`` notices the
group and then

- splits every batch across the ranks: ``batch_size`` stays the *global* batch, and the ranks' shares
  at a step are together exactly the batch one process would read (``BatchStream(shard=...)``), so a
  run means the same thing on 1 or N processes and resumes under another number of them;
- wraps the recipe's networks in DistributedDataParallel while a step runs (``DistributedNetworks``);
- writes samples, history, metrics and checkpoints from rank 0 only.

Without torchrun, or with one process, every helper here is a no-op and ``fit`` is the plain loop.
All communication goes through torch.distributed: DDP for gradients, its collectives for the rest.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from ..devices import pick_device
from ..errors import LaunchError

T = TypeVar("T")
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    """True in a process that torchrun (or anything that sets its variables) started."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def init(device: str | None = None, timeout_s: float = 1800.0) -> torch.device:
    """Join the process group torchrun describes and return this rank's device (idempotent).

    CUDA: one GPU per rank (``cuda:LOCAL_RANK``, made the current device, so ``"cuda"`` means it) and
    the nccl backend. CPU: the gloo backend. ``timeout_s`` bounds how long ranks wait for each other,
    e.g. while rank 0 alone evaluates metrics.
    """
    if not launched_by_torchrun():
        raise LaunchError("distributed training needs the processes torchrun starts, e.g. "
                           "`torchrun --nproc_per_node 2 -m gancourse train ...` (missing environment: "
                           + ", ".join(v for v in TORCHRUN_VARIABLES if v not in os.environ) + ")")
    local_rank = int(os.environ["LOCAL_RANK"])
    chosen = pick_device(device)
    if chosen.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise LaunchError(f"local rank {local_rank} has no GPU: this machine has "
                               f"{torch.cuda.device_count()}; start at most that many processes per node")
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    elif chosen.type != "cpu":
        raise LaunchError(f"torch.distributed has no backend for {chosen.type}; use --device cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timedelta(seconds=timeout_s))
    return chosen


def is_distributed() -> bool:
    """More than one process in an initialised group: only then does anything here communicate."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Rank 0: the one process that writes files and prints."""
    return rank() == 0


def barrier() -> None:
    if is_distributed():
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def cleanup() -> None:
    """Leave the process group. Networks that were wrapped in DDP hold it through their reducers; they are
    collected first, while the group and the interpreter are whole: gloo's threads torn down later, at
    interpreter exit, can abort the process (SIGABRT, "terminate called without an active exception")."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of one rank's global RNGs (noise, dropout): independent streams, so ranks draw different noise.

    Rank 0 of a fresh run keeps ``seed`` itself, so a one-process run under torchrun is the plain run.
    ``step`` > 0 seeds a rank that joins a resumed run and has no saved RNG state of its own.
    """
    if rank == 0 and step == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**63, rank, step]).generate_state(1)[0])


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (downloads, prepared-array caches, the judge); the others then run it
    and find its files in place instead of writing them all at once."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def from_main(make: Callable[[], T]) -> T:
    """``make()`` run on rank 0 only; every rank gets its result, or raises its exception.

    Used to read the checkpoint: only rank 0 needs to see the run directory, and a mismatch found there
    stops every rank instead of leaving the others waiting.
    """
    if not is_distributed():
        return make()
    payload: list[Any] = [None, None]
    if is_main():
        try:
            payload[0] = make()
        except Exception as exc:  # handed to every rank below, then raised everywhere
            payload[1] = exc
    dist.broadcast_object_list(payload, src=0)
    if payload[1] is not None:
        raise payload[1]
    return payload[0]


def gather(value: T) -> list[T]:
    """``value`` from every rank, in rank order (``[value]`` without torch.distributed)."""
    if not is_distributed():
        return [value]
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def any_rank(flag: bool) -> bool:
    """True on every rank if it is true on any: ranks must take decisions such as stopping together."""
    if not is_distributed():
        return bool(flag)
    t = torch.tensor([float(flag)], device=_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """The mean of each scalar over the ranks: the value over the global batch for mean-reduced losses."""
    if not is_distributed() or not values:
        return dict(values)
    keys = sorted(values)  # the same order on every rank, however each built its dict
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(t)
    means = dict(zip(keys, (t / dist.get_world_size()).tolist(), strict=True))
    return {k: means[k] for k in values}


def sync_extra_state(recipe: Any) -> None:
    """Average the float entries of ``recipe.extra_state`` over the ranks.

    A recipe may decide from them what the next step does (DCGAN's ``d_gate`` compares the last losses):
    computed from each rank's share of the batch they differ, and ranks that decide differently stop
    calling the same collectives and hang. Their mean is the value over the global batch, as in one process.
    """
    keys = [k for k, v in recipe.extra_state.items() if type(v) is float]
    if is_distributed() and keys:
        recipe.extra_state.update(mean_over_ranks({k: recipe.extra_state[k] for k in keys}))


# No buffer broadcast before each forward (see DistributedNetworks); torch 2.15 renamed the option.
_NO_FORWARD_BUFFER_SYNC = ({"forward_sync_buffers": False}
                           if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                           else {"broadcast_buffers": False})


class _DDP(DistributedDataParallel):
    """DDP that forwards unknown attributes (``G.nz``, ``G.config``) to the wrapped network."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)


class DistributedNetworks:
    """A recipe's networks, wrapped in DistributedDataParallel for the duration of a training step.

    Inside ``active()`` the recipe's network attributes (``recipe.G``, ``recipe.D``) and its ``modules``
    dict hold the DDP wrappers, so its unchanged ``step`` averages gradients over the ranks. Outside it
    they hold the plain networks: sampling, evaluation and ``state_dict`` never communicate, and
    checkpoints have the same keys under any number of processes. Without torch.distributed, or with
    one process, nothing is wrapped and ``active()`` does nothing.

    Choices, for GAN steps that run D several times before one backward (real, fake, then fake again
    for G's loss) and feed G's output to D:

    - Buffers are broadcast from rank 0 once, when wrapping, and not in place before every forward
      (DDP's default): D runs two or three times before one backward, and on CUDA batch norm's backward
      reads the running statistics its forward saw, so that broadcast breaks autograd ("modified by an
      inplace operation", the classic GAN + DDP failure: pytorch/pytorch#22095, #175024). Nothing needs
      it: spectral norm's power-iteration vectors evolve the same way on every rank from the same
      weights, and batch-norm running statistics (used only to sample, by rank 0) are kept equal by
      SyncBatchNorm on CUDA, or are rank 0's on CPU.
    - SyncBatchNorm on CUDA: the global batch is split over the GPUs, and plain batch norm would then
      normalise each forward by the statistics of B/N images; SyncBatchNorm normalises over the whole
      global batch, as one process does. torch has no SyncBatchNorm for CPU tensors (it raises), so with
      gloo on CPU each rank normalises its own share of the batch.
    - ``find_unused_parameters=False`` unless the recipe sets ``ddp_find_unused_parameters = True``: every
      parameter of DCGAN's G and D gets a gradient in the backward after its forward (a D forward whose
      backward is skipped, as with ``d_gate``, is fine), and searching the graph costs time every step.
    """

    def __init__(self, recipe: Any) -> None:
        self.recipe = recipe
        self.plain: dict[str, nn.Module] = dict(recipe.modules)
        self.wrapped: dict[str, nn.Module] = {}
        self.attributes: list[tuple[str, str]] = []
        if not is_distributed():
            return
        on_cuda = recipe.device.type == "cuda"
        find_unused = bool(getattr(recipe, "ddp_find_unused_parameters", False))
        device_ids = None
        if on_cuda:
            index = recipe.device.index
            device_ids = [index if index is not None else torch.cuda.current_device()]
        for name, module in self.plain.items():
            if not any(p.requires_grad for p in module.parameters()):
                continue  # a frozen network (a fixed feature extractor) has no gradients to average
            if on_cuda:
                converted = nn.SyncBatchNorm.convert_sync_batchnorm(module)  # swaps children in place
                if converted is not module:
                    raise TypeError(f"{name} is a bare batch-norm layer; wrap it in a module to train it with DDP")
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)
            self.wrapped[name] = _DDP(module, device_ids=device_ids, find_unused_parameters=find_unused,
                                      **_NO_FORWARD_BUFFER_SYNC)
        self.attributes = [(attr, name) for attr, value in vars(recipe).items() for name in self.wrapped
                           if value is self.plain[name]]

    def _install(self, modules: dict[str, nn.Module]) -> None:
        for attr, name in self.attributes:
            setattr(self.recipe, attr, modules[name])
        self.recipe.modules.update({name: modules[name] for name in self.wrapped})

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        if not self.wrapped:
            yield
            return
        self._install(self.wrapped)
        try:
            yield
        finally:
            self._install(self.plain)
