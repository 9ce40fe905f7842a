"""``gancourse collect``: a sweep folder -> summary.csv, summary.md, heat-map and contact sheet."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "collect", help="tabulate a sweep: parameters x metrics x wall time, heat-map, contact sheet",
        description="Reads each combination's run directory (metrics.json, samples/) and status.json; writes "
                    "summary.csv, summary.md, heatmap_<metric>.png (two-parameter grids) and contact_sheet.png "
                    "into the sweep folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("sweep_dir", help="a folder made by `gancourse sweep`")
    p.add_argument("--metric", default="fid", help="the metric that ranks combinations and colours the heat-map")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sweeps import markdown_table, write_report

    df, paths = write_report(args.sweep_dir, args.metric)
    print(markdown_table(df), end="")
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
