"""Equal compute budgets for recipes whose steps cost very different amounts.

A WGAN-GP step is n_critic critic updates with a double backward each; a DCGAN step is one D and one G
update. Comparing them at the same number of steps flatters WGAN-GP; at the same wall-clock time they
compete for what a student's CPU actually has. ``measure_step_rate`` times a few steps of a throwaway
copy of each recipe on this machine, and ``equal_time_steps`` turns one time budget into a step count
per recipe, so the runs themselves stay reproducible step for step.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..data import BatchStream, ImageSet
from ..devices import pick_device, settle_threads
from ..recipes import recipe_class


def measure_step_rate(recipe: str, data: ImageSet, *, batch_size: int = 64, steps: int = 3,
                      device: str | torch.device | None = None, **options: Any) -> float:
    """Training steps per second of ``recipe`` on ``data`` here (after warm-up steps).

    The recipe is a throwaway copy and every global random state is restored afterwards, so measuring
    does not change the runs trained next. The warm-up also lets adaptive CPU threads settle on the
    machine's load, so that a busy machine is timed at the threads its training will use.
    """
    device = pick_device(device) if not isinstance(device, torch.device) else device
    with torch.random.fork_rng(devices=[]):
        cls = recipe_class(recipe)
        model = cls(cls.config_for(data, **options), device)
        stream = BatchStream(data, batch_size, device, seed=0)
        settle_threads(lambda: model.step(stream.next()))  # warm-up: allocations, kernels, the threads
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            model.step(stream.next())
        if device.type == "cuda":
            torch.cuda.synchronize()
        return steps / (time.perf_counter() - start)


def equal_time_steps(rates: dict[str, float], seconds: float, minimum: int = 1) -> dict[str, int]:
    """The step count that fills ``seconds`` for each recipe, given its measured steps per second."""
    return {name: max(minimum, int(rate * seconds)) for name, rate in rates.items()}
