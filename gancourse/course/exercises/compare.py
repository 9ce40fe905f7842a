"""Putting a student's run beside the package's: one curve per run for each metric, and their final values."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...runs import RunDir


def code_tag(*objects: Any) -> str:
    """A short hash of the code of functions and classes (their methods' bytecode and constants).

    A run directory named with it belongs to one version of the student's code: after an edit the next run
    starts fresh instead of resuming a checkpoint written by the old code.
    """
    digest = hashlib.sha1()
    for obj in objects:
        members = [obj] if callable(obj) and not isinstance(obj, type) else list(vars(obj).values())
        for member in members:
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None:
                digest.update(code.co_code)
                digest.update(repr(code.co_consts).encode())
        digest.update(getattr(obj, "__qualname__", type(obj).__name__).encode())
    return digest.hexdigest()[:8]


def _as_run(run: Any) -> RunDir:
    run = getattr(run, "run", run)
    return run if isinstance(run, RunDir) else RunDir(Path(run))


def _images_per_step(run: RunDir) -> int:
    batch = run.read_config().get("batch_size")
    if not batch:
        raise ValueError(f"{run.path} does not record its batch size (config.json), so it cannot be plotted "
                         "over training images: use x='step'")
    return int(batch)


def beside_reference(runs: dict[str, Any], metrics: Sequence[str] = ("fid",), floor: bool = True, x: str = "step"):
    """Plot each metric over training for every run (FitResult, RunDir or path) and return the final values,
    one row per run (a pandas DataFrame).

    ``x="images"`` puts the training images seen (steps × the run's batch size) on the x axis instead of steps,
    which lines up runs with different batch sizes.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    if x not in ("step", "images"):
        raise ValueError(f"x must be 'step' or 'images', got {x!r}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.5 * len(metrics), 3.6), squeeze=False)
    rows = {}
    for name, run in runs.items():
        run = _as_run(run)
        evaluations = run.evaluations()
        per_step = _images_per_step(run) if x == "images" else 1
        for ax, key in zip(axes[0], metrics, strict=True):
            points = [(e["step"] * per_step, e["eval"][key]) for e in evaluations if key in e["eval"]]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=name)
        final = run.read_metrics() or (evaluations[-1]["eval"] if evaluations else {})
        rows[name] = {k: final.get(k) for k in metrics} | {"steps": final.get("step")}
        if x == "images" and final.get("step") is not None:
            rows[name]["images"] = final["step"] * per_step
        if floor:
            rows[name] |= {f"{k}_floor": final[f"{k}_floor"] for k in metrics if f"{k}_floor" in final}
    for ax, key in zip(axes[0], metrics, strict=True):
        floors = [r.get(f"{key}_floor") for r in rows.values() if r.get(f"{key}_floor") is not None]
        if floor and floors:
            ax.axhline(floors[0], ls="--", color="grey", label=f"real-vs-real floor ({floors[0]:.3g})")
        better = "lower" if key in ("fid", "kid", "kl_uniform") else "higher"
        ax.set(xlabel="training images" if x == "images" else "step", ylabel=key,
               title=f"{key} over training ({better} is better)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()
    return pd.DataFrame(rows).T
