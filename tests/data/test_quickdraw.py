"""Quick Draw: loading with caps, a stable test split, memory maps, and the range downloader."""

import re

import numpy as np
import pytest
import torch

from gancourse.data import BatchStream, load_dataset
from gancourse.data.download import DownloadError
from gancourse.data.npy_range import fetch_npy_rows, local_rows
from gancourse.data.quickdraw import download_quickdraw, interleaved_order, split_rows
from gancourse.errors import UserError


def drawings(n: int, value: int) -> np.ndarray:
    """n rows whose first two pixels spell the row number and the rest is ``value``: easy to trace."""
    rows = np.full((n, 784), value, np.uint8)
    rows[:, 0], rows[:, 1] = np.divmod(np.arange(n), 256)
    return rows


def row_ids(images) -> set[int]:
    images = torch.as_tensor(np.asarray(images)).long()
    return set((images[:, 0, 0, 0] * 256 + images[:, 0, 0, 1]).tolist())


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "quickdraw"
    folder.mkdir()
    np.save(folder / "apple.npy", drawings(300, 1))
    np.save(folder / "cat.npy", drawings(200, 2))
    np.save(folder / "star.npy", drawings(100, 3))
    return tmp_path


def load(root, split="train", **options):
    return load_dataset("quickdraw", split, root=root, download=False, **options)


def test_categories_caps_and_labels(root):
    data = load(root, categories="cat,apple", max_per_class=50)
    assert data.class_names == ["cat", "apple"] and data.images.shape == (100, 1, 28, 28)
    assert data.images.dtype == torch.uint8
    images, labels = data.rows(torch.arange(len(data)))
    assert torch.equal(images[:, 0, 1, 0].long(), 2 - labels)  # cat (label 0) rows hold 2, apple (1) rows 1
    assert labels[:10].unique().numel() == 2  # classes are interleaved, so head(limit) holds both
    everything = load(root)
    assert everything.class_names == ["apple", "cat", "star"] and len(everything) == 240 + 160 + 80


def test_test_split_is_held_out_deterministic_and_stable_when_the_file_grows(root):
    train, test = load(root, categories="apple"), load(root, "test", categories="apple")
    assert len(test) == 60 and len(train) == 240  # the first N // 5 rows (at most 500) are the test split
    assert row_ids(test.images) == set(range(60)) and row_ids(train.images) == set(range(60, 300))
    assert torch.equal(load(root, "test", categories="apple").images, test.images)
    assert split_rows(3000, "test") == slice(0, 500) and split_rows(30000, "test") == slice(0, 500)
    assert split_rows(30000, "train", max_per_class=1000) == slice(500, 1500)


def test_unknown_category_is_a_clear_error_listing_what_is_there(root):
    with pytest.raises(ValueError) as info:
        load(root, categories="apple,appel")
    message = str(info.value)
    assert "'appel'" in message and "apple, cat, star" in message and "did you mean" in message
    with pytest.raises(ValueError, match="max_per_class"):
        load(root, max_per_class=-1)


def test_interleaved_order_mixes_classes_in_proportion():
    order = interleaved_order([4, 2])
    classes = np.repeat([0, 1], [4, 2])[order]
    assert sorted(order.tolist()) == list(range(6)) and classes.tolist() == [0, 1, 0, 0, 1, 0]


def test_large_selections_stay_memory_mapped_and_read_the_same_rows(root, tmp_path, monkeypatch):
    in_memory = load(root, categories="apple,cat,star", max_per_class=70)
    monkeypatch.setenv("GANCOURSE_IN_MEMORY_MB", "0")
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    mapped = load(root, categories="apple,cat,star", max_per_class=70)
    assert isinstance(mapped.images, np.memmap)  # one prepared array in the cache, on disk
    assert torch.equal(mapped.labels, in_memory.labels)
    index = torch.randperm(len(mapped))[:40].sort().values  # rows() returns a memory map's rows sorted
    assert torch.equal(mapped.rows(index)[0], in_memory.rows(index)[0])
    single = load(root, categories="cat")
    assert isinstance(single.images, np.memmap) and str(single.images.filename).endswith("cat.npy")  # no copy
    batch = BatchStream(mapped, 16, seed=0).next()
    assert batch.images.shape == (16, 1, 28, 28) and batch.images.min() >= -1


# --- the range downloader, against conftest's local server (honours Range; can cut or ignore it) -----

NAME = "numpy_bitmap/cat.npy"


