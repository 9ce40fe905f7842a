"""``gancourse download monet2photo``: CycleGAN's Monet paintings and landscape photos.

Sources, tried in order (each failure is kept, and the error names what every source answered):

1. the CycleGAN authors' ``monet2photo.zip`` (291 MB, 1,193 paintings and 7,038 photos, already split into
   ``trainA/ testA/`` (Monet) and ``trainB/ testB/`` (photos)), checked against its size and SHA-256 as
   TensorFlow Datasets records them (``url_checksums/cycle_gan.txt``; the authors publish none), and
   every member's CRC-32 as it is read;
2. the Hugging Face mirror ``huggan/monet2photo`` (parquet, columns ``imageA`` = Monet and ``imageB`` =
   photo, each shard checked against its LFS SHA-256). Its rows pair every photo with a painting, so the
   paintings repeat: they are de-duplicated by content. Shards named ``test-*`` are the test split; if
   there are none, one image in ten (by a hash of its bytes) is held out as the test split.

``monet`` and ``photos`` cap the training images kept per domain (0: all), so a student need not keep
6,000 photos; the test split keeps about one image per eight kept for training (all of it when uncapped).
Downloads resume (``Range``), files are written atomically, the archive is deleted once extracted
(``keep_archive=True`` keeps it), and a second run with the same or smaller caps touches no network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import UserError
from ..files import atomic_write, write_bytes_atomic
from . import huggingface as hf
from .download import ChecksumError, DownloadError, fetch_large, offline

NAME = "monet2photo"
ZIP_MIRRORS = [  # their first host, people.eecs.berkeley.edu, answers 404 (tensorflow/datasets#5134)
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/monet2photo.zip",  # the authors' current host
]
ZIP_SIZE = 305_231_073  # bytes and SHA-256 of monet2photo.zip, from TensorFlow Datasets' cycle_gan.txt
ZIP_SHA256 = "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04"
HF_REPO = "huggan/monet2photo"
DEFAULT_MONET, DEFAULT_PHOTOS = 0, 1200  # every painting (they are the scarce domain), photos to match
MARKER = ".download.json"
FOLDERS = ("trainA", "trainB", "testA", "testB")
_MEMBER = re.compile(r"(?:^|/)(trainA|trainB|testA|testB)/([^/]+\.(?:jpe?g|png))$", re.IGNORECASE)
_CANONICAL = {f.lower(): f for f in FOLDERS}
# Caps on what unpacking may write, checked against the sizes the archive declares before anything is written and
# again byte by byte as each member streams out: a 256-px JPEG of monet2photo is under 100 kB, and JPEGs do not
# compress, so the real zip unpacks to about its own size (ZIP_SIZE).
MAX_MEMBER_BYTES = 16 * 1024**2
UNPACKED_PER_ZIP_BYTE = 2  # the chosen members together: at most twice the archive's expected size
COPY_CHUNK = 1024**2


def test_cap(train_cap: int) -> int:
    """Test images kept for a training cap (0: all)."""
    return 0 if train_cap == 0 else max(10, train_cap // 8)


def caps(monet: int, photos: int) -> dict[str, int]:
    return {"trainA": monet, "trainB": photos, "testA": test_cap(monet), "testB": test_cap(photos)}


def _covered(have: dict[str, int], want: dict[str, int]) -> bool:
    """Whether an earlier download with caps ``have`` holds everything caps ``want`` ask for (0: all)."""
    return all(have.get(k, -1) == 0 or (want[k] != 0 and have.get(k, -1) >= want[k]) for k in want)


class UnsafeArchive(DownloadError):
    """An archive with a member name or size that unpacking must not follow (a path out of the folder, a bomb)."""


def _unsafe_name(name: str) -> str | None:
    """Why a member's name cannot be unpacked as it is (None: it can): Windows separators, ``..``, absolute."""
    if "\\" in name:
        return "a backslash (a Windows path separator)"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a '..' component"
    return None


def _is_junk(name: str) -> bool:
    """macOS's archive litter: ``__MACOSX/`` folders and ``._`` AppleDouble files (no images, whatever their name)."""
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._")


