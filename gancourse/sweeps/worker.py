"""One combination of a sweep, in its own process: ``python -m gancourse.sweeps.worker NOTEBOOK FOLDER``.

It executes NOTEBOOK with papermill and the parameters in FOLDER/params.json into FOLDER/notebook.ipynb,
and records the outcome in FOLDER/status.json. A failing notebook is an outcome, not a crash: the error
(exception name and message, and the cell that raised it) goes into the status for the summary.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..files import write_json_atomic
from .grid import RUN_DIR_PARAMETER
from .results import run_metrics
from .runner import _now

METADATA_KEY = "gancourse"


def _error_text(exc: BaseException) -> tuple[str, int | None]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}", exc.cell_index
    return f"{type(exc).__name__}: {exc}", None


def annotate_notebook(path: Path, record: dict[str, Any]) -> None:
    """Store the combination's parameters, status and final metrics in the executed notebook's metadata."""
    import nbformat

    if not path.is_file():
        return
    nb = nbformat.read(path, as_version=4)
    nb.metadata.setdefault(METADATA_KEY, {})["sweep"] = record
    nbformat.write(nb, path)


def execute_combination(notebook: str | Path, folder: str | Path) -> dict[str, Any]:
    import papermill

    notebook, folder = Path(notebook), Path(folder)
    params = json.loads((folder / "params.json").read_text())
    status_path = folder / "status.json"
    previous = json.loads(status_path.read_text()) if status_path.is_file() else {}
    attempts = int(previous.get("attempts", 0)) + 1
    recorded = {k: v for k, v in params.items() if k != RUN_DIR_PARAMETER}
    status = {"status": "running", "params": recorded, "attempts": attempts, "pid": os.getpid(),
              "started": _now(), "threads": os.environ.get("OMP_NUM_THREADS"),
              "wall_time": float(previous.get("wall_time", 0.0))}
    write_json_atomic(status_path, status)
    start = time.perf_counter()
    error, cell = "", None
    try:
        papermill.execute_notebook(str(notebook), str(folder / "notebook.ipynb"), parameters=params,
                                   cwd=str(notebook.parent), progress_bar=False, kernel_name="python3")
        state = "ok"
    except KeyboardInterrupt:
        state, error = "interrupted", "interrupted; the next run of the sweep resumes it"
    except Exception as exc:  # the notebook's own failure is this combination's result
        state = "failed"
        error, cell = _error_text(exc)
    wall = time.perf_counter() - start
    metrics = run_metrics(params[RUN_DIR_PARAMETER])
    status.update(status=state, error=error, failed_cell=cell, finished=_now(), last_wall_time=wall,
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m gancourse.sweeps.worker NOTEBOOK FOLDER", file=sys.stderr)
        return 2
    # the sweep driver stops workers with SIGTERM (Ctrl-C, or a failure of its own): end like an interrupt,
    # so papermill shuts the kernel down and the status says "interrupted"
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    status = execute_combination(*argv)
    print(f"{status['status']}: {status.get('error') or 'done'} ({status['last_wall_time']:.1f} s)")
    return 0 if status["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
