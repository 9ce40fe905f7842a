"""The run directory: history and lock (gancourse.runs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gancourse.cli import main
from gancourse.errors import TrainingDiverged
from gancourse.runs import RunDir

from .helpers import CLI_TINY as TINY
from .helpers import error_line, fit_blobs, poison_at
from .helpers import tiny_dcgan as make_recipe

REPO = Path(__file__).resolve().parent.parent


def wait_for(condition, what: str, patience: float = 300.0) -> None:
    deadline = time.monotonic() + patience  # a guard against hanging forever, not a performance limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_a_restart_before_the_first_checkpoint_does_not_duplicate_history(tmp_path):
    out = tmp_path / "early"
    run = RunDir(out).create()
    for step in range(10, 70, 10):  # killed at step 60, the first checkpoint due at 200
        run.append_history({"step": step, "loss_d": 1.0})
    fit_blobs(out, 30, checkpoint_every=200)
    assert [r["step"] for r in RunDir(out).losses()] == [10, 20, 30]


def test_a_torn_last_line_is_skipped_by_the_reader_and_cut_on_resume(tmp_path):
    out = tmp_path / "torn"
    fit_blobs(out, 20, checkpoint_every=20)
    run = RunDir(out)
    with open(run.history_path, "a") as f:
        f.write('{"step": 30, "loss_d": 0.')  # a kill in the middle of a line
    assert [r["step"] for r in run.losses()] == [10, 20]
    fit_blobs(out, 40, checkpoint_every=20)
    assert [r["step"] for r in run.losses()] == [10, 20, 30, 40]
    assert all(json.loads(line) for line in run.history_path.read_text().splitlines())


def test_the_reader_keeps_every_good_record_around_a_bad_line(tmp_path):
    run = RunDir(tmp_path / "h").create()
    lines = [json.dumps({"step": s}) for s in range(1, 13)]
    lines.insert(2, '{"step": 99, "lo')
    run.history_path.write_text("\n".join(lines) + "\n")
    assert len(run.losses()) == 12


def test_a_second_train_into_the_same_run_is_refused_and_a_killed_writer_frees_it(offline_root, tmp_path,
                                                                                   capsys):
    out = tmp_path / "shared-run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "gancourse", "train", *TINY, "--time-budget", "600",
                              "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        lock = RunDir(out).lock_path
        wait_for(lambda: lock.is_file() and f"process {first.pid}" in lock.read_text() or first.poll() is not None,
                 "the first process to take the lock")
        assert first.poll() is None, first.stderr.read().decode()
        wait_for(lambda: RunDir(out).config_path.is_file(), "the first process to write its config")
        capsys.readouterr()
        assert main(["train", *TINY, "--steps", "5", "--out", str(out)]) == 2  # this test's process: the second
        line = error_line(capsys)
        assert f"process {first.pid}" in line and "another directory" in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        first.stderr.close()
    with RunDir(out).lock():  # the kernel released the killed writer's lock
        pass
    assert main(["train", *TINY, "--steps", "3", "--out", str(out)]) == 0


def test_the_lock_is_released_when_training_fails(tmp_path):
    recipe = make_recipe()
    poison_at(recipe, 2)
    with pytest.raises(TrainingDiverged):
        fit_blobs(tmp_path / "x", 10, recipe=recipe)
    with RunDir(tmp_path / "x").lock():
        pass
