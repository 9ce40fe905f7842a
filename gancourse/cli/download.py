"""``gancourse download``: fetch a dataset, the FID Inception weights, or everything the course uses.

``gancourse download all --to DIR`` is for an instructor preparing a class once: it fills DIR with what
every notebook reads (the notebooks' defaults) and lists it in DIR/gancourse-mirror.json. Then either
share DIR (students set GANCOURSE_DATA=DIR; it may be read-only) or serve it over plain HTTP
(``cd DIR && python -m http.server 8000``; students set GANCOURSE_MIRROR=http://HOST:8000 and run
``gancourse download all``): either way, students make no request to any public server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data import DATASETS, course_mirror, download_dataset
from ..errors import UserError
from ..metrics.inception import download_inception
from ..paths import data_root
from .options import parse_assignments

EXTRAS = ("inception", "all")


def course_downloads() -> list[tuple[str, dict]]:
    """(what, options) for everything the notebooks use, with the notebooks' defaults."""
    return [("mnist", {}), ("fashion-mnist", {}), ("quickdraw", {}), ("wikiart", {}), ("monet2photo", {}),
            ("inception", {})]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "download", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=[*sorted(DATASETS), *EXTRAS],
                   help="a dataset, 'inception' (pytorch-fid's FID weights) or 'all' (what the course uses)")
    p.add_argument("--root", "--to", dest="root", default=None,
                   help="data root to fill (default: $GANCOURSE_DATA or data/)")
    p.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                   help="a dataset option, e.g. --data-option categories=apple,cat, --data-option count=1000, "
                        "--data-option keep_shards=true")
    p.set_defaults(func=run)


def fetch(what: str, root: str | None, options: dict) -> str:
    """Download one thing (from the course mirror when ``$GANCOURSE_MIRROR`` is set); returns where it is."""
    if course_mirror.mirror_url() is not None:
        if options:
            raise UserError(f"the course mirror ({course_mirror.mirror_url()}) serves {what} as the instructor "
                            "prepared it; unset GANCOURSE_MIRROR to pass --data-option")
        return str(course_mirror.fetch(what, root if root is not None else data_root()))
    if what == "inception":
        if options:
            raise UserError(f"inception takes no --data-option, got {', '.join(options)}")
        return str(download_inception(root))
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
    if course_mirror.mirror_url() is None:
        folder = Path(args.root) if args.root is not None else data_root()
        try:
            course_mirror.write_manifest(folder)
        except OSError as exc:  # a read-only shared folder: it is already what the class reads
            print(f"(no {course_mirror.MANIFEST} written in {folder}: {exc.strerror or exc})")
            return 0
        print(f"to share it with a class: GANCOURSE_DATA={folder} (a shared folder), or serve it with "
              f"`cd {folder} && python -m http.server 8000` and have students run "
              "`GANCOURSE_MIRROR=http://<this machine>:8000 gancourse download all` (see data/README.md)")
    return 0
