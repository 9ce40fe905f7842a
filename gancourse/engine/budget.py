"""Equal compute budgets for recipes whose steps cost very different amounts.

A WGAN-GP step is n_critic critic updates with a double backward each; a DCGAN step is one D and one G
update. Comparing them at the same number of steps flatters WGAN-GP; at the same wall-clock time they
compete for what a student's CPU actually has. ``measure_step_rate`` times steps of a throwaway
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


def measure_step_rate(recipe: str, data: ImageSet, *, batch_size: int = 64, steps: int = 3, seconds: float = 0.0,
                      device: str | torch.device | None = None, **options: Any) -> float:
    """Training steps per second of ``recipe`` on ``data`` here: at least ``steps`` steps timed, and for at
    least ``seconds`` (after warm-up steps).

    A few steps last a fraction of a second, so one slow step moves the rate by tens of percent and the step
    count made from it misses its time budget by as much: ``seconds`` of a second or two evens that out. The
    recipe is a throwaway copy and every global random state is restored afterwards, so measuring does not
    change the runs trained next. The warm-up also lets adaptive CPU threads settle on the machine's load, so
    that a busy machine is timed at the threads its training will use.
    """
    device = pick_device(device) if not isinstance(device, torch.device) else device
    with torch.random.fork_rng(devices=[]):
        cls = recipe_class(recipe)
        model = cls(cls.config_for(data, **options), device)
        stream = BatchStream(data, batch_size, device, seed=0)
        settle_threads(lambda: model.step(stream.next()))  # warm-up: allocations, kernels, the threads
        timed, start = 0, time.perf_counter()
        while timed < steps or time.perf_counter() - start < seconds:
            model.step(stream.next())
            if device.type == "cuda":
                torch.cuda.synchronize()
            timed += 1
        return timed / (time.perf_counter() - start)


def equal_time_steps(rates: dict[str, float], seconds: float, minimum: int = 1) -> dict[str, int]:
    """The step count that fills ``seconds`` for each recipe, given its measured steps per second."""
    return {name: max(minimum, int(rate * seconds)) for name, rate in rates.items()}
