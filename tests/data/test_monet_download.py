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
    http_server.write(ZIP_PATH, cyclegan_zip())
    monkeypatch.setattr(md, "ZIP_MIRRORS", [http_server.url_for(ZIP_PATH), closed_port_url + "monet2photo.zip"])
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


def test_a_damaged_zip_is_refused_and_nothing_is_left(mirrors, tmp_data_root):
    data = bytearray(cyclegan_zip())
    member = data.find(CONTENT["trainA"][3][100:140])
    data[member:member + 8] = b"\x00" * 8  # flip bytes inside a member: its CRC-32 no longer matches
    mirrors.write(ZIP_PATH, bytes(data))
    with pytest.raises(DownloadError) as info:
        download_dataset("monet2photo", monet=0, photos=0)
    message = str(info.value)
    assert "CRC" in message and ZIP_PATH in message  # what each mirror answered
    assert "refused" in message.lower() and "huggan/monet2photo" in message and "404" in message
    assert all_files(tmp_data_root) == []


def test_a_zip_cut_off_halfway_resumes(mirrors, tmp_data_root):
    size = len(cyclegan_zip())
    mirrors.cut_after[ZIP_PATH] = size // 2
    mirrors.cut_whole_only = True
    with pytest.raises(DownloadError, match="stopped after|transfer failed"):
        download_dataset("monet2photo")
    assert not (tmp_data_root / "monet2photo").exists()  # nothing that looks like the dataset
    download_dataset("monet2photo")
    ranges = [r for m, p, r in mirrors.requests if m == "GET" and p == ZIP_PATH]
    assert ranges[-1] == f"bytes={size // 2}-"
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
