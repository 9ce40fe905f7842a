"""``gancourse sample``: draw images from a trained run into a tensor file."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..checkpoints import load_generator
from ..engine.sampling import sample_generator
from ..errors import UserError
from ..files import atomic_write
from ..pretrained import PREFIX, load_pretrained
from ..recipes.cgan import class_index
from ..runs import RunDir
from ..viz.grids import save_grid
from .options import check_at_least, check_seed


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", description="Writes a float tensor (N, C, H, W) in [-1, 1] with torch.save.",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory made by `gancourse train`, or pretrained:NAME for a generator "
                                   "shipped with the course (e.g. pretrained:wikiart64)")
    p.add_argument("--n", type=int, default=64, help="number of images")
    p.add_argument("--out", default="samples.pt", help="output file (.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--png", default=None, help="also save a grid of (up to 100 of) them as a PNG")
    p.add_argument("--label", default=None, metavar="CLASS",
                   help="a conditional run (e.g. cgan): draw only this class, by name or index (e.g. cat)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_at_least(args, {"n": 1})
    check_seed(args.seed)
    out = _output_file(args.out, "--out", "samples.pt")
    png = _output_file(args.png, "--png", "grid.png") if args.png else None
    if args.run_dir.startswith(PREFIX):
        source, generator, classes = args.run_dir, load_pretrained(args.run_dir), []
    else:
        run_dir = RunDir(args.run_dir)
        config = run_dir.read_config()  # a clear error when this is not a run directory
        if not run_dir.generator_path.is_file():
            raise UserError(f"{run_dir.path} has no generator yet; finish its training first "
                            "(run the same train command again to resume)")
        source, generator = run_dir.generator_path, load_generator(run_dir.generator_path)
        classes = list(config.get("data", {}).get("classes") or [])
    labels = None
    if args.label is not None:
        labels = torch.full((args.n,), _label_index(args.run_dir, generator, classes, args.label), dtype=torch.long)
    images = sample_generator(generator, args.n, labels=labels, seed=args.seed)
    if not torch.isfinite(images).all():
        raise UserError(f"{source} draws NaN or infinite images (its training diverged); "
                        "nothing was written. Train again with a lower learning rate")
    with atomic_write(out) as f:  # its folder is created; a failed write leaves no half-written file
        torch.save(images, f)
    if png:
        with atomic_write(png) as f:
            save_grid(images[:100], f, 10, format="PNG")
    what = f" of class {args.label!r}" if args.label is not None else ""
    low, high = images.min().item(), images.max().item()
    print(f"wrote {tuple(images.shape)} images{what} with values in [{low:.2f}, {high:.2f}] to {out}")
    return 0


def _output_file(name: str, flag: str, example: str) -> Path:
    """``name`` as a file to write: a folder there is refused in one line (before anything is computed)."""
    path = Path(name)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name, e.g. {flag} {path / example}")
    return path


def _label_index(source: str, generator, classes: list[str], label: str) -> int:
    """The class index of ``label`` for a conditional generator; a clear error listing its classes."""
    n_classes = getattr(generator, "n_classes", 0)
    if not n_classes:
        raise UserError(f"{source} is not a conditional run: --label needs one (e.g. --recipe cgan)")
    if len(classes) != n_classes:  # a run trained with --set n_classes=K on unnamed classes
        classes = [str(k) for k in range(n_classes)]
    try:
        return class_index(classes, label)
    except ValueError as exc:  # an unknown class name: the user's choice
        raise UserError(str(exc)) from exc
