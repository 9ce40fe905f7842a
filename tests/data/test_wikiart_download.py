"""``gancourse download wikiart`` against a fake Hugging Face Hub on 127.0.0.1 (the test's own HTTP server).

The shards are real parquet files built here in the layout of ``huggan/wikiart`` (image struct, integer
``artist``/``genre``/``style`` labels, the ``datasets`` features in the schema metadata, one row group per
shard with the styles mixed), holding real painting JPEGs from the course's shared data next to rows of
other styles. The Hub misbehaves on demand: 429 with Retry-After, a 302 to a CDN on another host, Range
ignored, stalls, transfers cut short. Each test asserts the requests made and the bytes read.
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
from gancourse.data import huggingface as hf
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


FEATURES = {"image": {"_type": "Image"},
            "artist": {"names": list(wd.ARTISTS), "_type": "ClassLabel"},
            "genre": {"names": list(wd.GENRES), "_type": "ClassLabel"},
            "style": {"names": list(wd.STYLES), "_type": "ClassLabel"}}


def shard_bytes(rows: list[tuple[bytes, int, int]], features: dict | None = FEATURES) -> bytes:
    """A shard as huggan/wikiart's are: ONE row group with every style mixed in, features in the metadata."""
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "image": pa.array([{"bytes": b, "path": None} for b, _, _ in rows], image_type),
        "artist": pa.array([a for _, a, _ in rows], pa.int64()),
        "genre": pa.array([4] * len(rows), pa.int64()),
        "style": pa.array([s for _, _, s in rows], pa.int64()),
    })
    if features:
        table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=len(rows))
    return out.getvalue()


def shard_name(i: int, n: int = N_SHARDS) -> str:
    return f"train-{i:05d}-of-{n:05d}.parquet"


def resolve_path(i: int, n: int = N_SHARDS) -> str:
    return f"datasets/huggan/wikiart/resolve/main/data/{shard_name(i, n)}"


TREE = "api/datasets/huggan/wikiart/tree/main/data"
INFOS = "datasets/huggan/wikiart/resolve/main/dataset_infos.json"


def publish(server, shards: list[bytes]) -> list[dict]:
    """Serve ``shards`` as huggan/wikiart's data/ folder (resolve URLs and the tree API); returns the listing."""
    listing = []
    for i, data in enumerate(shards):
        server.write(resolve_path(i, len(shards)), data)
        listing.append({"type": "file", "path": f"data/{shard_name(i, len(shards))}", "size": len(data),
                        "oid": hashlib.sha1(data).hexdigest(),
                        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}})
    server.write(TREE, json.dumps(listing).encode())
    return listing


@pytest.fixture
def hub(http_server, tmp_data_root, monkeypatch):
    """The fake Hub: three shards of one row group each, Impressionism mixed with Baroque (PNG rows) in each;
    8 Impressionism paintings (3, 2, 3 per shard), 6 Baroque ones (3, 2, 1)."""
    pissarro, sisley = real_paintings("camille-pissarro", 5), real_paintings("alfred-sisley", 3)
    shards = [
        [(other_painting(0), REMBRANDT, BAROQUE), (pissarro[0], PISSARRO, IMPRESSIONISM),
         (other_painting(1), REMBRANDT, BAROQUE), (sisley[0], SISLEY, IMPRESSIONISM),
         (other_painting(2), REMBRANDT, BAROQUE), (pissarro[1], PISSARRO, IMPRESSIONISM)],
        [(pissarro[2], PISSARRO, IMPRESSIONISM), (other_painting(10), REMBRANDT, BAROQUE),
         (other_painting(11), REMBRANDT, BAROQUE), (sisley[1], SISLEY, IMPRESSIONISM)],
        [(pissarro[3], PISSARRO, IMPRESSIONISM), (pissarro[4], PISSARRO, IMPRESSIONISM),
         (other_painting(20), REMBRANDT, BAROQUE), (sisley[2], SISLEY, IMPRESSIONISM)],
    ]
    http_server.listing = publish(http_server, [shard_bytes(rows) for rows in shards])
    http_server.write(INFOS, json.dumps({"huggan--wikiart": {"features": FEATURES}}).encode())
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    monkeypatch.setattr(dl, "BACKOFF_S", 0.01)
    dl.forget_unreachable()
    dl.reset_traffic()
    http_server.expected = {"camille-pissarro": pissarro, "alfred-sisley": sisley}
    return http_server


@pytest.fixture
def cdn_hub(hub, second_server):
    """The fake Hub answering each shard with a 302 to a signed URL on another host, as the real Hub
    sends its large files to the Xet CDN (cas-bridge.xethub.hf.co)."""
    for i, entry in enumerate(hub.listing):
        oid = entry["lfs"]["oid"]
        second_server.write(f"xet/{oid}", (hub.root / resolve_path(i)).read_bytes())
        (hub.root / resolve_path(i)).unlink()
        hub.redirect[resolve_path(i)] = second_server.url_for(f"xet/{oid}") + "?X-Xet-Signed-Range=0-&sig=abc"
    hub.cdn = second_server
    return hub


