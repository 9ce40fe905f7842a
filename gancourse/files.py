"""Files a kill or a second writer cannot corrupt: the one atomic writer, and the lock of a folder.

The writer: a kill mid-write never leaves a file half-written.
The content goes to a temporary file beside the target (same folder, so the same file system), is flushed
to disk, and is renamed over the target in one step: a reader sees the old file or the new one, never a
mix. A failed write removes its temporary file; one left by a kill is named ``.<name>.<random>.tmp`` so
:func:`gancourse.checkpoints.remove_stale_temporaries` finds it. A full disk (or quota) anywhere in the
write is :class:`~gancourse.errors.DiskFull`, one line that says the old file is intact. The new file gets
the permissions of any file this process creates (``0o666`` less the umask), not ``mkstemp``'s private 0600,
so a run folder shared with a group stays readable.

The lock (:class:`FileLock`): an exclusive OS lock on a file that names its holder, one writer per run directory
or sweep folder. ``flock`` is released by the kernel when the holding process ends, however it ends (kill -9
included), so a stale lock never blocks a rerun. The lock file lives in a folder a user (or anyone who can write
there) controls, so it is opened without following a symbolic link and must be a plain file with one name; it is
truncated only once the lock is held (a busy lock keeps its holder's name). Only "would block" means busy: any
other ``flock`` failure is a file system without locks (NFS without a lock daemon, Lustre without flock), said
as such, with ``GANCOURSE_NO_LOCK=1`` as the way to go on without one. No-op where ``fcntl`` is missing
(Windows).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import DiskFull, LockUnavailable, UserError

TMP_SUFFIX = ".tmp"
FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# What torch.save raises when a write of its zip container comes up short (a full disk, under a file object).
SHORT_WRITE_MESSAGES = ("unexpected pos", "file write failed")


def current_umask() -> int:
    """This process's umask, read without changing it where Linux allows (os.umask alone must set it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def disk_full_errno(exc: BaseException) -> int | None:
    """``ENOSPC``/``EDQUOT`` when ``exc`` (or what caused it) is a full disk or quota, -1 for torch's short
    write (its zip writer reports a failed write as a position mismatch), else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return exc.errno
        if isinstance(exc, RuntimeError) and any(m in str(exc) for m in SHORT_WRITE_MESSAGES):
            return -1
        exc = exc.__cause__ or exc.__context__
    return None


def _free_space(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "unknown"
    return f"{free / 1e6:.1f} MB" if free < 10e9 else f"{free / 1e9:.1f} GB"


def disk_full_error(path: Path, code: int) -> DiskFull:
    what = {errno.EDQUOT: "the disk quota is used up", -1: "the write came up short, the disk is probably full"
            }.get(code, "no space left on the device")
    return DiskFull(f"could not write {path}: {what} ({_free_space(path.parent)} free there); {path.name} was "
                    "left as it was (the files on disk are the last complete ones). Free some space and run the "
                    "same command again (a run resumes from its last checkpoint)")


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *,
                 before_replace: Callable[[], None] | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file for ``path`` (``mode`` "wb" or "w"); on success it replaces ``path`` atomically.

    ``before_replace`` runs once the new content is safely on disk, just before the rename (e.g. to keep
    the file about to be replaced under another name).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            os.fchmod(f.fileno(), 0o666 & ~current_umask())
            yield f
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except Exception as exc:
        code = disk_full_errno(exc)
        if code is None:
            raise
        raise disk_full_error(path, code) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """``payload`` as indented JSON with sorted keys (values JSON cannot hold are written as strings)."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


# -- one writer per folder --------------------------------------------------------------------------------
try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no guard against a second writer there
    fcntl = None

NO_LOCK_VARIABLE = "GANCOURSE_NO_LOCK"
BUSY_ERRNOS = {errno.EWOULDBLOCK, errno.EAGAIN}
OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
              | getattr(os, "O_CLOEXEC", 0))  # O_NONBLOCK: a FIFO planted as the lock must not hang the open