def _chosen_members(z: zipfile.ZipFile, archive: Path, want: dict[str, int]) -> list[tuple[str, zipfile.ZipInfo]]:
    """The members to unpack as (folder, info), within the caps; an unsafe archive is refused before any write."""
    members: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {f: [] for f in FOLDERS}
    for info in z.infolist():
        if info.is_dir() or _is_junk(info.filename):
            continue
        why = _unsafe_name(info.filename)
        if why:
            raise UnsafeArchive(f"{archive.name}: member {info.filename!r} has {why}; refusing the archive "
                                "(not CycleGAN's monet2photo)")
        match = _MEMBER.search(info.filename)
        if match:
            members[_CANONICAL[match.group(1).lower()]].append((match.group(2), info))
    if not members["trainA"] or not members["trainB"]:
        raise DownloadError(f"{archive.name} has no trainA/ and trainB/ images: not CycleGAN's monet2photo")
    chosen = [(folder, info) for folder in FOLDERS
              for _, info in sorted(members[folder], key=lambda m: m[0])[:want[folder] or None]]
    for _, info in chosen:
        if info.file_size > MAX_MEMBER_BYTES:
            raise UnsafeArchive(f"{archive.name}: member {info.filename!r} declares {info.file_size:,} bytes, more "
                                f"than any image of {NAME} ({MAX_MEMBER_BYTES:,} at most); refusing the archive")
    total, cap = sum(info.file_size for _, info in chosen), UNPACKED_PER_ZIP_BYTE * ZIP_SIZE
    if total > cap:
        raise UnsafeArchive(f"{archive.name}: its images declare {total:,} bytes unpacked, more than {NAME} holds "
                            f"({cap:,} at most); refusing the archive")
    return chosen


def _unpack_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, archive: Path) -> None:
    """Stream one member into ``dest`` (atomically), never more bytes than it declares; zipfile checks its CRC-32."""
    written = 0
    with z.open(info) as source, atomic_write(dest, "wb") as out:
        while chunk := source.read(COPY_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise UnsafeArchive(f"{archive.name}: member {info.filename!r} unpacks to more than the "
                                    f"{info.file_size:,} bytes it declares; refusing the archive")
            out.write(chunk)


def _extract_zip(archive: Path, base: Path, want: dict[str, int], progress: bool) -> None:
    """Unpack the chosen images of ``archive`` into ``base/<folder>/<name>``, one member at a time, streamed.

    Only the member's file name is kept (its folders say only which split it is), so nothing lands outside
    ``base``; names with ``\\``, ``..`` or an absolute path, and sizes past the caps, refuse the archive whole
    (it is deleted, and the next source is tried).
    """
    try:
        with zipfile.ZipFile(archive) as z:
            chosen = _chosen_members(z, archive, want)
            for folder, info in tqdm(chosen, desc=f"{NAME}: unpacking", unit="image", disable=not progress):
                dest = base / folder / info.filename.rsplit("/", 1)[-1]
                if not dest.exists():
                    _unpack_member(z, info, dest, archive)
    except UnsafeArchive:
        archive.unlink(missing_ok=True)
        raise
    except zipfile.BadZipFile as exc:
        archive.unlink(missing_ok=True)
        raise ChecksumError(f"{archive.name} is damaged ({exc}); it was deleted, run the download again") from exc


def _from_zip(url: str, work: Path, base: Path, want: dict[str, int], keep: bool, progress: bool) -> None:
    archive = work / f"{NAME}-{hashlib.sha1(url.encode()).hexdigest()[:8]}.zip"  # one partial file per mirror
    if not archive.is_file():
        fetch_large(url, archive, sha256=ZIP_SHA256, size=ZIP_SIZE, progress=progress, desc=f"{NAME}.zip")
    _extract_zip(archive, base, want, progress)
    if not keep:
        archive.unlink()


def _held_out(data: bytes) -> bool:
    return int(hashlib.sha1(data).hexdigest(), 16) % 10 == 0


def _from_hub(work: Path, base: Path, want: dict[str, int], keep: bool, progress: bool) -> None:
    shards = [f for f in hf.list_files(HF_REPO, recursive=True) if f.path.endswith(".parquet")]
    if not shards:
        raise DownloadError(f"{hf.endpoint()}: {HF_REPO} lists no parquet files")
    has_test = any(f.name.startswith("test") for f in shards)
    counts = {f: len(list((base / f).glob("*.jpg"))) if (base / f).is_dir() else 0 for f in FOLDERS}
    seen: set[str] = set()

    def full(folder: str) -> bool:
        return want[folder] != 0 and counts[folder] >= want[folder]

    for remote in shards:
        if all(full(f) for f in FOLDERS):
            break
        if remote.sha256 is None:
            raise DownloadError(f"{remote.url}: the Hub publishes no SHA-256 for it, so it cannot be checked")
        shard = work / remote.name
        if not shard.is_file():
            fetch_large(remote.url, shard, sha256=remote.sha256, size=remote.size, progress=progress,
                        desc=remote.name)
        test_shard = remote.name.startswith("test")
        rows = hf.matching_rows(shard, [], ["imageA", "imageB"])
        for _, _, images in tqdm(rows, desc=f"{NAME}: {remote.name}", unit="row", leave=False,
                                 disable=not progress):
            for column, domain in (("imageA", "A"), ("imageB", "B")):
                data = hf.image_bytes(images[column])
                digest = hashlib.sha1(data).hexdigest()
                if digest in seen:  # the Monet column repeats its paintings
                    continue
                seen.add(digest)
                test = test_shard if has_test else _held_out(data)
                folder = f"{'test' if test else 'train'}{domain}"
                dest = base / folder / f"{digest[:16]}.jpg"
                if full(folder) or dest.exists():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(dest, _as_jpeg(data))
                counts[folder] += 1
        if not keep:
            shard.unlink()


def _as_jpeg(data: bytes) -> bytes:
    if data.startswith(b"\xff\xd8"):
        return data
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=95)
        return out.getvalue()


