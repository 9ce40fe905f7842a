"""MNIST and Fashion-MNIST: the IDX file format, the folder layouts we accept, and where to download."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .imageset import ImageSet

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Mirrors that serve the original .gz files, tried in order; every file is checked against MD5 (the
# same table torchvision checks against), so a mirror that serves anything else is simply skipped.
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirror
              "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
              "https://yann.lecun.com/exdb/mnist/"],  # the original home (often refuses robots)
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own
                      # (S3 website endpoints speak plain HTTP only; the MD5 check guards the content)
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"],
}
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
# Folder names under the data root: ours first, then torchvision's layout.
FOLDERS = {"mnist": ["mnist", "MNIST/raw"], "fashion-mnist": ["fashion-mnist", "FashionMNIST/raw"]}


class IdxFormatError(UserError):
    """A file that should be IDX is not, or is cut short: the message names it and what to do."""


def dataset_of(path: Path) -> str | None:
    """The dataset an IDX file belongs to, from the folder it sits in (``fashion-mnist/``, ``MNIST/raw``)."""
    for name, folders in FOLDERS.items():
        if any(path.parent.as_posix().endswith("/" + folder) or path.parent.as_posix() == folder
               for folder in folders):
            return name
    return None


def _damaged(path: Path, why: str, dataset: str | None) -> IdxFormatError:
    fetch = f"`gancourse download {dataset}`" if dataset else "`gancourse download mnist` (or fashion-mnist)"
    return IdxFormatError(f"{path} is damaged: {why}. Delete it and fetch it again "
                          f"({fetch}, or copy it from a good source).")


def read_idx(path: Path, dataset: str | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzipped or not) into a NumPy array of its declared shape.

    ``dataset`` (else guessed from the folder) names the download command in the message about a damaged file.
    """
    path = Path(path)
    dataset = dataset or dataset_of(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # a cut-off or non-gzip .gz file
        raise _damaged(path, f"not a complete gzip file ({exc})", dataset) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise _damaged(path, "bad magic number, not an unsigned-byte IDX file", dataset)
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise _damaged(path, f"its header is cut short ({len(raw)} bytes)", dataset)
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise _damaged(path, f"the header says {'x'.join(map(str, shape))} = {expected} bytes of data but "
                       f"it holds {len(raw) - header} (truncated download?)", dataset)
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_file(root: Path, name: str, stem: str) -> Path | None:
    """The first existing ``stem.gz`` or ``stem`` in the dataset's accepted folders (ours, then torchvision's)."""
    for folder in FOLDERS[name]:
        for candidate in (root / folder / f"{stem}.gz", root / folder / stem):
            if candidate.is_file():
                return candidate
    return None


def load_idx_dataset(name: str, root: Path, split: str) -> ImageSet | None:
    """The MNIST-family split from ``root``, or None when its files are not there."""
    if split not in FILES:
        raise UserError(f"{name} has no split {split!r}; splits: {', '.join(FILES)}")
    image_stem, label_stem = FILES[split]
    image_path, label_path = find_file(root, name, image_stem), find_file(root, name, label_stem)
    if image_path is None or label_path is None:
        return None
    images, labels = read_idx(image_path, name), read_idx(label_path, name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxFormatError(f"{image_path} ({images.shape}) and {label_path} ({labels.shape}) do not form a "
                             f"data set of N images and N labels; are the files mixed up?")
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    return ImageSet(name, torch.from_numpy(images.copy()).unsqueeze(1),
                    torch.from_numpy(labels.astype(np.int64)), list(classes), "real")
