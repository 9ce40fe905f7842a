"""Conditional accuracy of the Quick Draw cGAN after notebook 05's quick-profile budget, overall and per category.

Trains ``gancourse train --recipe cgan --dataset quickdraw`` with notebook 05's quick profile (its default
categories, up to 5,000 drawings each, 1,000 steps of 64, the recipe's defaults: projection + AC-GAN class
head + minibatch std), then asks the generator for ``--per-class``
drawings of every category and lets the judge (trained on the same categories) label them. Printed: the
conditional accuracy per category and overall (target: >= 90% overall), the judge's own accuracy on
real test drawings beside it, FID per category with its real-vs-real floor, and the spread (generated over
real mean feature distance per category: 1 = real variety, near 0 = one drawing again and again).

    GANCOURSE_DATA=/work/shared/data python benchmarks/cgan_accuracy.py           # ~4-5 min on 2 cores
    GANCOURSE_DATA=/work/shared/data python benchmarks/cgan_accuracy.py --quick   # 300 steps, ~1-2 min

Measured (seed 0, --threads 1, 300 per category, on a busy machine): 98.6% overall at 1,000 steps, judge on
real 91.9%, FID 43 (floor 0.3), spread 0.33; at 1,500 steps 96.0%, FID 55, spread 0.22; at 2,000 steps
84.6%, FID 76, spread 0.13 (more steps: fewer kinds of drawing per category).

What the figures can say: agreement of the generated drawings with this judge, which itself errs on real
drawings (read accuracy against its real-data accuracy); per category, the standard error is about
sqrt(p (1 - p) / n): +-1 point at n = 1000 and p = 0.9. FID per category and the spread catch what
accuracy cannot (a generator drawing one perfect cat again and again). Without the real files the run uses
the stand-in and says so: its figures are not about Quick Draw.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.data import load_dataset  # noqa: E402
from gancourse.data.quickdraw import parse_categories  # noqa: E402
from gancourse.engine.experiment import train  # noqa: E402
from gancourse.engine.spec import RunSpec  # noqa: E402
from gancourse.metrics.conditional import ConditionalEvaluator  # noqa: E402

# Notebook 05's defaults and quick profile (keep them in step with its parameters cell).
CATEGORIES = "airplane,apple,bicycle,cat,circle,crown,diamond,eye,fish,star"
QUICK_PROFILE = {"max_per_class": 5000, "steps": 1000, "batch_size": 64}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a check that the script works: 300 steps")
    parser.add_argument("--categories", default=CATEGORIES, help="comma-separated Quick Draw categories")
    parser.add_argument("--steps", type=int, default=0, help=f"default {QUICK_PROFILE['steps']}; quick 300")
    parser.add_argument("--max-per-class", type=int, default=QUICK_PROFILE["max_per_class"])
    parser.add_argument("--per-class", type=int, default=0,
                        help="samples per category to score (default 1000; quick 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=None, help="run directory (default: a temporary folder)")
    args = parser.parse_args()
    steps = args.steps or (300 if args.quick else QUICK_PROFILE["steps"])
    per_class = args.per_class or (100 if args.quick else 1000)
    if args.threads:
        torch.set_num_threads(args.threads)

    options = {"categories": parse_categories(args.categories), "max_per_class": args.max_per_class}
    data = load_dataset("quickdraw", "train", allow_stand_in=True, **options)
    test = load_dataset("quickdraw", "test", allow_stand_in=True, **options)
    print(f"{data.describe()} | {steps} steps of {QUICK_PROFILE['batch_size']} | {per_class} samples per category "
          f"| torch {torch.__version__}, {torch.get_num_threads()} threads")
    start = time.perf_counter()
    evaluator = ConditionalEvaluator(data, test, n_per_class=per_class, seed=args.seed, progress=False)
    judge_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="cgan-accuracy-") as tmp:
        spec = RunSpec("quickdraw", "cgan", data_options=options, allow_stand_in=True, steps=steps,
                       batch_size=QUICK_PROFILE["batch_size"], seed=args.seed)
        result = train(spec, out=args.out or Path(tmp) / "run", data=data, evaluator=evaluator, progress=False)
    report = evaluator.last_report
    print(f"\njudge ready in {judge_s:.0f} s; training {result.step} steps took {result.wall_time:.0f} s\n")
    print(report.table())
    verdict = "met" if report.accuracy >= 0.9 else "NOT met"
    print(f"\noverall conditional accuracy {report.accuracy:.1%} (target >= 90%: {verdict}); "
          f"lowest category: {min(report.per_class_accuracy, key=report.per_class_accuracy.get)}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
