"""``fit``: the one training loop every notebook, the CLI and every sweep use.

It owns the things a recipe should not care about: the data stream, the step budget (steps, epochs or
wall-clock seconds), the progress bar, history, sample grids from fixed noise, checkpoints and resume,
and metric evaluations, and it times each of these (``timing.json``, ``gancourse.engine.phase_times``).
A recipe only knows how to take one step.

What it guarantees when things go wrong (docs/reliability.md): one process at a time trains
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
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .. import __version__
from ..checkpoints import export_generator, load_training_checkpoint, remove_stale_temporaries, save_rotating
from ..data import ImageSet
from ..devices import govern_threads, rng_state, seed_everything, set_rng_state
from ..errors import CheckpointDamaged, UserError
from ..recipes import Recipe
from ..runs import RunDir
from ..viz.grids import save_grid
from . import distributed
from .config_schema import SCHEMA, read_config
from .divergence import non_finite_weights, stop_if_diverged, stop_if_weights_diverged
from .dry_run import sittings
from .phase_times import PhaseClock, timed
from .spec import Loop, resume_differences

Hook = Callable[[str, dict[str, Any]], None]  # (event, info with step, run, recipe): "log", "sample", "eval", "end"
Evaluator = Callable[[Recipe], dict[str, float]]
# A run budgeted by time alone, at the default cadence, draws a grid every 100 steps but at most one per
# GRID_SECONDS, and checkpoints at most once per CHECKPOINT_SECONDS: fast steps would write both every second.
GRID_SECONDS, CHECKPOINT_SECONDS = 5.0, 30.0


@dataclass
class FitResult:
    run: RunDir
    step: int
    wall_time: float
    stopped_by: str  # "steps" or "time budget"
    metrics: dict[str, float] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)  # seconds per phase of fit (timing.json)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.run.read_history()


def describe_data(data: ImageSet) -> dict[str, Any]:
    return {"name": data.name, "source": data.source, "images": len(data), "channels": data.channels,
            "size": data.size, "classes": list(data.class_names)}


def save_sample_grid(images: torch.Tensor, path: Path, columns: int) -> None:
    """``images`` in [-1, 1] as one PNG grid, written at zlib's fastest level (a little larger, several times
    faster to write than PIL's default level 6)."""
    save_grid(images, path, columns, format="PNG", compress_level=1)


class ResumeMismatch(UserError):
    """The run directory holds a run of a different recipe, config or dataset."""


def _check_same_run(run: RunDir, config: dict[str, Any]) -> None:
    """Refuse to resume a run of another configuration, listing every difference (old configs migrated first)."""
    differences = resume_differences(read_config(run), config)
    if differences:
        raise ResumeMismatch(
            f"{run.path} already holds another run; what differs:\n  " + "\n  ".join(differences) +
            f"\nUse another output directory, or delete {run.path} to start over.")


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


