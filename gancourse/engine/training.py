"""``fit``: the one training loop every notebook, the CLI and every sweep use.

It owns the things a recipe should not care about: the data stream, the step budget (steps, epochs or
wall-clock seconds), the progress bar, history, sample grids from fixed noise, checkpoints and resume,
and metric evaluations. A recipe only knows how to take one step.

What it guarantees when things go wrong (README, "What happens when"): one process at a time trains
into a run directory (an OS lock); a checkpoint is written beside the old one and renamed over it, the
one before kept as ``previous.pt``; a non-finite loss or weight stops training at once, before anything
of that step is saved; a resume cuts the history back to the checkpoint it restarts from.

The same loop runs in every process of a torchrun launch (see ``gancourse.engine.distributed``): each rank
reads its share of every batch, DDP averages the gradients, and rank 0 alone writes the run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image
from tqdm.auto import tqdm

from .. import __version__
from ..checkpoints import export_generator, load_training_checkpoint, remove_stale_temporaries, save_rotating
from ..data import BatchStream, ImageSet
from ..devices import rng_state, seed_everything, set_rng_state
from ..errors import CheckpointDamaged, UserError
from ..recipes import Recipe
from ..runs import RunDir
from . import distributed
from .divergence import non_finite_weights, stop_if_diverged, stop_if_weights_diverged
from .spec import resume_differences

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


@dataclass(frozen=True)
class Loop:
    """How long ``fit`` trains and how often it logs, samples, checkpoints and evaluates.

    ``RunSpec.loop()`` makes one from a run spec; a notebook exercise that trains its own recipe builds one.
    """

    steps: int = 0
    epochs: float = 0
    time_budget: float = 0.0  # seconds
    batch_size: int = 64
    seed: int = 0
    flip: bool = False
    sample_every: int = 0  # 0: ten grids over the run
    checkpoint_every: int = 0  # 0: with every sample grid
    eval_every: int = 0  # 0: once, at the end (when there is an evaluator)
    log_every: int = 10
    n_samples: int = 64


def describe_data(data: ImageSet) -> dict[str, Any]:
    return {"name": data.name, "source": data.source, "images": len(data), "channels": data.channels,
            "size": data.size, "classes": list(data.class_names)}


def _field_defaults(config: Any) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}


class ResumeMismatch(UserError):
    """The run directory holds a run of a different recipe, config or dataset."""


def _check_same_run(run: RunDir, config: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Refuse to resume a run of another configuration, listing every difference (old configs included)."""
    differences = resume_differences(run.read_config(), config, defaults)
    if differences:
        raise ResumeMismatch(
            f"{run.path} already holds another run; what differs:\n  " + "\n  ".join(differences) +
            f"\nUse another output directory, or delete {run.path} to start over.")


def check_budget(**values: float) -> None:
    """Refuse a negative budget or interval (``steps=-5``), naming it: a negative would mean 'never' or 'always'."""
    for name, value in values.items():
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise UserError(f"{name} must be a number >= 0 (0: the default), got {value!r}")


def check_budget_given(steps: int, time_budget: float) -> None:
    if not steps and not time_budget:
        raise UserError("give a training budget: steps, epochs or time_budget (seconds) above 0 "
                        "(CLI: --steps N, --epochs E or --time-budget SECONDS)")


@contextlib.contextmanager
def writing(run: RunDir, main: bool = True) -> Iterator[RunDir]:
    """Hold ``run``'s lock while training into it (rank 0 only); clear what a killed save left behind."""
    if not main:
        yield run
        return
    run.create()
    with run.lock():
        remove_stale_temporaries(run.checkpoints_dir)
        remove_stale_temporaries(run.path)
        yield run


def _resume_state(run: RunDir, map_location: str | torch.device) -> dict[str, Any] | None:
    """The checkpoint to resume from: ``last.pt``, else ``previous.pt`` when ``last.pt`` is damaged.

    A damaged ``last.pt`` is kept as ``last.pt.damaged`` beside it for a look (and so that the next save
    does not keep it as the previous checkpoint); without a good previous one the user chooses.
    """
    last, previous = run.last_checkpoint, run.previous_checkpoint
    if not last.is_file():  # a damaged last.pt set aside by an earlier start
        return {**load_training_checkpoint(previous, map_location), "fell_back": True} if previous.is_file() else None
    try:
        return load_training_checkpoint(last, map_location)
    except CheckpointDamaged as damaged:
        try:
            state = load_training_checkpoint(previous, map_location) if previous.is_file() else None
        except CheckpointDamaged:
            state = None
        if state is None:
            raise CheckpointDamaged(
                f"{damaged} Either restore a good copy of it (there is no usable {previous.name}), or delete "
                f"{run.path} to start over.") from damaged
        last.replace(last.with_name(last.name + ".damaged"))
        print(f"[gancourse] {damaged}; resuming from {previous} (step {state['step']}) instead; "
              f"the damaged file is kept as {last.name}.damaged", file=sys.stderr)
        return {**state, "fell_back": True}