@pytest.fixture
def server(http_server, tmp_path):
    source = tmp_path / "remote.npy"
    np.save(source, drawings(1000, 7))
    http_server.write(NAME, source.read_bytes())
    http_server.source = np.load(source)
    return http_server


def ranges(server) -> list[str | None]:
    return [r for method, path, r in server.requests if path == NAME and method == "GET"]


def test_fetches_only_the_first_rows_as_a_valid_npy(server, tmp_path):
    dest = fetch_npy_rows(server.url_for(NAME), tmp_path / "cat.npy", 120, progress=False)
    assert np.array_equal(np.load(dest), server.source[:120])
    header_probe, body = ranges(server)
    start, stop = map(int, re.match(r"bytes=(\d+)-(\d+)", body).groups())
    assert stop - start + 1 == 120 * 784  # exactly the rows asked for, nothing more
    # Asking again for fewer rows needs no network at all.
    fetch_npy_rows("http://127.0.0.1:9/unreachable.npy", dest, 100, progress=False)


def test_an_interrupted_download_resumes_where_it_stopped(server, tmp_path):
    url, dest = server.url_for(NAME), tmp_path / "cat.npy"
    server.cut_after[NAME] = 50 * 784 + 300  # the connection drops inside row 51
    with pytest.raises(DownloadError, match="resume"):
        fetch_npy_rows(url, dest, 200, progress=False)
    del server.cut_after[NAME]
    part = tmp_path / "cat.npy.part"
    assert not dest.exists() and part.is_file() and local_rows(part)[1] == 50
    fetch_npy_rows(url, dest, 200, progress=False)
    assert np.array_equal(np.load(dest), server.source[:200]) and not part.exists()
    resumed = ranges(server)[-1]
    assert int(re.match(r"bytes=(\d+)-", resumed).group(1)) == 128 + 50 * 784  # from row 50, not from 0
    # Growing an existing file appends the missing rows only.
    fetch_npy_rows(url, dest, 300, progress=False)
    assert np.array_equal(np.load(dest), server.source[:300])
    assert int(re.match(r"bytes=(\d+)-", ranges(server)[-1]).group(1)) == 128 + 200 * 784


def test_a_server_that_ignores_ranges_still_gives_the_right_rows(server, tmp_path):
    server.ignore_range = True
    dest = fetch_npy_rows(server.url_for(NAME), tmp_path / "cat.npy", 30, progress=False)
    assert np.array_equal(np.load(dest), server.source[:30])


def test_a_busy_server_is_waited_out_as_it_asks(server, tmp_path, capsys):
    server.answers[NAME] = [(429, {"Retry-After": "0"}), (503, {})]  # rate-limited, then busy, then the file
    dest = fetch_npy_rows(server.url_for(NAME), tmp_path / "cat.npy", 30, progress=False)
    assert np.array_equal(np.load(dest), server.source[:30])
    assert "429" in capsys.readouterr().err


def test_a_size_mismatch_is_an_error(server, tmp_path):
    truncated = (server.root / NAME).read_bytes()[:-784]  # the header says 1000 rows, 999 are there
    server.write(NAME, truncated)
    with pytest.raises(DownloadError, match="truncated"):
        fetch_npy_rows(server.url_for(NAME), tmp_path / "cat.npy", 10, progress=False)


def test_the_dataset_downloads_missing_categories_by_name(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_QUICKDRAW_URL", server.url_for("numpy_bitmap/"))
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    data = load_dataset("quickdraw", root=tmp_path / "data", categories="cat", max_per_class=40, test_per_class=10)
    assert len(data) == 40 and len(load_dataset("quickdraw", "test", root=tmp_path / "data", categories="cat",
                                                test_per_class=10)) == 10
    assert local_rows(tmp_path / "data" / "quickdraw" / "cat.npy")[1] == 50  # test + cap rows, no more
    with pytest.raises(ValueError, match="unknown Quick Draw category"):
        download_quickdraw(tmp_path / "data", categories="kat")


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY garbage" * 10, "truncated"])
def test_a_damaged_quickdraw_file_is_named(tmp_path, content):
    from gancourse.data.quickdraw import open_category

    path = tmp_path / "cat.npy"
    if content == "truncated":
        np.save(path, np.zeros((50, 784), np.uint8))
        path.write_bytes(path.read_bytes()[:2000])
    else:
        path.write_bytes(content)
    with pytest.raises(UserError) as info:
        open_category(path)
    assert str(path) in str(info.value) and "categories=cat" in str(info.value)
