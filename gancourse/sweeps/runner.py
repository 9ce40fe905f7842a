"""Run every combination of a grid through papermill, in parallel processes, resumably.

A sweep folder looks like this::

    runs/sweeps/NAME/sweep.json                     notebook, grid, the combinations (what `collect` reads)
    runs/sweeps/NAME/<combination>/params.json      what papermill injects (run_dir included)
    runs/sweeps/NAME/<combination>/notebook.ipynb   the executed notebook (metrics in its metadata)
    runs/sweeps/NAME/<combination>/status.json      ok | failed | interrupted | running, error, wall time
    runs/sweeps/NAME/<combination>/log.txt          the worker's output
    runs/sweeps/NAME/<combination>/run/             the run directory the notebook trained into

A combination's folder is named after its varying values (``dropout-0.3_width-128``), so running the
same command again finds it: complete ones are skipped, the others run again, and because the notebook
trains into the same run directory, ``fit`` resumes them from their last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..course.parameters import ParameterError
from ..cpu_threads import affinity_cores
from ..errors import RunDirectoryBusy, UserError
from ..files import FileLock, write_json_atomic
from .dask_backend import run_on_dask
from .grid import RUN_DIR_PARAMETER, Grid, check_against_notebook
from .processes import alive, default_jobs, gpu_count, now, start_worker

SWEEP_FILE = "sweep.json"
LOCK_FILE = "sweep.lock"


def _slug_value(value: Any) -> str:
    text = format(value, "g") if isinstance(value, float) else json.dumps(value) if not isinstance(value, str) \
        else value
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "empty"


def combination_name(values: dict[str, Any]) -> str:
    """A folder name that says what the combination is: ``dropout-0.3_width-128``."""
    name = "_".join(f"{_slug_value(k)}-{_slug_value(v)}" for k, v in values.items()) or "default"
    if len(name) > 100:
        digest = hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8]
        name = f"{name[:90]}-{digest}"
    return name


@dataclass
class Combination:
    name: str
    values: dict[str, Any]  # the varying parameters
    params: dict[str, Any]  # everything the notebook gets except run_dir
    folder: Path

    run_dir = property(lambda self: self.folder / "run")
    notebook_path = property(lambda self: self.folder / "notebook.ipynb")
    status_path = property(lambda self: self.folder / "status.json")
    params_path = property(lambda self: self.folder / "params.json")
    log_path = property(lambda self: self.folder / "log.txt")

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.values.items()) or self.name

    def read_status(self) -> dict[str, Any]:
        return json.loads(self.status_path.read_text()) if self.status_path.is_file() else {}

    def recorded_params(self) -> dict[str, Any] | None:
        if not self.params_path.is_file():
            return None
        recorded = json.loads(self.params_path.read_text())
        recorded.pop(RUN_DIR_PARAMETER, None)
        return recorded

    def is_complete(self) -> bool:
        return self.read_status().get("status") == "ok" and self.recorded_params() == self.params

    def prepare(self) -> None:
        """Write what the worker reads (params.json, run_dir included), on the driver, before it runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.params_path, {**self.params, RUN_DIR_PARAMETER: str(self.run_dir)})


@dataclass
class SweepPlan:
    notebook: Path
    out: Path
    grid: Grid
    combinations: list[Combination]
    notebook_defaults: dict[str, Any]

    @property
    def pending(self) -> list[Combination]:
        return [c for c in self.combinations if not c.is_complete()]