def shard_gets(server, i: int, n: int = N_SHARDS) -> list[str | None]:
    """The Range headers of the GET requests for shard i (None: the whole file)."""
    return [r for method, path, r in server.requests if method == "GET" and path == resolve_path(i, n)]


def shard_size(server, i: int) -> int:
    return server.listing[i]["size"]


def footer_range(size: int) -> str:
    return f"bytes={size - min(size, hf.FOOTER_PROBE_BYTES)}-{size - 1}"


def impressionism(root: Path) -> list[Path]:
    return sorted((root / "wikiart" / "Impressionism").iterdir())


def test_keeps_the_right_rows_in_the_artgan_layout_with_one_request_per_shard(hub, tmp_data_root):
    folder = download_dataset("wikiart", count=0) / "wikiart" / "Impressionism"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 8 and all(f.startswith(("camille-pissarro_", "alfred-sisley_")) for f in files)
    written = {p.read_bytes() for p in folder.iterdir()}
    assert written == set(hub.expected["camille-pissarro"]) | set(hub.expected["alfred-sisley"])  # bytes as served
    assert not (tmp_data_root / "wikiart" / "Baroque").exists()
    assert all_files(tmp_data_root / "wikiart" / ".download") == ["state.json"]  # shards deleted once read
    # no footer probes: the listing, the class names, then each shard once, whole
    assert hub.requests == [("GET", TREE, None), ("GET", INFOS, None)] + [
        ("GET", resolve_path(i), None) for i in range(N_SHARDS)]
    tree, infos = (len((hub.root / p).read_bytes()) for p in (TREE, INFOS))
    assert dl.traffic()["bytes"] == tree + infos + sum(shard_size(hub, i) for i in range(N_SHARDS))
    data = load_dataset("wikiart", "all", size=32, download=False)
    assert data.source == "real" and len(data) == 8 and data.class_names == ["alfred-sisley", "camille-pissarro"]


def test_shards_are_fetched_in_a_fixed_order_until_the_count_is_reached(hub, tmp_data_root):
    download_dataset("wikiart", count=2)
    assert len(impressionism(tmp_data_root)) == 2
    assert [shard_gets(hub, i) for i in range(N_SHARDS)] == [[None], [], []]
    download_dataset("wikiart", count=5)  # shard 0 was left halfway (and deleted): read again, then shard 1
    assert len(impressionism(tmp_data_root)) == 5
    assert [shard_gets(hub, i) for i in range(N_SHARDS)] == [[None, None], [None], []]
    download_dataset("wikiart", count=8)  # shards 0 and 1 were read to the end: only shard 2 now
    assert [shard_gets(hub, i) for i in range(N_SHARDS)] == [[None, None], [None], [None]]


def test_a_second_run_with_enough_paintings_makes_no_request(hub, tmp_data_root):
    download_dataset("wikiart", count=4)
    before = len(hub.requests)
    download_dataset("wikiart", count=4)
    download_dataset("wikiart", count=3)
    assert len(hub.requests) == before


def test_artist_filter_and_non_jpeg_rows_are_reencoded(hub, tmp_data_root):
    download_dataset("wikiart", artist="alfred-sisley", count=0)
    files = impressionism(tmp_data_root)
    assert len(files) == 3 and all(f.name.startswith("alfred-sisley_") for f in files)
    download_dataset("wikiart", style="Baroque", count=0)
    baroque = list((tmp_data_root / "wikiart" / "Baroque").iterdir())
    assert len(baroque) == 6 and all(p.read_bytes()[:2] == b"\xff\xd8" for p in baroque)  # PNG rows -> JPEG
    assert all(p.name.startswith("rembrandt_") for p in baroque)


def test_load_dataset_downloads_when_online(hub, tmp_data_root):
    data = load_dataset("wikiart", "all", size=32, count=3)
    assert data.source == "real" and len(data) >= 3


def test_a_wrong_checksum_is_refused_and_nothing_is_left(hub, tmp_data_root):
    for entry in hub.listing:
        entry["lfs"]["oid"] = "0" * 64
    hub.write(TREE, json.dumps(hub.listing).encode())
    with pytest.raises(ChecksumError, match="SHA-256 .* does not match"):
        download_dataset("wikiart", count=3)
    assert all_files(tmp_data_root) == []
    with pytest.raises(DatasetNotFound, match="SHA-256") as info:
        load_dataset("wikiart", size=32)
    assert "gancourse download wikiart" in str(info.value)
    assert all_files(tmp_data_root) == []


