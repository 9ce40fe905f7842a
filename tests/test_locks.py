"""The locks of a run directory and a sweep folder (gancourse.files): they never write through a planted file,
and only a held lock is "busy"."""

from __future__ import annotations

import errno
import fcntl
import os

import pytest

from gancourse.cli import main
from gancourse.errors import LockUnavailable, RunDirectoryBusy
from gancourse.files import FileLock
from gancourse.runs import RunDir
from gancourse.sweeps.runner import LOCK_FILE, _Lock

from .helpers import CLI_TINY as TINY
from .helpers import error_line, fit_blobs


def test_a_symlinked_lock_leaves_its_target_untouched_and_is_one_line(offline_root, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("data\n")
    out = tmp_path / "runs" / "s"
    out.mkdir(parents=True)
    (out / ".lock").symlink_to(victim)
    assert main(["train", *TINY, "--steps", "5", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert victim.read_text() == "data\n"
    assert str(out / ".lock") in line and "symbolic link" in line and "rm " in line
    assert not RunDir(out).last_checkpoint.exists()  # refused before training


@pytest.mark.parametrize("planted", ["symlink", "hardlink", "directory", "fifo", "dangling"])
def test_the_lock_refuses_anything_but_a_plain_file_of_its_own(tmp_path, planted):
    victim = tmp_path / "victim.txt"
    victim.write_text("data\n")
    lock = RunDir(tmp_path / "run").create().lock_path
    if planted == "symlink":
        lock.symlink_to(victim)
    elif planted == "dangling":
        lock.symlink_to(tmp_path / "would-be-created")
    elif planted == "hardlink":
        os.link(victim, lock)
    elif planted == "directory":
        lock.mkdir()
    else:
        os.mkfifo(lock)
    with pytest.raises(LockUnavailable, match=r"\.lock is .*not a lock file.*Remove it"):
        RunDir(tmp_path / "run").lock().acquire()
    assert victim.read_text() == "data\n" and not (tmp_path / "would-be-created").exists()


def test_a_symlinked_sweep_lock_leaves_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("data\n")
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / LOCK_FILE).symlink_to(victim)
    with pytest.raises(LockUnavailable, match="symbolic link"), _Lock(tmp_path / "sweep"):
        pass
    assert victim.read_text() == "data\n" and (tmp_path / "sweep" / LOCK_FILE).is_symlink()


def test_the_sweep_lock_is_held_by_the_os_and_removed_at_the_end(tmp_path):
    folder = tmp_path / "sweep"
    with _Lock(folder):
        held = os.open(folder / LOCK_FILE, os.O_RDONLY)  # another open file: another would-be driver
        try:
            with pytest.raises(OSError) as info:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert info.value.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
        finally:
            os.close(held)
        assert f"process {os.getpid()}" in (folder / LOCK_FILE).read_text()
    assert not (folder / LOCK_FILE).exists()
    (folder / LOCK_FILE).write_text("12345\n")  # left by a killed driver of an older version: nobody holds it
    with _Lock(folder):
        pass


def test_a_held_sweep_lock_refuses_a_second_driver_naming_the_first(tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    os.write(fd, b"process 4242 on lab-7\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(RunDirectoryBusy, match="another sweep .process 4242 on lab-7. is running"), _Lock(folder):
            pass
    finally:
        os.close(fd)
    assert (folder / LOCK_FILE).read_text() == "process 4242 on lab-7\n"  # never truncated while busy


def flock_failing_with(code):
    real = fcntl.flock

    def flock(fd, operation):
        if operation & fcntl.LOCK_EX:
            raise OSError(code, os.strerror(code))
        return real(fd, operation)
    return flock


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.EINVAL])
def test_a_file_system_without_locks_is_said_as_such_not_busy(tmp_path, monkeypatch, code):
    monkeypatch.setattr(fcntl, "flock", flock_failing_with(code))
    with pytest.raises(LockUnavailable) as info:
        fit_blobs(tmp_path / "run", 2)
    message = str(info.value)
    assert "does not support file locks" in message and "GANCOURSE_NO_LOCK=1" in message
    assert "being trained by" not in message and os.strerror(code) in message


@pytest.mark.parametrize("code", [errno.EWOULDBLOCK, errno.EAGAIN])
def test_only_would_block_means_busy(tmp_path, monkeypatch, code):
    monkeypatch.setattr(fcntl, "flock", flock_failing_with(code))
    with pytest.raises(RunDirectoryBusy, match="being trained by"):
        fit_blobs(tmp_path / "run", 2)


def test_the_cli_says_how_to_train_without_locks_in_one_line(offline_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fcntl, "flock", flock_failing_with(errno.ENOLCK))
    assert main(["train", *TINY, "--steps", "2", "--out", str(tmp_path / "run")]) == 2
    line = error_line(capsys)
    assert "does not support file locks" in line and "GANCOURSE_NO_LOCK=1" in line


def test_no_lock_trains_without_the_lock_and_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fcntl, "flock", flock_failing_with(errno.ENOLCK))
    monkeypatch.setenv("GANCOURSE_NO_LOCK", "1")
    assert fit_blobs(tmp_path / "run", 2).step == 2
    err = capsys.readouterr().err
    assert "GANCOURSE_NO_LOCK" in err and "second process" in err
    assert not RunDir(tmp_path / "run").lock_path.exists()


def test_a_lock_removed_by_its_releasing_holder_is_taken_anew(tmp_path, monkeypatch):
    # The first holder removes the file between our open and our flock: our lock on the removed file would
    # guard nothing, so the lock opens the new file instead.
    folder = tmp_path / "sweep"
    folder.mkdir()
    real, calls = fcntl.flock, []

    def flock(fd, operation):
        if operation & fcntl.LOCK_EX and not calls:
            calls.append(fd)
            (folder / LOCK_FILE).unlink()
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    lock = FileLock(folder / LOCK_FILE, RunDirectoryBusy, remove_on_release=True).acquire()
    try:
        assert (folder / LOCK_FILE).is_file() and f"process {os.getpid()}" in (folder / LOCK_FILE).read_text()
    finally:
        lock.release()