def _set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to ``<name>.damaged`` beside it (replacing an older one, never a folder)."""
    target, n = path.with_name(f"{path.name}.damaged"), 1
    while target.is_dir():
        n += 1
        target = path.with_name(f"{path.name}.damaged.{n}")
    path.replace(target)
    return target


def _resume_state(run: RunDir, map_location: str | torch.device) -> dict[str, Any] | None:
    """The checkpoint to resume from: ``last.pt``, else ``previous.pt`` when ``last.pt`` is damaged.

    Damage is anything :func:`~gancourse.checkpoints.load_checkpoint` refuses (cut, empty, changed bytes,
    NaN or inf, not a checkpoint). A damaged ``last.pt`` is kept as ``last.pt.damaged`` beside it for a look
    (and so that the next save does not keep it as the previous checkpoint); without a good previous one the
    user chooses.
    """
    last, previous = run.last_checkpoint, run.previous_checkpoint
    if not os.path.lexists(last):  # a damaged last.pt set aside by an earlier start
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
        kept = _set_aside(last)
        print(f"[gancourse] {damaged}; resuming from {previous} (step {state['step']}) instead; "
              f"the damaged file is kept as {kept.name}", file=sys.stderr)
        return {**state, "fell_back": True}


def fit(recipe: Recipe, data: ImageSet, run_dir: str | Path, loop: Loop, *, evaluator: Evaluator | None = None,
        hooks: Sequence[Hook] = (), progress: bool = True, record: dict[str, Any] | None = None) -> FitResult:
    """Train ``recipe`` on ``data`` until ``loop.steps`` (or ``epochs``, or ``time_budget`` seconds) are done.

    ``record``: more for config.json (``train`` puts the run's spec there: dataset, options, budget).

    Running it again on the same ``run_dir`` resumes from ``checkpoints/last.pt``: networks, optimisers,
    RNGs and the data stream's position are restored, so the continuation is bit-for-bit the run that
    was never interrupted (on CPU, at the same thread count: see ``GANCOURSE_THREADS``). A larger ``steps``
    extends a finished run.

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
    world = distributed.world_size()
    if loop.batch_size % world:
        raise UserError(f"batch_size {loop.batch_size} is the global batch, split across {world} processes: "
                        f"make it a multiple of {world}")
    for sitting in sittings(loop):  # one; the full-profile dry run (GANCOURSE_STEP_CAP) trains in two
        if sitting is not loop:  # what the notebook asked for, so that a GPU check can project the full run
            record = {**(record or {}), "dry_run": {"steps": loop.steps, "epochs": loop.epochs,
                                                    "time_budget": loop.time_budget, "cap": sitting.steps}}
        with writing(RunDir(run_dir), main=distributed.rank() == 0) as run:
            result = _train(Training(recipe, data, run, sitting, evaluator, hooks, record), progress)
    return result


def _train(training: Training, progress: bool) -> FitResult:
    """The loop: resume, then step (logging, sampling, evaluating and checkpointing when due), then finish."""
    loop = training.loop
    training.resume()
    training.start_steps()
    with training.progress_bar(progress):
        while training.goes_on():
            training.step()
            if training.due(loop.log_every):
                training.log()
            if training.grid_due():
                training.sample()
            if training.due(loop.eval_every):
                training.evaluate()
            if training.checkpoint_due():
                training.checkpoint()
    return training.finish()


class Training:
    """A run in progress: the recipe, its data stream, the run directory and the loop's counters.

    :func:`fit` drives it one part at a time: ``resume``, then ``step`` while it ``goes_on`` (with ``log``,
    ``sample``, ``evaluate`` and ``checkpoint`` when each is due), then ``finish``. Under torchrun every rank
    holds one; rank 0 (``main``) alone writes the run directory.
    """

    def __init__(self, recipe: Recipe, data: ImageSet, run: RunDir, loop: Loop, evaluator: Evaluator | None,
                 hooks: Sequence[Hook], record: dict[str, Any] | None) -> None:
        self.clock = PhaseClock()  # first: start-up includes making the data stream
        self.recipe, self.data, self.run, self.loop = recipe, data, run, loop
        self.evaluator, self.hooks = evaluator, hooks
        self.world, self.rank = distributed.world_size(), distributed.rank()
        self.main = self.rank == 0
        self.stream = data.stream(loop.batch_size // self.world, recipe.device, flip=loop.flip, seed=loop.seed,
                                  shard=(self.rank, self.world))
        epochs = math.ceil(loop.epochs * self.stream.batches_per_epoch) if loop.epochs else 0
        self.steps = max(loop.steps, epochs)  # 0: a time budget alone
        self.sample_every = loop.sample_every or max(1, (self.steps or 1000) // 10)
        self.checkpoint_every = loop.checkpoint_every or self.sample_every
        paced = bool(loop.time_budget) and not self.steps  # a time budget alone: grids and checkpoints paced too
        self.grid_seconds = GRID_SECONDS if paced and not loop.sample_every else 0.0
        self.checkpoint_seconds = CHECKPOINT_SECONDS if paced and not loop.checkpoint_every else 0.0
        self.grid_time = self.save_time = 0.0  # seconds of training at the last grid and checkpoint
        self.config = self._config(record or {})
        self.step_count, self.elapsed_before, self.saved_step = 0, 0.0, -1  # saved_step: the newest checkpoint's
        self.sums: dict[str, float] = defaultdict(float)  # losses summed over the logging window
        self.count, self.stopped_by, self.metrics, self.now = 0, "steps", {}, 0.0
        self.bar = None

    def _config(self, record: dict[str, Any]) -> dict[str, Any]:
        """What config.json records of this run (``record``: more, e.g. the run's spec from ``train``)."""
        recipe, loop = self.recipe, self.loop
        config = {  # the current schema (config_schema); "spec" is train's, None for fit called directly
            "schema": SCHEMA, "spec": None, "recipe": recipe.name, "recipe_config": dataclasses.asdict(recipe.config),
            "data": describe_data(self.data),
            "seed": loop.seed, "batch_size": loop.batch_size, "flip": loop.flip,
            "budget": {"steps": self.steps, "epochs": loop.epochs, "time_budget": loop.time_budget},
            "device": str(recipe.device), "torch": torch.__version__, "gancourse": __version__,
            "python": platform.python_version(), "parameters": recipe.parameter_counts(), **record,
        }
        if self.world > 1:
            config["distributed"] = {"world_size": self.world, "backend": torch.distributed.get_backend()}
        return config

    # -- resume --------------------------------------------------------------------------------------------------

    def resume(self) -> None:
        """Continue from the run's checkpoint (networks, optimisers, RNGs, stream position, logging window), or
        start afresh; then write config.json and draw the first grid of a new run."""
        state = distributed.from_main(self._read_checkpoint)
        if state is not None:
            self._restore(state)
        else:
            seed_everything(distributed.rank_seed(self.loop.seed, self.rank))
            if self.main:  # a run killed before its first checkpoint starts over: its history too
                self.run.clear_history()
        if self.main:
            self.run.write_config(self.config)
        self.networks = distributed.DistributedNetworks(self.recipe)
        self.recipe.prepare(self.data)
        self.fixed = self.recipe.fixed_inputs(self.loop.n_samples, self.loop.seed)
        self.recipe.train()
        self.start = time.perf_counter()
        if self.step_count == 0:
            self.sample()

    def _read_checkpoint(self) -> dict[str, Any] | None:
        run = self.run
        if not any(os.path.lexists(p) for p in (run.last_checkpoint, run.previous_checkpoint)):
            return None
        _check_same_run(run, self.config)
        # Several ranks: rank 0 reads it on the CPU and hands it to the others (its CUDA tensors would
        # arrive on rank 0's GPU); load_state_dict then moves each piece to its rank's device.
        return _resume_state(run, map_location=self.recipe.device if self.world == 1 else "cpu")

    def _restore(self, state: dict[str, Any]) -> None:
        self.recipe.load_state_dict(state["recipe"])
        self.stream.load_state_dict(state["stream"])
        ranks = state.get("ranks", [{"rng": state["rng"], "log_window": state.get("log_window", {})}])
        self.step_count, self.elapsed_before = int(state["step"]), float(state["elapsed"])
        window = {}
        if self.rank < len(ranks):
            set_rng_state(ranks[self.rank]["rng"])
            window = ranks[self.rank]["log_window"]
        else:  # a rank the checkpointed run did not have: a fresh random stream of its own
            seed_everything(distributed.rank_seed(self.loop.seed, self.rank, self.step_count))
        self.sums, self.count = defaultdict(float, window.get("sums", {})), window.get("count", 0)
        if self.main:
            self.run.truncate_history(self.step_count)
        if not state.get("fell_back"):  # resumed from last.pt itself: it holds this very state
            self.saved_step = self.step_count

    # -- the loop's parts ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def progress_bar(self, show: bool) -> Iterator[None]:
        self.bar = tqdm(total=self.steps or None, initial=self.step_count, unit="step", dynamic_ncols=True,
                        desc=f"{self.recipe.name} on {self.data.name}", disable=not (show and self.main),
                        mininterval=0.5)
        try:
            yield
        finally:
            self.bar.close()

    def elapsed(self) -> float:
        """Seconds of training in this run, earlier sessions included."""
        return self.elapsed_before + time.perf_counter() - self.start

    def goes_on(self) -> bool:
        """Another step, unless the steps are done or the time budget is spent (on any rank: all stop together)."""
        self.now = self.elapsed()
        if self.steps and self.step_count >= self.steps:
            return False
        if self.loop.time_budget and distributed.any_rank(self.now >= self.loop.time_budget):
            self.stopped_by = "time budget"
            return False
        return True

    def start_steps(self) -> None:
        """Start-up is over: the steps begin (a resumed run's phase times carry on from its earlier sittings)."""
        if self.main and self.elapsed_before:
            self.clock.continue_from(self.run.timing_path)
        self.grid_time = self.save_time = self.elapsed_before  # a resumed run's last grid and checkpoint
        self.clock.switch("steps")  # the loop's own bookkeeping counts with the steps

    def due(self, every: int) -> bool:
        return bool(every) and self.step_count % every == 0

    def grid_due(self) -> bool:
        """Every ``sample_every`` steps (paced by a time budget: once ``grid_seconds`` have passed, too)."""
        return self.due(self.sample_every) and self.now - self.grid_time >= self.grid_seconds

    def checkpoint_due(self) -> bool:
        """Every ``checkpoint_every`` steps (paced: once ``checkpoint_seconds`` have passed on some rank, too: all
        ranks take part in a checkpoint, so they decide together)."""
        if not self.due(self.checkpoint_every):
            return False
        return not self.checkpoint_seconds or distributed.any_rank(self.now - self.save_time >= self.checkpoint_seconds)

    def step(self) -> None:
        """One step of the recipe; a non-finite loss stops the run before anything of it is saved."""
        # GANCOURSE_THREADS=adaptive: threads follow the cores others leave free. Asked before every step (it looks
        # at the load every 2 s): beside a busy program a step on too many threads can take seconds.
        govern_threads()
        with self.networks.active():
            scalars = self.recipe.step(self.stream.next())
        distributed.sync_extra_state(self.recipe)
        self.step_count += 1
        stop_if_diverged(self.recipe, self.run, self.step_count, scalars)
        for k, v in scalars.items():
            self.sums[k] += v
        self.count += 1
        self.bar.update(1)

    @timed("logging")
    def log(self) -> None:
        """The losses averaged over the logging window (and the ranks) into history.jsonl and the bar."""
        means = distributed.mean_over_ranks({k: v / self.count for k, v in self.sums.items()})
        if self.main:
            self.run.append_history({"step": self.step_count, "time": round(self.now, 3),
                                     "epoch": self.stream.epoch, **means})
        self.bar.set_postfix({k: f"{means[k]:.3f}" for k in list(means)[:3]}, refresh=False)
        self.emit("log", scalars=means)
        self.sums.clear()
        self.count = 0

    @timed("samples")
    def sample(self) -> None:
        """A grid from the fixed inputs into samples/ (none from non-finite weights: the next step stops the run)."""
        if not self.main or non_finite_weights(self.recipe):
            return
        self.grid_time = self.now
        images = self.recipe.sample_fixed(self.fixed)
        path = self.run.samples_dir / f"step_{self.step_count:06d}.png"
        save_sample_grid(images, path, self.recipe.grid_columns(self.loop.n_samples))
        self.emit("sample", path=path, images=images)

    @timed("evaluation")
    def evaluate(self) -> None:
        if not self.main or self.evaluator is None:
            return
        stop_if_weights_diverged(self.recipe, self.run, self.step_count)  # NaN samples would only get a metric's error
        self.metrics = {k: float(v) for k, v in self.evaluator(self.recipe).items()}
        self.run.append_history({"step": self.step_count, "eval": self.metrics})
        self.emit("eval", metrics=self.metrics)

    @timed("checkpoints")
    def checkpoint(self) -> None:
        """last.pt (the one before kept as previous.pt), with every rank's RNGs and logging window, so that a
        resume under the same number of ranks is exact."""
        stop_if_weights_diverged(self.recipe, self.run, self.step_count)  # every rank holds the same weights
        self.saved_step, self.save_time = self.step_count, self.now
        ranks = distributed.gather({"rng": rng_state(), "log_window": {"sums": dict(self.sums), "count": self.count}})
        if not self.main:
            return
        state = {"recipe": self.recipe.state_dict(), "stream": self.stream.state_dict(), "rng": ranks[0]["rng"],
                 "step": self.step_count, "elapsed": self.elapsed(), "log_window": ranks[0]["log_window"]}
        if self.world > 1:
            state["ranks"] = ranks
        save_rotating(state, self.run.last_checkpoint, self.run.previous_checkpoint)
        self.clock.write(self.run.timing_path, self.step_count)  # the phase times up to this checkpoint

    def emit(self, event: str, **info: Any) -> None:
        if self.main:
            for hook in self.hooks:
                hook(event, {"step": self.step_count, "run": self.run, "recipe": self.recipe, **info})

    def finish(self) -> FitResult:
        """The last grid, checkpoint, exported generator and evaluation (each unless the last step has it)."""
        step, run = self.step_count, self.run
        if not run.samples_dir.joinpath(f"step_{step:06d}.png").is_file():
            self.sample()
        if self.saved_step != step:  # not twice the same step: previous.pt must stay the checkpoint before it
            self.checkpoint()  # checks the weights first: a diverged run exports nothing
        if self.main:
            with self.clock.phase("checkpoints"):
                export_generator(self.recipe.generator_export(), run.generator_path)
        if self.main and self.evaluator is not None:
            with self.clock.phase("evaluation"):
                if not self.metrics or run.evaluations()[-1]["step"] != step:
                    self.evaluate()
                run.write_metrics({"step": step, **self.metrics})
        wall = self.elapsed()
        with self.clock.phase("samples"):  # the hooks' last drawing (LiveView's figure)
            self.emit("end", metrics=self.metrics, wall_time=wall)
        timing = self.clock.write(run.timing_path, step) if self.main else self.clock.totals()
        distributed.barrier()  # every rank returns once rank 0 has written the run directory
        return FitResult(run, step, wall, self.stopped_by, self.metrics, timing)