def fit(recipe: Recipe, data: ImageSet, run_dir: str | Path, loop: Loop, *, evaluator: Evaluator | None = None,
        hooks: Sequence[Hook] = (), progress: bool = True, record: dict[str, Any] | None = None) -> FitResult:
    """Train ``recipe`` on ``data`` until ``loop.steps`` (or ``epochs``, or ``time_budget`` seconds) are done.

    ``record``: more for config.json (``train`` puts the run's spec there: dataset, options, budget).

    Running it again on the same ``run_dir`` resumes from ``checkpoints/last.pt``: networks, optimisers,
    RNGs and the data stream's position are restored, so the continuation is bit-for-bit the run that
    was never interrupted (on CPU). A larger ``steps`` extends a finished run.

    Under torchrun (an initialised process group of N > 1 ranks) ``batch_size`` is the global batch:
    each rank takes ``batch_size / N`` of it, and the ranks' shares at a step are the batch one process
    would read, so the stream position means the same under any N and a run resumes under another N
    (same data, continuous training; bit for bit only under the same N, on CPU). Every rank's RNGs are
    seeded apart and checkpointed. Samples, history, hooks, metrics and checkpoints come from rank 0,
    and only rank 0's result carries the metrics.

    One process trains into ``run_dir`` at a time (another gets :class:`~gancourse.errors.RunDirectoryBusy`);
    a NaN or infinite loss or weight raises :class:`~gancourse.errors.TrainingDiverged` before anything
    of that step is saved.
    """
    check_budget(steps=loop.steps, epochs=loop.epochs, time_budget=loop.time_budget,
                 sample_every=loop.sample_every, checkpoint_every=loop.checkpoint_every, eval_every=loop.eval_every)
    check_budget_given(loop.steps, loop.time_budget or loop.epochs)
    if loop.batch_size < 1 or loop.log_every < 1 or loop.n_samples < 1:
        raise UserError(f"batch_size, log_every and n_samples must be >= 1, got {loop.batch_size}, "
                        f"{loop.log_every}, {loop.n_samples}")
    world = distributed.world_size()
    if loop.batch_size % world:
        raise UserError(f"batch_size {loop.batch_size} is the global batch, split across {world} processes: "
                        f"make it a multiple of {world}")
    with writing(RunDir(run_dir), main=distributed.rank() == 0) as run:
        return _fit(recipe, data, run, loop, evaluator=evaluator, hooks=hooks, progress=progress,
                    extra_config=record)


def _fit(recipe: Recipe, data: ImageSet, run: RunDir, loop: Loop, *, evaluator: Evaluator | None,
         hooks: Sequence[Hook], progress: bool, extra_config: dict[str, Any] | None) -> FitResult:
    """``fit`` once the arguments are checked and ``run`` is locked for this process."""
    world, rank = distributed.world_size(), distributed.rank()
    main = rank == 0
    steps, epochs, time_budget, batch_size = loop.steps, loop.epochs, loop.time_budget, loop.batch_size
    seed, flip, log_every, eval_every, n_samples = loop.seed, loop.flip, loop.log_every, loop.eval_every, loop.n_samples
    sample_every, checkpoint_every = loop.sample_every, loop.checkpoint_every
    # Data that streams itself (an UnpairedSet: two domains per batch) builds its own stream.
    make_stream = data.stream if hasattr(data, "stream") else partial(BatchStream, data)
    stream = make_stream(batch_size // world, recipe.device, flip=flip, seed=seed, shard=(rank, world))
    if epochs:
        steps = max(steps, math.ceil(epochs * stream.batches_per_epoch))
    check_budget_given(steps, time_budget)
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
        if not (run.last_checkpoint.is_file() or run.previous_checkpoint.is_file()):
            return None
        _check_same_run(run, config, _field_defaults(recipe.config))
        # Several ranks: rank 0 reads it on the CPU and hands it to the others (its CUDA tensors would
        # arrive on rank 0's GPU); load_state_dict then moves each piece to its rank's device.
        return _resume_state(run, map_location=recipe.device if world == 1 else "cpu")

    step, elapsed_before, resumed_window = 0, 0.0, {}
    saved = {"step": -1}  # the step of the newest checkpoint on disk, when it holds this very state
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
        if not state.get("fell_back"):  # resumed from last.pt itself: it holds this very state
            saved["step"] = step
    else:
        seed_everything(distributed.rank_seed(seed, rank))
        if main:  # a run killed before its first checkpoint starts over: its history too
            run.clear_history()
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
        stop_if_weights_diverged(recipe, run, step)  # every rank holds the same weights: all stop together
        saved["step"] = step
        ranks = distributed.gather({"rng": rng_state(), "log_window": {"sums": dict(sums), "count": count}})
        if not main:
            return
        state = {"recipe": recipe.state_dict(), "stream": stream.state_dict(), "rng": ranks[0]["rng"],
                 "step": step, "elapsed": elapsed_before + (time.perf_counter() - start),
                 "log_window": ranks[0]["log_window"]}
        if world > 1:
            state["ranks"] = ranks
        save_rotating(state, run.last_checkpoint, run.previous_checkpoint)

    def save_samples() -> None:
        if non_finite_weights(recipe):  # no black grid: the next step's loss check stops the run
            return
        images = recipe.sample_fixed(fixed)
        path = run.samples_dir / f"step_{step:06d}.png"
        save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1), padding=1)
        emit("sample", path=path, images=images)

    def evaluate() -> dict[str, float]:
        stop_if_weights_diverged(recipe, run, step)  # NaN samples would only get a metric's internal error
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
        stop_if_diverged(recipe, run, step, scalars)
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
    if saved["step"] != step:  # not twice the same step: previous.pt must stay the checkpoint before it
        checkpoint()  # checks the weights first: a diverged run exports nothing
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
