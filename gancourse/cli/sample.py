"""``gancourse sample``: draw images from a trained run into a tensor file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="draw N images from a run's generator into a .pt file",
                              description="Writes a float tensor (N, C, H, W) in [-1, 1] with torch.save.",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory made by `gancourse train`")
    p.add_argument("--n", type=int, default=64, help="number of images")
    p.add_argument("--out", default="samples.pt", help="output file (.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--png", default=None, help="also save a grid of (up to 100 of) them as a PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from torchvision.utils import save_image

    from ..checkpoints import load_generator
    from ..runs import RunDir
    from ..sampling import sample_generator

    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    run_dir = RunDir(args.run_dir)
    run_dir.read_config()  # a clear error when this is not a run directory
    if not run_dir.generator_path.is_file():
        raise FileNotFoundError(f"{run_dir.path} has no generator yet; finish its training first")
    images = sample_generator(load_generator(run_dir.generator_path), args.n, seed=args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(images, out)
    if args.png:
        save_image(images[:100], args.png, nrow=10, normalize=True, value_range=(-1, 1), padding=1)
    print(f"wrote {tuple(images.shape)} images in [-1, 1] to {out}")
    return 0