# The locks this process holds: path (folder resolved) -> [file descriptor, depth]. Nested holders share
# one (``train`` locks before loading data, and ``fit`` inside it locks again).
_HELD: dict[Path, list[int]] = {}
_WARNED: set[Path] = set()


def locking_disabled() -> bool:
    return os.environ.get(NO_LOCK_VARIABLE, "").strip() not in ("", "0")


def _refuse(path: Path, what: str) -> LockUnavailable:
    return LockUnavailable(f"{path} is {what}, not a lock file; it was left untouched. Remove it "
                           f"(rm {path}) and run the same command again")


def open_lock_file(path: Path) -> int:
    """A descriptor of ``path`` opened read-write (created if missing), refusing a link or anything but a
    plain file with one name: writing the holder into a planted link would overwrite its target."""
    try:
        fd = os.open(path, OPEN_FLAGS, 0o644)
    except OSError as exc:
        if path.is_symlink():  # ELOOP on Linux, EMLINK on the BSDs
            raise _refuse(path, f"a symbolic link (to {os.readlink(path)})") from None
        if exc.errno == errno.EISDIR or path.is_dir():
            raise _refuse(path, "a directory") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise _refuse(path, "not a regular file" if not stat.S_ISREG(info.st_mode)
                      else f"a file with {info.st_nlink} names (a hard link)")
    return fd


def _still_named(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` holds (a releasing holder may have removed it meanwhile)."""
    try:
        named, held = os.lstat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class FileLock:
    """An exclusive, non-blocking lock on ``path``; ``busy(holder)`` is the error when another process has it.

    ``remove_on_release``: delete the file when the lock is let go (a sweep folder's ``sweep.lock``). Within
    one process the lock nests.
    """

    def __init__(self, path: str | os.PathLike, busy: Callable[[str], UserError], *,
                 remove_on_release: bool = False) -> None:
        self.path = Path(path)
        self._busy = busy
        self._remove = remove_on_release
        self._key: Path | None = None

    def holder(self) -> str:
        """Who holds the lock, as the holder wrote it ("process 123 on host"); "" when unknown."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return ""
        try:
            return os.read(fd, 400).decode(errors="replace").strip() if stat.S_ISREG(os.fstat(fd).st_mode) else ""
        finally:
            os.close(fd)

    def acquire(self) -> FileLock:
        if fcntl is None or self._key is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self.path.parent.resolve() / self.path.name  # the folder resolved, never the lock file itself
        if locking_disabled():
            if key not in _WARNED:
                _WARNED.add(key)
                print(f"[gancourse] warning: {NO_LOCK_VARIABLE} is set: {self.path.parent} is written without "
                      "its lock, so nothing refuses a second process writing into it at the same time",
                      file=sys.stderr)
            return self
        if key in _HELD:
            _HELD[key][1] += 1
            self._key = key
            return self
        while True:
            fd = open_lock_file(self.path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in BUSY_ERRNOS:
                    raise self._busy(self.holder() or "another process") from None
                raise LockUnavailable(
                    f"cannot lock {self.path}: the file system of {self.path.parent} does not support file locks "
                    f"({exc.strerror or exc}; e.g. NFS without a lock daemon, Lustre without flock). Write into a "
                    f"folder on a local disk, or set {NO_LOCK_VARIABLE}=1 to go on without the lock (then nothing "
                    "refuses a second process writing into the same folder)") from None
            if _still_named(fd, self.path):
                break
            os.close(fd)  # the previous holder removed it between our open and our lock: take the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
        _HELD[key] = [fd, 1]
        self._key = key
        return self

    def release(self) -> None:
        if self._key is None:
            return
        entry = _HELD[self._key]
        entry[1] -= 1
        if entry[1] == 0:
            fd = entry[0]
            del _HELD[self._key]
            if self._remove and _still_named(fd, self.path):  # removed while still held: whoever opened
                self.path.unlink(missing_ok=True)  # it meanwhile sees it is gone and opens a new one
            else:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._key = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