def test_a_transfer_cut_off_halfway_continues_asking_only_for_the_rest(hub, tmp_data_root):
    size = shard_size(hub, 0)
    hub.cut_after[resolve_path(0)] = size // 2
    hub.cut_whole_only = True  # the first transfer dies halfway; the resume (a Range request) gets through
    download_dataset("wikiart", count=3)
    assert shard_gets(hub, 0) == [None, f"bytes={size // 2}-"]
    assert len(impressionism(tmp_data_root)) == 3


def test_a_shard_still_short_resumes_on_the_next_run(hub, tmp_data_root):
    size = shard_size(hub, 0)
    hub.cut_after[resolve_path(0)] = 1000  # every answer stops after 1000 bytes
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        download_dataset("wikiart", count=3)
    part = tmp_data_root / "wikiart" / ".download" / f".{shard_name(0)}.part"
    kept = part.stat().st_size
    assert kept == 1000 * (1 + dl.MAX_RESUMES) < size
    assert not (tmp_data_root / "wikiart" / "Impressionism").exists()  # nothing that looks like paintings
    hub.cut_after.clear()
    download_dataset("wikiart", count=3)
    assert shard_gets(hub, 0)[-1] == f"bytes={kept}-"
    assert len(impressionism(tmp_data_root)) == 3


def test_a_stalling_server_fails_within_the_timeout_and_leaves_nothing(hub, tmp_data_root, monkeypatch):
    monkeypatch.setenv("GANCOURSE_NET_TIMEOUT", "0.3")
    hub.stall[resolve_path(0)] = 3.0
    with pytest.raises(DownloadError, match="timed out"):
        download_dataset("wikiart", count=3)
    assert all_files(tmp_data_root) == []


def test_unknown_style_or_artist_fails_before_any_request(hub, tmp_data_root):
    with pytest.raises(ValueError, match="no style 'Impresionism'.*did you mean Impressionism"):
        download_dataset("wikiart", style="Impresionism")
    with pytest.raises(ValueError, match="no artist 'claude-money'.*claude-monet"):
        download_dataset("wikiart", artist="claude-money")
    assert hub.requests == [] and all_files(tmp_data_root) == []


def test_without_dataset_infos_the_names_come_from_one_explicit_footer_range(hub, tmp_data_root):
    """No dataset_infos.json: one range request ``bytes=<size-N>-<size-1>`` for the first shard's footer. Its
    features (here a dataset whose style labels are numbered backwards) are the ones the rows are read with."""
    backwards = dict(FEATURES, style={"names": list(reversed(wd.STYLES)), "_type": "ClassLabel"})
    flip = len(wd.STYLES) - 1
    rows = [(p, PISSARRO, flip - IMPRESSIONISM) for p in hub.expected["camille-pissarro"][:2]]
    rows.append((other_painting(5), REMBRANDT, flip - BAROQUE))
    shard = shard_bytes(rows, backwards)
    hub.listing = publish(hub, [shard])
    (hub.root / INFOS).unlink()
    download_dataset("wikiart", count=0)
    assert {p.read_bytes() for p in impressionism(tmp_data_root)} == set(hub.expected["camille-pissarro"][:2])
    assert shard_gets(hub, 0, 1) == [footer_range(len(shard)), None]


def test_a_server_that_ignores_range_is_never_read_for_a_footer(hub, tmp_data_root):
    (hub.root / INFOS).unlink()  # the names must then come from a footer, which this server will not give
    hub.ignore_range = True
    download_dataset("wikiart", count=3)
    assert len(impressionism(tmp_data_root)) == 3
    assert shard_gets(hub, 0) == [footer_range(shard_size(hub, 0)), None]
    tree = len((hub.root / TREE).read_bytes())
    assert dl.traffic()["bytes"] == tree + shard_size(hub, 0)  # the 200 to the footer probe was not read


def test_shards_without_features_use_the_recorded_names(hub, tmp_data_root):
    """Older parquet writers: no features metadata anywhere -> the names recorded in the code."""
    (hub.root / INFOS).unlink()
    rows = [(p, PISSARRO, IMPRESSIONISM) for p in hub.expected["camille-pissarro"][:2]]
    hub.listing = publish(hub, [shard_bytes(rows, features=None)])
    download_dataset("wikiart", count=0)
    assert len(impressionism(tmp_data_root)) == 2


def test_a_resume_answered_with_the_whole_file_restarts_the_shard_cleanly(hub, tmp_data_root):
    size = shard_size(hub, 0)
    hub.cut_after[resolve_path(0)] = size // 3
    hub.cut_whole_only = True
    hub.ignore_range = True  # the resume gets the whole file back with 200: it must not be appended
    download_dataset("wikiart", count=3)
    files = impressionism(tmp_data_root)
    assert len(files) == 3 and {p.read_bytes() for p in files} <= set(hub.expected["camille-pissarro"]) | set(
        hub.expected["alfred-sisley"])
    assert shard_gets(hub, 0) == [None, f"bytes={size // 3}-"]


