"""``gancourse eval``: score a run's generator (FID, KID, precision/recall, modes) and store the numbers."""

from __future__ import annotations

import argparse

from ..engine.experiment import evaluate_run
from .options import check_at_least


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory made by `gancourse train`")
    p.add_argument("--n", type=int, default=2000, help="number of generated (and real) images to compare")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_at_least(args, {"n": 2})
    metrics = evaluate_run(args.run_dir, n=args.n)
    width = max(map(len, metrics))
    for key, value in metrics.items():
        print(f"{key:<{width}}  {value:.4f}")
    if "fid" in metrics and "fid_floor" in metrics:
        print(f"FID is {metrics['fid'] / max(metrics['fid_floor'], 1e-9):.1f}x the real-vs-real floor")
    return 0
