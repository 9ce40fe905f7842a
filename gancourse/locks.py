"""An exclusive OS lock on a file that names its holder: one writer per run directory or sweep folder.

``flock`` is released by the kernel when the holding process ends, however it ends (kill -9 included), so
a stale lock never blocks a rerun. The lock file lives in a folder a user (or anyone who can write there)
controls, so it is opened without following a symbolic link and must be a plain file with one name; it is
truncated only once the lock is held (a busy lock keeps its holder's name). Only "would block" means busy:
any other ``flock`` failure is a file system without locks (NFS without a lock daemon, Lustre without
flock), said as such, with ``GANCOURSE_NO_LOCK=1`` as the way to go on without one. No-op where ``fcntl``
is missing (Windows).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import LockUnavailable, UserError

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
