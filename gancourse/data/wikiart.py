"""WikiArt paintings: ``<data root>/wikiart/<style>/<artist>_<title>.jpg`` (the ArtGAN folder layout).

Options: ``style`` (a sub-folder, default Impressionism), ``size`` (64, 128 or 256 px; 32 for quick tests)
and ``artist`` (one name or a list; the file-name prefix before ``_``). Labels are artist indices, so a
feature network can be trained as an artist classifier (``gancourse.metrics.paintings``).

WikiArt has no official test split. A fixed quarter of each folder, chosen by a hash of the file name, is
held out as ``split="test"`` (for metrics); ``"train"`` is the rest and ``"all"`` is everything. The choice
depends only on the name, so it does not change when the folder grows or another size is prepared.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from . import DatasetSpec, register_dataset
from .folders import prepare_image_folder
from .imageset import ImageSet
from .wikiart_download import artist_list, download_wikiart

SIZES = (32, 64, 128, 256)
SPLITS = ("train", "test", "all")
HOLD_OUT_EVERY = 4  # one file in four (by name hash) is held out as the test split


def artist_of(file_name: str) -> str:
    """``camille-pissarro_boulevard-montmartre.jpg`` -> ``camille-pissarro``."""
    return file_name.split("_", 1)[0]


def is_held_out(file_name: str) -> bool:
    return int(hashlib.sha1(file_name.encode()).hexdigest(), 16) % HOLD_OUT_EVERY == 0


def _check(split: str, size: int) -> None:
    if split not in SPLITS:
        raise ValueError(f"wikiart has the splits {', '.join(SPLITS)}; got {split!r}")
    if size not in SIZES:
        raise ValueError(f"wikiart size must be one of {', '.join(map(str, SIZES))}; got {size!r}")


def _row_order(file_name: str) -> tuple:
    # train rows first, then test rows, each grouped by artist: every (split, artist) is one contiguous block
    return (is_held_out(file_name), artist_of(file_name))


def find_wikiart(root: Path, split: str = "train", style: str = "Impressionism", size: int = 64,
                 artist: str | list[str] | None = None, count: int | str = 0) -> ImageSet | None:
    """The paintings of ``style`` under ``root/wikiart``, or None when there is no style folder at all.

    ``count`` only matters to the download (how many paintings to fetch); every painting found is used.
    """
    _check(split, size)
    base = Path(root) / "wikiart"
    if not base.is_dir():
        return None
    folder = base / style
    if not folder.is_dir():
        styles = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not styles:  # e.g. only an interrupted download's .download/ folder: nothing to read yet
            return None
        raise ValueError(f"no wikiart style {style!r} under {base}; available: {', '.join(styles)}. "
                         f"Get it with: gancourse download wikiart --data-option style={style}")
    prepared = prepare_image_folder(folder, size, order=_row_order)
    files = prepared.files
    counts = Counter(artist_of(f) for f in files)
    wanted = artist_list(artist)
    unknown = [a for a in wanted if a not in counts]
    if unknown:
        listing = ", ".join(f"{a} ({n})" for a, n in counts.most_common())
        raise ValueError(f"no artist {', '.join(map(repr, unknown))} in wikiart/{style}; "
                         f"available (paintings): {listing}")
    selected = [i for i, f in enumerate(files)
                if (not wanted or artist_of(f) in wanted) and (split == "all" or is_held_out(f) == (split == "test"))]
    if not selected:
        raise ValueError(f"wikiart/{style}: the {split} split is empty for artist={wanted or 'any'}")
    images = prepared.load()
    lo, hi = selected[0], selected[-1] + 1
    if hi - lo == len(selected):  # one contiguous block: a slice, which stays a memory map if it is one
        images = images[lo:hi]
    else:  # several artists of one split: gathered into RAM
        images = images[torch.tensor(selected)] if isinstance(images, torch.Tensor) else \
            torch.from_numpy(images[np.array(selected)])
    names = [artist_of(files[i]) for i in selected]
    class_names = sorted(set(names))
    labels = torch.tensor([class_names.index(n) for n in names], dtype=torch.long)
    return ImageSet("wikiart", images, labels, class_names, "real")


def wikiart_stand_in(split: str = "train", style: str = "Impressionism", size: int = 64,
                     artist: str | list[str] | None = None, count: int | str = 0) -> ImageSet:
    """Generated "paintings" for offline runs: soft colour fields and brush dabs, one palette per fake artist.

    They only keep the shapes, dtype and label structure; they look nothing like Impressionism.
    """
    _check(split, size)
    names = sorted(artist_list(artist)) or ["stand-in-artist-a", "stand-in-artist-b", "stand-in-artist-c"]
    per_artist = {"train": 60, "test": 20, "all": 80}[split]
    g = torch.Generator().manual_seed(1000 * size + SPLITS.index(split))
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    images, labels = [], []
    for k in range(len(names)):
        palette = torch.rand(4, 3, generator=g) * 0.8 + 0.1
        coarse = torch.rand(per_artist, 4, 4, 4, generator=g)
        weights = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic",
                                                  align_corners=False).softmax(1)
        canvas = torch.einsum("nkhw,kc->nchw", weights, palette)
        for _ in range(12):  # dabs: one small ellipse of a palette colour per image, all images at once
            cy, cx = (torch.rand(2, per_artist, 1, 1, generator=g) * size).unbind(0)
            r = size * (0.03 + 0.05 * torch.rand(per_artist, 1, 1, generator=g))
            mask = ((((yy - cy) / r) ** 2 + ((xx - cx) / (2 * r)) ** 2) < 1).float()[:, None]
            colour = palette[torch.randint(4, (per_artist,), generator=g)][:, :, None, None]
            canvas = canvas * (1 - mask) + colour * mask
        images.append((canvas.clamp(0, 1) * 255).round().to(torch.uint8))
        labels += [k] * per_artist
    return ImageSet("wikiart", torch.cat(images), torch.tensor(labels), list(names), "stand-in")


register_dataset(DatasetSpec(
    name="wikiart",
    description="WikiArt paintings of one style, colour, 64/128/256 px, labelled by artist",
    find=find_wikiart,
    download=download_wikiart,
    stand_in=wikiart_stand_in,
    expected=("Expected paintings as <data root>/wikiart/<style>/<artist>_<title>.jpg (the ArtGAN WikiArt "
              "layout, e.g. wikiart/Impressionism/claude-monet_water-lilies.jpg); any folder of JPEGs works. "
              "`gancourse download wikiart` fetches them from the Hugging Face dataset huggan/wikiart."),
    size_note="about 3 shards of 520 MB transferred for 400 Impressionism paintings; about 180 MB kept",
    options=("style", "size", "artist", "count"),
    download_options=("keep_shards",),
    command_options=("style", "artist", "count"),
    splits=SPLITS,
))
