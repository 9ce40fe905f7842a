"""``gancourse doctor``: what this environment has, and what to do about what it lacks."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    advice: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, advice: str = "") -> None:
        self.checks.append(Check(name, ok, detail, advice))

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def render(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = []
        for c in self.checks:
            lines.append(f"{'ok ' if c.ok else '!! '} {c.name:<{width}}  {c.detail}")
            if c.advice:
                lines.append(f"    {'':<{width}}  -> {c.advice}")
        return "\n".join(lines)


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def diagnose(check_data: bool = True) -> Report:
    import torch

    from .data import DATASETS
    from .devices import pick_device
    from .paths import cache_dir, data_root, runs_root

    report = Report()
    report.add("python", True, platform.python_version())
    device = pick_device()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    report.add("torch", True, f"{torch.__version__}, device {device} ({gpu}), {torch.get_num_threads()} CPU threads",
               "" if device.type != "cpu" else "CPU works for every notebook's smoke and quick profiles; "
               "use a GPU (e.g. Colab) for full")
    root = data_root()
    report.add("data root", root.is_dir(), str(root),
               "" if root.is_dir() else f"create it or set GANCOURSE_DATA (mkdir -p {root})")
    if check_data:
        for name, spec in sorted(DATASETS.items()):
            try:
                found = spec.find(root, "train")
            except Exception as exc:  # a broken file is a finding, not a crash of the doctor
                report.add(f"data: {name}", False, f"unreadable: {exc}",
                           f"delete it and run `gancourse download {name}`")
                continue
            if found is not None:
                report.add(f"data: {name}", True, f"{len(found)} images {found.channels}x{found.size}x{found.size}, "
                                                  f"{found.num_classes} classes")
            else:
                how = f"`gancourse download {name}`" if spec.download else "see data/README.md"
                report.add(f"data: {name}", False, "not found", f"{how}; offline the notebooks use a stand-in")
    cache = cache_dir()
    report.add("cache", True, f"{cache} ({_gib(_folder_size(cache))})")
    report.add("runs", True, str(runs_root()))
    probe = root if root.exists() else Path.cwd()
    free = shutil.disk_usage(probe).free
    report.add("free disk", free > 2 * 2**30, f"{_gib(free)} at {probe}",
               "" if free > 2 * 2**30 else "free some space: runs and prepared datasets need a few GiB")
    return report
