"""A folder of images -> one uint8 array, prepared once and cached: the loader behind wikiart and monet2photo.

Every image is centre-cropped to a square and resized with Pillow's LANCZOS filter, once. The result is
cached as a ``.npy`` file in :func:`gancourse.paths.cache_dir` under a key made from the folder's file
names, sizes and modification times plus the target size, so the second run starts instantly and a changed
folder is prepared again. Large arrays come back memory-mapped (``np.load(mmap_mode="r")``): a batch then
reads only its rows, and 80,000 paintings at 256 px need no 16 GB of RAM.

Files Pillow cannot read (corrupt downloads, a stray ``.txt``) are skipped with a single warning that
counts them; a folder with no readable image at all is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from ..files import write_json_atomic
from ..paths import cache_dir
from .imageset import ImageSet

PREPARE_VERSION = 1
# Arrays above this many bytes stay on disk, memory-mapped; smaller ones are read into RAM (faster batches).
MMAP_BYTES = int(os.environ.get("GANCOURSE_MMAP_BYTES", str(512 * 2**20)))
_MODES = {1: "L", 3: "RGB"}


class SkippedFilesWarning(UserWarning):
    """Some files of an image folder could not be read as images and were left out."""


class EmptyImageFolder(ValueError):
    """A folder holds no readable image."""


@dataclass
class PreparedFolder:
    """A folder prepared at one size: the cached array and the names of the files its rows came from."""

    folder: Path
    size: int
    channels: int
    array_path: Path
    files: list[str]  # file names, in row order
    skipped: int  # files that were not readable images

    def __len__(self) -> int:
        return len(self.files)

    def load(self, mmap: bool | None = None) -> torch.Tensor | np.ndarray:
        """The images (N, C, size, size) uint8: a tensor in RAM, or a read-only memory map when large."""
        if mmap is None:
            mmap = self.array_path.stat().st_size > MMAP_BYTES
        if mmap:
            return np.load(self.array_path, mmap_mode="r")
        return torch.from_numpy(np.load(self.array_path))


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every visible regular file directly in ``folder``, sorted by name (images or not: reading decides)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no image folder at {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def folder_key(files: list[Path], size: int, channels: int) -> str:
    """A digest of the folder's contents (names, byte sizes, modification times) and the preparation."""
    digest = hashlib.sha1(f"v{PREPARE_VERSION}-{size}-{channels}".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def square_image(path: Path, size: int, channels: int = 3) -> np.ndarray:
    """One file -> (channels, size, size) uint8: centre crop to a square, then LANCZOS resize."""
    with Image.open(path) as image:
        # JPEG can decode at 1/2, 1/4, 1/8 scale for free; keep at least twice the target for LANCZOS.
        image.draft(_MODES[channels], (2 * size, 2 * size))
        image = image.convert(_MODES[channels])
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != size:
            image = image.resize((size, size), Image.Resampling.LANCZOS)
        array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _read_or_none(path: Path, size: int, channels: int) -> np.ndarray | None:
    try:
        return square_image(path, size, channels)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None  # truncated JPEG, not an image at all, ...


def _slug(folder: Path) -> str:
    parts = [p for p in folder.parts[-2:] if p not in ("/", "")]
    return "-".join(parts).replace(" ", "_") or "images"


def _decode_rows(files: list[Path], out: np.ndarray, workers: int, progress: str) -> tuple[list[str], list[str]]:
    """Decode, crop and resize ``files`` into the rows of ``out`` in order; (file names kept, skipped).

    ``progress``: the progress bar's title ("" for none).
    """
    _, channels, size, _ = out.shape
    kept: list[str] = []
    skipped: list[str] = []
    bar = tqdm(total=len(files), disable=not progress, desc=progress, unit="img", leave=False)
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while decoding and resizing
        for start in range(0, len(files), 256):  # in chunks, so decoded images never pile up in RAM
            chunk = files[start:start + 256]
            for path, row in zip(chunk, pool.map(lambda p: _read_or_none(p, size, channels), chunk), strict=True):
                if row is None:
                    skipped.append(path.name)
                else:
                    out[len(kept)] = row
                    kept.append(path.name)
            bar.update(len(chunk))
    bar.close()
    return kept, skipped


def _copy_rows(array: np.ndarray, rows: int, path: Path) -> None:
    """The first ``rows`` rows of ``array`` into a new .npy file at ``path``, in chunks (never all in RAM)."""
    copy = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=(rows, *array.shape[1:]))
    for start in range(0, rows, 1024):
        copy[start:start + 1024] = array[start:min(start + 1024, rows)]
    copy.flush()


