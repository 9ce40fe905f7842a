"""``gancourse download``: fetch a dataset into the data root from its official mirrors."""

from __future__ import annotations

import argparse

from .options import parse_assignments


def register(subparsers) -> None:
    from ..data import DATASETS

    p = subparsers.add_parser("download", help="download a dataset into the data root ($GANCOURSE_DATA)")
    p.add_argument("dataset", choices=sorted(DATASETS))
    p.add_argument("--root", default=None, help="data root (default: $GANCOURSE_DATA or data/)")
    p.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="a dataset option, e.g. --data-option categories=apple,cat")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data import download_dataset

    root = download_dataset(args.dataset, args.root, **parse_assignments(args.data_option, "--data-option"))
    print(f"{args.dataset} is in {root}")
    return 0
