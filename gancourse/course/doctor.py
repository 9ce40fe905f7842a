"""``gancourse doctor``: what this environment has, and what to do about what it lacks."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data import DATASETS, download_command
from ..data.download import offline
from ..data.quickdraw import STAND_IN_CATEGORIES
from ..devices import pick_device
from ..metrics.inception import DOWNLOAD_COMMAND, inception_weights
from ..paths import cache_dir, data_root, runs_root
from .gpu_memory import MARGIN, gpu_memory_table
from .notebooks import COURSE


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


def dataset_status(name: str, root: Path, options: dict) -> tuple[str, str]:
    """("real" | "stand-in" | "missing" | "broken", detail) for one dataset under ``root``."""
    spec = DATASETS[name]
    try:
        found = spec.find(root, "train", **options)
    except Exception as exc:  # a broken file is a finding, not a crash of the doctor
        return "broken", f"unreadable: {exc}"
    if found is not None:
        size = f"{found.channels}x{found.size}x{found.size}" if hasattr(found, "channels") else "unpaired"
        return "real", f"real, {len(found)} images {size}"
    if offline() or spec.download is None:
        return "stand-in", "missing: the notebook trains on a generated STAND-IN (its numbers mean nothing)"
    return "missing", "missing: downloaded on the notebook's first run (a stand-in if that fails)"


def data_checks(root: Path) -> list[Check]:
    """Per notebook (its manifest entry's datasets): is its data real, a stand-in, or still to download, and how
    big is the download."""
    checks, seen = [], {}
    for notebook in COURSE:
        for name, options in notebook.datasets:
            if options.get("categories") == "COURSE":
                options = {**options, "categories": ",".join(STAND_IN_CATEGORIES)}
            if name not in seen:
                seen[name] = dataset_status(name, root, options)
            state, detail = seen[name]
            size = DATASETS[name].size_note
            command = download_command(name, options if name != "quickdraw" else {})  # its default: the ten
            advice = "" if state == "real" else f"`{command}`" + (f" ({size})" if size else "")
            checks.append(Check(f"{notebook.name}: {name}", state == "real", detail, advice))
    weights = inception_weights()
    if weights is not None:
        checks.append(Check("inception FID (02, 06)", True, f"pytorch-fid's weights at {weights}"))
    else:
        checks.append(Check("inception FID (02, 06)", False, "no weights: Inception FID is skipped",
                            f"`{DOWNLOAD_COMMAND}` (96 MB); optional, the course's own feature networks work "
                            "offline"))
    return checks


def gpu_memory_checks() -> list[Check]:
    """The full profile's largest run per notebook against a 16 GB T4: the memory guard's estimate."""
    return [Check(f"{notebook}: GPU memory (estimate)", fits,
                  f"{fp32:.1f} GiB in fp32, {amp:.1f} GiB with bf16 autocast, of a 16 GB T4's 15",
                  "" if fits else f"over {MARGIN:.0%} of a T4: lower the notebook's batch_size on a 16 GB GPU")
            for notebook, fp32, amp, fits in gpu_memory_table()]


def diagnose(check_data: bool = True, profile: str = "") -> Report:
    """What this environment has; ``profile="full"`` adds the full profile's GPU memory per notebook."""
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
        report.checks.extend(data_checks(root))
    if profile == "full":
        report.checks.extend(gpu_memory_checks())
    cache = cache_dir()
    report.add("cache", True, f"{cache} ({_gib(_folder_size(cache))})")
    report.add("runs", True, str(runs_root()))
    probe = root if root.exists() else Path.cwd()
    free = shutil.disk_usage(probe).free
    report.add("free disk", free > 2 * 2**30, f"{_gib(free)} at {probe}",
               "" if free > 2 * 2**30 else "free some space: runs and prepared datasets need a few GiB")
    return report
