"""The compute ladder (issue 30): what 5, 20 and 60 CPU-minutes buy on WikiArt 64 px, recipe by recipe.

Each candidate recipe and seed is one run of ``gancourse train --time-budget`` on one CPU thread; two runs train
at once (``--jobs``, one per core), so the budget is CPU time as well as wall time, with the cores otherwise
idle. The ladder climbs by resuming: a run trained for 5 minutes is extended to 20, then to 60 (a time budget
counts every sitting), so each rung costs only its own minutes; a run missing from ``--out`` trains from the
start for the whole budget. After each
rung every run is scored by ``long_training.py``'s yardsticks (the course's painting features, a random
ResNet-18, the two-sample test; an 8x8 grid of samples each) into ``<out>/<minutes>min/``.

    GANCOURSE_DATA=../shared/data python benchmarks/compute_ladder.py --minutes 5 --seeds 0 1 \\
        --out runs/benchmarks/ladder
    GANCOURSE_DATA=../shared/data python benchmarks/compute_ladder.py --minutes 5 20 --seeds 0 1 \\
        --out runs/benchmarks/ladder          # the 5-minute runs go on to 20 minutes

The candidates (``--only`` picks some by key): notebook 02's main run (resize-convolution G, EMA of G, batch
32, width 32), then the same with DiffAugment, with lazy R1 and a D without normalisation, and with R3GAN's
relativistic loss and lazy R1 + R2 (D without normalisation), and FastGAN-style networks (``--recipe fastgan``:
skip-layer excitation in G, a D that also redraws the real images) trained as the DiffAugment candidate is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

NOTEBOOK_02 = {"g_width": 32, "d_width": 32, "nz": 100, "upsample": "nearest", "ema": 1000}
LAZY = {"d_norm": "none", "penalty_every": 16}  # StyleGAN2's lazy regularisation; gamma as notebook 02's 6b
CANDIDATES: dict[str, tuple[str, dict]] = {
    "nb02": ("notebook 02's main run", NOTEBOOK_02),
    "diffaugment": ("+ DiffAugment (colour, translation, cutout)",
                    {**NOTEBOOK_02, "diffaugment": "color,translation,cutout"}),
    "r1": ("+ lazy R1 (0.0256), D without norm", {**NOTEBOOK_02, **LAZY, "r1": 0.0256}),
    "r3gan": ("relativistic loss + lazy R1 and R2 (0.0256), D without norm",
              {**NOTEBOOK_02, **LAZY, "loss": "relativistic", "r1": 0.0256, "r2": 0.0256}),
    # FastGAN's networks (skip-layer excitation, D that redraws the reals) with the DiffAugment candidate's
    # training: the difference between the two is the architecture
    "fastgan": ("FastGAN-style G and D + DiffAugment",
                {"recipe": "fastgan", **{k: v for k, v in NOTEBOOK_02.items() if k != "upsample"},
                 "diffaugment": "color,translation,cutout"}),
}
HERE = Path(__file__).resolve().parent


def train_command(key: str, seed: int, minutes: float, out: Path) -> list[str]:
    options = dict(CANDIDATES[key][1])
    recipe = options.pop("recipe", "dcgan")
    sets = [arg for name, value in options.items() for arg in ("--set", f"{name}={value}")]
    return [sys.executable, "-m", "gancourse", "train", "--dataset", "wikiart", "--recipe", recipe,
            "--data-option", "size=64", "--batch-size", "32", "--flip", *sets, "--seed", str(seed),
            "--time-budget", str(round(minutes * 60)), "--no-eval", "--quiet", "--out", str(out)]


def train_all(runs: dict[str, list[str]], jobs: int, logs: Path) -> dict[str, int]:
    """Run every command, ``jobs`` at a time on one thread each; returns each run's exit code."""
    pending, running, codes = list(runs.items()), {}, {}
    environment = {**os.environ, "GANCOURSE_THREADS": "1"}
    while pending or running:
        while pending and len(running) < jobs:
            name, command = pending.pop(0)
            log = open(logs / f"{name}.log", "a")  # noqa: SIM115 - the child writes it; closed when it ends
            running[name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment), log)
            print(f"training {name}: {' '.join(command[1:])}", flush=True)
        time.sleep(1)
        for name, (process, log) in list(running.items()):
            if process.poll() is not None:
                log.close()
                codes[name] = process.returncode
                del running[name]
                print(f"{name}: exit code {process.returncode}", flush=True)
    return codes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 60], help="the rungs, in CPU-minutes")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one CPU thread each")
    p.add_argument("--test-seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the two-sample test")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/ladder"))
    args = p.parse_args()
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    for minutes in sorted(args.minutes):
        runs = {f"{key}-seed{seed}": train_command(key, seed, minutes, args.out / "runs" / f"{key}-seed{seed}")
                for key in args.only for seed in args.seeds}
        codes = train_all(runs, args.jobs, args.out / "logs")
        trained = [name for name, code in codes.items() if code == 0]
        if not trained:
            sys.exit(f"compute_ladder.py: no run trained at {minutes:g} min; see {args.out / 'logs'}")
        rung = args.out / f"{minutes:g}min"
        labels = [f"{name}={args.out / 'runs' / name}" for name in sorted(trained)]
        score = [sys.executable, str(HERE / "long_training.py"), *labels, "--seeds", *map(str, args.test_seeds),
                 "--out", str(rung)]
        print(f"scoring the {minutes:g}-minute rung: {' '.join(score[1:])}", flush=True)
        subprocess.run(score, check=True, env={**os.environ, "GANCOURSE_THREADS": str(args.jobs)})
        (rung / "ladder.json").write_text(json.dumps({
            "minutes": minutes, "candidates": {key: CANDIDATES[key] for key in args.only}, "seeds": args.seeds,
            "failed": {name: code for name, code in codes.items() if code}, "command": sys.argv,
            "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores"}, indent=1))


if __name__ == "__main__":
    main()
