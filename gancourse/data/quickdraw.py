"""Google Quick, Draw! ``numpy_bitmap`` drawings: one ``.npy`` per category under ``<data root>/quickdraw/``.

Each file is uint8 (N, 784): N drawings of 28x28, white strokes on black. The full files are about
100 MB per category and there are 345 categories, so nothing here reads a whole file unless asked to:

- files are opened with ``np.load(mmap_mode="r")``: opening costs the header, not the data;
- ``max_per_class`` caps the training rows taken from each category;
- the first ``min(test_per_class, N // 5)`` rows of each category are the held-out test split, the
  training split starts after them. The split never moves when a download later appends rows.
- selections up to ``GANCOURSE_IN_MEMORY_MB`` (default 512) are copied into memory (fast, and they can
  live on the GPU); larger ones stay on disk: one category as a view of its memory map, several as one
  prepared memory-mapped array in the cache (written once, chunk by chunk). Either way a batch reads
  only its own rows, so the data set can be larger than RAM.

The downloader fetches only the first rows of a category with HTTP range requests (see ``npy_range``).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import urllib.parse
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..paths import cache_dir
from . import DatasetSpec, register_dataset
from .download import DownloadError, offline
from .imageset import ImageSet
from .npy_range import HEADER_BYTES, fetch_npy_rows, npy_header_bytes, parse_npy_header

FOLDER = "quickdraw"
PIXELS = 28 * 28
TEST_PER_CLASS = 500
DEFAULT_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/"
CACHE_VERSION = 1

# The 345 categories of the public data set (googlecreativelab/quickdraw-dataset, categories.txt).
CATEGORIES: tuple[str, ...] = tuple("""
aircraft carrier|airplane|alarm clock|ambulance|angel|animal migration|ant|anvil|apple|arm|asparagus|axe|
backpack|banana|bandage|barn|baseball|baseball bat|basket|basketball|bat|bathtub|beach|bear|beard|bed|bee|
belt|bench|bicycle|binoculars|bird|birthday cake|blackberry|blueberry|book|boomerang|bottlecap|bowtie|
bracelet|brain|bread|bridge|broccoli|broom|bucket|bulldozer|bus|bush|butterfly|cactus|cake|calculator|
calendar|camel|camera|camouflage|campfire|candle|cannon|canoe|car|carrot|castle|cat|ceiling fan|cello|
cell phone|chair|chandelier|church|circle|clarinet|clock|cloud|coffee cup|compass|computer|cookie|cooler|
couch|cow|crab|crayon|crocodile|crown|cruise ship|cup|diamond|dishwasher|diving board|dog|dolphin|donut|
door|dragon|dresser|drill|drums|duck|dumbbell|ear|elbow|elephant|envelope|eraser|eye|eyeglasses|face|fan|
feather|fence|finger|fire hydrant|fireplace|firetruck|fish|flamingo|flashlight|flip flops|floor lamp|
flower|flying saucer|foot|fork|frog|frying pan|garden|garden hose|giraffe|goatee|golf club|grapes|grass|
guitar|hamburger|hammer|hand|harp|hat|headphones|hedgehog|helicopter|helmet|hexagon|hockey puck|
hockey stick|horse|hospital|hot air balloon|hot dog|hot tub|hourglass|house|house plant|hurricane|
ice cream|jacket|jail|kangaroo|key|keyboard|knee|knife|ladder|lantern|laptop|leaf|leg|light bulb|lighter|
lighthouse|lightning|line|lion|lipstick|lobster|lollipop|mailbox|map|marker|matches|megaphone|mermaid|
microphone|microwave|monkey|moon|mosquito|motorbike|mountain|mouse|moustache|mouth|mug|mushroom|nail|
necklace|nose|ocean|octagon|octopus|onion|oven|owl|paintbrush|paint can|palm tree|panda|pants|paper clip|
parachute|parrot|passport|peanut|pear|peas|pencil|penguin|piano|pickup truck|picture frame|pig|pillow|
pineapple|pizza|pliers|police car|pond|pool|popsicle|postcard|potato|power outlet|purse|rabbit|raccoon|
radio|rain|rainbow|rake|remote control|rhinoceros|rifle|river|roller coaster|rollerskates|sailboat|
sandwich|saw|saxophone|school bus|scissors|scorpion|screwdriver|sea turtle|see saw|shark|sheep|shoe|
shorts|shovel|sink|skateboard|skull|skyscraper|sleeping bag|smiley face|snail|snake|snorkel|snowflake|
snowman|soccer ball|sock|speedboat|spider|spoon|spreadsheet|square|squiggle|squirrel|stairs|star|steak|
stereo|stethoscope|stitches|stop sign|stove|strawberry|streetlight|string bean|submarine|suitcase|sun|
swan|sweater|swing set|sword|syringe|table|teapot|teddy-bear|telephone|television|tennis racquet|tent|
The Eiffel Tower|The Great Wall of China|The Mona Lisa|tiger|toaster|toe|toilet|tooth|toothbrush|
toothpaste|tornado|tractor|traffic light|train|tree|triangle|trombone|truck|trumpet|t-shirt|umbrella|
underwear|van|vase|violin|washing machine|watermelon|waterslide|whale|wheel|windmill|wine bottle|
wine glass|wristwatch|yoga|zebra|zigzag""".replace("\n", "").split("|"))

# The stand-in draws these when no categories are named (the ten of the course's shared data).
COURSE_MAX_PER_CLASS = 5000  # what `gancourse download quickdraw` fetches per category when none are named
STAND_IN_CATEGORIES = ("airplane", "apple", "bicycle", "cat", "circle", "crown", "diamond", "eye", "fish", "star")


def base_url() -> str:
    """Where the full files live; ``$GANCOURSE_QUICKDRAW_URL`` points elsewhere (a mirror, a test server)."""
    return os.environ.get("GANCOURSE_QUICKDRAW_URL", DEFAULT_URL).rstrip("/") + "/"


def in_memory_limit() -> int:
    """Selections up to this many bytes are copied into RAM; larger ones stay memory-mapped."""
    return int(float(os.environ.get("GANCOURSE_IN_MEMORY_MB", "512")) * 2**20)


def parse_categories(categories: str | Iterable[str] | None) -> list[str]:
    """``"apple,cat"`` or ``["apple", "cat"]`` -> ``["apple", "cat"]`` (order kept, duplicates dropped)."""
    if categories is None:
        return []
    items = categories.split(",") if isinstance(categories, str) else list(categories)
    return list(dict.fromkeys(name.strip() for name in items if name.strip()))


def local_categories(root: Path | str) -> list[str]:
    """Categories with a ``.npy`` under ``<root>/quickdraw/``, sorted."""
    folder = Path(root) / FOLDER
    return sorted(p.stem for p in folder.glob("*.npy")) if folder.is_dir() else []


def check_categories(names: Sequence[str], root: Path | str) -> None:
    """Fail on a name that is neither a Quick Draw category nor a file here, listing what there is."""
    here = local_categories(root)
    unknown = [n for n in names if n not in here and n not in CATEGORIES]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(set(CATEGORIES) | set(here)), n=3)
            hints.append(f"{name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise UserError(
            f"unknown Quick Draw categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(hints)}.\n"
            f"Available under {Path(root) / FOLDER}: {', '.join(here) or 'none'}.\n"
            f"Any of the {len(CATEGORIES)} official names can be downloaded "
            f"(gancourse.data.quickdraw.CATEGORIES), e.g. `gancourse download quickdraw`.")


def _damaged(path: Path, why: str) -> UserError:
    return UserError(f"{path} is damaged ({why}); delete it and download it again: "
                     f"gancourse download quickdraw --data-option categories={path.stem}")


def open_category(path: Path) -> np.ndarray:
    """The drawings of one category as a read-only memory map (N, 1, 28, 28): nothing is read yet."""
    try:
        array = np.load(path, mmap_mode="r")
    except EOFError:
        raise _damaged(path, "it is empty") from None
    except ValueError as exc:  # "mmap length is greater than file size", pickled data, a bad header
        why = "it is cut short" if "mmap length" in str(exc) else f"not a NumPy array file: {str(exc)[:80]}"
        raise _damaged(path, why) from exc
    if array.dtype != np.uint8 or array.ndim < 2 or int(np.prod(array.shape[1:])) != PIXELS:
        raise _damaged(path, f"expected uint8 rows of 784 pixels (N, 784), got {array.dtype} {array.shape}")
    return array.reshape(-1, 1, 28, 28)


def split_rows(n_rows: int, split: str, max_per_class: int = 0, test_per_class: int = TEST_PER_CLASS) -> slice:
    """The rows of a category file that belong to ``split``: test first, then (capped) training rows."""
    n_test = min(test_per_class, n_rows // 5)
    if split == "test":
        return slice(0, n_test)
    if split != "train":
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return slice(n_test, n_rows if not max_per_class else min(n_rows, n_test + max_per_class))


def interleaved_order(counts: Sequence[int]) -> np.ndarray:
    """For rows grouped by class (``counts`` each), an order that mixes the classes evenly.

    Row i of a class with n rows gets the key (i + 0.5) / n; sorting the keys deals the classes out in
    proportion, so the first rows of the set (``load_dataset(limit=...)``, ``head``) hold every class.
    """
    keys = np.concatenate([(np.arange(n) + 0.5) / n for n in counts]) if counts else np.zeros(0)
    return np.argsort(keys, kind="stable")


def _options(max_per_class: int | str, test_per_class: int | str) -> tuple[int, int]:
    cap, n_test = int(max_per_class or 0), int(test_per_class)
    if cap < 0 or n_test < 1:
        raise UserError(f"max_per_class must be >= 0 (0: no cap) and test_per_class >= 1, "
                         f"got {max_per_class} and {test_per_class}")
    return cap, n_test


def find_quickdraw(root: Path | str, split: str = "train", categories: str | Iterable[str] | None = None,
                   max_per_class: int | str = 0, test_per_class: int | str = TEST_PER_CLASS) -> ImageSet | None:
    """The chosen categories' ``split`` from ``<root>/quickdraw``, or None when a file is missing."""
    cap, n_test = _options(max_per_class, test_per_class)
    names = parse_categories(categories) or local_categories(root)
    if not names:
        return None
    check_categories(names, root)
    paths = [Path(root) / FOLDER / f"{name}.npy" for name in names]
    if not all(p.is_file() for p in paths):
        return None
    arrays = [open_category(p) for p in paths]
    slices = [split_rows(len(a), split, cap, n_test) for a in arrays]
    counts = [s.stop - s.start for s in slices]
    for name, array, count in zip(names, arrays, counts, strict=True):
        if count == 0:
            raise UserError(f"quickdraw/{name}.npy has {len(array)} rows: too few for a {split} split "
                             f"(the first {min(n_test, len(array) // 5)} rows are the test split)")
    order = interleaved_order(counts)
    labels = torch.repeat_interleave(torch.arange(len(names)), torch.tensor(counts))[torch.from_numpy(order)]
    if sum(counts) * PIXELS <= in_memory_limit():
        stacked = np.concatenate([a[s] for a, s in zip(arrays, slices, strict=True)])
        images: torch.Tensor | np.ndarray = torch.from_numpy(stacked[order])
    elif len(arrays) == 1:
        images = arrays[0][slices[0]]  # a view of the memory map: nothing is read until a batch asks
    else:
        images = prepared_memmap(paths, slices, split)
    return ImageSet("quickdraw", images, labels, names, "real")


