"""The Dask backend of ``run_sweep``: the same worker process per combination, scheduled by ``dask.distributed``.

Why Dask: instructors who have a cluster usually have Dask on it or can start it without an administrator
(``dask-jobqueue`` submits its workers as ordinary Slurm/PBS/SGE/LSF jobs, ``dask-cuda`` gives one worker per
GPU), it runs the same code on one machine (``LocalCluster``), it is a pip install away
(``pip install "gancourse[cluster]"``), and a sweep needs nothing from it but "run this function somewhere,
tell me when it is done": no object store, no actors, no second process model. Ray would do the same job
with a heavier runtime.

Each Dask task starts the combination's worker process (``python -m gancourse.sweeps.worker``) and waits
for it, so a notebook that crashes its kernel, or the process, fails only its own combination; the worker
writes ``status.json`` exactly as with the local backend, and a rerun skips what is complete. The sweep
folder and the checkout must be on a file system every Dask worker sees (the usual home or scratch
folder of a cluster).

Who may connect: the ``LocalCluster`` talks TLS (``tls://``, loopback only) with a throwaway certificate made
in memory for this sweep (``Security.temporary()``, needs ``cryptography``; without it the cluster talks
in-process, with no port at all), and refuses every connection that does not present it, so another user
of a shared machine cannot submit code to it. A cluster of your own (``--scheduler``) is reached with Dask's
own security configuration: ``tls://`` and the certificates in ``distributed.comm.tls.{ca-file,client.cert,
client.key}`` (a Dask config file, or the environment variables ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE`` etc.),
as ``dask scheduler --tls-ca-file ...`` was started. A ``tcp://`` scheduler works too, but anyone who can
reach it runs code as you: the sweep says so.

A Dask worker that dies (``kill -9``, its node lost) takes its combination's worker process with it (that
process watches its parent, :func:`gancourse.sweeps.worker.die_with_parent`), and the task Dask retries
elsewhere first waits for the previous holder of the combination to end (:func:`gancourse.sweeps.worker.
wait_for_previous_holder`), so the two never train into the same run directory.

Stopping: on Ctrl-C or SIGTERM the driver sets a Dask ``Event``; every task polls it, terminates its worker
process (which ends like an interrupt: status ``interrupted``, kernel shut down) and returns; tasks that
had not started return at once. Only then are the client and a cluster the driver started closed.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..course.parameters import ParameterError
from ..cpu_threads import affinity_cores
from .processes import kill_group, start_worker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .runner import Combination

STOP_POLL_SECONDS = 0.5  # how often a task asks whether the driver wants it stopped
STOP_GRACE_SECONDS = 120  # how long the driver waits for interrupted tasks to end their notebooks


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ParameterError('the dask backend needs dask.distributed: pip install "gancourse[cluster]" '
                             '(or pip install "dask[distributed]"), or use --backend local') from exc
    return distributed


def run_combination(notebook: str, folder: str, label: str, stop_name: str, threads: int | None) -> int | None:
    """One Dask task: run one combination's worker process to its end, or stop it when the driver says so.

    Returns the worker's exit code, or None when the sweep was stopped before it started.
    """
    from distributed import Event, get_worker

    stop = Event(stop_name)
    if stop.is_set():
        return None
    if not threads:  # a cluster's worker: its machine's cores, shared by the tasks it runs at once
        worker = get_worker()
        nthreads = getattr(getattr(worker, "state", None), "nthreads", None) or getattr(worker, "nthreads", 1)
        threads = max(1, affinity_cores() // max(1, int(nthreads)))
    proc = start_worker(Path(notebook), Path(folder), label, threads)
    try:
        while proc.poll() is None:
            if stop.is_set():
                proc.terminate()  # the worker turns SIGTERM into an interrupt and records it
                break
            time.sleep(STOP_POLL_SECONDS)
        return proc.wait()
    finally:
        if proc.poll() is None:  # this task itself was torn down: take its notebook with it
            kill_group(proc)


def local_cluster(workers: int):
    """A cluster on this machine: a scheduler and ``workers`` workers with one task slot each, talking TLS on the
    loopback interface only, with a certificate made for it in memory (``cluster.security``): nothing outside
    this process holds it, so no other process, of this user or another, can connect. Without the
    ``cryptography`` package to make that certificate, the cluster talks in-process (``inproc://``): no port.

    The workers are threads of this process, not processes: a task only starts a worker process and waits for
    it, so threads cost nothing, start in milliseconds, cannot be orphaned, and need no ``if __name__ ==
    "__main__"`` guard in the calling script (worker processes would be spawned by re-importing it).
    """
    distributed = _import_distributed()
    try:
        security = distributed.security.Security.temporary()
        network = {"protocol": "tls://", "host": "127.0.0.1", "security": security}
    except ImportError:  # no cryptography for the certificate: in-process transport, no port at all
        network = {"protocol": "inproc://"}
    import dask

    # the scheduler's and workers' HTTP servers (plain HTTP, no certificate) serve nothing but /health, on a free
    # loopback port: no task names, paths or logs for other users of the machine, no clash on port 8787
    health_only = {"distributed.scheduler.http.routes": ["distributed.http.health"],
                   "distributed.worker.http.routes": ["distributed.http.health"]}
    with dask.config.set(health_only):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, **network,
                                        dashboard_address=None,
                                        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})


def warn_if_unauthenticated(scheduler: str) -> None:
    """A plain ``tcp://`` scheduler runs anything anyone who reaches it submits: say so once, then go on."""
    if not scheduler.startswith("tls://"):
        print(f"[gancourse] note: {scheduler} is not tls://, so the Dask cluster accepts code from anyone who can "
              "reach it; start it with TLS certificates (dask scheduler --tls-ca-file/--tls-cert/--tls-key) and "
              "point Dask's config (distributed.comm.tls.*) at them; see gancourse.sweeps.dask_backend")


def run_on_dask(notebook: Path, pending: list[Combination], finished: Callable[..., None], *, jobs: int,
                threads: int, scheduler: str | None = None) -> None:
    """Run ``pending`` on Dask; call ``finished(combo, returncode, crash)`` as each one ends.

    Without ``scheduler`` a ``LocalCluster`` of ``jobs`` workers is started (and closed) here, each combination
    getting ``threads`` CPU threads; with it, the cluster's own workers decide how many run at once.
    """
    distributed = _import_distributed()
    if scheduler:
        warn_if_unauthenticated(scheduler)
    cluster = None if scheduler else local_cluster(jobs)
    try:
        client = distributed.Client(scheduler or cluster)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; start one with "
                             "`dask scheduler` (or a dask-jobqueue cluster) and pass its address") from exc
    sweep_id = uuid.uuid4().hex[:12]
    stop = distributed.Event(f"gancourse-sweep-stop-{sweep_id}", client=client)
    futures = {}
    try:
        for combo in pending:
            combo.prepare()
            future = client.submit(run_combination, str(notebook), str(combo.folder), combo.label(), stop.name,
                                   None if scheduler else threads, key=f"{combo.name}-{sweep_id}", pure=False)
            futures[future] = combo
        for future in distributed.as_completed(list(futures)):
            combo = futures[future]
            try:
                finished(combo, future.result())
            except Exception as exc:  # the Dask worker itself died or the task raised: this combination only
                finished(combo, None, f"the Dask task failed: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        stop.set()  # running tasks terminate their notebooks; queued ones return without starting
        distributed.wait(list(futures), timeout=STOP_GRACE_SECONDS)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
