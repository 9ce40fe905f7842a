"""The cost of a training step, variant against baseline, measured side by side (shared by the benchmarks).

On a shared machine the load changes from minute to minute, so the variants are timed in interleaved rounds
(each round times every variant once, in turn) and each variant's cost is the median over rounds of its time
divided by the baseline's in the same round. A budget in baseline steps then converts into each variant's
steps, which makes a benchmark reproducible step for step whatever the load was.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def cost_ratios(steppers: dict[str, Callable[[], object]], rounds: int, steps: int,
                clock: Callable[[], float] = time.perf_counter) -> tuple[float, dict[str, float]]:
    """(the first stepper's median seconds per step, each stepper's median cost ratio to the first).

    ``steppers``: name -> a function that takes one training step; the first one is the baseline. Each is
    called once first (warm-up), then ``steps`` times per round for ``rounds`` interleaved rounds, timed by
    ``clock`` (``time.process_time`` counts this process's CPU time only).
    """
    for step in steppers.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            start = clock()
            for _ in range(steps):
                step()
            times[name].append((clock() - start) / steps)
    base = times[next(iter(times))]
    return statistics.median(base), {name: statistics.median(t / b for t, b in zip(ts, base, strict=True))
                                     for name, ts in times.items()}
