"""One combination of a sweep, in its own process: ``python -m gancourse.sweeps.worker NOTEBOOK FOLDER``.

It executes NOTEBOOK with papermill and the parameters in FOLDER/params.json into FOLDER/notebook.ipynb,
and records the outcome in FOLDER/status.json. A failing notebook is an outcome, not a crash: the error
(exception name and message, and the cell that raised it) goes into the status for the summary.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..files import write_json_atomic
from .grid import RUN_DIR_PARAMETER
from .processes import PARENT_VARIABLE, alive, now
from .results import run_metrics

METADATA_KEY = "gancourse"
PARENT_POLL_SECONDS = 1.0  # how often the worker checks that its launcher is alive
INTERRUPT_GRACE_SECONDS = 30  # after the launcher died: time to record "interrupted" before the group is killed
HOLDER_GRACE_SECONDS = 60  # how long a retry waits for the previous holder of its combination to end
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# jupyter_client picks a kernel's ports by binding and releasing them, so kernels started at the same moment by two
# processes can race for one port and one of them dies before it runs a cell (papermill#511): such a start is retried
KERNEL_START_TRIES = 3


def die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` (the process that launched it) dies, so it never trains on as an orphan.

    Linux signals it at once (``prctl(PR_SET_PDEATHSIG)``); everywhere a thread also polls the parent pid.
    Either way the worker first ends like an interrupt (papermill shuts the kernel down, the status says
    ``interrupted``); if that takes longer than ``INTERRUPT_GRACE_SECONDS`` its whole process group is killed.
    A kernel started by papermill exits by itself once its parent, this worker, is gone (ipykernel's poller).
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the poller below still covers it
    if os.getppid() != parent:  # the launcher died before the line above ran
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(INTERRUPT_GRACE_SECONDS)
        if os.name == "posix" and os.getpgid(0) == os.getpid():  # a group of our own: take it all down
            os.killpg(0, signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _is_worker(pid: int) -> bool:
    """Whether ``pid`` is a sweep worker (not an unrelated process that reused the pid); True when unknown."""
    try:
        return b"gancourse.sweeps.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()


def wait_for_previous_holder(status_path: Path, grace: float = HOLDER_GRACE_SECONDS) -> None:
    """Before a combination runs again, let the worker that last ran it end: a Dask retry after a lost worker
    must not train into the same run directory beside that worker's dying process.

    On this machine: wait up to ``grace`` seconds for it to exit, then kill its process group. On another
    machine (the status names its host): wait until its status leaves "running", at most ``grace`` seconds;
    after that the run directory's lock still refuses a second writer.
    """
    deadline = time.monotonic() + grace
    while True:
        try:
            previous = json.loads(status_path.read_text()) if status_path.is_file() else {}
        except (OSError, ValueError):
            return
        pid = previous.get("pid")
        if previous.get("status") != "running" or not isinstance(pid, int) or pid == os.getpid():
            return
        here = previous.get("host", socket.gethostname()) == socket.gethostname()
        if here and not (alive(pid) and _is_worker(pid)):
            return
        if time.monotonic() > deadline:
            if here and os.name == "posix":
                try:
                    os.killpg(pid, signal.SIGKILL)  # a worker leads its own group (start_new_session)
                except (ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + grace  # then wait for it to be gone
                continue
            return
        time.sleep(0.5)


def _error_text(exc: BaseException) -> tuple[str, int | None]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}", exc.cell_index
    return f"{type(exc).__name__}: {exc}", None


def no_cell_started(output: Path) -> bool:
    """Whether papermill's output notebook exists and shows that no cell started: the kernel never ran anything."""
    try:
        cells = json.loads(output.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return False  # papermill failed before writing it: the input itself is wrong, and a retry would fail alike
    return not any(cell.get("metadata", {}).get("papermill", {}).get("start_time") for cell in cells)


def execute_notebook(notebook: Path, output: Path, params: dict[str, Any]) -> int:
    """Execute ``notebook`` into ``output`` with papermill; a kernel that dies before its first cell is started
    again, up to ``KERNEL_START_TRIES`` times in all. Returns how many starts were retried."""
    import papermill

    retries = 0
    while True:
        try:
            papermill.execute_notebook(str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
                                       progress_bar=False, kernel_name="python3")
            return retries
        except papermill.PapermillExecutionError:
            raise  # a cell failed: the notebook's own result
        except Exception as exc:
            retries += 1
            if retries == KERNEL_START_TRIES or not no_cell_started(output):
                raise
            print(f"the kernel failed before its first cell ({type(exc).__name__}: {exc}); starting it again",
                  flush=True)
            time.sleep(1 + random.random())  # apart from whoever took the port


def annotate_notebook(path: Path, record: dict[str, Any]) -> None:
    """Store the combination's parameters, status and final metrics in the executed notebook's metadata."""
    import nbformat

    if not path.is_file():
        return
    nb = nbformat.read(path, as_version=4)
    nb.metadata.setdefault(METADATA_KEY, {})["sweep"] = record
    nbformat.write(nb, path)


def execute_combination(notebook: str | Path, folder: str | Path) -> dict[str, Any]:
    notebook, folder = Path(notebook), Path(folder)
    params = json.loads((folder / "params.json").read_text())
    status_path = folder / "status.json"
    wait_for_previous_holder(status_path)
    previous = json.loads(status_path.read_text()) if status_path.is_file() else {}
    attempts = int(previous.get("attempts", 0)) + 1
    recorded = {k: v for k, v in params.items() if k != RUN_DIR_PARAMETER}
    status = {"status": "running", "params": recorded, "attempts": attempts, "pid": os.getpid(),
              "host": socket.gethostname(), "started": now(), "threads": os.environ.get("OMP_NUM_THREADS"),
              "wall_time": float(previous.get("wall_time", 0.0))}
    write_json_atomic(status_path, status)
    start = time.perf_counter()
    error, cell = "", None
    try:
        if retries := execute_notebook(notebook, folder / "notebook.ipynb", params):
            status["kernel_start_retries"] = retries
        state = "ok"
    except KeyboardInterrupt:
        state, error = "interrupted", "interrupted; the next run of the sweep resumes it"
    except Exception as exc:  # the notebook's own failure is this combination's result
        state = "failed"
        error, cell = _error_text(exc)
    wall = time.perf_counter() - start
    metrics = run_metrics(params[RUN_DIR_PARAMETER])
    status.update(status=state, error=error, failed_cell=cell, finished=now(), last_wall_time=wall,
                  wall_time=status["wall_time"] + wall, metrics=metrics)
    if state == "ok" and not metrics:
        status["warning"] = f"the notebook wrote no metrics.json into (or below) {params[RUN_DIR_PARAMETER]}"
    try:
        annotate_notebook(folder / "notebook.ipynb", {"parameters": recorded, "status": state, "error": error,
                                                      "wall_time": wall, "metrics": metrics})
    except Exception as exc:  # metadata is a convenience; the status file is the record
        status["warning"] = f"could not annotate the notebook: {exc}"
    write_json_atomic(status_path, status)
    return status


def raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def interrupt_once(signum, frame) -> None:
    """SIGTERM as an interrupt, once: a second one (the launcher's and its death's) must not break the cleanup."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m gancourse.sweeps.worker NOTEBOOK FOLDER", file=sys.stderr)
        return 2
    # the sweep driver stops workers with SIGTERM (Ctrl-C, or a failure of its own): end like an interrupt,
    # so papermill shuts the kernel down and the status says "interrupted"
    signal.signal(signal.SIGTERM, interrupt_once)
    if os.environ.get(PARENT_VARIABLE, "").isdigit():
        die_with_parent(int(os.environ[PARENT_VARIABLE]))
    status = execute_combination(*argv)
    print(f"{status['status']}: {status.get('error') or 'done'} ({status['last_wall_time']:.1f} s)")
    return 0 if status["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