def prepared_memmap(paths: Sequence[Path], slices: Sequence[slice], split: str) -> np.ndarray:
    """The selected rows of several files, interleaved by class, as one memory-mapped array in the cache.

    Written once (chunk by chunk, with plain file reads and writes, so memory stays flat) and reused
    while the source files are unchanged.
    """
    fingerprint = hashlib.sha1(f"v{CACHE_VERSION}|{split}".encode())
    for path, s in zip(paths, slices, strict=True):
        stat = path.stat()
        fingerprint.update(f"|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{s.start}:{s.stop}".encode())
    dest = cache_dir() / FOLDER / f"{split}-{len(paths)}cat-{fingerprint.hexdigest()[:16]}.npy"
    counts = [s.stop - s.start for s in slices]
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
        try:
            _write_interleaved(paths, slices, counts, tmp)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
    return np.load(dest, mmap_mode="r")


def _write_interleaved(paths: Sequence[Path], slices: Sequence[slice], counts: Sequence[int], out_path: Path,
                       chunk_rows: int = 8192) -> None:
    order = interleaved_order(counts)
    class_of = np.repeat(np.arange(len(counts)), counts)[order]  # the class of each output row
    sources = [open(p, "rb") for p in paths]
    try:
        offsets = [parse_npy_header(f.read(4096), str(p)).offset for f, p in zip(sources, paths, strict=True)]
        done = [0] * len(paths)  # rows of each class written so far (each class stays in file order)
        with open(out_path, "wb") as out:
            out.write(npy_header_bytes((len(order), 1, 28, 28), np.dtype(np.uint8)))
            assert out.tell() == HEADER_BYTES
            for begin in range(0, len(order), chunk_rows):
                block = class_of[begin:begin + chunk_rows]
                buffer = np.empty((len(block), PIXELS), np.uint8)
                for c in np.unique(block):
                    rows = np.flatnonzero(block == c)
                    f = sources[c]
                    f.seek(offsets[c] + (slices[c].start + done[c]) * PIXELS)
                    buffer[rows] = np.frombuffer(f.read(len(rows) * PIXELS), np.uint8).reshape(-1, PIXELS)
                    done[c] += len(rows)
                out.write(buffer.tobytes())
    finally:
        for f in sources:
            f.close()


