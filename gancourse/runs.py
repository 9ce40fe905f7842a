"""The run directory: the one place a training run leaves its traces.

    run/config.json        what was trained, on what data (real or stand-in), with which seed
    run/history.jsonl      one JSON object per logged step (losses) or evaluation (metrics)
    run/samples/           step_000500.png: the fixed-noise grid at that step
    run/checkpoints/       last.pt (resume), previous.pt (the one before), generator.pt (sampling only)
    run/metrics.json       the final metrics, with the real-data floor beside FID
    run/.lock              held (an OS file lock) by the one process training into it, which it names

Notebooks, the CLI and sweeps all write and read this layout, so one set of tools reads them all.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from .errors import NotARunDirectory, RunDirectoryBusy
from .files import write_json_atomic, write_text_atomic

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no guard against a second writer there
    fcntl = None


class RunDir:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    config_path = property(lambda self: self.path / "config.json")
    history_path = property(lambda self: self.path / "history.jsonl")
    metrics_path = property(lambda self: self.path / "metrics.json")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    previous_checkpoint = property(lambda self: self.path / "checkpoints" / "previous.pt")
    lock_path = property(lambda self: self.path / ".lock")
    generator_path = property(lambda self: self.path / "checkpoints" / "generator.pt")

    def create(self) -> RunDir:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise NotARunDirectory(f"{self.path} is not a run directory (no config.json); "
                                    f"train one with `gancourse train --out {self.path}`")
        return json.loads(self.config_path.read_text())

    def write_config(self, config: dict[str, Any]) -> None:
        write_json_atomic(self.config_path, config)

    def append_history(self, record: dict[str, Any]) -> None:
        with open(self.history_path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def read_history(self) -> list[dict[str, Any]]:
        if not self.history_path.is_file():
            return []
        records = []
        for line in self.history_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a kill (cut from the file on resume)
                continue
        return records

    def losses(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" not in r]

    def evaluations(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" in r]

    def truncate_history(self, step: int) -> None:
        """Drop records written after ``step`` (the checkpoint a resumed run restarts from)."""
        if not self.history_path.is_file():
            return
        kept = [r for r in self.read_history() if r.get("step", 0) <= step]
        write_text_atomic(self.history_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

    def clear_history(self) -> None:
        """Forget the history of a run that restarts from nothing (killed before its first checkpoint)."""
        self.history_path.unlink(missing_ok=True)

    def lock(self) -> RunLock:
        """An exclusive lock on this run directory: ``with run.lock(): ...`` (see :class:`RunLock`)."""
        return RunLock(self.lock_path)

    def read_metrics(self) -> dict[str, Any]:
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.is_file() else {}

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json_atomic(self.metrics_path, metrics)

    def sample_paths(self) -> list[Path]:
        return sorted(self.samples_dir.glob("step_*.png"))


# The run locks this process holds: resolved path -> [file descriptor, depth]. Nested holders share one
# (``train`` locks before loading data, and ``fit`` inside it locks again).
_HELD: dict[Path, list[int]] = {}


class RunLock:
    """An exclusive OS lock (``flock``) on a run directory's ``.lock`` file, which names its holder.

    The kernel releases it when the holding process ends, however it ends (kill -9 included), so a
    stale lock never blocks a rerun. Another process asking for it is refused with
    :class:`~gancourse.errors.RunDirectoryBusy` naming the first; within one process it nests. No-op
    where ``fcntl`` is missing (Windows).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._key: Path | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def acquire(self) -> RunLock:
        if fcntl is None or self._key is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self.path.resolve()
        if key in _HELD:
            _HELD[key][1] += 1
            self._key = key
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            holder = self.holder() or "another process"
            raise RunDirectoryBusy(
                f"{self.path.parent} is being trained by {holder}; wait for it to finish (or stop it), "
                "or train into another directory (--out)") from None
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
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._key = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
