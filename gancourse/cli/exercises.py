"""``gancourse exercises``: list the course's checked exercises (notebook, title, checker, the name that
``show_solution`` takes); ``--check-reference`` runs every checker against its reference solution (the
instructors' check that the answers still pass)."""

from __future__ import annotations

import argparse

from ..course.exercises import EXERCISES, check_references
from ..course.notebooks import COURSE
from ..errors import UserError

NOTEBOOKS = tuple(notebook.number for notebook in COURSE)


def register(subparsers) -> None:
    p = subparsers.add_parser("exercises")
    p.add_argument("--check-reference", action="store_true",
                   help="run every exercise's checker on its reference solution; exit 1 if one fails")
    p.add_argument("--notebook", default="", metavar="NN", help="only this notebook's exercises, e.g. 04")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.notebook and args.notebook not in NOTEBOOKS:
        raise UserError(f"--notebook must be one of {', '.join(NOTEBOOKS)}, got {args.notebook!r}")
    if not args.check_reference:
        print(f"nb  {'exercise':<36} {'checker':<32} solution")
        for exercise in EXERCISES:
            if not args.notebook or exercise.notebook == args.notebook:
                print(f"{exercise.notebook}  {exercise.title:<36} {exercise.checker.__name__:<32} {exercise.name}")
        print("Solutions: gancourse.course.exercises.solutions; show one with show_solution(\"name\"), "
              "check them all with --check-reference.")
        return 0
    results = check_references(args.notebook, verbose=True)
    failed = [name for name, ok in results.items() if not ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} reference solutions pass their checkers.")
    return 1 if failed else 0
