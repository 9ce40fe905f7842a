"""``gancourse export``: a run's generator in half precision, with its SHA-256, as the course ships one."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..pretrained import export_half_precision
from ..runs import RunDir


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", description="Writes the run's generator (checkpoints/generator.pt) in half precision and prints "
                              "its SHA-256: the file and the line that ship a generator in gancourse/pretrained/.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory made by `gancourse train`")
    p.add_argument("--out", required=True, help="the file to write (.pt), e.g. gancourse/pretrained/wikiart64.pt")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    config = run_dir.read_config()  # a clear error when this is not a run directory
    if not run_dir.generator_path.is_file():
        raise UserError(f"{run_dir.path} has no generator yet; finish its training first "
                        "(run the same train command again to resume)")
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name, e.g. --out {out / 'generator.pt'}")
    path, sha256 = export_half_precision(run_dir.generator_path, out)
    size = path.stat().st_size
    image_size = config.get("recipe_config", {}).get("image_size", 0)
    print(f"wrote {path} ({size / 1e6:.1f} MB, half precision) from {run_dir.path} "
          f"({config.get('recipe')} on {config.get('dataset')})\nsha256 {sha256}\n"
          f"to ship it, put the file in gancourse/pretrained/ and add to SHIPPED there:\n"
          f'    "{path.stem}": Pretrained("{path.stem}", "{path.name}", "{sha256}", {image_size}, what="...", '
          f'compute="...", command="..."),')
    return 0
