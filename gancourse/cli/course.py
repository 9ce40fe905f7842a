"""``gancourse course``: execute the notebook sequence with papermill into runs/course/ with an index page."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..course.profiles import PROFILES
from ..course.runner import course_notebooks, run_course
from ..errors import UserError
from ..paths import runs_root


def register(subparsers) -> None:
    p = subparsers.add_parser("course")
    p.add_argument("--profile", default="quick", choices=PROFILES, help="(default: quick)")
    p.add_argument("--out", default=None, help="output folder (default: runs/course); the notebooks' training runs "
                                               "go into OUT/runs unless $GANCOURSE_RUNS says otherwise")
    p.add_argument("--only", nargs="*", default=None, metavar="NOTEBOOK",
                   help="run only these notebooks (paths or name prefixes such as 01 03)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML export of executed notebooks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    notebooks = course_notebooks()
    if args.only:
        chosen = [nb for nb in notebooks if any(nb.name.startswith(o) or str(nb) == o or nb.stem == o
                                                for o in args.only)]
        if not chosen:
            raise UserError(f"no notebook matches {args.only}; available: {', '.join(nb.stem for nb in notebooks)}")
        notebooks = chosen
    out = Path(args.out) if args.out else runs_root() / "course"
    index = run_course(out, args.profile, notebooks, html_export=not args.no_html)
    print(f"course index: {index}")
    return 0
