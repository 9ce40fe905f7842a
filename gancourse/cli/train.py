"""``gancourse train``: train a recipe on a dataset into a run directory; the same command resumes.

Under torchrun (``torchrun --nproc_per_node N -m gancourse train ...``) every process runs this command
and together they train one run (see ``gancourse.engine.distributed``); ``--distributed`` insists on that.
"""

from __future__ import annotations

import argparse
import json

from ..errors import UserError
from .options import check_at_least, check_finite, check_seed, parse_assignments

# The least each numeric flag accepts (0 means "the default" or "off" where it is allowed).
MINIMUMS = {"steps": 0, "epochs": 0, "time_budget": 0, "batch_size": 1, "limit": 0, "eval_every": 0,
            "eval_samples": 2, "sample_every": 0}


def register(subparsers) -> None:
    from ..data import DATASETS
    from ..recipes import RECIPES

    p = subparsers.add_parser(
        "train", help="train a GAN into a run directory (run it again to resume)",
        description="Train a GAN. Running the same command again resumes from the run's last checkpoint; "
                    "a larger --steps extends a finished run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    p.add_argument("--recipe", default="dcgan", choices=sorted(RECIPES))
    p.add_argument("--steps", type=int, default=0, help="number of training steps")
    p.add_argument("--epochs", type=float, default=0, help="or a number of epochs")
    p.add_argument("--time-budget", type=float, default=0, metavar="SECONDS", help="or a wall-clock budget")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per step (default: the recipe's: 64, CycleGAN 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="run directory (default: runs/<dataset>-<recipe>-<options>-seed<seed>-<hash>, "
                        "named by the run's settings)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--flip", action="store_true", help="random horizontal flips")
    p.add_argument("--allow-stand-in", action="store_true",
                   help="train on a generated stand-in when the real data is missing (offline)")
    p.add_argument("--eval-every", type=int, default=0, help="evaluate metrics every N steps (0: at the end)")
    p.add_argument("--eval-samples", type=int, default=2000, help="generated (and real) images per evaluation")
    p.add_argument("--no-eval", action="store_true", help="skip metrics")
    p.add_argument("--sample-every", type=int, default=0, help="save a sample grid every N steps")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a recipe option, e.g. --set lr_d=4e-4 --set d_norm=spectral (repeatable)")
    p.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="a dataset option, e.g. --data-option categories=apple,cat (repeatable)")
    p.add_argument("--categories", default=None, metavar="A,B,...",
                   help="the classes to train on, for datasets that take them (quickdraw: apple,cat,...); "
                        "short for --data-option categories=A,B,...")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="train with the N processes torchrun starts: torchrun --nproc_per_node N -m gancourse "
                        "train ... (detected under torchrun anyway; --batch-size is the global batch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import distributed
    from ..engine.experiment import train
    from ..engine.spec import RunSpec

    check_at_least(args, MINIMUMS)
    check_finite(args, ("epochs", "time_budget"))
    check_seed(args.seed)
    if not (args.steps or args.epochs or args.time_budget):
        raise UserError("give a budget: --steps N, --epochs E or --time-budget SECONDS")
    recipe_options = parse_assignments(args.set, "--set")
    data_options = parse_assignments(args.data_option, "--data-option")
    if args.categories is not None:
        _add_categories(args.dataset, args.categories, data_options)
    spec = RunSpec(args.dataset, args.recipe, data_options=data_options, recipe_options=recipe_options,
                   seed=args.seed, batch_size=args.batch_size, flip=args.flip, limit=args.limit,
                   allow_stand_in=args.allow_stand_in, steps=args.steps, epochs=args.epochs,
                   time_budget=args.time_budget, evaluate=not args.no_eval, eval_every=args.eval_every,
                   eval_samples=args.eval_samples, sample_every=args.sample_every)
    if args.out is None:
        _point_at_the_old_default(spec)
    parallel = args.distributed or distributed.launched_by_torchrun()
    data, main_process = None, True
    if parallel:
        distributed.init(args.device)
        main_process = distributed.is_main()
    try:
        if parallel:
            from ..data import load_dataset

            with distributed.main_first():  # rank 0 downloads and prepares caches; the others then read them
                data = load_dataset(spec.dataset, "train", allow_stand_in=spec.allow_stand_in, limit=spec.limit,
                                    **spec.data_options)
            spec = spec.replace(evaluate=spec.evaluate and main_process)  # rank 0 alone evaluates
        result = train(spec, out=args.out, data=data, device=args.device, progress=not args.quiet)
    finally:
        if parallel:
            distributed.cleanup()
    if not main_process:
        return 0
    print(f"run directory: {result.run.path}")
    print(f"steps: {result.step} ({result.stopped_by}), wall time {result.wall_time:.1f} s")
    if result.metrics:
        print("metrics: " + json.dumps({k: round(v, 4) for k, v in result.metrics.items()}))
    return 0


def _point_at_the_old_default(spec) -> None:
    """Run directories used to be named ``<dataset>-<recipe>-seed<seed>``: say how to resume such a run."""
    import sys

    from ..paths import runs_root

    old = runs_root() / f"{spec.dataset}-{spec.recipe}-seed{spec.seed}"
    if (old / "config.json").is_file():
        print(f"[gancourse] note: {old} holds a run named the old way (before run names listed the settings); "
              f"this command trains into a directory named by its settings. To resume the old run: --out {old}",
              file=sys.stderr)


def _add_categories(dataset: str, categories: str, data_options: dict) -> None:
    from ..data import DATASETS

    if "categories" not in DATASETS[dataset].options:
        raise UserError(f"--categories: {dataset} takes no categories; datasets that do: "
                         f"{', '.join(n for n, s in sorted(DATASETS.items()) if 'categories' in s.options)}")
    if "categories" in data_options:
        raise UserError("give the categories once: --categories or --data-option categories=..., not both")
    names = [c.strip() for c in categories.split(",") if c.strip()]
    if not names:  # "--categories ," once trained on the default categories without a word
        raise UserError(f"--categories {categories!r} names no category; give at least one, e.g. --categories "
                        "apple,cat (or leave the flag out for the default ones)")
    data_options["categories"] = names
