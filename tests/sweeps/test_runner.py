"""gancourse.sweeps.runner: parallel papermill runs of every combination, resume, failures, the lock, signals."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from gancourse.course.profiles import ParameterError
from gancourse.sweeps import combination_name, parse_grid, plan_sweep, run_sweep

from .conftest import GRID, executions, make_notebook


@pytest.mark.xdist_group("swept")
def test_sweep_runs_every_combination_and_records_the_failure(swept):
    _, out, result = swept
    assert result.count("ok") == 4
    assert list(result.failed) == ["a-3_b-0.5"]
    assert "ValueError: combination a=3 fails on purpose" in result.failed["a-3_b-0.5"]
    assert "ValueError: combination a=3 fails on purpose" in result.summary()
    for name in ("a-1_b-0.5", "a-1_b-1.5", "a-2_b-0.5", "a-2_b-1.5"):
        status = json.loads((out / name / "status.json").read_text())
        assert status["status"] == "ok" and status["metrics"]["fid"] > 0
        assert (out / name / "notebook.ipynb").is_file()
        # each combination trained into its own run directory, passed in as run_dir
        assert json.loads((out / name / "params.json").read_text())["run_dir"] == str(out / name / "run")
    executed = nbformat.read(out / "a-2_b-1.5" / "notebook.ipynb", as_version=4)
    assert executed.metadata["gancourse"]["sweep"]["metrics"]["fid"] == pytest.approx(21.5)


@pytest.mark.xdist_group("swept")
def test_rerun_skips_complete_combinations_and_retries_the_rest(swept):
    notebook, out, _ = swept
    before = {n: (out / n / "status.json").stat().st_mtime_ns for n in ("a-1_b-0.5", "a-2_b-1.5")}
    # simulate a combination killed mid-run: its status still says "running"
    status_file = out / "a-1_b-1.5" / "status.json"
    status_file.write_text(json.dumps({**json.loads(status_file.read_text()), "status": "running"}))

    result = run_sweep(notebook, parse_grid(GRID), out, jobs=2, progress=False)
    assert sorted(result.skipped) == ["a-1_b-0.5", "a-2_b-0.5", "a-2_b-1.5"]
    assert executions(out, "a-1_b-0.5") == 1 and executions(out, "a-2_b-1.5") == 1
    assert {n: (out / n / "status.json").stat().st_mtime_ns for n in before} == before
    assert executions(out, "a-1_b-1.5") == 2  # the interrupted one ran again, in the same run directory
    assert executions(out, "a-3_b-0.5") == 2  # the failed one was retried (and failed again)
    assert json.loads((out / "a-3_b-0.5" / "status.json").read_text())["attempts"] == 2
    assert result.count("ok") == 4


def test_unknown_parameter_is_rejected_before_anything_runs(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "never"
    with pytest.raises(ParameterError) as info:
        run_sweep(notebook, parse_grid({"parameters": {"a": [1, 2], "dropout": [0.1]}}), out, progress=False)
    message = str(info.value)
    assert "'dropout'" in message
    for listed in ("a=1", "b=0.5", "fail_on=-1", "run_dir=''"):
        assert listed in message
    assert not out.exists()


def test_changed_fixed_values_do_not_mix_with_an_earlier_sweep(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "out"
    (out / "a-1").mkdir(parents=True)
    (out / "a-1" / "params.json").write_text(json.dumps({"a": 1, "b": 0.5, "run_dir": "x"}))
    plan_sweep(notebook, parse_grid({"parameters": {"a": [1]}, "fixed": {"b": 0.5}}), out)
    with pytest.raises(ValueError, match=r"other values of b \(b: 0.5 -> 2.0\)"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1]}, "fixed": {"b": 2.0}}), out)


def test_one_driver_per_sweep_folder(tmp_path):
    import fcntl
    import os

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out / "sweep.lock", os.O_RDWR | os.O_CREAT)  # another driver holds the folder's OS lock
    os.write(held, b"process 4242 on lab-7\n")
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        with pytest.raises(RuntimeError, match=r"another sweep \(process 4242 on lab-7\)"):
            run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), out, progress=False)
    finally:
        os.close(held)
    assert not (out / "a-1").exists()


def test_notebook_profile_is_resolved_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_PROFILE", "smoke")
    notebook = make_notebook(tmp_path / "tiny.ipynb", parameters='profile = ""\na = 1\nrun_dir = ""\n')
    plan = plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 2]}}), tmp_path / "out")
    assert [c.params for c in plan.combinations] == [{"profile": "smoke", "a": 1}, {"profile": "smoke", "a": 2}]


def test_combination_names_are_readable_folder_names():
    assert combination_name({"dropout": 0.3, "width": 128}) == "dropout-0.3_width-128"
    assert combination_name({"lr": 2e-4, "beta1": 0.6}) == "lr-0.0002_beta1-0.6"
    assert combination_name({"norm": "spectral norm/x"}) == "norm-spectral-norm-x"
    assert len(combination_name({f"p{i}": "v" * 20 for i in range(10)})) <= 100


def test_cli_rejects_an_unknown_parameter_in_one_line(tmp_path, capsys):
    from gancourse.cli import main

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  dropout: [0.1, 0.3]\n")
    assert main(["sweep", str(notebook), str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no parameter 'dropout'" in err and "fail_on=-1" in err
    assert not (tmp_path / "out").exists()


def test_backend_and_scheduler_are_checked(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(ParameterError, match="backend must be one of local, dask"):
        run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), tmp_path / "out", backend="ray", progress=False)
    with pytest.raises(ParameterError, match="needs the dask backend"):
        run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), tmp_path / "out", scheduler="tcp://x:1",
                  progress=False)


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_sigterm_stops_every_combination_and_records_it(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    body = ("import pathlib, time\npathlib.Path(run_dir).mkdir(parents=True, exist_ok=True)\n"
            "(pathlib.Path(run_dir) / 'started').write_text('x')\ntime.sleep(300)\n")
    notebook = make_notebook(tmp_path / "slow.ipynb", parameters="a = 1\nrun_dir = ''\n", body=body)
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  a: [1, 2, 3]\n")
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "gancourse", "sweep", str(notebook), str(grid), "--out", str(out),
                               "--jobs", "2", "--backend", backend, "--quiet"],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    while len(list(out.glob("*/run/started"))) < 2:  # two notebooks are running
        assert driver.poll() is None, driver.stdout.read().decode()
        time.sleep(0.2)
    processes = psutil.Process(driver.pid).children(recursive=True)
    driver.send_signal(signal.SIGTERM)
    driver.wait()
    statuses = {p.parent.name: json.loads(p.read_text())["status"] for p in out.glob("*/status.json")}
    logs = {name: (out / name / "log.txt").read_text() for name, s in statuses.items() if s != "interrupted"}
    assert sorted(statuses.values()) == ["interrupted", "interrupted"], (statuses, logs)  # the third never started
    gone, alive = psutil.wait_procs(processes, timeout=30)
    assert alive == []  # no kernel or worker left running
    assert not (out / "sweep.lock").exists()