def plan_sweep(notebook: str | Path, grid: Grid, out: str | Path) -> SweepPlan:
    """Check the grid against the notebook and name every combination; writes nothing.

    Raises :class:`ParameterError` for a parameter the notebook lacks, and ``ValueError`` when ``out``
    already holds a combination of the same name run with other fixed values (it would mix two sweeps).
    """
    notebook, out = Path(notebook).resolve(), Path(out).resolve()
    defaults = check_against_notebook(grid, notebook)
    fixed = dict(grid.fixed)
    if "profile" in defaults and "profile" not in grid.names:
        # record the profile the runs will actually use: a later resume must not switch it silently. Imported
        # here: it loads torch, which the worker process of every combination (it imports this package) does not need
        from ..course.profiles import resolve_profile

        fixed["profile"] = resolve_profile(str(defaults["profile"] or ""))
    combinations = []
    for values in grid.expand():
        name = combination_name(values)
        combo = Combination(name, values, {**fixed, **values}, out / name)
        if any(c.name == name for c in combinations):
            raise UserError(f"two combinations map to the folder {name!r}; make their values differ more")
        recorded = combo.recorded_params()
        if recorded is not None and recorded != combo.params:
            changed = sorted(k for k in set(recorded) | set(combo.params) if recorded.get(k) != combo.params.get(k))
            raise UserError(
                f"{combo.folder} was run with other values of {', '.join(changed)} "
                f"({', '.join(f'{k}: {recorded.get(k)!r} -> {combo.params.get(k)!r}' for k in changed)}); "
                f"use another --out, or delete that folder to run it again")
        status = combo.read_status()
        if status.get("status") == "running" and alive(status.get("pid")):
            raise RunDirectoryBusy(f"{combo.folder} is still being run by process {status['pid']} (a worker of an "
                               "earlier sweep); wait for it to finish or stop it, then run the sweep again")
        combinations.append(combo)
    sweep_file = out / SWEEP_FILE
    if sweep_file.is_file():
        previous = json.loads(sweep_file.read_text())
        # compare names, not paths: a checkout that moved still holds the same sweep
        if Path(previous.get("notebook", "")).name != notebook.name:
            raise UserError(f"{out} holds a sweep of {previous.get('notebook')}, not {notebook}; "
                             "use another --out")
    return SweepPlan(notebook, out, grid, combinations, defaults)


class _Lock(FileLock):
    """One driver per sweep folder: two would run the same combination into the same run directory.

    An OS lock on ``sweep.lock`` (:class:`~gancourse.files.FileLock`: released however the driver dies, no
    symlink followed), removed when the sweep ends.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / LOCK_FILE, lambda holder: RunDirectoryBusy(
            f"another sweep ({holder}) is running in {folder}; wait for it to finish (or stop it), "
            "or sweep into another folder (--out)"), remove_on_release=True)


@dataclass
class SweepResult:
    out: Path
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # combination name -> status.json
    labels: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # complete before this call

    def count(self, status: str) -> int:
        return sum(s.get("status") == status for s in self.statuses.values())

    @property
    def failed(self) -> dict[str, str]:
        return {n: s.get("error", "") for n, s in self.statuses.items() if s.get("status") != "ok"}

    def summary(self) -> str:
        lines = [f"sweep {self.out}: {self.count('ok')} ok ({len(self.skipped)} already done before), "
                 f"{len(self.failed)} not ok, of {len(self.statuses)} combinations"]
        for name, status in self.statuses.items():
            state = status.get("status", "not run")
            wall = status.get("wall_time")
            timing = f" {wall:7.1f} s" if wall is not None else " " * 10
            error = f"  {status['error']}" if state != "ok" and status.get("error") else ""
            lines.append(f"  {state:<11}{timing}  {self.labels.get(name, name)}{error}")
        if self.failed:
            lines.append("Failed combinations keep their executed notebook and log.txt in their folder; "
                         "running the same command again retries them (and resumes interrupted training).")
        return "\n".join(lines)


def write_sweep_file(plan: SweepPlan) -> None:
    write_json_atomic(plan.out / SWEEP_FILE, {
        "notebook": str(plan.notebook), "grid": plan.grid.to_dict(), "varying": plan.grid.varying,
        "fixed": {k: v for k, v in plan.combinations[0].params.items() if k not in plan.grid.varying}
        if plan.combinations else dict(plan.grid.fixed),
        "settings": plan.grid.settings, "replicates": plan.grid.replicates,
        "notebook_defaults": plan.notebook_defaults, "updated": now(),
        "combinations": [{"name": c.name, "values": c.values} for c in plan.combinations]})


BACKENDS = ("local", "dask")


def _where(backend: str, scheduler: str | None, jobs: int, threads: int, gpus: int) -> str:
    """Where and how the combinations run, for the sweep's first line."""
    if scheduler:
        return f"on the Dask cluster at {scheduler}"
    return f"{jobs} at a time{' on a Dask LocalCluster' if backend == 'dask' else ''}, {threads} CPU thread(s) each" \
        f"{f', {gpus} GPU(s)' if gpus else ''}"


