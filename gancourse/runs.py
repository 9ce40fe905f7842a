"""The run directory: the one place a training run leaves its traces.

    run/config.json        what was trained, on what data (real or stand-in), with which seed
    run/history.jsonl      one JSON object per logged step (losses) or evaluation (metrics)
    run/samples/           step_000500.png: the fixed-noise grid at that step
    run/checkpoints/       last.pt (resume), generator.pt (sampling only)
    run/metrics.json       the final metrics, with the real-data floor beside FID

Notebooks, the CLI and sweeps all write and read this layout, so one set of tools reads them all.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    os.replace(tmp, path)


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
    generator_path = property(lambda self: self.path / "checkpoints" / "generator.pt")

    def create(self) -> RunDir:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory (no config.json); "
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
            except json.JSONDecodeError:  # a line cut short by a kill: everything before it is good
                break
        return records

    def losses(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" not in r]

    def evaluations(self) -> list[dict[str, Any]]:
        return [r for r in self.read_history() if "eval" in r]

    def truncate_history(self, step: int) -> None:
        """Drop records written after ``step`` (the checkpoint a resumed run restarts from)."""
        kept = [r for r in self.read_history() if r.get("step", 0) <= step]
        tmp = self.history_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
        os.replace(tmp, self.history_path)

    def read_metrics(self) -> dict[str, Any]:
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.is_file() else {}

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json_atomic(self.metrics_path, metrics)

    def sample_paths(self) -> list[Path]:
        return sorted(self.samples_dir.glob("step_*.png"))