def download_monet2photo(root: Path | str, monet: int | str = DEFAULT_MONET, photos: int | str = DEFAULT_PHOTOS,
                         keep_archive: bool | str = False, progress: bool = True, **_loader_options) -> Path:
    """Fill ``<root>/monet2photo/{trainA,trainB,testA,testB}`` (see the module docstring).

    Loader options (``size``, ``domain``, ...) are accepted and ignored, so ``load_dataset`` can pass its own.
    """
    root, monet, photos = Path(root), int(monet), int(photos)
    if monet < 0 or photos < 0:
        raise UserError(f"monet and photos are image counts, 0 for all; got monet={monet}, photos={photos}")
    keep = str(keep_archive).lower() in {"1", "true", "yes"}
    base = root / NAME
    want = caps(monet, photos)
    marker = base / MARKER
    if marker.is_file() and _covered(json.loads(marker.read_text())["caps"], want):
        return base  # an earlier download already holds this much: no network
    if not marker.is_file() and all((base / f).is_dir() and any((base / f).iterdir()) for f in ("trainA", "trainB")):
        return base  # a monet2photo put here by hand (or by an instructor): leave it as it is
    if offline():
        raise DownloadError(f"not downloading {NAME} because GANCOURSE_OFFLINE is set")
    made = not base.exists()
    work = root / ".downloads"
    made_work = not work.exists()
    failures = []
    try:
        for source in [*ZIP_MIRRORS, HF_REPO]:
            try:
                if source == HF_REPO:
                    _from_hub(work, base, want, keep, progress)
                else:
                    _from_zip(source, work, base, want, keep, progress)
            except (DownloadError, OSError, ValueError) as exc:
                where = f"{hf.endpoint()}/datasets/{HF_REPO}" if source == HF_REPO else source
                failures.append(f"  {where}: {exc}")
                continue
            marker.write_text(json.dumps({"caps": want, "source": source}, indent=1))
            return base
        raise DownloadError(f"could not download {NAME}:\n" + "\n".join(failures))
    finally:
        if made and not marker.is_file():  # nothing complete: leave no folder that looks like the dataset
            shutil.rmtree(base, ignore_errors=True)
        if made_work:
            with contextlib.suppress(OSError):
                work.rmdir()
