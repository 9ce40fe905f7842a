"""Checkpoints that survive a kill mid-write (gancourse.checkpoints)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.checkpoints import load_checkpoint, load_generator, save_rotating
from gancourse.cli import main
from gancourse.errors import CheckpointDamaged
from gancourse.runs import RunDir

from .helpers import CLI_TINY as TINY
from .helpers import error_line, fit_blobs


def damage(path: Path, how: str, run: RunDir) -> None:
    good = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "half":
        path.write_bytes(good[: len(good) // 2])
    elif how == "generator":
        path.write_bytes(run.generator_path.read_bytes())


def test_each_checkpoint_keeps_the_one_before_it(tmp_path):
    path, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    save_rotating({"step": 1}, path, previous)
    assert not previous.exists()
    save_rotating({"step": 2}, path, previous)
    save_rotating({"step": 3}, path, previous)
    assert load_checkpoint(path)["step"] == 3 and load_checkpoint(previous)["step"] == 2
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def test_a_failed_write_leaves_both_checkpoints_as_they_were(tmp_path, monkeypatch):
    path, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    save_rotating({"step": 1}, path, previous)
    save_rotating({"step": 2}, path, previous)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError):
        save_rotating({"step": 3}, path, previous)
    assert load_checkpoint(path)["step"] == 2 and load_checkpoint(previous)["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def test_a_full_disk_is_one_line_that_says_the_run_resumes(tmp_path, monkeypatch, capsys):
    import gancourse.cli.sample as sample_command

    def disk_full(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x.pt"))

    monkeypatch.setattr(sample_command, "run", disk_full)
    assert main(["sample", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert "No space left on device" in line and "x.pt" in line and "resume" in line


@pytest.mark.parametrize("how", ["empty", "random", "half", "generator"])
def test_a_damaged_checkpoint_without_a_good_previous_one_is_one_line_with_the_choices(tmp_path, capsys, how):
    out = tmp_path / "run"
    fit_blobs(out, 4)
    run = RunDir(out)
    run.previous_checkpoint.unlink()
    damage(run.last_checkpoint, how, run)
    with pytest.raises(CheckpointDamaged) as info:
        fit_blobs(out, 8)
    message = str(info.value)
    assert str(run.last_checkpoint) in message and "damaged" in message
    assert "restore" in message and f"delete {out}" in message


def test_the_cli_names_the_damaged_checkpoint_in_one_line(offline_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    run = RunDir(out)
    run.previous_checkpoint.unlink()
    damage(run.last_checkpoint, "empty", run)
    capsys.readouterr()
    assert main(["train", *TINY, "--steps", "4", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "last.pt is damaged" in line and "delete" in line


def test_a_damaged_last_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    out = tmp_path / "run"
    fit_blobs(out, 10, checkpoint_every=5)
    run = RunDir(out)
    damage(run.last_checkpoint, "half", run)
    result = fit_blobs(out, 12, checkpoint_every=5)
    assert result.step == 12
    assert "resuming from" in capsys.readouterr().err
    assert (run.checkpoints_dir / "last.pt.damaged").is_file()
    assert [r["step"] for r in run.losses()] == [10]  # 5..10 trained again from step 5, logged once
    assert load_checkpoint(run.last_checkpoint)["step"] == 12


def test_stale_temporary_files_are_cleaned_on_the_next_start(tmp_path):
    out = tmp_path / "run"
    fit_blobs(out, 4)
    run = RunDir(out)
    for i in range(3):
        (run.checkpoints_dir / f".last.pt.{i}abc.tmp").write_bytes(b"x" * 100)
    (run.path / ".config.json.x1.tmp").write_text("{")
    fit_blobs(out, 6)
    assert not list(run.checkpoints_dir.glob(".*.tmp")) and not list(run.path.glob(".*.tmp"))


def test_load_generator_names_a_damaged_export(tmp_path):
    path = tmp_path / "generator.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointDamaged, match="generator.pt is damaged"):
        load_generator(path)
