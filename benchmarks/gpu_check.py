"""The prepared GPU check: every numbered notebook in the full profile for a short, fixed budget.

Each notebook runs with papermill in the full profile (what Colab runs on a GPU), every training cut to
``--steps`` steps (``GANCOURSE_STEP_CAP``), into a folder of its own. Per notebook it prints the wall time, the
trainings' steps per second (from their histories), the peak GPU memory (``nvidia-smi``, polled) and the full
profile's projected time: the measured wall time plus each run's remaining planned steps (or seconds) at its
measured rate. The projection counts training alone beyond the cap: evaluations and plots that the full run
repeats more often are not scaled, so it is a lower bound.

    python benchmarks/gpu_check.py                          # on a CUDA machine: fills the GPU table
    python benchmarks/gpu_check.py --only 01 05 --steps 100
    python benchmarks/gpu_check.py --device cpu --dry-run   # the same path on a CPU, 2 steps per training
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gancourse.engine.dry_run import execute_full_profile  # noqa: E402
from gancourse.runs import RunDir  # noqa: E402


class GpuMemoryPoll:
    """The most GPU memory in use while it runs (MiB), polled from ``nvidia-smi``; None without it."""

    def __init__(self, every: float = 0.5) -> None:
        self.every, self.peak, self._stop = every, None, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True) if shutil.which("nvidia-smi") else None

    def _poll(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True).stdout.split()
            if out:
                self.peak = max(self.peak or 0, max(int(v) for v in out))
            self._stop.wait(self.every)

    def __enter__(self) -> GpuMemoryPoll:
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def run_projection(run: Path) -> tuple[int, float, float]:
    """(steps trained, seconds they took, seconds the planned full budget would add) for one run folder."""
    config = RunDir(run).read_config()
    timed = [r for r in RunDir(run).read_history() if "time" in r]
    if not timed:
        return 0, 0.0, 0.0
    steps, seconds = timed[-1]["step"], max(timed[-1]["time"], 1e-9)
    plan = config.get("dry_run", {})
    if plan.get("time_budget"):
        return steps, seconds, max(0.0, plan["time_budget"] - seconds)
    return steps, seconds, max(0, plan.get("steps", steps) - steps) * seconds / steps


def check(notebook: Path, out: Path, steps: int, device: str) -> dict:
    runs = out / notebook.stem
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    env = {"GANCOURSE_DEVICE": device} if device else {}
    start = time.perf_counter()
    with GpuMemoryPoll() as memory:
        proc, _ = execute_full_profile(notebook, runs / "executed.ipynb", runs / "runs", steps, **env)
    wall = time.perf_counter() - start
    if proc.returncode:
        return {"notebook": notebook.stem, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    trained = [run_projection(c.parent) for c in (runs / "runs").rglob("config.json")]
    done, seconds, extra = (sum(t[i] for t in trained) for i in range(3))
    return {"notebook": notebook.stem, "wall_s": wall, "runs": len(trained),
            "steps_per_s": done / seconds if seconds else None, "peak_gpu_mib": memory.peak,
            "projected_full_min": (wall + extra) / 60}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="", help="cuda | cpu | mps (default: what the course picks)")
    parser.add_argument("--steps", type=int, default=200, help="steps per training (default 200)")
    parser.add_argument("--dry-run", action="store_true", help="2 steps per training: checks the path, not speed")
    parser.add_argument("--only", nargs="*", default=[], help="notebook numbers, e.g. 01 05")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu_check")
    args = parser.parse_args(argv)
    import torch

    if args.device in ("", "cuda") and not torch.cuda.is_available() and not args.dry_run:
        print("gpu_check: no CUDA device here; run it on a GPU machine, or with --device cpu --dry-run")
        return 0
    steps = 2 if args.dry_run else args.steps
    notebooks = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                 if not args.only or p.name[:2] in args.only]
    name = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else "CPU"
    print(f"# gpu_check on {name}, torch {torch.__version__}, full profile, {steps} steps per training")
    print("| notebook | wall (s) | runs | steps/s | peak GPU memory (MiB) | full profile, projected (min) |")
    print("| --- | --- | --- | --- | --- | --- |")
    failed = 0
    for notebook in notebooks:
        r = check(notebook, args.out, steps, args.device)
        if "error" in r:
            failed += 1
            print(f"| {r['notebook']} | failed: {r['error'][0]} | | | | |")
            continue
        rate = f"{r['steps_per_s']:.1f}" if r["steps_per_s"] else "-"
        peak = r["peak_gpu_mib"] if r["peak_gpu_mib"] is not None else "n/a"
        print(f"| {r['notebook']} | {r['wall_s']:.0f} | {r['runs']} | {rate} | {peak} | "
              f"{r['projected_full_min']:.1f} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
