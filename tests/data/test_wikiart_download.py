"""``gancourse download wikiart`` against a fake Hugging Face Hub on 127.0.0.1 (the test's own HTTP server).

The shards are real parquet files built here in the layout of ``huggan/wikiart`` (image struct, integer
``artist``/``genre``/``style`` labels, the ``datasets`` features in the schema metadata), holding real
painting JPEGs from the course's shared data next to rows of other styles.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancourse.data import DatasetNotFound, download_dataset, load_dataset
from gancourse.data import download as dl
from gancourse.data import wikiart_download as wd
from gancourse.data.download import ChecksumError, DownloadError

from ..helpers import all_files

pa = pytest.importorskip("pyarrow")  # a declared dependency: missing means a broken install, not no network
pq = pytest.importorskip("pyarrow.parquet")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wikiart" / "Impressionism"
IMPRESSIONISM, BAROQUE = wd.STYLES.index("Impressionism"), wd.STYLES.index("Baroque")
PISSARRO, SISLEY, REMBRANDT = (wd.ARTISTS.index(a) for a in ("camille-pissarro", "alfred-sisley", "rembrandt"))
N_SHARDS = 3


def real_paintings(artist: str, n: int) -> list[bytes]:
    files = sorted(SHARED.glob(f"{artist}_*.jpg"))[:n]
    if len(files) < n:  # a synthetic JPEG keeps the test independent of the shared folder's contents
        files_bytes = [p.read_bytes() for p in files]
        rng = np.random.default_rng(len(files_bytes))
        while len(files_bytes) < n:
            out = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(out, "JPEG")
            files_bytes.append(out.getvalue())
        return files_bytes
    return [p.read_bytes() for p in files]


def other_painting(seed: int) -> bytes:
    """A PNG (not a JPEG: the downloader must re-encode such rows) of another style."""
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def shard_bytes(rows: list[tuple[bytes, int, int]], with_features: bool = True) -> bytes:
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "image": pa.array([{"bytes": b, "path": None} for b, _, _ in rows], image_type),
        "artist": pa.array([a for _, a, _ in rows], pa.int64()),
        "genre": pa.array([4] * len(rows), pa.int64()),
        "style": pa.array([s for _, _, s in rows], pa.int64()),
    })
    if with_features:
        features = {"image": {"_type": "Image"},
                    "artist": {"names": list(wd.ARTISTS), "_type": "ClassLabel"},
                    "genre": {"names": list(wd.GENRES), "_type": "ClassLabel"},
                    "style": {"names": list(wd.STYLES), "_type": "ClassLabel"}}
        table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=2)
    return out.getvalue()


def shard_name(i: int) -> str:
    return f"train-{i:05d}-of-{N_SHARDS:05d}.parquet"


def resolve_path(i: int) -> str:
    return f"datasets/huggan/wikiart/resolve/main/data/{shard_name(i)}"


@pytest.fixture
def hub(http_server, tmp_data_root, monkeypatch):
    """The fake Hub: shard 0 holds only Baroque, shard 1 a mixture, shard 2 only Impressionism."""
    pissarro, sisley = real_paintings("camille-pissarro", 5), real_paintings("alfred-sisley", 3)
    shards = [
        [(other_painting(i), REMBRANDT, BAROQUE) for i in range(6)],
        [(pissarro[0], PISSARRO, IMPRESSIONISM), (other_painting(10), REMBRANDT, BAROQUE),
         (sisley[0], SISLEY, IMPRESSIONISM), (other_painting(11), REMBRANDT, BAROQUE),
         (pissarro[1], PISSARRO, IMPRESSIONISM)],
        [(p, PISSARRO, IMPRESSIONISM) for p in pissarro[2:]] + [(s, SISLEY, IMPRESSIONISM) for s in sisley[1:]],
    ]
    listing = []
    for i, rows in enumerate(shards):
        data = shard_bytes(rows)
        http_server.write(resolve_path(i), data)
        listing.append({"type": "file", "path": f"data/{shard_name(i)}", "size": len(data),
                        "oid": hashlib.sha1(data).hexdigest(),
                        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}})
    http_server.write("api/datasets/huggan/wikiart/tree/main/data", json.dumps(listing).encode())
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    dl.forget_unreachable()
    http_server.listing = listing
    http_server.expected = {"camille-pissarro": pissarro, "alfred-sisley": sisley}
    return http_server


def shard_gets(server, i: int) -> list[str | None]:
    """The Range headers of the GET requests for shard i (None: the whole file)."""
    return [r for method, path, r in server.requests if method == "GET" and path == resolve_path(i)]


def test_keeps_the_right_rows_in_the_artgan_layout_and_loads_as_real(hub, tmp_data_root):
    folder = download_dataset("wikiart", count=0) / "wikiart" / "Impressionism"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 8 and all(f.startswith(("camille-pissarro_", "alfred-sisley_")) for f in files)
    written = {p.read_bytes() for p in folder.iterdir()}
    assert written == set(hub.expected["camille-pissarro"]) | set(hub.expected["alfred-sisley"])  # bytes as served
    assert not (tmp_data_root / "wikiart" / "Baroque").exists()
    # shards are deleted after reading; shard 0 (Baroque only, by its footer statistics) is never fetched
    assert all_files(tmp_data_root / "wikiart" / ".download") == ["state.json"]
    assert all(r is not None for r in shard_gets(hub, 0))  # only its footer was read, with a range request
    data = load_dataset("wikiart", "all", size=32, download=False)
    assert data.source == "real" and len(data) == 8 and data.class_names == ["alfred-sisley", "camille-pissarro"]


def test_a_second_run_downloads_nothing(hub, tmp_data_root):
    download_dataset("wikiart", count=4)
    before = len(hub.requests)
    download_dataset("wikiart", count=4)
    assert len(hub.requests) == before


def test_count_stops_early_and_a_larger_count_continues(hub, tmp_data_root):
    folder = tmp_data_root / "wikiart" / "Impressionism"
    download_dataset("wikiart", count=2)
    assert len(list(folder.iterdir())) == 2
    assert shard_gets(hub, 1) == [r for r in shard_gets(hub, 1) if r is not None]  # the fuller shard 2 went first
    download_dataset("wikiart", count=7)
    assert len(list(folder.iterdir())) == 7


def test_artist_filter_and_non_jpeg_rows_are_reencoded(hub, tmp_data_root):
    download_dataset("wikiart", artist="alfred-sisley", count=0)
    files = list((tmp_data_root / "wikiart" / "Impressionism").iterdir())
    assert len(files) == 3 and all(f.name.startswith("alfred-sisley_") for f in files)
    download_dataset("wikiart", style="Baroque", count=0)
    baroque = list((tmp_data_root / "wikiart" / "Baroque").iterdir())
    assert len(baroque) == 8 and all(p.read_bytes()[:2] == b"\xff\xd8" for p in baroque)  # PNG rows -> JPEG
    assert all(p.name.startswith("rembrandt_") for p in baroque)


def test_load_dataset_downloads_when_online(hub, tmp_data_root):
    data = load_dataset("wikiart", "all", size=32, count=3)
    assert data.source == "real" and len(data) >= 3


def test_a_wrong_checksum_is_refused_and_nothing_is_left(hub, tmp_data_root):
    for entry in hub.listing:
        entry["lfs"]["oid"] = "0" * 64
    hub.write("api/datasets/huggan/wikiart/tree/main/data", json.dumps(hub.listing).encode())
    with pytest.raises(ChecksumError, match="SHA-256 .* does not match"):
        download_dataset("wikiart", count=3)
    assert all_files(tmp_data_root) == []
    with pytest.raises(DatasetNotFound, match="SHA-256") as info:
        load_dataset("wikiart", size=32)
    assert "gancourse download wikiart" in str(info.value)
    assert all_files(tmp_data_root) == []


def test_a_transfer_cut_off_halfway_resumes_where_it_stopped(hub, tmp_data_root):
    size = hub.listing[2]["size"]
    hub.cut_after[resolve_path(2)] = size // 2
    hub.cut_whole_only = True  # the first transfer dies halfway; the resume (a Range request) gets through
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        download_dataset("wikiart", count=6)
    part = tmp_data_root / "wikiart" / ".download" / f".{shard_name(2)}.part"
    assert part.stat().st_size == size // 2
    download_dataset("wikiart", count=6)
    assert shard_gets(hub, 2)[-1] == f"bytes={size // 2}-"  # only the missing half was asked for
    assert len(list((tmp_data_root / "wikiart" / "Impressionism").iterdir())) == 6


def test_a_stalling_server_fails_within_the_timeout(hub, tmp_data_root, monkeypatch):
    monkeypatch.setenv("GANCOURSE_NET_TIMEOUT", "0.3")
    hub.stall[resolve_path(2)] = 3.0
    with pytest.raises(DownloadError, match="timed out"):
        download_dataset("wikiart", count=3)


def test_unknown_style_or_artist_fails_before_any_request(hub, tmp_data_root):
    with pytest.raises(ValueError, match="no style 'Impresionism'.*did you mean Impressionism"):
        download_dataset("wikiart", style="Impresionism")
    with pytest.raises(ValueError, match="no artist 'claude-money'.*claude-monet"):
        download_dataset("wikiart", artist="claude-money")
    assert hub.requests == [] and all_files(tmp_data_root) == []


def test_shards_without_statistics_or_features_still_work(hub, tmp_data_root):
    """Older parquet writers: no min/max statistics, no features metadata -> the recorded class names."""
    rows = [(p, PISSARRO, IMPRESSIONISM) for p in hub.expected["camille-pissarro"][:2]]
    table = pq.read_table(io.BytesIO(shard_bytes(rows, with_features=False)))
    out = io.BytesIO()
    pq.write_table(table, out, write_statistics=False)
    data = out.getvalue()
    hub.write(resolve_path(0), data)
    hub.listing[0].update(size=len(data))
    hub.listing[0]["lfs"].update(oid=hashlib.sha256(data).hexdigest(), size=len(data))
    hub.write("api/datasets/huggan/wikiart/tree/main/data", json.dumps(hub.listing).encode())
    download_dataset("wikiart", count=0)
    assert len(list((tmp_data_root / "wikiart" / "Impressionism").iterdir())) == 10


def test_artist_names_become_clean_file_prefixes():
    assert wd.file_prefix("Unknown Artist") == "unknown-artist"
    assert wd.file_prefix("joaquã\xadn-sorolla") == "joaquin-sorolla"
    assert len(wd.ARTISTS) == 129 and len(wd.STYLES) == 27 and len(wd.GENRES) == 11


def test_a_server_that_ignores_range_restarts_the_shard_cleanly(hub, tmp_data_root):
    size = hub.listing[2]["size"]
    hub.cut_after[resolve_path(2)] = size // 3
    hub.cut_whole_only = True
    with pytest.raises(DownloadError):
        download_dataset("wikiart", count=6)
    hub.cut_after.clear()
    hub.ignore_range = True  # the resume gets the whole file back with 200: it must not be appended
    download_dataset("wikiart", count=6)
    files = list((tmp_data_root / "wikiart" / "Impressionism").iterdir())
    assert len(files) == 6 and {p.read_bytes() for p in files} <= set(hub.expected["camille-pissarro"]) | set(
        hub.expected["alfred-sisley"])


def test_the_download_command_line(hub, tmp_data_root, capsys):
    from gancourse.cli import main

    assert main(["download", "wikiart", "--data-option", "count=3", "--data-option", "keep_shards=true"]) == 0
    assert "wikiart is in" in capsys.readouterr().out
    assert len(list((tmp_data_root / "wikiart" / "Impressionism").iterdir())) >= 3
    assert any(p.suffix == ".parquet" for p in (tmp_data_root / "wikiart" / ".download").iterdir())  # kept
    assert main(["download", "wikiart", "--data-option", "style=Cubisme"]) == 2
    assert "did you mean Cubism" in capsys.readouterr().err


def test_images_are_read_a_few_at_a_time_even_from_one_huge_row_group(tmp_path, monkeypatch):
    from gancourse.data import huggingface as hf

    rows = [(other_painting(i), REMBRANDT, IMPRESSIONISM if i % 3 == 0 else BAROQUE) for i in range(40)]
    table = pq.read_table(io.BytesIO(shard_bytes(rows)))
    path = tmp_path / "one-group.parquet"
    pq.write_table(table, path, row_group_size=1000)  # the whole shard in one row group
    reads = []
    real_iter, real_group = pq.ParquetFile.iter_batches, pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda self, **kw: (
        reads.append(b.num_rows) or b for b in real_iter(self, **kw)))
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda self, g, columns=None, **kw: (
        reads.append(tuple(columns)) or real_group(self, g, columns=columns, **kw)))
    found = list(hf.matching_rows(path, ["style"], ["image"], lambda labels: labels["style"] == IMPRESSIONISM))
    assert [row for row, _, _ in found] == list(range(0, 40, 3))
    assert [hf.image_bytes(images["image"]) for _, _, images in found] == [rows[i][0] for i in range(0, 40, 3)]
    assert ("image",) not in reads and max(r for r in reads if isinstance(r, int)) <= hf.IMAGE_BATCH
