"""``monet2photo``: Monet paintings (domain A) and landscape photos (domain B), unpaired.

Two layouts are read from ``<data root>/monet2photo/`` (or ``<data root>/gan-getting-started/``):

- CycleGAN's ``trainA/ trainB/ testA/ testB/`` (A = Monet, B = photos);
- Kaggle's "I'm Something of a Painter Myself" ``monet_jpg/ photo_jpg/``, split deterministically:
  file names sorted, the last 10% of each folder is the test split (on the course's 250 + 300 images
  this is exactly the CycleGAN split of ../shared/data: 225/25 paintings, 270/30 photos).

Images are centre-cropped to a square, resized once and cached as a uint8 array (by
:mod:`gancourse.data.folders`, shared with ``wikiart``), so later loads take milliseconds. The training
split is stored slightly larger than the model's ``size`` (286 px for 256, the reference's "resize to 286,
random-crop 256") and randomly cropped back on the device, batch by batch (:class:`UnpairedStream`).

``load_dataset("monet2photo")`` returns an :class:`UnpairedSet` (both domains, with the test split as
its preview); ``domain="monet"`` or ``"photo"`` returns one domain as a plain :class:`ImageSet`, e.g. for
an unconditional DCGAN on the paintings alone. ``curate_every=k`` keeps every k-th painting of the
colour-vibrancy ranking (:mod:`gancourse.data.curation`): a smaller training set spanning subdued to vivid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from . import DatasetSpec, register_dataset
from .curation import every_kth, rank_by_vibrancy
from .folders import image_files, load_image_folder
from .imageset import ImageSet
from .monet_download import download_monet2photo
from .unpaired import UnpairedSet

NAME = "monet2photo"
DOMAINS = ("monet", "photo")
CYCLEGAN_FOLDERS = {("train", "monet"): "trainA", ("train", "photo"): "trainB",
                    ("test", "monet"): "testA", ("test", "photo"): "testB"}
KAGGLE_FOLDERS = {"monet": "monet_jpg", "photo": "photo_jpg"}
TEST_FRACTION = 0.1
JITTER = 286 / 256  # load-size / crop-size of the reference implementation


def load_size(size: int) -> int:
    """The stored side of training images for a model of ``size`` px (286 for 256, 144 for 128)."""
    return int(round(size * JITTER / 2)) * 2


def find_layout(root: Path) -> tuple[str, Path] | None:
    """("cyclegan" | "kaggle", folder) for the first layout found under ``root``, else None."""
    for base in (root / NAME, root / "gan-getting-started", root):
        if all((base / d).is_dir() for d in ("trainA", "trainB")):
            return "cyclegan", base
        if all((base / d).is_dir() for d in KAGGLE_FOLDERS.values()):
            return "kaggle", base
    return None


def split_folder(layout: str, base: Path, split: str, domain: str) -> tuple[Path, set[str] | None]:
    """(folder, the file names of ``split`` in it, or None for all of them)."""
    if layout == "cyclegan":
        return base / CYCLEGAN_FOLDERS[split, domain], None
    folder = base / KAGGLE_FOLDERS[domain]
    names = [p.name for p in image_files(folder)]
    n_test = max(1, int(round(len(names) * TEST_FRACTION))) if len(names) > 1 else 0
    chosen = names[len(names) - n_test:] if split == "test" else names[:len(names) - n_test]
    return folder, set(chosen)


def _check_options(split: str, size: int, domain: str, curate_every: int, crop: int = 0) -> None:
    if split not in ("train", "test"):
        raise UserError(f"{NAME} has the splits train and test, not {split!r}")
    if domain not in ("both", *DOMAINS):
        raise UserError(f"{NAME}: domain must be one of both, {', '.join(DOMAINS)}; got {domain!r}")
    if size < 16 or size % 4:
        raise UserError(f"{NAME}: size must be a multiple of 4 and at least 16, got {size}")
    if curate_every < 0:
        raise UserError(f"{NAME}: curate_every must be >= 0 (0 or 1: every painting), got {curate_every}")
    if crop and (crop % 4 or not 16 <= crop <= size):
        raise UserError(f"{NAME}: crop must be a multiple of 4 from 16 to size ({size}), got {crop}")


def _domain_set(layout: str, base: Path, split: str, domain: str, size: int) -> ImageSet | None:
    folder, names = split_folder(layout, base, split, domain)
    if not folder.is_dir() or (names is not None and not names):
        return None
    keep = None if names is None else names.__contains__
    return load_image_folder(folder, size, name=f"{NAME}/{domain}", keep=keep)


def _curated(monet: ImageSet, every: int) -> ImageSet:
    if every <= 1:
        return monet

    order, _ = rank_by_vibrancy(monet.images if isinstance(monet.images, torch.Tensor)
                                else torch.from_numpy(np.asarray(monet.images)))
    return monet.subset(every_kth(order, every))


def _assemble(get, split: str, size: int, domain: str, jitter: bool, curate_every: int, crop: int = 0):
    """Build what ``load_dataset`` returns from ``get(split, domain, stored_size) -> ImageSet | None``."""
    train_pair = split == "train" and domain == "both"
    stored = load_size(size) if train_pair and jitter else size
    if domain != "both":
        found = get(split, domain, size)
        return _curated(found, curate_every) if found is not None and domain == "monet" else found
    a, b = get(split, "monet", stored), get(split, "photo", stored)
    if a is None or b is None:
        return None
    a = _curated(a, curate_every)
    preview = None
    if split == "train":
        ta, tb = get("test", "monet", size), get("test", "photo", size)
        if ta is not None and tb is not None:
            preview = UnpairedSet(NAME, ta, tb, DOMAINS)
    window = (crop or size) if train_pair else 0
    return UnpairedSet(NAME, a, b, DOMAINS, crop=window if window != stored else 0, preview=preview)


def find(root: Path, split: str = "train", size: int = 256, domain: str = "both", jitter: bool = True,
         curate_every: int = 0, crop: int = 0) -> UnpairedSet | ImageSet | None:
    """The dataset under ``root`` (see the module docstring), or None when neither layout is there.

    ``crop`` (training pairs only): train on random ``crop`` px windows of the ``size`` px images instead
    of ``size`` px ones. The generators are fully convolutional, so they still translate whole ``size`` px
    images; on a CPU, 64 px windows make a step about 4x cheaper than 128 px ones.
    """
    _check_options(split, size, domain, curate_every, crop)
    found = find_layout(Path(root))
    if found is None:
        return None
    layout, base = found
    return _assemble(lambda s, d, px: _domain_set(layout, base, s, d, px), split, size, domain, jitter,
                     curate_every, crop)


# ---------------------------------------------------------------------------------------------------
# Stand-in: generated "paintings" and "photos" for offline machines
# ---------------------------------------------------------------------------------------------------

STAND_IN_SIZES = {"train": 64, "test": 16}


def _smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int) -> np.ndarray:
    coarse = torch.from_numpy(rng.random((1, channels, cells, cells), dtype=np.float32))
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0].numpy()


def _stand_in_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft, saturated colour field covered in short oriented dabs: a crude impressionist canvas."""
    palette = rng.random((4, 3)) * 0.6 + 0.35
    weights = _smooth_noise(rng, size, 3, 4)
    weights = np.exp(4 * weights) / np.exp(4 * weights).sum(0, keepdims=True)
    image = np.einsum("khw,kc->chw", weights, palette)
    n, length = size * 3, max(2, size // 16)
    ys, xs = rng.integers(0, size, n), rng.integers(0, size, n)
    angle = rng.normal(0.6, 0.3)
    for y, x in zip(ys, xs, strict=True):
        colour = np.clip(image[:, y, x] + rng.normal(0, 0.12, 3), 0, 1)
        for t in range(length):
            yy, xx = int(y + t * np.sin(angle)) % size, int(x + t * np.cos(angle)) % size
            image[:, yy, xx] = colour
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def _stand_in_photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """Sky over land with a horizon, fine sensor-like noise and no strokes: a crude landscape photo."""
    horizon = int(size * rng.uniform(0.35, 0.65))
    rows = np.linspace(0, 1, size, dtype=np.float32)[:, None]
    sky = np.stack([0.45 + 0.3 * rows, 0.6 + 0.25 * rows, 0.9 + 0.05 * rows]) * np.ones((1, 1, size), np.float32)
    ground_colour = np.array([0.25, 0.45, 0.2]) + rng.normal(0, 0.05, 3)
    ground = ground_colour[:, None, None] * (0.7 + 0.6 * _smooth_noise(rng, size, 8, 1))
    image = np.concatenate([sky[:, :horizon], ground[:, horizon:]], axis=1)
    image = image + rng.normal(0, 0.03, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def _stand_in_domain(split: str, domain: str, size: int) -> ImageSet:
    seed = {"train": 0, "test": 1}[split] * 2 + DOMAINS.index(domain)
    rng = np.random.default_rng(1000 + seed)
    draw = _stand_in_painting if domain == "monet" else _stand_in_photo
    images = np.stack([draw(rng, size) for _ in range(STAND_IN_SIZES[split])])
    return ImageSet(f"{NAME}/{domain}", torch.from_numpy(images), None, [], source="stand-in")


def stand_in(split: str = "train", size: int = 256, domain: str = "both", jitter: bool = True,
             curate_every: int = 0, crop: int = 0) -> UnpairedSet | ImageSet:
    _check_options(split, size, domain, curate_every, crop)
    return _assemble(lambda s, d, px: _stand_in_domain(s, d, px), split, size, domain, jitter, curate_every,
                     crop)


register_dataset(DatasetSpec(
    name=NAME,
    description="Monet paintings (A) and landscape photos (B), unpaired, RGB, for CycleGAN",
    find=find,
    download=download_monet2photo,
    stand_in=stand_in,
    expected=("Expected <data root>/monet2photo/ with trainA/ trainB/ testA/ testB/ (A = Monet, B = photos), "
              "or Kaggle's gan-getting-started monet_jpg/ and photo_jpg/ folders. `gancourse download "
              "monet2photo` fetches CycleGAN's monet2photo.zip (or the Hugging Face mirror huggan/monet2photo)."),
    options=("size", "domain", "jitter", "curate_every", "crop"),
    download_options=("monet", "photos", "keep_archive"),
    size_note="291 MB transferred (CycleGAN's zip); about 50 MB kept with every painting and 1,200 photos",
))
