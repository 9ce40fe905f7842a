"""DCGAN, WGAN (clipping) and WGAN-GP on MNIST at an equal wall-clock budget: FID, and does the loss track FID?

Each recipe's steps per second are measured on this machine first (``gancourse.engine.budget``), then each is
trained for the number of steps that fills the same budget, from the same seed, and scored by the same
evaluator (notebook 01's judge, the same samples) several times during training. Printed:

- the final FID of each recipe beside the real-vs-real floor, with its steps and the seconds its run took
  (training plus its evaluations; the budget counts training steps only);
- for each logged loss (the critic's ``w_estimate`` for the WGANs, ``loss_d`` and ``loss_g`` for DCGAN),
  its Pearson and Spearman correlation with FID across the evaluations of its run
  (``gancourse.metrics.tracking``): positive means the loss falls when FID falls.

    GANCOURSE_DATA=../shared/data python benchmarks/wgan_vs_dcgan.py           # 3 x 300 s, ~20 min of one core
    GANCOURSE_DATA=../shared/data python benchmarks/wgan_vs_dcgan.py --quick   # 3 x 8 s, ~1 min

What the figures can say: which recipe is ahead at *this* budget on *this* machine (a GPU, or a longer
budget, can change the order), and whether a loss moved with FID within one run. With few evaluations a
correlation is a rough indication; compare seeds (``--seed``) before concluding.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.data import load_dataset  # noqa: E402
from gancourse.engine.budget import equal_time_steps, measure_step_rate  # noqa: E402
from gancourse.engine.experiment import make_evaluator, matching_test_split, train  # noqa: E402
from gancourse.engine.spec import RunSpec  # noqa: E402
from gancourse.metrics.tracking import loss_tracking  # noqa: E402

# The recipes as notebook 04 sets them up (its default parameters).
VARIANTS = {"dcgan": {}, "wgan": {"n_critic": 5, "clip": 0.01}, "wgan-gp": {"n_critic": 5, "gp_weight": 10.0}}
LOSSES = {"dcgan": ("loss_d", "loss_g"), "wgan": ("w_estimate",), "wgan-gp": ("w_estimate",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a check that the script works: 8 s per recipe")
    parser.add_argument("--seconds", type=float, default=0, help="training budget per recipe (default 300; quick 8)")
    parser.add_argument("--evaluations", type=int, default=0, help="FID evaluations per run (default 10; quick 3)")
    parser.add_argument("--samples", type=int, default=0, help="samples per FID (default 2000; quick 500)")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args()
    # 300 s: WGAN-GP's estimate rises for its first ~150 steps while the critic learns, then falls with FID;
    # at 90 s on one busy core (80 steps) only the rise was measured, and the correlation came out negative.
    seconds = args.seconds or (8 if args.quick else 300)
    evaluations = args.evaluations or (3 if args.quick else 10)
    samples = args.samples or (500 if args.quick else 2000)
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_dataset(args.dataset, "train")
    print(f"{args.dataset}: {len(data)} images | {seconds:g} s per recipe | {evaluations} evaluations of {samples} "
          f"samples | torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or '?'}")
    start = time.perf_counter()
    evaluator = make_evaluator(data, samples, test=matching_test_split(args.dataset, data), progress=False)
    print(f"evaluator ready in {time.perf_counter() - start:.0f} s (the judge is cached after its first training)")
    rates = {name: measure_step_rate(name, data, steps=3, **options) for name, options in VARIANTS.items()}
    # at least 10 steps per evaluation: fit logs losses every 10 steps, and each evaluation needs one before it
    steps = equal_time_steps(rates, seconds, minimum=10 * evaluations)

    with tempfile.TemporaryDirectory(prefix="wgan-vs-dcgan-") as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        rows, tracking = [], []
        for name, options in VARIANTS.items():
            spec = RunSpec(args.dataset, name, recipe_options=options, seed=args.seed, steps=steps[name],
                           eval_every=max(1, steps[name] // evaluations))
            result = train(spec, out=root / spec.run_name(data.source), data=data, evaluator=evaluator,
                           progress=False)
            m = result.metrics
            rows.append((name, steps[name], rates[name], result.wall_time, m["fid"], m.get("fid_floor", float("nan"))))
            tracking += [loss_tracking(result.run, key, name=name) for key in LOSSES[name]]

        print(f"\nFID at an equal budget of {seconds:g} s per recipe (lower is better; the floor is real vs real)")
        print(f"{'recipe':<9} {'steps':>6} {'steps/s':>8} {'run s':>8} {'FID':>8} {'floor':>7} {'x floor':>8}")
        for name, n, rate, wall, fid, floor in rows:
            print(f"{name:<9} {n:>6} {rate:>8.2f} {wall:>8.1f} {fid:>8.2f} {floor:>7.2f} {fid / floor:>8.1f}")
        print("\nDoes the loss track FID over training? (correlation across evaluations; positive = falls with FID)")
        print(f"{'recipe':<9} {'loss':<11} {'evals':>5} {'pearson r':>10} {'spearman':>9}")
        for t in tracking:
            print(f"{t.run:<9} {t.loss_key:<11} {t.n:>5} {t.pearson:>10.2f} {t.spearman:>9.2f}")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
