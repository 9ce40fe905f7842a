"""``gancourse train``: train a recipe on a dataset into a run directory; the same command resumes.

The flags that set the run (``--steps``, ``--batch-size``, ``--no-eval``, ...) are generated from the
fields of :class:`~gancourse.engine.spec.RunSpec` (their help, least values and choices), as cleanrl turns
one ``Args`` dataclass into flags; the spec then checks the values, once, and a value it refuses is one
line naming the flag. ``--recipe NAME --options`` lists what ``--set`` takes.

Under torchrun (``torchrun --nproc_per_node N -m gancourse train ...``) every process runs this command
and together they train one run (see ``gancourse.engine.distributed``); ``--distributed`` insists on that.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from typing import Any

from ..data import DATASETS, load_dataset
from ..engine import distributed
from ..engine.experiment import train
from ..engine.run_options import describe_options
from ..engine.spec import BadValue, RunSpec
from ..errors import UserError
from .options import parse_assignments


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows the default of options that take one, unless their help says it (an on/off flag: always "off")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        said = action.nargs == 0 or action.default is None or "default" in (action.help or "")
        return action.help if said else super()._get_help_string(action)


def spec_fields() -> list[dataclasses.Field]:
    """The RunSpec fields that have a flag (their metadata names it)."""
    return [f for f in dataclasses.fields(RunSpec) if "flag" in f.metadata]


def add_spec_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunSpec field that names one, with the field's default, help, choices and type."""
    types = typing.get_type_hints(RunSpec)
    for f in spec_fields():
        meta, kind = f.metadata, types[f.name]
        if kind is bool:  # a flag that switches away from the default: --flip on, --no-eval off
            parser.add_argument(meta["flag"], dest=f.name, action="store_false" if f.default else "store_true",
                                help=meta["help"])
            continue
        value_type = next(t for t in (int, float, str) if t in (kind, *typing.get_args(kind)))
        parser.add_argument(meta["flag"], dest=f.name, type=value_type, default=f.default, help=meta["help"],
                            choices=meta.get("choices"), metavar=meta.get("metavar"))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", description="Train a GAN. Running the same command again resumes from the run's last checkpoint; "
                             "a larger --steps extends a finished run.",
        formatter_class=_HelpWithDefaults)
    add_spec_flags(p)
    p.add_argument("--out", default=None,
                   help="run directory (default: runs/<dataset>-<recipe>-<options>-seed<seed>-<hash>, "
                        "named by the run's settings)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a recipe option, e.g. --set lr_d=4e-4 --set d_norm=spectral (repeatable); "
                        "--recipe NAME --options lists them with their defaults")
    p.add_argument("--options", action="store_true", help="list the recipe's options (--set) and exit")
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


def spec_from(args: argparse.Namespace) -> RunSpec:
    """The run the flags describe, checked by RunSpec; a value it refuses is one line naming its flag."""
    data_options = parse_assignments(args.data_option, "--data-option")
    if args.categories is not None:
        _add_categories(args.dataset, args.categories, data_options)
    values = {f.name: getattr(args, f.name) for f in spec_fields()}
    try:
        spec = RunSpec(**values, data_options=data_options, recipe_options=parse_assignments(args.set, "--set"))
    except BadValue as bad:
        raise UserError(f"{flag_of(bad.name)} {bad.problem}") from None
    spec.check_budget_given()  # before a torchrun group forms or anything loads
    return spec


def flag_of(name: str) -> str:
    """The flag that sets RunSpec field ``name`` (``time_budget`` -> ``--time-budget``)."""
    return RunSpec.__dataclass_fields__[name].metadata.get("flag", name)


def run(args: argparse.Namespace) -> int:
    if args.options:
        print(describe_options(args.recipe))
        return 0
    spec = spec_from(args)
    parallel = args.distributed or distributed.launched_by_torchrun()
    data, main_process = None, True
    if parallel:
        distributed.init(args.device)
        main_process = distributed.is_main()
    try:
        if parallel:
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


def _add_categories(dataset: str, categories: str, data_options: dict[str, Any]) -> None:
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