def run_sweep(notebook: str | Path, grid: Grid, out: str | Path, *, jobs: int = 0, progress: bool = True,
              poll_seconds: float = 0.2, backend: str = "local", scheduler: str | None = None) -> SweepResult:
    """Execute every combination of ``grid`` not yet complete in ``out``; one failure does not stop the rest.

    ``backend="local"`` (the default, nothing to install) runs ``jobs`` (0: :func:`default_jobs`) combinations
    at once on this machine, each in its own process with its share of the cores. ``backend="dask"`` hands
    them to Dask (``pip install "gancourse[cluster]"``): a ``LocalCluster`` of ``jobs`` workers on this
    machine, or the cluster whose scheduler listens at ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``; see
    :mod:`gancourse.sweeps.dask_backend`). Either way each combination is the same worker process, so
    failures, resuming and Ctrl-C/SIGTERM behave the same. Returns the status of every combination.
    """
    from tqdm.auto import tqdm

    plan = plan_sweep(notebook, grid, out)  # every check happens here, before anything runs
    if jobs < 0:
        raise ParameterError(f"jobs must be >= 0 (0: as many as the machine allows), got {jobs}")
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if scheduler and backend != "dask":
        raise ParameterError("a scheduler address needs the dask backend (--backend dask)")
    result = SweepResult(plan.out, labels={c.name: c.label() for c in plan.combinations})
    with _Lock(plan.out):
        write_sweep_file(plan)
        pending = plan.pending
        result.skipped = [c.name for c in plan.combinations if c not in pending]
        gpus = gpu_count() if pending and backend == "local" else 0
        jobs = min(jobs, len(pending)) if jobs else default_jobs(len(pending), gpus)
        threads = max(1, affinity_cores() // max(jobs, 1))
        if progress and pending:
            print(f"sweep: {len(pending)} of {len(plan.combinations)} combinations to run, "
                  f"{_where(backend, scheduler, jobs, threads, gpus)}; output in {plan.out}")
        bar = tqdm(total=len(plan.combinations), initial=len(result.skipped), desc="sweep", unit="run",
                   disable=not progress)

        def finished(combo: Combination, returncode: int | None, crash: str = "") -> None:
            status = combo.read_status()
            if status.get("status") in (None, "running"):  # the worker died before it could say why
                status = {**status, "status": "failed",
                          "error": crash or f"worker exited with code {returncode}; see {combo.log_path}"}
                write_json_atomic(combo.status_path, status)
            bar.update(1)
            wall = status.get("last_wall_time", 0.0)
            error = f": {status.get('error')}" if status["status"] != "ok" else ""
            if progress:
                bar.write(f"{status['status']:<11} {wall:7.1f} s  {combo.label()}{error}")

        try:
            if backend == "dask" and pending:
                run_on_dask(plan.notebook, pending, finished, jobs=jobs, threads=threads, scheduler=scheduler)
            else:
                _run_local(plan.notebook, pending, finished, jobs=jobs, threads=threads, gpus=gpus,
                           poll_seconds=poll_seconds)
        finally:
            bar.close()
    for combo in plan.combinations:
        result.statuses[combo.name] = combo.read_status()
    return result


def _run_local(notebook: Path, pending: list[Combination], finished, *, jobs: int, threads: int, gpus: int,
               poll_seconds: float) -> None:
    """The local backend: at most ``jobs`` worker processes at once, polled; Ctrl-C/SIGTERM stops them all."""
    running: dict[subprocess.Popen, tuple[Combination, int]] = {}
    queue = list(pending)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                busy = {slot for _, slot in running.values()}
                slot = next(i for i in range(jobs) if i not in busy)
                combo = queue.pop(0)
                combo.prepare()
                running[start_worker(notebook, combo.folder, combo.label(), threads,
                                     slot % gpus if gpus else None)] = (combo, slot)
            time.sleep(poll_seconds)
            for proc in [p for p in running if p.poll() is not None]:
                combo, _ = running.pop(proc)
                finished(combo, proc.returncode)
    except KeyboardInterrupt:
        for proc in running:
            proc.terminate()
        for proc in running:
            proc.wait()
        raise
