"""``gancourse sweep``: run a notebook once per combination of a grid file (papermill), in parallel, resumably."""

from __future__ import annotations

import argparse
import signal

from ..sweeps import load_grid, run_sweep
from ..sweeps.worker import raise_keyboard_interrupt
from .options import parse_assignments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        description="Each combination runs in its own process into OUT/<combination>/ (executed notebook, "
                    "status.json, run directory). Combinations already complete are skipped when the same "
                    "command runs again; interrupted ones resume from their checkpoints. Grid format: "
                    "sweeps/README.md. Turn the results into a table with `gancourse collect OUT`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("notebook", help="a notebook with a `parameters` cell that includes run_dir")
    p.add_argument("grid", help="a grid YAML file, e.g. sweeps/fashion_dropout_width.yaml")
    p.add_argument("--out", required=True, help="the sweep folder, e.g. runs/sweeps/fashion_dropout_width")
    p.add_argument("--jobs", type=int, default=0,
                   help="combinations run at once (0: one per GPU, or one per CPU core as memory allows); with "
                        "--scheduler the cluster's workers decide")
    p.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="local: worker processes on this machine (nothing to install); dask: the same through "
                        "dask.distributed (pip install \"gancourse[cluster]\"), a LocalCluster unless --scheduler")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler to send the combinations to, e.g. tls://10.0.0.5:8786 with "
                        "Dask's TLS config (distributed.comm.tls.*; a tcp:// one accepts code from anyone) "
                        "(implies --backend dask; the sweep folder must be on a file system its workers share)")
    p.add_argument("--profile", default=None, help="shorthand for --set profile=PROFILE")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="fix one more notebook parameter for every combination, e.g. --set steps=200")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # `kill` of the driver stops its workers as Ctrl-C does (they would otherwise train on, orphaned)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    fixed = {k: v for k, v in parse_assignments(args.set, "--set").items()}
    if args.profile:
        fixed["profile"] = args.profile
    grid = load_grid(args.grid).with_fixed(**fixed)
    backend = "dask" if args.scheduler else args.backend
    result = run_sweep(args.notebook, grid, args.out, jobs=args.jobs, progress=not args.quiet, backend=backend,
                       scheduler=args.scheduler)
    print(result.summary())
    print(f"table and pictures: gancourse collect {args.out}")
    return 1 if result.failed else 0
