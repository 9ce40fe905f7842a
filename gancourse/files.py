"""Writing a file so that a kill mid-write never leaves it half-written: the one atomic writer.

The content goes to a temporary file beside the target (same folder, so the same file system), is flushed
to disk, and is renamed over the target in one step: a reader sees the old file or the new one, never a
mix. A failed write removes its temporary file; one left by a kill is named ``.<name>.<random>.tmp`` so
:func:`gancourse.checkpoints.remove_stale_temporaries` finds it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


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
            yield f
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
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
