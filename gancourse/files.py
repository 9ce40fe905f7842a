"""Writing a file so that a kill mid-write never leaves it half-written: the one atomic writer.

The content goes to a temporary file beside the target (same folder, so the same file system), is flushed
to disk, and is renamed over the target in one step: a reader sees the old file or the new one, never a
mix. A failed write removes its temporary file; one left by a kill is named ``.<name>.<random>.tmp`` so
:func:`gancourse.checkpoints.remove_stale_temporaries` finds it. A full disk (or quota) anywhere in the
write is :class:`~gancourse.errors.DiskFull`, one line that says the old file is intact. The new file gets
the permissions of any file this process creates (``0o666`` less the umask), not ``mkstemp``'s private 0600,
so a run folder shared with a group stays readable.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import DiskFull

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
