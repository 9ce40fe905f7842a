"""MNIST and Fashion-MNIST: the IDX file format, the folder layouts we accept, and where to download."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from .imageset import ImageSet

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Official mirrors and the MD5 of the original .gz files (the same table torchvision checks against).
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
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


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} bytes (truncated download?)")
    return data.reshape(shape)


def find_file(root: Path, name: str, stem: str) -> Path | None:
    """The first existing ``stem`` or ``stem.gz`` in the dataset's accepted folders."""
    for folder in FOLDERS[name]:
        for candidate in (root / folder / f"{stem}.gz", root / folder / stem):
            if candidate.is_file():
                return candidate
    return None


def load_idx_dataset(name: str, root: Path, split: str) -> ImageSet | None:
    """The MNIST-family split from ``root``, or None when its files are not there."""
    image_stem, label_stem = FILES[split]
    image_path, label_path = find_file(root, name, image_stem), find_file(root, name, label_stem)
    if image_path is None or label_path is None:
        return None
    images = read_idx(image_path)
    labels = read_idx(label_path)
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    return ImageSet(name, torch.from_numpy(images.copy()).unsqueeze(1),
                    torch.from_numpy(labels.astype(np.int64)), list(classes), "real")
