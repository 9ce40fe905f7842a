"""Datasets by name: ``load_dataset("mnist")`` returns an :class:`ImageSet`.

Resolution order for every dataset: the data root (``$GANCOURSE_DATA``, default ``data/``) -> a
download from the official mirrors with checksums -> a clear error naming the download command and the
offline alternative. ``allow_stand_in=True`` replaces that error by a generated stand-in of the same
shape and number of classes, announced loudly and recorded in the run's config.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetNotFound, UnknownOption, UserError
from ..paths import data_root
from . import course_mirror, idx, standins
from .download import DownloadError, fetch_from_mirrors, offline
from .imageset import Batch, BatchStream, ImageSet, to_uint8, to_unit_range

__all__ = ["Batch", "BatchStream", "DATASETS", "DatasetNotFound", "DatasetSpec", "DownloadError", "ImageSet",
           "download_command", "download_dataset", "load_dataset", "register_dataset", "to_uint8", "to_unit_range"]


@dataclass
class DatasetSpec:
    name: str
    description: str
    find: Callable[..., ImageSet | None]  # (root, split, **options) -> ImageSet, or None if absent
    download: Callable[..., None] | None = None  # (root, **options) -> files placed under root
    stand_in: Callable[..., ImageSet] | None = None  # (split, **options) -> generated substitute
    expected: str = ""  # where the files go, for error messages
    options: tuple[str, ...] = ()  # the keyword options ``load_dataset`` accepts for it
    splits: tuple[str, ...] = ()  # the splits it has, checked up front when given
    download_options: tuple[str, ...] = ()  # options only ``download_dataset`` takes (e.g. keep_shards)
    command_options: tuple[str, ...] = ()  # the options that change what its download fetches
    size_note: str = ""  # how big its download is, for `gancourse doctor` and the docs


DATASETS: dict[str, DatasetSpec] = {}
# Which datasets this process loaded, real or generated: ``record_headline`` reports a headline measured
# on a stand-in as such, whoever loaded the data.
SOURCES_USED: dict[str, set[str]] = {"real": set(), "stand-in": set()}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    DATASETS[spec.name] = spec
    return spec


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; available: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _check_options(spec: DatasetSpec, options: dict, extra: tuple[str, ...] = ()) -> None:
    unknown = set(options) - set(spec.options) - set(extra)
    if unknown:
        allowed = ", ".join(spec.options + extra) or "none"
        raise UnknownOption(f"{spec.name} takes no option {', '.join(sorted(unknown))}; its options: {allowed}")


def download_dataset(name: str, root: Path | str | None = None, **options) -> Path:
    """Fetch ``name`` into the data root (what ``gancourse download NAME`` runs); files already there stay.

    Raises :class:`DownloadError` naming every mirror's failure (or GANCOURSE_OFFLINE) when it cannot.
    """
    spec = _spec(name)
    _check_options(spec, options, spec.download_options)
    root = Path(root) if root is not None else data_root()
    if course_mirror.mirror_url() is not None:  # a class on one connection: the instructor's prepared copy
        return course_mirror.fetch(name, root)
    if spec.download is None:
        raise DownloadError(f"{name} has no automatic download; {spec.expected}")
    spec.download(root, **options)
    return root


def download_command(name: str, options: dict | None = None) -> str:
    """The shell command that fetches ``name`` with the ``options`` that change what its download gets."""
    spec = _spec(name)
    words = [f"gancourse download {name}"]
    for key in spec.command_options:
        value = (options or {}).get(key)
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        if value not in (None, "", 0):
            words.append(f"--data-option {key}={value}")
    return " ".join(words)


def load_dataset(name: str, split: str = "train", *, root: Path | str | None = None,
                 download: bool = True, allow_stand_in: bool = False, limit: int = 0,
                 **options) -> ImageSet:
    """Load a dataset by name as uint8 images (N, C, H, W), labels and class names.

    ``limit`` keeps the first N images; ``options`` are dataset-specific (``DATASETS[name].options``).
    """
    spec = _spec(name)
    _check_options(spec, options)
    if spec.splits and split not in spec.splits:
        raise UserError(f"{name} has no split {split!r}; its splits: {', '.join(spec.splits)}")
    root = Path(root) if root is not None else data_root()
    found = spec.find(root, split, **options)
    problem = ""
    if found is None and download and spec.download is not None:
        if offline():
            problem = "\nNo download was tried: GANCOURSE_OFFLINE is set."
        else:
            try:
                spec.download(root, **options)
                found = spec.find(root, split, **options)
            except (DownloadError, OSError) as exc:
                problem = f"\nThe download failed: {exc}"
    if found is not None:
        SOURCES_USED["real"].add(name)
        return found.head(limit)
    if allow_stand_in and spec.stand_in is not None:
        stand_in = spec.stand_in(split, **options)
        SOURCES_USED["stand-in"].add(name)
        rule = "!" * 78
        banner = (f"\n{rule}\n!! {name} ({split}) was not found under {root}: using a GENERATED STAND-IN.\n"
                  f"!! Pictures and numbers below are NOT about the real {name}.\n"
                  f"!! Get the real data with: {download_command(name, options)}\n{rule}\n")
        print(banner, file=sys.stderr, flush=True)
        warnings.warn(f"{name}: real data not found, using a generated stand-in", stacklevel=2)
        return stand_in.head(limit)
    offline_way = (" Offline, pass allow_stand_in=True (CLI: --allow-stand-in) to train on a generated "
                   "stand-in of the same shape." if spec.stand_in is not None else "")
    raise DatasetNotFound(
        f"{name} ({split}) was not found under the data root {root}. {spec.expected}\n"
        f"To get it: `{download_command(name, options)}` (needs internet), or set GANCOURSE_DATA to a folder "
        f"that holds it.{offline_way}{problem}"
    )


def _idx_download(name: str) -> Callable[..., None]:
    def download(root: Path) -> None:
        root = Path(root)
        folder = root / idx.FOLDERS[name][0]
        for filename, md5 in idx.MD5[name].items():
            if idx.find_file(root, name, filename.removesuffix(".gz")) is None:  # in any accepted layout
                fetch_from_mirrors(filename, idx.MIRRORS[name], folder / filename, md5=md5)
    return download


def _idx_stand_in(name: str) -> Callable[..., ImageSet]:
    def make(split: str) -> ImageSet:
        return standins.make(name, split)
    return make


for _name, _title in (("mnist", "MNIST handwritten digits"), ("fashion-mnist", "Fashion-MNIST clothing")):
    register_dataset(DatasetSpec(
        name=_name,
        description=f"{_title}, 28x28 grey, 10 classes",
        find=lambda root, split, _n=_name: idx.load_idx_dataset(_n, Path(root), split),
        download=_idx_download(_name),
        stand_in=_idx_stand_in(_name),
        expected=(f"Expected the four IDX files (train-images-idx3-ubyte.gz, ...) in "
                  f"<data root>/{idx.FOLDERS[_name][0]}/ (or torchvision's {idx.FOLDERS[_name][1]}/)."),
        splits=tuple(idx.FILES),
        size_note="about 11 MB" if _name == "mnist" else "about 30 MB",
    ))

from . import monet as _monet  # noqa: E402,F401  (registers "monet2photo")
from . import quickdraw as _quickdraw  # noqa: E402,F401  (registers "quickdraw")
from . import stacked as _stacked  # noqa: E402,F401  (registers "stacked-mnist")
from . import wikiart as _wikiart  # noqa: E402,F401  (registers "wikiart")
