"""``gancourse download``: fetch a dataset, the FID Inception weights, or everything the course uses.

``gancourse download all`` is for an instructor preparing a lab without internet: it fills the data root
with what every notebook reads (the same defaults the notebooks use), then the data root can be copied
and pointed to with ``GANCOURSE_DATA``.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from .options import parse_assignments

EXTRAS = ("inception", "all")


def course_downloads() -> list[tuple[str, dict]]:
    """(what, options) for everything the notebooks use, with the notebooks' defaults."""
    return [("mnist", {}), ("fashion-mnist", {}), ("quickdraw", {}), ("wikiart", {}), ("monet2photo", {}),
            ("inception", {})]


def register(subparsers) -> None:
    from ..data import DATASETS

    p = subparsers.add_parser(
        "download", help="download a dataset (or the FID Inception weights, or all) into the data root",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=[*sorted(DATASETS), *EXTRAS],
                   help="a dataset, 'inception' (pytorch-fid's FID weights) or 'all' (what the course uses)")
    p.add_argument("--root", default=None, help="data root (default: $GANCOURSE_DATA or data/)")
    p.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="a dataset option, e.g. --data-option categories=apple,cat, --data-option count=1000, "
                        "--data-option keep_shards=true")
    p.set_defaults(func=run)


def fetch(what: str, root: str | None, options: dict) -> str:
    """Download one thing; returns where it is."""
    if what == "inception":
        if options:
            raise UserError(f"inception takes no --data-option, got {', '.join(options)}")
        from ..metrics.inception import download_inception

        return str(download_inception(root))
    from ..data import download_dataset

    return str(download_dataset(what, root, **options))


def run(args: argparse.Namespace) -> int:
    options = parse_assignments(args.data_option, "--data-option")
    if args.dataset != "all":
        print(f"{args.dataset} is in {fetch(args.dataset, args.root, options)}")
        return 0
    if options:
        raise UserError("`gancourse download all` uses the notebooks' defaults; pass options to one dataset")
    failed = []
    for what, defaults in course_downloads():
        try:
            print(f"{what}: in {fetch(what, args.root, defaults)}")
        except (RuntimeError, OSError, ValueError) as exc:  # one failure must not stop the others
            failed.append(what)
            print(f"{what}: FAILED: {exc}", file=sys.stderr)
    if failed:
        print(f"gancourse download all: {len(failed)} failed ({', '.join(failed)}); run the same command again "
              "to resume them", file=sys.stderr)
        return 1
    print("everything the course uses is in place; `gancourse doctor` lists it per notebook")
    return 0
