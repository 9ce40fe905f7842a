"""``fit``: the one training loop every notebook, the CLI and every sweep use.

It owns the things a recipe should not care about: the data stream, the step budget (steps, epochs or
wall-clock seconds), the progress bar, history, sample grids from fixed noise, checkpoints and resume,
and metric evaluations. A recipe only knows how to take one step.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image
from tqdm.auto import tqdm

from . import __version__
from .checkpoints import export_generator, load_checkpoint, save_checkpoint
from .data import BatchStream, ImageSet
from .devices import rng_state, seed_everything, set_rng_state
from .recipes import Recipe
from .runs import RunDir

Hook = Callable[[str, dict[str, Any]], None]  # (event, info): "log", "sample", "eval", "end"
Evaluator = Callable[[Recipe], dict[str, float]]


@dataclass
class FitResult:
    run: RunDir
    step: int
    wall_time: float
    stopped_by: str  # "steps" or "time budget"
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.run.read_history()


def describe_data(data: ImageSet) -> dict[str, Any]:
    return {"name": data.name, "source": data.source, "images": len(data), "channels": data.channels,
            "size": data.size, "classes": list(data.class_names)}


class ResumeMismatch(ValueError):
    """The run directory holds a run of a different recipe, config or dataset."""


def _check_same_run(run: RunDir, config: dict[str, Any]) -> None:
    old = run.read_config()
    for key in ("recipe", "recipe_config", "data", "seed", "batch_size"):
        if old.get(key) != config.get(key):
            raise ResumeMismatch(
                f"{run.path} already holds a run with a different {key}:\n  there: {old.get(key)}\n"
                f"  now:   {config.get(key)}\nUse another output directory, or delete {run.path} to start over.")


def fit(recipe: Recipe, data: ImageSet, run_dir: str | Path, *, steps: int = 0, epochs: float = 0,
        time_budget: float = 0.0, batch_size: int = 64, seed: int = 0, flip: bool = False,
        log_every: int = 10, sample_every: int = 0, checkpoint_every: int = 0, eval_every: int = 0,
        evaluator: Evaluator | None = None, hooks: Sequence[Hook] = (), n_samples: int = 64,
        progress: bool = True, extra_config: dict[str, Any] | None = None) -> FitResult:
    """Train ``recipe`` on ``data`` until ``steps`` (or ``epochs``, or ``time_budget`` seconds) are done.

    Running it again on the same ``run_dir`` resumes from ``checkpoints/last.pt``: networks, optimisers,
    RNGs and the data stream's position are restored, so the continuation is bit-for-bit the run that
    was never interrupted (on CPU). A larger ``steps`` extends a finished run.
    """
    run = RunDir(run_dir).create()
    stream = BatchStream(data, batch_size, recipe.device, flip=flip, seed=seed)
    if epochs:
        steps = max(steps, math.ceil(epochs * stream.batches_per_epoch))
    if not steps and not time_budget:
        raise ValueError("give fit() a budget: steps, epochs or time_budget (seconds)")
    total = steps or None
    sample_every = sample_every or max(1, (steps or 1000) // 10)
    checkpoint_every = checkpoint_every or sample_every

    config = {
        "recipe": recipe.name,
        "recipe_config": dataclasses.asdict(recipe.config),
        "data": describe_data(data),
        "seed": seed, "batch_size": batch_size, "flip": flip,
        "budget": {"steps": steps, "epochs": epochs, "time_budget": time_budget},
        "device": str(recipe.device), "torch": torch.__version__, "gancourse": __version__,
        "python": platform.python_version(), "parameters": recipe.parameter_counts(),
        **(extra_config or {}),
    }
    step, elapsed_before = 0, 0.0
    if run.last_checkpoint.is_file():
        _check_same_run(run, config)
        state = load_checkpoint(run.last_checkpoint, map_location=recipe.device)
        recipe.load_state_dict(state["recipe"])
        stream.load_state_dict(state["stream"])
        set_rng_state(state["rng"])
        step, elapsed_before = int(state["step"]), float(state["elapsed"])
        run.truncate_history(step)
    else:
        seed_everything(seed)
    run.write_config(config)

    fixed = recipe.fixed_inputs(n_samples, seed)
    nrow = recipe.config.n_classes if getattr(recipe.config, "n_classes", 0) else int(math.sqrt(n_samples))
    recipe.train()

    def emit(event: str, **info: Any) -> None:
        for hook in hooks:
            hook(event, {"step": step, "run": run, **info})

    def checkpoint() -> None:
        save_checkpoint({"recipe": recipe.state_dict(), "stream": stream.state_dict(), "rng": rng_state(),
                         "step": step, "elapsed": elapsed_before + (time.perf_counter() - start)},
                        run.last_checkpoint)

    def save_samples() -> None:
        images = recipe.sample_fixed(fixed)
        path = run.samples_dir / f"step_{step:06d}.png"
        save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1), padding=1)
        emit("sample", path=path, images=images)

    def evaluate() -> dict[str, float]:
        metrics = {k: float(v) for k, v in evaluator(recipe).items()}
        run.append_history({"step": step, "eval": metrics})
        emit("eval", metrics=metrics)
        return metrics

    start = time.perf_counter()
    sums: dict[str, float] = defaultdict(float)
    count, stopped_by, metrics = 0, "steps", {}
    bar = tqdm(total=total, initial=step, desc=f"{recipe.name} on {data.name}", disable=not progress,
               unit="step", dynamic_ncols=True, mininterval=0.5)
    if step == 0:
        save_samples()
    while True:
        now = elapsed_before + time.perf_counter() - start
        if total is not None and step >= total:
            break
        if time_budget and now >= time_budget:
            stopped_by = "time budget"
            break
        scalars = recipe.step(stream.next())
        step += 1
        for k, v in scalars.items():
            sums[k] += v
        count += 1
        bar.update(1)
        if step % log_every == 0:
            means = {k: v / count for k, v in sums.items()}
            run.append_history({"step": step, "time": round(now, 3), "epoch": stream.epoch, **means})
            bar.set_postfix({k: f"{means[k]:.3f}" for k in list(means)[:3]}, refresh=False)
            emit("log", scalars=means)
            sums.clear()
            count = 0
        if step % sample_every == 0:
            save_samples()
        if evaluator is not None and eval_every and step % eval_every == 0:
            metrics = evaluate()
        if step % checkpoint_every == 0:
            checkpoint()
    bar.close()

    if not run.samples_dir.joinpath(f"step_{step:06d}.png").is_file():
        save_samples()
    checkpoint()
    export_generator(recipe.generator_export(), run.generator_path)
    if evaluator is not None:
        if not metrics or run.evaluations()[-1]["step"] != step:
            metrics = evaluate()
        run.write_metrics({"step": step, **metrics})
    wall = elapsed_before + time.perf_counter() - start
    emit("end", metrics=metrics, wall_time=wall)
    return FitResult(run, step, wall, stopped_by, metrics)
