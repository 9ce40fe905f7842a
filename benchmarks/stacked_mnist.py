"""Stacked MNIST on a fixed CPU budget: modes covered and KL from uniform for the collapsing baseline and each cure.

Every variant of ``gancourse.lessons.mode_collapse.CURES`` (the baseline DCGAN whose D is a quarter of G's width, as in
the Unrolled GAN paper; minibatch std, pack 2 and 4, spectral norm in D, layer norm in D, a WGAN-GP critic of the
same width, D of half and full width) trains from the same seed on the same
data order for the same number of generator steps, and is scored by the same evaluator: the MNIST judge read
channel by channel on ``--mode-samples`` samples (modes covered: at least one sample; KL of the 1000-mode
histogram from uniform), FID/precision/recall on ``--feature-samples``. The real data's own count with the
same number of samples is printed as the floor. Notebook 03 runs the same variants.

    GANCOURSE_DATA=../shared/data python benchmarks/stacked_mnist.py           # 9 variants x 1200 steps: ~25 min
    GANCOURSE_DATA=../shared/data python benchmarks/stacked_mnist.py --quick   # under a minute: checks it runs

Runs go to a temporary folder (``--out`` keeps them; an existing run there is resumed, not retrained).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from gancourse.data import load_dataset
from gancourse.engine.comparisons import run_variants, variants_table
from gancourse.engine.spec import RunSpec
from gancourse.lessons import mode_collapse
from gancourse.metrics.stacked import stacked_mnist_evaluator

QUICK_VARIANTS = ("baseline", "pack 2", "WGAN-GP")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of three variants: checks that it runs")
    parser.add_argument("--steps", type=int, default=0,
                        help="generator steps per variant (default 1200: a full-width D draws digits; quick 20)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mode-samples", type=int, default=0, help="samples per mode count (10000; quick 1000)")
    parser.add_argument("--feature-samples", type=int, default=0, help="samples for FID/precision/recall (1000; 300)")
    parser.add_argument("--variants", nargs="*", default=None, choices=list(mode_collapse.CURES),
                        help="which variants (default: all; quick: " + ", ".join(QUICK_VARIANTS) + ")")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps or (20 if args.quick else 1200)
    mode_samples = args.mode_samples or (1000 if args.quick else 10000)
    feature_samples = args.feature_samples or (300 if args.quick else 1000)
    names = args.variants or (list(QUICK_VARIANTS) if args.quick else list(mode_collapse.CURES))

    start = time.perf_counter()
    data = load_dataset("stacked-mnist", "train", allow_stand_in=True)
    evaluator = stacked_mnist_evaluator(data, n=feature_samples, n_modes=mode_samples, progress=False)
    setup_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="stacked-mnist-bench-") as scratch:
        out = args.out or Path(scratch)
        base = RunSpec("stacked-mnist", recipe_options=mode_collapse.BASELINE, seed=args.seed,
                       batch_size=args.batch_size, steps=steps)
        results = run_variants(base, mode_collapse.cure_variants(names), out_root=out, data=data,
                               evaluator=evaluator, progress=False)
    table = variants_table(results, metrics=("modes", "kl_uniform", "kl_per_channel", "recall", "precision", "fid"))

    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\nstacked MNIST ({data.source} data), {steps} generator steps of {args.batch_size} per variant, "
              f"seed {args.seed}; baseline: {mode_collapse.BASELINE}")
        print(f"modes and KL on {evaluator.n_modes} samples, FID/precision/recall on {evaluator.n}; "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}")
        print(table.drop(columns=["steps"]).round(3).to_string())
        print(f"real data, same {evaluator.n_modes} samples: {evaluator.floor['modes_floor']:.0f} modes, "
              f"KL {evaluator.floor['kl_floor']:.3f}; real-vs-real FID {evaluator.floor['fid_floor']:.2f}")
        print(f"setup (data, judge, real features) {setup_s:.0f} s; total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
