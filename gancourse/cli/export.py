"""``gancourse export``: a run's generator in half precision, with its SHA-256, as the course ships one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..checkpoints import load_checkpoint
from ..engine.restore import last_checkpoint_export
from ..errors import UserError
from ..pretrained import export_half_precision
from ..runs import RunDir


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", description="Writes the run's generator, as of its last checkpoint, in half precision and prints "
                              "its SHA-256: the file and the line that ship a generator in gancourse/pretrained/. "
                              "A run still training (or stopped before its end) is exported as far as it got.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory made by `gancourse train`")
    p.add_argument("--out", required=True, help="the file to write (.pt), e.g. gancourse/pretrained/wikiart64.pt")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir(args.run_dir)
    config = run_dir.read_config()  # a clear error when this is not a run directory
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name, e.g. --out {out / 'generator.pt'}")
    export, origin = _latest_generator(run_dir)
    path, sha256 = export_half_precision(export, out)
    size = path.stat().st_size
    image_size = config.get("recipe_config", {}).get("image_size", 0)
    print(f"wrote {path} ({size / 1e6:.1f} MB, half precision) from {origin} of {run_dir.path} "
          f"({config.get('recipe')} on {config.get('dataset')})\nsha256 {sha256}\n"
          f"to ship it, put the file in gancourse/pretrained/ and add to SHIPPED there:\n"
          f'    "{path.stem}": Pretrained("{path.stem}", "{path.name}", "{sha256}", {image_size}, what="...", '
          f'compute="...", command="..."),')
    return 0


def _latest_generator(run_dir: RunDir) -> tuple[dict[str, Any], str]:
    """The run's generator as of its last checkpoint (the same weights as generator.pt once training has
    finished; a long training stopped part-way has only its checkpoints), else its generator.pt."""
    if run_dir.last_checkpoint.is_file():
        export, step = last_checkpoint_export(run_dir)
        return export, f"the last checkpoint (step {step})"
    if run_dir.generator_path.is_file():
        return load_checkpoint(run_dir.generator_path), "the exported generator"
    raise UserError(f"{run_dir.path} has no checkpoint yet; train it first")
