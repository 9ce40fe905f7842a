"""``gancourse collect``: a sweep folder -> summary.csv, summary.md, heat-map and contact sheet."""

from __future__ import annotations

import argparse

from ..sweeps import markdown_table, replicate_markdown, replicate_table, write_report
from ..sweeps.report import has_replicates


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "collect",
        description="Reads each combination's run directory (metrics.json, samples/) and status.json; writes "
                    "summary.csv, summary.md, heatmap_<metric>.png (two-parameter grids) and contact_sheet.png "
                    "into the sweep folder. A sweep that varies `seed` (replicates) also gets replicates.csv: "
                    "one row per setting with n, mean and std of every metric, rank by the mean, and ties "
                    "(means closer than the larger std).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("sweep_dir", help="a folder made by `gancourse sweep`")
    p.add_argument("--metric", default="fid",
                   help="the metric that ranks combinations and colours the heat-map; a notebook that trains "
                        "several runs names them RUN/METRIC, e.g. wgan-gp/fid")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    df, paths = write_report(args.sweep_dir, args.metric)
    if args.metric not in df:
        print(f"note: no metric {args.metric!r} in this sweep, so nothing is ranked; its metrics: "
              f"{', '.join(df.attrs.get('metrics') or []) or 'none (did any run finish?)'} (choose one with --metric)")
    if has_replicates(df):
        print(f"mean ± std over seeds, by setting (rank by the mean {args.metric}; =k: a shared place, within "
              "the spread):")
        print(replicate_markdown(replicate_table(df, args.metric)))
        print("every run:")
    print(markdown_table(df), end="")
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