def test_a_hub_behind_a_cdn_that_rate_limits_still_delivers_and_keeps_the_token_home(cdn_hub, tmp_data_root,
                                                                                    monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_student")
    cdn_hub.answers[TREE] = [(429, {"Retry-After": "1"})]
    cdn_hub.answers[resolve_path(1)] = [(503, {"Retry-After": "0"}), (429, {})]
    download_dataset("wikiart", count=0)
    assert len(impressionism(tmp_data_root)) == 8
    assert "429" in capsys.readouterr().err
    hub_paths = [p for _, p, _ in cdn_hub.requests]
    assert hub_paths == [TREE, TREE, INFOS, resolve_path(0), resolve_path(1), resolve_path(1), resolve_path(1),
                         resolve_path(2)]
    assert all(h.get("Authorization") == "Bearer hf_student" for h in cdn_hub.headers)
    assert len(cdn_hub.cdn.requests) == 3 and not any("Authorization" in h for h in cdn_hub.cdn.headers)
    tree, infos = (len((cdn_hub.root / p).read_bytes()) for p in (TREE, INFOS))
    assert dl.traffic()["bytes"] == tree + infos + sum(shard_size(cdn_hub, i) for i in range(N_SHARDS))


def test_a_hub_that_stays_rate_limited_gives_one_line_and_leaves_nothing(hub, tmp_data_root, monkeypatch, capsys):
    from gancourse.cli import main

    monkeypatch.setenv("GANCOURSE_RETRY_WAIT", "0.3")
    hub.answers["*"] = [(429, {"Retry-After": "600"})] * 10
    assert main(["download", "wikiart"]) == 2
    err = capsys.readouterr().err
    assert "HTTP 429" in err and "600 s" in err and "HF_TOKEN" in err and "Traceback" not in err
    assert all_files(tmp_data_root) == [] and len(hub.requests) == 1


def test_the_download_command_line(hub, tmp_data_root, capsys):
    from gancourse.cli import main

    assert main(["download", "wikiart", "--data-option", "count=3", "--data-option", "keep_shards=true"]) == 0
    assert "wikiart is in" in capsys.readouterr().out
    assert len(impressionism(tmp_data_root)) >= 3
    assert any(p.suffix == ".parquet" for p in (tmp_data_root / "wikiart" / ".download").iterdir())  # kept
    assert main(["download", "wikiart", "--data-option", "style=Cubisme"]) == 2
    assert "did you mean Cubism" in capsys.readouterr().err


def test_400_paintings_from_a_hub_shaped_like_huggan_wikiart(http_server, second_server, tmp_data_root,
                                                             monkeypatch):
    """72 shards of 1,131 rows, one row group each, styles mixed (13,060 of 81,444 paintings are Impressionism),
    each behind a redirect to a CDN: the default download (400 Impressionism paintings) makes 8 requests."""
    rng = np.random.default_rng(0)
    shards = []
    for i in range(72):
        others = rng.choice([s for s in range(27) if s != IMPRESSIONISM], 1131)
        styles = np.where(rng.random(1131) < 13060 / 81444, IMPRESSIONISM, others)  # the dataset's share
        tiny = [b"\xff\xd8" + bytes([i, k % 256, k // 256]) for k in range(1131)]  # JPEG magic: written as is
        artists = rng.integers(0, 129, 1131)
        shards.append(shard_bytes([(t, int(a), int(s)) for t, a, s in zip(tiny, artists, styles, strict=True)]))
    publish(http_server, shards)
    http_server.write(INFOS, json.dumps({"huggan--wikiart": {"features": FEATURES}}).encode())
    for i, data in enumerate(shards):
        second_server.write(f"xet/{i}", data)
        http_server.redirect[resolve_path(i, 72)] = second_server.url_for(f"xet/{i}")
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    download_dataset("wikiart")
    assert len(impressionism(tmp_data_root)) == wd.DEFAULT_COUNT == 400
    assert len(http_server.requests) == 2 + 3 and len(second_server.requests) == 3  # 8 requests in all
    download_dataset("wikiart")
    assert len(http_server.requests) + len(second_server.requests) == 8  # the second run: none


def test_artist_names_become_clean_file_prefixes():
    assert wd.file_prefix("Unknown Artist") == "unknown-artist"
    assert wd.file_prefix("joaquã\xadn-sorolla") == "joaquin-sorolla"
    assert len(wd.ARTISTS) == 129 and len(wd.STYLES) == 27 and len(wd.GENRES) == 11


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