def download_quickdraw(root: Path | str, categories: str | Iterable[str] | None = None,
                       max_per_class: int | str = 0, test_per_class: int | str = TEST_PER_CLASS,
                       progress: bool = True) -> list[Path]:
    """Fetch the first ``test_per_class + max_per_class`` drawings of each category (all with no cap).

    No categories: the course's ten (notebook 05), 5000 training drawings each.

    Only those bytes are requested (HTTP range); an interrupted download resumes where it stopped, and a
    file that already holds enough rows is left alone.
    """
    names = parse_categories(categories)
    if not names:  # the course's ten categories, capped as notebook 05's quick profile uses them
        names, max_per_class = list(STAND_IN_CATEGORIES), max_per_class or COURSE_MAX_PER_CLASS
    cap, n_test = _options(max_per_class, test_per_class)
    if offline():
        raise DownloadError("not downloading Quick Draw categories because GANCOURSE_OFFLINE is set")
    check_categories(names, root)
    rows = n_test + cap if cap else 0
    return [fetch_npy_rows(base_url() + urllib.parse.quote(name) + ".npy", Path(root) / FOLDER / f"{name}.npy",
                           rows, progress=progress) for name in names]


def stand_in_quickdraw(split: str = "train", categories: str | Iterable[str] | None = None,
                       max_per_class: int | str = 0, test_per_class: int | str = TEST_PER_CLASS) -> ImageSet:
    """Generated doodles, one fixed random stroke figure per category with a jittered hand: NOT Quick Draw.

    Only for machines with neither the files nor internet; 1000 training and 200 test drawings a class.
    """
    from PIL import Image, ImageDraw

    cap, _ = _options(max_per_class, test_per_class)
    names = parse_categories(categories) or list(STAND_IN_CATEGORIES)
    per_class = 200 if split == "test" else min(1000, cap or 1000)
    images, labels = [], []
    for label, name in enumerate(names):
        shape_rng = np.random.default_rng(zlib.crc32(name.encode()))
        strokes = [shape_rng.uniform(0.15, 0.85, (shape_rng.integers(2, 6), 2))
                   for _ in range(shape_rng.integers(1, 4))]
        rng = np.random.default_rng(zlib.crc32(f"{name}|{split}".encode()))
        for _ in range(per_class):
            canvas = Image.new("L", (112, 112))
            draw = ImageDraw.Draw(canvas)
            angle = rng.normal(0, 0.2)
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            rot = rot * rng.uniform(0.8, 1.1)
            shift = rng.normal(0, 0.04, 2)
            for stroke in strokes:
                points = (stroke - 0.5 + rng.normal(0, 0.03, stroke.shape)) @ rot.T + 0.5 + shift
                draw.line([tuple(p) for p in points * 112], fill=255, width=int(rng.integers(6, 10)), joint="curve")
            images.append(np.asarray(canvas.resize((28, 28), Image.BILINEAR)))
            labels.append(label)
    order = interleaved_order([per_class] * len(names))
    stacked = np.stack(images)[order][:, None]
    return ImageSet("quickdraw", torch.from_numpy(stacked.copy()), torch.tensor(labels)[torch.from_numpy(order)],
                    names, "stand-in")


def _register() -> None:
    register_dataset(DatasetSpec(
        name="quickdraw",
        description="Google Quick, Draw! doodles, 28x28 grey, one class per chosen category",
        find=find_quickdraw,
        download=download_quickdraw,
        stand_in=stand_in_quickdraw,
        expected=("Expected one .npy per category (uint8, (N, 784), the official numpy_bitmap files) in "
                  "<data root>/quickdraw/, e.g. quickdraw/apple.npy. Fetch the first rows of some with "
                  "`gancourse download quickdraw --data-option categories=apple,cat "
                  "--data-option max_per_class=5000`."),
        options=("categories", "max_per_class", "test_per_class"),
        splits=("train", "test"),
        command_options=("categories", "max_per_class"),
        size_note="about 4 MB per category for 5,000 drawings (the course's ten: about 45 MB)",
    ))


_register()
