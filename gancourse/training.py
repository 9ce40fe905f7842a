"""``fit``: the one training loop every notebook, the CLI and every sweep use.

It owns the things a recipe should not care about: the data stream, the step budget (steps, epochs or
wall-clock seconds), the progress bar, history, sample grids from fixed noise, checkpoints and resume,
and metric evaluations. A recipe only knows how to take one step.

The same loop runs in every process of a torchrun launch (see ``gancourse.distributed``): each rank
reads its share of every batch, DDP averages the gradients, and rank 0 alone writes the run directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image
from tqdm.auto import tqdm

from . import __version__, distributed
from .checkpoints import export_generator, load_checkpoint, save_checkpoint
from .data import BatchStream, ImageSet
from .devices import rng_state, seed_everything, set_rng_state
from .recipes import Recipe
from .runs import RunDir

Hook = Callable[[str, dict[str, Any]], None]  # (event, info with step, run, recipe): "log", "sample", "eval", "end"
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


def _field_defaults(config: Any) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}


class ResumeMismatch(ValueError):
    """The run directory holds a run of a different recipe, config or dataset."""


def _with_defaults(recipe_config: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any] | None:
    """A saved recipe config completed with the defaults of fields added since it was saved."""
    return None if recipe_config is None else {**defaults, **recipe_config}


def _as_saved(value: Any) -> Any:
    """``value`` as config.json holds it after a round trip (tuples become lists), for comparing with it."""
    return json.loads(json.dumps(value))


def _check_same_run(run: RunDir, config: dict[str, Any], defaults: dict[str, Any]) -> None:
    old = run.read_config()
    # a field added to the config class later (at its default) must not orphan runs saved before it existed
    old["recipe_config"] = _with_defaults(old.get("recipe_config"), _as_saved(defaults))
    for key in ("recipe", "recipe_config", "data", "seed", "batch_size"):
        if old.get(key) != _as_saved(config.get(key)):
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

    Under torchrun (an initialised process group of N > 1 ranks) ``batch_size`` is the global batch:
    each rank takes ``batch_size / N`` of it, and the ranks' shares at a step are the batch one process
    would read, so the stream position means the same under any N and a run resumes under another N
    (same data, continuous training; bit for bit only under the same N, on CPU). Every rank's RNGs are
    seeded apart and checkpointed. Samples, history, hooks, metrics and checkpoints come from rank 0,
    and only rank 0's result carries the metrics.
    """
    world, rank = distributed.world_size(), distributed.rank()
    main = rank == 0
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} is the global batch, split across {world} processes: "
                         f"make it a multiple of {world}")
    run = RunDir(run_dir)
    if main:
        run.create()
    # Data that streams itself (an UnpairedSet: two domains per batch) builds its own stream.
    make_stream = data.stream if hasattr(data, "stream") else partial(BatchStream, data)
    stream = make_stream(batch_size // world, recipe.device, flip=flip, seed=seed, shard=(rank, world))
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
    if world > 1:
        config["distributed"] = {"world_size": world, "backend": torch.distributed.get_backend()}

    def read_checkpoint() -> dict[str, Any] | None:
        if not run.last_checkpoint.is_file():
            return None
        _check_same_run(run, config, _field_defaults(recipe.config))
        # Several ranks: rank 0 reads it on the CPU and hands it to the others (its CUDA tensors would
        # arrive on rank 0's GPU); load_state_dict then moves each piece to its rank's device.
        return load_checkpoint(run.last_checkpoint, map_location=recipe.device if world == 1 else "cpu")

    step, elapsed_before, resumed_window = 0, 0.0, {}
    state = distributed.from_main(read_checkpoint)
    if state is not None:
        recipe.load_state_dict(state["recipe"])
        stream.load_state_dict(state["stream"])
        ranks = state.get("ranks", [{"rng": state["rng"], "log_window": state.get("log_window", {})}])
        step, elapsed_before = int(state["step"]), float(state["elapsed"])
        if rank < len(ranks):
            set_rng_state(ranks[rank]["rng"])
            resumed_window = ranks[rank]["log_window"]
        else:  # a rank the checkpointed run did not have: a fresh random stream of its own
            seed_everything(distributed.rank_seed(seed, rank, step))
        if main:
            run.truncate_history(step)
    else:
        seed_everything(distributed.rank_seed(seed, rank))
    if main:
        run.write_config(config)
    networks = distributed.DistributedNetworks(recipe)

    if hasattr(recipe, "prepare"):  # a recipe that keeps something from the data (CycleGAN: preview images)
        recipe.prepare(data)
    fixed = recipe.fixed_inputs(n_samples, seed)
    nrow = recipe.config.n_classes if getattr(recipe.config, "n_classes", 0) else int(math.sqrt(n_samples))
    recipe.train()

    def emit(event: str, **info: Any) -> None:
        if not main:
            return
        for hook in hooks:
            hook(event, {"step": step, "run": run, "recipe": recipe, **info})

    def checkpoint() -> None:
        # Every rank's RNGs and logging window, so that a resume under the same N is exact.
        ranks = distributed.gather({"rng": rng_state(), "log_window": {"sums": dict(sums), "count": count}})
        if not main:
            return
        state = {"recipe": recipe.state_dict(), "stream": stream.state_dict(), "rng": ranks[0]["rng"],
                 "step": step, "elapsed": elapsed_before + (time.perf_counter() - start),
                 "log_window": ranks[0]["log_window"]}
        if world > 1:
            state["ranks"] = ranks
        save_checkpoint(state, run.last_checkpoint)

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
    # Losses are averaged over each logging window; a resumed run continues the window it was in.
    sums: dict[str, float] = defaultdict(float, resumed_window.get("sums", {}))
    count, stopped_by, metrics = resumed_window.get("count", 0), "steps", {}
    bar = tqdm(total=total, initial=step, desc=f"{recipe.name} on {data.name}", disable=not (progress and main),
               unit="step", dynamic_ncols=True, mininterval=0.5)
    if step == 0 and main:
        save_samples()
    while True:
        now = elapsed_before + time.perf_counter() - start
        if total is not None and step >= total:
            break
        if time_budget and distributed.any_rank(now >= time_budget):  # all ranks stop at the same step
            stopped_by = "time budget"
            break
        with networks.active():
            scalars = recipe.step(stream.next())
        distributed.sync_extra_state(recipe)
        step += 1
        for k, v in scalars.items():
            sums[k] += v
        count += 1
        bar.update(1)
        if step % log_every == 0:
            means = distributed.mean_over_ranks({k: v / count for k, v in sums.items()})
            if main:
                run.append_history({"step": step, "time": round(now, 3), "epoch": stream.epoch, **means})
            bar.set_postfix({k: f"{means[k]:.3f}" for k in list(means)[:3]}, refresh=False)
            emit("log", scalars=means)
            sums.clear()
            count = 0
        if main and step % sample_every == 0:
            save_samples()
        if main and evaluator is not None and eval_every and step % eval_every == 0:
            metrics = evaluate()
        if step % checkpoint_every == 0:
            checkpoint()
    bar.close()

    if main and not run.samples_dir.joinpath(f"step_{step:06d}.png").is_file():
        save_samples()
    checkpoint()
    if main:
        export_generator(recipe.generator_export(), run.generator_path)
    if main and evaluator is not None:
        if not metrics or run.evaluations()[-1]["step"] != step:
            metrics = evaluate()
        run.write_metrics({"step": step, **metrics})
    wall = elapsed_before + time.perf_counter() - start
    emit("end", metrics=metrics, wall_time=wall)
    distributed.barrier()  # every rank returns once rank 0 has written the run directory
    return FitResult(run, step, wall, stopped_by, metrics)
