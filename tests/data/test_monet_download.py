"""``gancourse download monet2photo`` against the test's own HTTP server: CycleGAN's zip, then the Hub mirror."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancourse.data import download as dl
from gancourse.data import download_dataset, load_dataset
from gancourse.data import monet_download as md
from gancourse.data.download import DownloadError

from ..helpers import all_files

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "monet2photo"
ZIP_PATH = "cyclegan/datasets/monet2photo.zip"


def jpeg(seed: int, size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(out, "JPEG")
    return out.getvalue()


def images(folder: str, n: int, seed: int) -> list[bytes]:
    """Real images from the shared data when there, else generated ones."""
    files = sorted((SHARED / folder).glob("*.jpg"))[:n] if (SHARED / folder).is_dir() else []
    return [p.read_bytes() for p in files] + [jpeg(seed + i) for i in range(n - len(files))]


CONTENT = {"trainA": images("trainA", 30, 0), "trainB": images("trainB", 40, 100),
           "testA": images("testA", 12, 200), "testB": images("testB", 14, 300)}


def cyclegan_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("monet2photo/", b"")
        for folder, datas in CONTENT.items():
            for i, data in enumerate(datas):
                z.writestr(f"monet2photo/{folder}/{i:05d}.jpg", data)
    return out.getvalue()


@pytest.fixture
def mirrors(http_server, tmp_data_root, closed_port_url, monkeypatch):
    data = cyclegan_zip()
    http_server.write(ZIP_PATH, data)
    monkeypatch.setattr(md, "ZIP_MIRRORS", [http_server.url_for(ZIP_PATH), closed_port_url + "monet2photo.zip"])
    monkeypatch.setattr(md, "ZIP_SHA256", hashlib.sha256(data).hexdigest())  # pinned, as the real zip's are
    monkeypatch.setattr(md, "ZIP_SIZE", len(data))
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))  # the Hub mirror is on the same server
    dl.forget_unreachable()
    return http_server


def test_zip_subset_lands_in_the_cyclegan_layout_and_loads_as_real(mirrors, tmp_data_root):
    download_dataset("monet2photo", monet=12, photos=16)
    base = tmp_data_root / "monet2photo"
    counts = {f: len(list((base / f).iterdir())) for f in md.FOLDERS}
    assert counts == {"trainA": 12, "trainB": 16, "testA": 10, "testB": 10}
    assert (base / "trainA" / "00000.jpg").read_bytes() == CONTENT["trainA"][0]  # the original bytes
    assert all_files(tmp_data_root / ".downloads") == []  # the archive is deleted after unpacking
    data = load_dataset("monet2photo", size=32, jitter=False, download=False)
    assert data.a.source == "real" and len(data.a) == 12 and len(data.b) == 16


def test_a_second_run_downloads_nothing_and_larger_caps_fetch_again(mirrors, tmp_data_root):
    download_dataset("monet2photo", monet=12, photos=16)
    before = len(mirrors.requests)
    download_dataset("monet2photo", monet=10, photos=16)
    assert len(mirrors.requests) == before
    download_dataset("monet2photo", monet=0, photos=0)
    assert len(list((tmp_data_root / "monet2photo" / "trainB").iterdir())) == 40


def test_load_dataset_downloads_when_online(mirrors, tmp_data_root):
    data = load_dataset("monet2photo", size=32, jitter=False)
    assert data.a.source == "real" and len(data.a) == 30  # default: every painting


def test_a_damaged_zip_is_refused_and_nothing_is_left(mirrors, tmp_data_root, monkeypatch):
    data = bytearray(cyclegan_zip())
    member = data.find(CONTENT["trainA"][3][100:140])
    data[member:member + 8] = b"\x00" * 8  # flip bytes inside a member: its CRC-32 no longer matches
    mirrors.write(ZIP_PATH, bytes(data))
    with pytest.raises(DownloadError) as info:
        download_dataset("monet2photo", monet=0, photos=0)
    assert "SHA-256" in str(info.value) and ZIP_PATH in str(info.value)  # the pinned checksum refuses it first
    assert all_files(tmp_data_root) == []
    monkeypatch.setattr(md, "ZIP_SHA256", None)  # without the pin, each member's CRC-32 still refuses it
    with pytest.raises(DownloadError) as info:
        download_dataset("monet2photo", monet=0, photos=0)
    message = str(info.value)
    assert "CRC" in message and ZIP_PATH in message  # what each mirror answered
    assert "refused" in message.lower() and "huggan/monet2photo" in message and "404" in message
    assert all_files(tmp_data_root) == []


def test_a_zip_cut_off_halfway_resumes(mirrors, tmp_data_root):
    size = len(cyclegan_zip())
    mirrors.cut_after[ZIP_PATH] = size // 2
    mirrors.cut_whole_only = True  # the first answer stops halfway: the same call asks for the rest
    download_dataset("monet2photo")
    ranges = [r for m, p, r in mirrors.requests if m == "GET" and p == ZIP_PATH]
    assert ranges == [None, f"bytes={size // 2}-"]
    assert len(list((tmp_data_root / "monet2photo" / "trainA").iterdir())) == 30


def test_a_stalling_mirror_fails_within_the_timeout_and_names_every_mirror(mirrors, tmp_data_root, monkeypatch):
    monkeypatch.setenv("GANCOURSE_NET_TIMEOUT", "0.3")
    mirrors.stall[ZIP_PATH] = 3.0
    with pytest.raises(DownloadError) as info:
        download_dataset("monet2photo")
    message = str(info.value)
    assert "timed out" in message and "huggan/monet2photo" in message
    assert all_files(tmp_data_root) == []


def hub_shard(rows: list[tuple[bytes, bytes]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({"imageA": pa.array([{"bytes": a, "path": None} for a, _ in rows], image_type),
                      "imageB": pa.array([{"bytes": b, "path": None} for _, b in rows], image_type)})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=8)
    return out.getvalue()


def test_the_hub_mirror_is_the_fallback_and_repeated_paintings_are_kept_once(mirrors, tmp_data_root):
    (mirrors.root / ZIP_PATH).unlink()  # the authors' server answers 404
    monet = [jpeg(1000 + i) for i in range(5)]
    photos = [jpeg(2000 + i) for i in range(30)]
    train = hub_shard([(monet[i % 4], photos[i]) for i in range(26)])  # 4 paintings repeated over 26 rows
    test = hub_shard([(monet[4], photos[26 + i]) for i in range(4)])
    listing = []
    for name, data in (("data/train-00000-of-00001.parquet", train), ("data/test-00000-of-00001.parquet", test)):
        mirrors.write(f"datasets/huggan/monet2photo/resolve/main/{name}", data)
        listing.append({"type": "file", "path": name, "size": len(data),
                        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}})
    mirrors.write("api/datasets/huggan/monet2photo/tree/main", json.dumps(listing).encode())
    download_dataset("monet2photo", monet=0, photos=0)
    base = tmp_data_root / "monet2photo"
    counts = {f: len(list((base / f).iterdir())) for f in md.FOLDERS}
    assert counts == {"trainA": 4, "trainB": 26, "testA": 1, "testB": 4}
    assert {p.read_bytes() for p in (base / "trainA").iterdir()} == set(monet[:4])
    assert json.loads((base / md.MARKER).read_text())["source"] == "huggan/monet2photo"
    # a wrong SHA-256 on the Hub mirror is refused too
    listing[0]["lfs"]["oid"] = "0" * 64
    mirrors.write("api/datasets/huggan/monet2photo/tree/main", json.dumps(listing).encode())
    (base / md.MARKER).unlink()
    for folder in md.FOLDERS:
        for p in (base / folder).iterdir():
            p.unlink()
        (base / folder).rmdir()
    base.rmdir()
    with pytest.raises(DownloadError, match="SHA-256"):
        download_dataset("monet2photo", monet=0, photos=0)
    assert all_files(tmp_data_root) == []


# -- unpacking a hostile archive: names out of the folder, macOS litter, bombs; streamed ----------------------------

def small_zip(extra: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A valid monet2photo layout (two paintings, two photos) plus ``extra`` members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for folder in ("trainA", "trainB"):
            for i in range(2):
                z.writestr(f"monet2photo/{folder}/{i:05d}.jpg", jpeg(i))
        for name, data in extra.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """``data`` with ``name``'s uncompressed size, in its local header and its central directory entry, set to
    ``size``: what a hand-made bomb (or a lying archive) declares."""
    data, encoded = bytearray(data), name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = data.find(signature)
        while data[start + name_at:start + name_at + len(encoded)] != encoded:
            start = data.find(signature, start + 1)
            assert start >= 0, name
        data[start + size_at:start + size_at + 4] = size.to_bytes(4, "little")
    return bytes(data)


def unpack(tmp_path: Path, data: bytes, want: dict[str, int] | None = None) -> Path:
    archive = tmp_path / "monet2photo.zip"
    archive.write_bytes(data)
    md._extract_zip(archive, tmp_path / "out", want or md.caps(0, 0), progress=False)
    return tmp_path / "out"


@pytest.mark.parametrize("name", ["monet2photo/trainA/..\\..\\..\\evil.jpg", "trainA/..\\..\\..\\evil.jpg",
                                  "C:/trainA/x.jpg", "/trainA/abs.jpg", "monet2photo/../trainA/up.jpg",
                                  "monet2photo/trainB/..\\x.jpg"])
def test_a_member_named_out_of_the_folder_refuses_the_archive(tmp_path, name):
    with pytest.raises(md.UnsafeArchive) as info:
        unpack(tmp_path, small_zip({name: jpeg(9)}))
    message = str(info.value)
    assert "\n" not in message and repr(name) in message and "refusing the archive" in message
    assert not (tmp_path / "out").exists()  # refused before anything was written
    assert not (tmp_path / "monet2photo.zip").exists()  # and not kept to be unpacked again
    assert not list(tmp_path.parent.rglob("evil.jpg"))


def test_macos_litter_is_skipped(tmp_path):
    out = unpack(tmp_path, small_zip({"__MACOSX/monet2photo/trainA/._00000.jpg": b"\x00\x05\x16\x07",
                                      "monet2photo/trainA/._00001.jpg": b"\x00\x05\x16\x07"}))
    assert sorted(p.name for p in (out / "trainA").iterdir()) == ["00000.jpg", "00001.jpg"]
    assert (out / "trainA" / "00001.jpg").read_bytes() == jpeg(1)  # the painting, not its AppleDouble twin
    assert not (out / "__MACOSX").exists()


def test_a_member_that_unpacks_past_its_declared_size_is_refused(tmp_path):
    name = "monet2photo/trainA/bomb.jpg"
    bomb = declare_size(small_zip({name: b"\x00" * 4_000_000}, zipfile.ZIP_DEFLATED), name, 1000)
    with pytest.raises(DownloadError) as info:  # refused as damaged: the bytes past the declared size never land
        unpack(tmp_path, bomb)
    assert "\n" not in str(info.value)
    written = list((tmp_path / "out").rglob("*")) if (tmp_path / "out").exists() else []
    assert sum(p.stat().st_size for p in written if p.is_file()) < 100_000


def test_a_member_declaring_more_than_any_image_is_refused_before_unpacking(tmp_path):
    name = "monet2photo/trainB/huge.jpg"
    bomb = declare_size(small_zip({name: b"\x00" * 1000}, zipfile.ZIP_DEFLATED), name, 1_500_000_000)  # 1.5 GB
    with pytest.raises(md.UnsafeArchive, match=r"declares 1,500,000,000 bytes"):
        unpack(tmp_path, bomb)
    assert not (tmp_path / "out").exists()


def test_images_declaring_more_than_the_dataset_in_total_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(md, "ZIP_SIZE", 20_000)  # so at most 40 kB may be unpacked
    extra = {f"monet2photo/trainB/{i}.jpg": b"\x00" * 15_000 for i in range(3)}
    with pytest.raises(md.UnsafeArchive, match=r"more than monet2photo holds"):
        unpack(tmp_path, small_zip(extra, zipfile.ZIP_DEFLATED))
    assert not (tmp_path / "out").exists()


def test_members_are_streamed_not_read_whole(tmp_path, monkeypatch):
    import tracemalloc

    big = 48 * 1024**2  # deflates to about 50 kB
    monkeypatch.setattr(md, "MAX_MEMBER_BYTES", 2 * big)
    monkeypatch.setattr(md, "ZIP_SIZE", 2 * big)
    data = small_zip({"monet2photo/trainA/big.jpg": b"\x00" * big}, zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    try:
        out = unpack(tmp_path, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (out / "trainA" / "big.jpg").stat().st_size == big
    assert peak < big / 8  # a few chunks at a time, not the member


def test_a_hostile_archive_falls_back_to_the_next_source_and_says_why(mirrors, tmp_data_root, monkeypatch):
    data = small_zip({"trainA/..\\..\\..\\evil.jpg": jpeg(9)})
    mirrors.write(ZIP_PATH, data)
    monkeypatch.setattr(md, "ZIP_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(md, "ZIP_SIZE", len(data))
    with pytest.raises(DownloadError) as info:  # the Hub mirror has nothing here either
        download_dataset("monet2photo", monet=0, photos=0)
    assert "backslash" in str(info.value) and "huggan/monet2photo" in str(info.value)
    assert all_files(tmp_data_root) == []
