"""``gancourse doctor``: report torch, device, data found per dataset, caches and disk, with advice."""

from __future__ import annotations

import argparse

from ..course.doctor import diagnose


def register(subparsers) -> None:
    p = subparsers.add_parser("doctor")
    p.add_argument("--no-data", action="store_true", help="skip looking for datasets")
    p.add_argument("--profile", choices=("smoke", "quick", "full"), default="",
                   help="full: also estimate each notebook's GPU memory in the full profile on a 16 GB T4")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = diagnose(check_data=not args.no_data, profile=args.profile)
    print(report.render())
    problems = report.problems
    print(f"\n{len(problems)} thing(s) to look at." if problems else "\nAll good.")
    return 0
