"""``gancourse translate``: run a CycleGAN's generators on image files (photo -> Monet, or back)."""

from __future__ import annotations

import argparse
import re
import warnings
from collections import Counter
from pathlib import Path

import torch
from PIL import Image

from ..checkpoints import load_translators
from ..data import to_unit_range
from ..data.folders import square_image
from ..devices import pick_device
from ..engine.restore import restore_recipe
from ..errors import UserError
from ..pretrained import PREFIX, load_pretrained_translators, shipped
from ..runs import RunDir
from ..viz.grids import save_grid

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "translate",
        description="Centre-crops each image to a square, resizes it to the run's image size (or --size), "
                    "translates it and writes <name>_<direction>.png into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="a run directory of `gancourse train --recipe cyclegan`, or pretrained:NAME for "
                                   "a CycleGAN shipped with the course (e.g. pretrained:monet)")
    p.add_argument("images", nargs="+", help="image files, or folders of images")
    p.add_argument("--direction", default="",
                   help="e.g. photo2monet or monet2photo (default: the run's B -> A, photo2monet for monet2photo)")
    p.add_argument("--out", default="translated", help="output folder")
    p.add_argument("--size", type=int, default=0, help="translate at this size (default: the training size)")
    p.add_argument("--side-by-side", action="store_true", help="write the input beside its translation")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    p.set_defaults(func=run)


def image_paths(items: list[str]) -> list[Path]:
    """Files as given, folders expanded to their image files (sorted); a clear error for what is neither."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise UserError(f"{path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
            paths += found
        elif path.is_file():
            paths.append(path)
        else:
            raise UserError(f"no such image file or folder: {path}")
    return paths


def refuse_huge_image(path: Path) -> None:
    """Refuse an image larger than Pillow's decompression-bomb limit from its header, before decoding it.

    A 400-megapixel PNG can be a few bytes on disk and gigabytes once decoded; Pillow only warns between
    its limit and twice that, and raises an error that is not an OSError above.
    """
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, in one line
            image = Image.open(path)  # reads the header only
        with image:
            size = f"{image.width} x {image.height} px = {image.width * image.height / 1e6:.0f} megapixels"
            too_big = bool(limit) and image.width * image.height > limit
    except Image.DecompressionBombError as exc:  # over twice the limit: Pillow refuses the header itself
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "over twice that"
        too_big = True
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} could not be read as an image: {exc}") from None
    if too_big:
        raise UserError(f"{path} is {size}, over the {limit / 1e6:.0f}-megapixel limit for one image (decoding it "
                        "could take gigabytes); resize it first, e.g. to 1024 px on its long side")


def output_names(paths: list[Path], direction: str) -> list[str]:
    """``<name>_<direction>.png`` per input; inputs sharing a name (``a/x.jpg``, ``b/x.jpg``) get their
    folder's name in front (``a-x_...``), then a number if that is not enough, so none is overwritten."""
    stems = Counter(p.stem for p in paths)
    names = [f"{p.parent.name}-{p.stem}" if stems[p.stem] > 1 and p.parent.name else p.stem for p in paths]
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return [f"{name}_{direction}.png" for name in unique]


def load_run_translators(run_dir: Path, device) -> tuple[dict, int]:
    """({direction: generator}, training image size) from the run's export, else from its last checkpoint."""
    run = RunDir(run_dir)
    config = run.read_config()  # a clear error when this is not a run directory
    if config.get("recipe") != "cyclegan":
        raise UserError(f"{run.path} is a {config.get('recipe')!r} run; translate needs a cyclegan run "
                         "(train one with `gancourse train --recipe cyclegan --dataset monet2photo ...`)")
    size = int(config["recipe_config"]["image_size"])
    if run.generator_path.is_file():
        try:
            return load_translators(run.generator_path, device), size
        except ValueError as exc:  # a generator of another recipe (a DCGAN's) where the CycleGAN's should be
            raise UserError(f"{exc}; translate needs a cyclegan run's generator.pt (train one with "
                            "`gancourse train --recipe cyclegan --dataset monet2photo ...`)") from None
    if run.last_checkpoint.is_file():  # an unfinished run: rebuild the recipe from its checkpoint
        recipe = restore_recipe(run, device)
        return {k: g.eval() for k, g in recipe.directions.items()}, size
    raise UserError(f"{run.path} has no checkpoint yet; train it first")


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    if args.run_dir.startswith(PREFIX):
        translators, size = load_pretrained_translators(args.run_dir, device), shipped(args.run_dir).image_size
    else:
        translators, size = load_run_translators(Path(args.run_dir), device)
    direction = args.direction or next(iter(translators))  # the export's main direction comes first
    if direction not in translators:
        raise UserError(f"unknown direction {direction!r} for this run; choose one of {', '.join(translators)}")
    size = args.size or size
    generator = translators[direction]
    multiple = getattr(generator, "multiple", 4)
    if size % multiple:
        raise UserError(f"--size must be a multiple of {multiple} for this generator, got {size}")
    if args.size < 0:
        raise UserError(f"--size must be positive (0: the training size), got {args.size}")
    paths = image_paths(args.images)
    for path in paths:  # every input checked before the first is translated
        refuse_huge_image(path)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; translate writes into a folder (e.g. --out translated)")
    out.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for path, name in zip(paths, output_names(paths, direction), strict=True):
            try:
                image = torch.from_numpy(square_image(path, size).copy())[None]
            except (OSError, ValueError) as exc:
                raise UserError(f"{path} could not be read as an image: {exc}") from exc
            x = to_unit_range(image).to(device)
            y = generator(x).float().cpu()
            target = out / name
            images = torch.cat([x.cpu(), y]) if args.side_by_side else y
            save_grid(images, target, 2, padding=0)
            print(f"{path} -> {target}")
    print(f"translated {len(paths)} image(s) {direction} at {size} px into {out}")
    return 0
