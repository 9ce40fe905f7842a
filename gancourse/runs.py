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
import sys
from pathlib import Path
from typing import Any

from .errors import NotARunDirectory, RunDirectoryBusy, UserError
from .files import FileLock, write_json_atomic, write_text_atomic

TIMING_FILE = "timing.json"  # the seconds per phase of training (engine.phase_times)


class RunFileDamaged(UserError):
    """A run directory's config.json cannot be read back (cut short, empty, not a JSON object)."""


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
    timing_path = property(lambda self: self.path / TIMING_FILE)

    def create(self) -> RunDir:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._refuse_folders_where_files_go()
        return self

    def _refuse_folders_where_files_go(self) -> None:
        """A folder named ``last.pt`` (or config.json, ...) would fail the first save, after the training: fail now."""
        for path in (self.config_path, self.history_path, self.metrics_path, self.last_checkpoint,
                     self.previous_checkpoint, self.generator_path, self.timing_path):
            if path.exists() and not path.is_file():
                raise UserError(f"{path} is a folder (or another non-file) where the run keeps a file, so the run "
                                f"could not save it; move it aside (mv {path} {path}.old) and run the same "
                                "command again")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> dict[str, Any]:
        """config.json as a dict; a missing or damaged one is one line that says what to do."""
        path = self.config_path
        if not path.is_file():
            checkpoints = [p.name for p in (self.last_checkpoint, self.previous_checkpoint, self.generator_path)
                           if p.exists()]
            if checkpoints:  # training again into it would meet the same missing file: say what does work
                raise NotARunDirectory(
                    f"{self.path} holds checkpoints ({', '.join(checkpoints)}) but no config.json (deleted, or never "
                    f"written), so what they were trained with is unknown and they cannot be resumed or read. "
                    f"Restore config.json from a copy, or move the folder aside (mv {self.path} {self.path}.old) "
                    "and train again")
            raise NotARunDirectory(f"{self.path} is not a run directory (no config.json); "
                                    f"train one with `gancourse train --out {self.path}`")
        try:
            config = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            config, reason = None, f"{type(exc).__name__}: {exc}"
        else:
            reason = f"a JSON {type(config).__name__}, not an object"
        if not isinstance(config, dict):
            raise RunFileDamaged(
                f"{path} is damaged ({'empty' if not path.stat().st_size else reason}), so this run's settings are "
                f"unknown. Restore it from a copy, or move the folder aside (mv {self.path} {self.path}.old) and "
                "train again")
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        write_json_atomic(self.config_path, config)

    def append_history(self, record: dict[str, Any]) -> None:
        with open(self.history_path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def read_history(self) -> list[dict[str, Any]]:
        """The records of history.jsonl; lines that are not a JSON object are skipped (see ``_read_history``)."""
        return self._read_history()[0]

    def _read_history(self) -> tuple[list[dict[str, Any]], list[bytes]]:
        """(records, unreadable lines). A last line without its newline was cut short by a kill: dropped
        silently. Any other line that is not a UTF-8 JSON object (a hand edit, a disk error) is skipped with
        a warning; a resume moves it to ``history.jsonl.unreadable`` (:meth:`truncate_history`)."""
        if not self.history_path.is_file():
            return [], []
        lines = self.history_path.read_bytes().split(b"\n")
        records, bad = [], []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if isinstance(record, dict) and isinstance(record.get("step", 0), (int, float)):
                records.append(record)
            elif number < len(lines):  # the last piece has no newline after it: cut short, not damage
                bad.append(line)
        if bad:
            _warn_once(f"[gancourse] {self.history_path}: skipped {len(bad)} line(s) that are not JSON objects "
                       f"(a resume keeps them in {self.history_path.name}.unreadable)")
        return records, bad

    def losses(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" not in r]

    def evaluations(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" in r]

    def truncate_history(self, step: int) -> None:
        """Drop records written after ``step`` (the checkpoint a resumed run restarts from)."""
        if not self.history_path.is_file():
            return
        records, bad = self._read_history()
        if bad:  # kept for a look, out of the way of the readers
            with open(self.history_path.with_name(self.history_path.name + ".unreadable"), "ab") as f:
                f.write(b"".join(line + b"\n" for line in bad))
        kept = [r for r in records if r.get("step", 0) <= step]
        write_text_atomic(self.history_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

    def clear_history(self) -> None:
        """Forget the history of a run that restarts from nothing (killed before its first checkpoint)."""
        self.history_path.unlink(missing_ok=True)

    def lock(self) -> RunLock:
        """An exclusive lock on this run directory: ``with run.lock(): ...`` (see :class:`RunLock`)."""
        return RunLock(self.lock_path)

    def read_metrics(self) -> dict[str, Any]:
        """metrics.json, or {} when there is none or it is damaged (new metrics then replace it)."""
        metrics = self._stored_metrics()
        if metrics is None:
            _warn_once(f"[gancourse] {self.metrics_path} is damaged (not a JSON object); ignoring it")
        return metrics or {}

    def _stored_metrics(self) -> dict[str, Any] | None:
        """The metrics on disk: {} when there are none, None when the file is damaged."""
        if not self.metrics_path.exists():
            return {}
        try:
            metrics = json.loads(self.metrics_path.read_bytes())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return metrics if isinstance(metrics, dict) else None

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Store ``metrics``; a damaged metrics.json is moved aside (``metrics.json.damaged``), never in the way."""
        if self._stored_metrics() is None:
            aside = self.metrics_path.with_name(self.metrics_path.name + ".damaged")
            self.metrics_path.replace(aside)
            print(f"[gancourse] {self.metrics_path} was damaged; moved it to {aside.name}", file=sys.stderr)
        write_json_atomic(self.metrics_path, metrics)

    def sample_paths(self) -> list[Path]:
        return sorted(self.samples_dir.glob("step_*.png"))


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    """Print ``message`` to stderr the first time only: the readers of a run read it many times."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(message, file=sys.stderr)


class RunLock(FileLock):
    """The exclusive OS lock (``flock``) on a run directory's ``.lock`` file, which names its holder.

    Another process asking for it is refused with :class:`~gancourse.errors.RunDirectoryBusy` naming the
    first; the rest (released by the kernel however its holder dies, no symlinks followed, a file system
    without locks said as such) is :class:`~gancourse.files.FileLock`'s.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        folder = Path(path).parent
        super().__init__(path, lambda holder: RunDirectoryBusy(
            f"{folder} is being trained by {holder}; wait for it to finish (or stop it), "
            "or train into another directory (--out)"))
