"""Checkpoints that survive a kill mid-write (gancourse.checkpoints)."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse import files
from gancourse.checkpoints import (
    load_checkpoint,
    load_generator,
    load_translators,
    save_checkpoint,
    save_rotating,
    state_digest,
)
from gancourse.cli import main
from gancourse.errors import CheckpointDamaged, DiskFull
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


# -- integrity: a digest beside the state, finite tensors, damage of any kind -------------------------------------

def change_middle(path: Path, replacement: bytes) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    assert data[middle:middle + len(replacement)] != replacement
    data[middle:middle + len(replacement)] = replacement
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["random bytes", "ff bytes", "a tensor", "a list", "legacy with inf"])
def test_any_damage_to_last_pt_falls_back_to_previous_pt_with_the_promised_message(tmp_path, capsys, how):
    out = tmp_path / "run"
    fit_blobs(out, 10, checkpoint_every=5)
    run = RunDir(out)
    last = run.last_checkpoint
    if how == "random bytes":
        change_middle(last, np.random.default_rng(1).bytes(16))
    elif how == "ff bytes":  # float32 NaN where the weights are: the "training diverged" instead of damage
        change_middle(last, b"\xff" * 16)
    elif how == "a tensor":
        torch.save(torch.ones(3), last)
    elif how == "a list":
        torch.save([1, 2], last)
    else:  # a checkpoint saved before digests existed, with a weight turned infinite
        state = load_checkpoint(last)
        next(iter(state["recipe"]["modules"]["G"].values())).view(-1)[0] = float("inf")
        torch.save(state, last)
    capsys.readouterr()
    assert fit_blobs(out, 12, checkpoint_every=5).step == 12
    err = capsys.readouterr().err
    assert f"{last} is damaged" in err and f"resuming from {run.previous_checkpoint} (step 5)" in err
    assert "last.pt.damaged" in err and (run.checkpoints_dir / "last.pt.damaged").exists()
    assert load_checkpoint(last)["step"] == 12
    assert [r["step"] for r in run.losses()] == [10]  # steps 5..10 trained again, logged once


def test_changed_bytes_are_reported_as_a_digest_mismatch(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"step": 3, "w": torch.randn(4096)}, path)
    change_middle(path, b"\x00\x01\x02\x03")
    with pytest.raises(CheckpointDamaged, match=r"c\.pt is damaged: its content does not match the SHA-256"):
        load_checkpoint(path)


def test_every_single_byte_change_is_refused_or_harmless(tmp_path):
    # Whatever byte of a checkpoint changes, loading either refuses the file as damaged or gives back exactly the
    # state that was saved (a byte the reader ignores, such as a zip timestamp): never a different state.
    state = {"step": 7, "elapsed": 1.5, "w": torch.randn(64), "n": torch.arange(5), "rng": torch.randint(0, 255, (40,),
             dtype=torch.uint8), "nested": {"lr": 2e-4, "names": ["G", "D"]}}
    path, damaged = tmp_path / "c.pt", tmp_path / "d.pt"
    save_checkpoint(state, path)
    good = path.read_bytes()
    outcomes = {"refused": 0, "same": 0}
    for offset in range(0, len(good), 3):
        data = bytearray(good)
        data[offset] ^= 0x5A
        damaged.write_bytes(bytes(data))
        try:
            loaded = load_checkpoint(damaged)
        except CheckpointDamaged:
            outcomes["refused"] += 1
            continue
        assert state_digest(loaded) == state_digest(state), f"a change at byte {offset} went unnoticed"
        outcomes["same"] += 1
    assert outcomes["refused"] > outcomes["same"]


def test_a_checkpoint_saved_before_digests_still_resumes_bit_for_bit(tmp_path):
    straight, old = tmp_path / "straight", tmp_path / "old"
    fit_blobs(straight, 20, checkpoint_every=10)
    fit_blobs(old, 10, checkpoint_every=5)
    for path in (RunDir(old).last_checkpoint, RunDir(old).previous_checkpoint):
        torch.save(load_checkpoint(path), path)  # the old format: the state alone, no digest
        assert "sha256" not in torch.load(path, weights_only=True)
    fit_blobs(old, 20, checkpoint_every=10)
    a, b = load_checkpoint(RunDir(straight).last_checkpoint), load_checkpoint(RunDir(old).last_checkpoint)
    for name, weights in a["recipe"]["modules"].items():
        for key, value in weights.items():
            assert torch.equal(value, b["recipe"]["modules"][name][key]), f"{name}.{key}"
    def untimed(run):
        return [{k: v for k, v in r.items() if k != "time"} for r in RunDir(run).losses()]
    assert untimed(old) == untimed(straight)


@pytest.mark.parametrize("loader", [load_generator, load_translators])
def test_exported_generators_are_verified_where_they_are_loaded(tmp_path, loader):
    out = tmp_path / "run"
    fit_blobs(out, 2)
    path = RunDir(out).generator_path
    change_middle(path, b"\xff" * 16)
    with pytest.raises(CheckpointDamaged, match="generator.pt is damaged"):
        loader(path)


def test_sample_from_a_damaged_generator_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    fit_blobs(out, 2)
    change_middle(RunDir(out).generator_path, np.random.default_rng(2).bytes(16))
    assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.pt")]) == 2
    assert "generator.pt is damaged" in error_line(capsys) and not (tmp_path / "s.pt").exists()


# -- a full disk anywhere in a save --------------------------------------------------------------------------------

class FullDiskFile(io.FileIO):
    """A file whose disk fills up after ``room`` bytes, as a real one does (ENOSPC from write)."""

    room, code = 2000, errno.ENOSPC

    def write(self, data):
        if self.tell() + len(data) > self.room:
            raise OSError(self.code, os.strerror(self.code))
        return super().write(data)


def full_disk_at(where: str, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC if where != "quota" else errno.EDQUOT, "No space left on device")

    if where in ("write", "quota"):
        monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: io.BufferedWriter(FullDiskFile(fd, "wb")))
        if where == "quota":
            monkeypatch.setattr(FullDiskFile, "code", errno.EDQUOT)
    elif where == "fsync":
        monkeypatch.setattr(files.os, "fsync", fail)
    elif where == "rename":
        monkeypatch.setattr(files.os, "replace", fail)
    else:  # what torch.save raises when its zip writer's write came up short
        def short(*args, **kwargs):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
        monkeypatch.setattr(torch, "save", short)


@pytest.mark.parametrize("where", ["write", "quota", "fsync", "rename", "torch.save"])
def test_a_full_disk_in_a_save_is_one_error_with_both_checkpoints_intact(tmp_path, monkeypatch, where):
    path, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    save_rotating({"step": 1, "w": torch.randn(1000)}, path, previous)
    save_rotating({"step": 2, "w": torch.randn(1000)}, path, previous)
    with monkeypatch.context() as patched, pytest.raises(DiskFull) as info:
        full_disk_at(where, patched)
        save_rotating({"step": 3, "w": torch.randn(1000)}, path, previous)
    message = str(info.value)
    assert f"could not write {path}" in message and "Free some space" in message and "\n" not in message
    assert ("quota" in message) == (where == "quota")
    assert load_checkpoint(path)["step"] == 2 and load_checkpoint(previous)["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]  # no temporary left


def test_a_full_disk_during_training_is_one_line_exit_2_and_the_run_resumes(offline_root, tmp_path, monkeypatch,
                                                                             capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "4", "--out", str(out)]) == 0
    capsys.readouterr()
    with monkeypatch.context() as patched:  # the disk is full for this command only (the test's environment stays)
        full_disk_at("torch.save", patched)
        assert main(["train", *TINY, "--steps", "8", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "last.pt" in line and "Free some space" in line and "run the same command again" in line
    run = RunDir(out)
    assert load_checkpoint(run.last_checkpoint)["step"] == 4 and not list(run.checkpoints_dir.glob(".*.tmp"))
    assert main(["train", *TINY, "--steps", "8", "--out", str(out)]) == 0
    assert load_checkpoint(run.last_checkpoint)["step"] == 8