def prepare_image_folder(folder: str | os.PathLike, size: int, *, channels: int = 3, progress: bool = True,
                         workers: int | None = None, order: Callable[[str], tuple] | None = None
                         ) -> PreparedFolder:
    """Crop, resize and cache every readable image of ``folder`` (once; later calls read the cache).

    Rows follow the file names, or ``order(file_name)`` when given (the order is part of the cache key): a
    loader that sorts by split and class gets each split and class as a contiguous block, which a memory
    map can slice without copying.
    """
    if channels not in _MODES:
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not 8 <= size <= 1024:
        raise ValueError(f"size must be between 8 and 1024 pixels, got {size}")
    folder = Path(folder).resolve()
    files = image_files(folder)
    if not files:
        raise EmptyImageFolder(f"{folder} is empty: put the images (.jpg, .png, ...) directly in it")
    if order is not None:
        files.sort(key=lambda p: (order(p.name), p.name))
    key = folder_key(files, size, channels)  # digests the files in row order, so the order is part of it
    target = cache_dir() / "folders" / f"{_slug(folder)}-{size}px-{channels}ch-{key}"
    array_path, index_path = target.with_suffix(".npy"), target.with_suffix(".json")
    if array_path.is_file() and index_path.is_file():
        index = json.loads(index_path.read_text())
        return PreparedFolder(folder, size, channels, array_path, index["files"], index["skipped"])

    array_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{array_path.stem}.", suffix=".npy", dir=array_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # Written row by row into a memory map: the whole set never has to fit in RAM.
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(files), channels, size, size))
        kept, skipped = _decode_rows(files, out, workers or min(8, os.cpu_count() or 1),
                                     f"preparing {folder.name} at {size} px" if progress else "")
        if skipped:
            warnings.warn(f"{folder}: skipped {len(skipped)} of {len(files)} files that are not readable images "
                          f"(corrupt or not an image), e.g. {skipped[0]!r}", SkippedFilesWarning, stacklevel=2)
        if not kept:
            raise EmptyImageFolder(f"{folder} holds no readable image ({len(files)} files, none opens with "
                                   "Pillow): put .jpg or .png images directly in it")
        out.flush()
        if len(kept) < len(files):  # drop the unused rows at the end
            _copy_rows(out, len(kept), tmp.with_suffix(".compact.npy"))
        del out  # the memory map is closed before its file is replaced
        if tmp.with_suffix(".compact.npy").exists():
            os.replace(tmp.with_suffix(".compact.npy"), tmp)
        os.replace(tmp, array_path)
    finally:
        for leftover in (tmp, tmp.with_suffix(".compact.npy")):
            if leftover.exists():
                leftover.unlink()
    write_json_atomic(index_path, {"folder": str(folder), "size": size, "channels": channels, "files": kept,
                                   "skipped": len(skipped)})
    return PreparedFolder(folder, size, channels, array_path, kept, len(skipped))


def load_image_folder(folder: str | os.PathLike, size: int, *, name: str | None = None, channels: int = 3,
                      label_of: Callable[[str], str] | None = None, keep: Callable[[str], bool] | None = None,
                      mmap: bool | None = None, progress: bool = True) -> ImageSet:
    """A folder of images as an :class:`ImageSet` of uint8 (N, C, size, size), prepared once and cached.

    ``label_of(file_name)`` gives each image a class name (labels are indices into the sorted names);
    ``keep(file_name)`` selects files after the (shared) cache, so filters do not re-prepare the folder.
    """
    prepared = prepare_image_folder(folder, size, channels=channels, progress=progress)
    images = prepared.load(mmap)
    files = prepared.files
    if keep is not None:
        rows = [i for i, f in enumerate(files) if keep(f)]
        if not rows:
            raise EmptyImageFolder(f"{prepared.folder}: no image passes the filter")
        index = torch.tensor(rows, dtype=torch.long)
        images = images[index] if isinstance(images, torch.Tensor) else torch.from_numpy(images[np.array(rows)])
        files = [files[i] for i in rows]
    labels, class_names = None, []
    if label_of is not None:
        names = [label_of(f) for f in files]
        class_names = sorted(set(names))
        lookup = {c: i for i, c in enumerate(class_names)}
        labels = torch.tensor([lookup[c] for c in names], dtype=torch.long)
    return ImageSet(name or prepared.folder.name, images, labels, class_names, "real")
