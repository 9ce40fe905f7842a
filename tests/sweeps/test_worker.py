"""gancourse.sweeps.worker: a combination's worker process never outlives the process that launched it, and a
retry never runs beside it.

The repro of issue 27: ``kill -9`` of a Dask worker left its papermill process (and kernel) training on under
init, the retried task then collided with it, and the orphan rewrote status.json later.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gancourse.sweeps.worker import KERNEL_START_TRIES, execute_combination, wait_for_previous_holder

from .conftest import make_notebook

psutil = pytest.importorskip("psutil")
REPO = Path(__file__).parents[2]
SLOW_BODY = ("import os, pathlib, time\nout = pathlib.Path(run_dir)\nout.mkdir(parents=True, exist_ok=True)\n"
             "(out / 'kernel.pid').write_text(str(os.getpid()))\ntime.sleep(600)\n")
# a stand-in for a Dask worker: it launches the combination exactly as a Dask task does, then waits
LAUNCHER = """
import sys, time
from pathlib import Path
from gancourse.sweeps.runner import start_worker
proc = start_worker(Path(sys.argv[1]), Path(sys.argv[2]), "a=1", 1)
Path(sys.argv[2], "worker.pid").write_text(str(proc.pid))
time.sleep(600)
"""


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, bound: float = 300.0) -> bool:
    """Poll ``condition`` for at most ``bound`` seconds (a generous bound for a loaded machine, not a speed test)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_killing_the_launcher_takes_the_notebook_process_and_its_kernel_with_it(tmp_path):
    notebook = make_notebook(tmp_path / "slow.ipynb", parameters="a = 1\nrun_dir = ''\n", body=SLOW_BODY)
    folder = tmp_path / "a-1"
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps({"a": 1, "run_dir": str(folder / "run")}))
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(notebook), str(folder)],
                                env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert wait_until(lambda: (folder / "run" / "kernel.pid").is_file() or launcher.poll() is not None)
        assert launcher.poll() is None, (folder / "log.txt").read_text()
        worker = int((folder / "worker.pid").read_text())
        kernel = int((folder / "run" / "kernel.pid").read_text())
        assert running(worker) and running(kernel)
        launcher.send_signal(signal.SIGKILL)  # the Dask worker is lost
        launcher.wait()
        assert wait_until(lambda: not running(worker) and not running(kernel)), "the notebook outlived its launcher"
        # it ended as an interrupt does, so its status does not claim it is still running
        assert json.loads((folder / "status.json").read_text())["status"] == "interrupted"
    finally:
        launcher.kill()
        for name in ("worker.pid", "run/kernel.pid"):
            if (folder / name).is_file() and running(pid := int((folder / name).read_text())):
                os.kill(pid, signal.SIGKILL)


def fake_worker() -> subprocess.Popen:
    """A process that looks like a sweep worker (its command line names the module) and never ends by itself."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "gancourse.sweeps.worker"],
                            start_new_session=True)
    # Popen returns once exec has begun; /proc/PID/cmdline stays empty until the kernel has set up the new program
    assert wait_until(lambda: b"gancourse.sweeps.worker" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
                      or not Path("/proc/self").exists())
    return proc


def write_status(folder: Path, **status) -> Path:
    path = folder / "status.json"
    path.write_text(json.dumps({"status": "running", **status}))
    return path


def test_a_retry_waits_for_the_previous_holder_then_kills_it(tmp_path):
    import socket

    holder = fake_worker()
    try:
        status = write_status(tmp_path, pid=holder.pid, host=socket.gethostname())
        wait_for_previous_holder(status, grace=1)
        assert holder.wait(timeout=60) == -signal.SIGKILL  # it was still there after the grace: killed
    finally:
        holder.kill()


def test_a_retry_does_not_wait_for_a_holder_that_is_gone_or_finished(tmp_path):
    import socket

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    wait_for_previous_holder(write_status(tmp_path, pid=gone.pid, host=socket.gethostname()), grace=3600)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a reused pid
    try:
        wait_for_previous_holder(write_status(tmp_path, pid=unrelated.pid, host=socket.gethostname()), grace=3600)
        assert unrelated.poll() is None  # not a worker: left alone
    finally:
        unrelated.kill()
    wait_for_previous_holder(write_status(tmp_path, status="interrupted", pid=os.getppid()), grace=3600)
    wait_for_previous_holder(tmp_path / "missing.json", grace=3600)


def test_a_holder_on_another_machine_is_waited_for_but_not_killed(tmp_path):
    holder = fake_worker()
    try:
        status = write_status(tmp_path, pid=holder.pid, host="another-node")
        wait_for_previous_holder(status, grace=1)  # returns after the grace: the run's lock guards the rest
        assert holder.poll() is None
    finally:
        holder.kill()


# A "python3" kernel that dies before it runs anything, as one that lost the race for a port does, the first
# ``dies`` times it is started (a count kept in a file), and is ipykernel after that.
DYING_KERNEL = """
import pathlib, runpy, sys
starts = pathlib.Path(sys.argv[1])
starts.write_text(starts.read_text() + "x" if starts.exists() else "x")
if len(starts.read_text()) <= int(sys.argv[2]):
    sys.exit(1)
sys.argv = ["ipykernel_launcher", "-f", sys.argv[3]]
runpy.run_module("ipykernel_launcher", run_name="__main__")
"""


def combination_with_a_dying_kernel(tmp_path: Path, monkeypatch, dies: int) -> tuple[Path, Path]:
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "dying.py").write_text(DYING_KERNEL)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(kernel / "dying.py"), str(tmp_path / "starts.txt"), str(dies),
                 "{connection_file}"], "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # found before the installed python3 kernel
    folder = tmp_path / "a-1"
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps({"a": 1, "run_dir": str(folder / "run")}))
    return make_notebook(tmp_path / "tiny.ipynb"), folder


def test_a_kernel_that_dies_before_its_first_cell_is_started_again(tmp_path, monkeypatch):
    notebook, folder = combination_with_a_dying_kernel(tmp_path, monkeypatch, dies=1)
    status = execute_combination(notebook, folder)
    assert status["status"] == "ok", status
    assert status["kernel_start_retries"] == 1
    assert (tmp_path / "starts.txt").read_text() == "xx"
    assert (folder / "run" / "executions.txt").read_text() == "x"  # the notebook ran once


def test_a_kernel_that_never_starts_fails_after_a_few_tries(tmp_path, monkeypatch):
    notebook, folder = combination_with_a_dying_kernel(tmp_path, monkeypatch, dies=100)
    status = execute_combination(notebook, folder)
    assert status["status"] == "failed"
    assert "Kernel died" in status["error"]
    assert len((tmp_path / "starts.txt").read_text()) == KERNEL_START_TRIES


def test_the_worker_process_loads_no_torch():
    """Every combination starts a worker process (and its kernel): torch's two seconds of import belong to the
    notebook's kernel, not to the worker that only drives papermill."""
    code = "import sys, gancourse.sweeps.worker; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr[-2000:]
