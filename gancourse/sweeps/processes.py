"""The worker processes of a sweep: how many at once, their environment, starting and killing them.

Both backends (local processes in :mod:`~gancourse.sweeps.runner`, Dask in
:mod:`~gancourse.sweeps.dask_backend`) start the same worker process per combination through here.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..cpu_threads import affinity_cores

GIB = 1024**3
MEMORY_PER_JOB = 1.5 * GIB  # a kernel with torch, one 28-px dataset and a small GAN; bigger notebooks want more


def now() -> str:
    """The local time to the second, as the sweep's files record it."""
    return datetime.datetime.now().isoformat(timespec="seconds")


def alive(pid: object) -> bool:
    """Whether process ``pid`` (a worker recorded in a status file) still runs."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there; no liveness check on Windows
        return False
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def memory_bytes() -> float:
    """The machine's memory (infinite where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return float("inf")


def gpu_count() -> int:
    """The GPUs torch sees."""
    import torch  # lazy: the sweep driver starts without torch until it must count GPUs

    return torch.cuda.device_count()


def default_jobs(pending: int, gpus: int | None = None) -> int:
    """One job per GPU; without GPUs one per core, as far as memory allows (each job is a Python kernel)."""
    gpus = gpu_count() if gpus is None else gpus
    jobs = gpus if gpus else min(affinity_cores(), max(1, int(memory_bytes() // MEMORY_PER_JOB)))
    return max(1, min(jobs, pending))


def job_environment(threads: int, gpu: int | None = None) -> dict[str, str]:
    """The environment of one job: its share of the cores (torch reads OMP_NUM_THREADS), its GPU, no live plots."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    env["GANCOURSE_HEADLESS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env

PARENT_VARIABLE = "GANCOURSE_SWEEP_PARENT"  # the launcher's pid: the worker ends when that process dies


def start_worker(notebook: Path, folder: Path, label: str, threads: int, gpu: int | None = None) -> subprocess.Popen:
    """The worker process of one combination (``python -m gancourse.sweeps.worker``), its output in log.txt.

    It leads a process group of its own (:func:`kill_group` ends it whole) and ends when this process dies
    (see :func:`gancourse.sweeps.worker.die_with_parent`): a killed Dask worker or driver leaves no orphan.
    """
    log = open(folder / "log.txt", "a")  # noqa: SIM115 - closed by the child's exit; the parent keeps no handle
    log.write(f"\n=== {now()}: {label} ({threads} thread(s){f', GPU {gpu}' if gpu is not None else ''})\n")
    log.flush()
    env = {**job_environment(threads, gpu), PARENT_VARIABLE: str(os.getpid())}
    try:
        return subprocess.Popen([sys.executable, "-m", "gancourse.sweeps.worker", str(notebook), str(folder)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=os.name == "posix")
    finally:
        log.close()


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a worker started by :func:`start_worker` and everything in its process group."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group id is the worker's pid (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass
    else:
        proc.kill()
