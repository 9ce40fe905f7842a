"""The data layer: IDX files and layouts, resolution order, downloads, stand-ins (BatchStream: test_imageset)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.data import (
    DATASETS,
    DatasetNotFound,
    DownloadError,
    ImageSet,
    download_dataset,
    idx,
    load_dataset,
    standins,
)
from gancourse.data import download as dl
from gancourse.data.idx import IdxFormatError, read_idx

from ..conftest import require_dataset
from ..helpers import all_files

# ------------------------------------------------------------------------------------------ helpers


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def tiny_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def write_dataset(folder: Path, gz: bool = True, n_train: int = 30, n_test: int = 20) -> dict[str, np.ndarray]:
    """The four IDX files of a tiny MNIST-like set in ``folder``; returns what was written."""
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = tiny_split(n, seed=n)
        image_stem, label_stem = idx.FILES[split]
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{image_stem}{suffix}", images)
        write_idx(folder / f"{label_stem}{suffix}", labels)
        written[f"{split}-images"], written[f"{split}-labels"] = images, labels
    return written


def serve_dataset(server, name: str, monkeypatch: pytest.MonkeyPatch, *, mirrors_before: list[str] = (),
                  corrupt: str | None = None) -> dict[str, bytes]:
    """Put a tiny set's four .gz files on ``server`` and point ``name``'s mirrors and MD5 table at it.

    ``corrupt``: a file name whose served bytes differ from the ones its MD5 was computed from.
    """
    files, md5 = {}, {}
    for split, n in (("train", 30), ("test", 20)):
        images, labels = tiny_split(n, seed=n)
        for stem, array in zip(idx.FILES[split], (images, labels), strict=True):
            data = gzip.compress(idx_bytes(array), mtime=0)
            filename = f"{stem}.gz"
            files[filename], md5[filename] = data, hashlib.md5(data).hexdigest()
            served = data[:-10] + b"0123456789" if filename == corrupt else data
            server.write(f"{name}/{filename}", served)
    monkeypatch.setitem(idx.MIRRORS, name, [*mirrors_before, server.url_for(f"{name}/")])
    monkeypatch.setitem(idx.MD5, name, md5)
    return files


pytestmark = pytest.mark.usefixtures("fresh_network_memory")


# ------------------------------------------------------------------------------------------ IDX files


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_idx_round_trip(tmp_path, suffix):
    images, labels = tiny_split(7, seed=1)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"images{suffix}", images)), images)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"labels{suffix}", labels)), labels)


@pytest.mark.parametrize("name, folder, gz", [
    ("mnist", "mnist", True), ("mnist", "mnist", False), ("mnist", "MNIST/raw", True),
    ("mnist", "MNIST/raw", False), ("fashion-mnist", "fashion-mnist", True),
    ("fashion-mnist", "FashionMNIST/raw", False),
])
def test_load_dataset_reads_every_accepted_layout(tmp_data_root, name, folder, gz):
    written = write_dataset(tmp_data_root / folder, gz=gz)
    for split in ("train", "test"):
        data = load_dataset(name, split, download=False)
        assert data.images.shape == (len(written[f"{split}-labels"]), 1, 28, 28)
        assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
        assert np.array_equal(data.images[:, 0].numpy(), written[f"{split}-images"])
        assert np.array_equal(data.labels.numpy(), written[f"{split}-labels"])
        assert data.source == "real" and data.num_classes == 10
    expected = idx.MNIST_CLASSES if name == "mnist" else idx.FASHION_CLASSES
    assert data.class_names == expected
    assert load_dataset(name, "train", download=False, limit=5).images.shape[0] == 5


def test_files_in_the_data_root_win_over_the_network(tmp_data_root, http_server, monkeypatch):
    serve_dataset(http_server, "mnist", monkeypatch)
    write_dataset(tmp_data_root / "MNIST" / "raw", gz=False)
    assert load_dataset("mnist", "test").source == "real"
    download_dataset("mnist")  # everything is there already, in torchvision's layout
    assert http_server.requests == []
    assert not (tmp_data_root / "mnist").exists()


def _damage(kind: str, path: Path) -> None:
    images, _ = tiny_split(4, seed=0)
    good = idx_bytes(images)
    if kind == "truncated gzip":
        path.write_bytes(gzip.compress(good, mtime=0)[:-40])
    elif kind == "not gzip":
        path.write_bytes(good)  # raw bytes under a .gz name
    elif kind == "bad magic":
        path.write_bytes(gzip.compress(b"\x1f\x8b\x08\x03" + good[4:], mtime=0))
    elif kind == "truncated data":
        path.write_bytes(gzip.compress(good[:-100], mtime=0))
    elif kind == "short header":
        path.write_bytes(gzip.compress(good[:9], mtime=0))


@pytest.mark.parametrize("kind", ["truncated gzip", "not gzip", "bad magic", "truncated data", "short header"])
def test_damaged_idx_file_gives_one_clear_error(tmp_data_root, kind):
    write_dataset(tmp_data_root / "mnist")
    path = tmp_data_root / "mnist" / "t10k-images-idx3-ubyte.gz"
    _damage(kind, path)
    with pytest.raises(IdxFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "damaged" in message and "gancourse download" in message
    with pytest.raises(IdxFormatError):
        load_dataset("mnist", "test", download=False)


def test_images_and_labels_that_do_not_match_are_refused(tmp_data_root):
    write_dataset(tmp_data_root / "mnist")
    write_idx(tmp_data_root / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(IdxFormatError, match="N images and N labels"):
        load_dataset("mnist", "test", download=False)


def test_bad_names_list_the_choices(tmp_data_root):
    with pytest.raises(ValueError, match="available: .*mnist"):
        load_dataset("mnits")
    with pytest.raises(ValueError, match="splits: train, test"):
        load_dataset("mnist", "validation")
    with pytest.raises(TypeError, match="its options: none"):
        load_dataset("mnist", colour=True)
    assert {"mnist", "fashion-mnist"} <= set(DATASETS)


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_data_loads_by_name(real_data_root, name, monkeypatch):
    require_dataset(real_data_root, name)
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")  # it must come from the data root, not the network
    for split, n in (("train", 60000), ("test", 10000)):
        data = load_dataset(name, split)
        assert data.images.shape == (n, 1, 28, 28) and data.images.dtype == torch.uint8
        assert data.source == "real" and not data.is_stand_in
        counts = torch.bincount(data.labels, minlength=10)
        assert len(counts) == 10 and counts.min() > n // 20  # every class is there in numbers
        mean = data.images[:2000].float().mean().item() / 255
        assert 0.05 < mean < 0.5  # white-on-black, like the real scans


# ------------------------------------------------------------------------------------------ downloads


def test_download_fetches_checks_and_places_the_files(tmp_data_root, http_server, closed_port_url, monkeypatch):
    files = serve_dataset(http_server, "mnist", monkeypatch, mirrors_before=[closed_port_url])
    assert download_dataset("mnist") == tmp_data_root
    assert all_files(tmp_data_root / "mnist") == sorted(files)  # nothing else: no .part file
    for filename, data in files.items():
        assert (tmp_data_root / "mnist" / filename).read_bytes() == data
    assert len(load_dataset("mnist", "train", download=False)) == 30


def test_load_dataset_downloads_what_is_missing(tmp_data_root, http_server, monkeypatch):
    serve_dataset(http_server, "fashion-mnist", monkeypatch)
    data = load_dataset("fashion-mnist", "test")
    assert data.source == "real" and len(data) == 20
    assert http_server.count("fashion-mnist/t10k-images-idx3-ubyte.gz") == 1


def test_corrupt_download_is_refused_and_leaves_nothing(tmp_data_root, http_server, monkeypatch):
    serve_dataset(http_server, "mnist", monkeypatch, corrupt="train-images-idx3-ubyte.gz")
    with pytest.raises(dl.DownloadError, match="MD5 .* does not match"):
        download_dataset("mnist")
    assert all_files(tmp_data_root) == []  # no half-written file, no .part, no empty folder
    with pytest.raises(DatasetNotFound) as info:
        load_dataset("mnist", "train")
    message = str(info.value)
    assert "gancourse download mnist" in message
    assert "allow_stand_in=True" in message and "--allow-stand-in" in message
    assert "MD5" in message  # why the download failed
    assert all_files(tmp_data_root) == []


def test_checksum_error_from_fetch_keeps_the_old_file(tmp_path, http_server):
    http_server.write("f.bin", b"new bytes")
    dest = tmp_path / "dest" / "f.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"old good bytes")
    with pytest.raises(dl.ChecksumError):
        dl.fetch(http_server.url_for("f.bin"), dest, md5="0" * 32)
    assert dest.read_bytes() == b"old good bytes" and all_files(dest.parent) == ["f.bin"]


def test_a_transfer_cut_short_is_refused_and_leaves_nothing(tmp_path, http_server):
    http_server.write("big.bin", bytes(range(256)) * 400)
    http_server.cut_after["big.bin"] = 5000
    with pytest.raises(dl.DownloadError, match="big.bin"):
        dl.fetch_from_mirrors("big.bin", [http_server.url], tmp_path / "dest" / "big.bin")
    assert all_files(tmp_path / "dest") == []


def test_http_errors_name_every_mirror(tmp_path, http_server, closed_port_url):
    mirrors = [closed_port_url, http_server.url]
    with pytest.raises(dl.DownloadError) as info:
        dl.fetch_from_mirrors("missing.gz", mirrors, tmp_path / "dest" / "missing.gz")
    message = str(info.value)
    assert f"{closed_port_url}missing.gz" in message and "refused" in message.lower()
    assert f"{http_server.url}missing.gz" in message and "404" in message
    assert all_files(tmp_path / "dest") == []


def test_a_silent_server_times_out_and_is_not_asked_again(tmp_path, http_server, monkeypatch):
    monkeypatch.setenv("GANCOURSE_NET_TIMEOUT", "0.3")
    http_server.write("slow.bin", b"x" * 100)
    http_server.stall["slow.bin"] = 3.0
    with pytest.raises(dl.DownloadError, match="timed out"):
        dl.fetch_from_mirrors("slow.bin", [http_server.url], tmp_path / "dest" / "slow.bin")
    # The host is remembered as unreachable: a second file does not wait for it again.
    with pytest.raises(dl.DownloadError, match="could not be reached a moment ago"):
        dl.fetch_from_mirrors("other.bin", [http_server.url], tmp_path / "dest" / "other.bin")
    assert http_server.count("other.bin") == 0
    assert all_files(tmp_path / "dest") == []


def test_offline_switch_skips_the_network(tmp_data_root, http_server, monkeypatch):
    serve_dataset(http_server, "mnist", monkeypatch)
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    with pytest.raises(DatasetNotFound, match="GANCOURSE_OFFLINE") as info:
        load_dataset("mnist", "test")
    assert "gancourse download mnist" in str(info.value) and "allow_stand_in=True" in str(info.value)
    with pytest.raises(DownloadError, match="GANCOURSE_OFFLINE"):
        download_dataset("mnist")
    with pytest.raises(DownloadError, match="GANCOURSE_OFFLINE"):
        dl.fetch(http_server.url_for("mnist/t10k-labels-idx1-ubyte.gz"), tmp_data_root / "x")
    assert http_server.requests == [] and all_files(tmp_data_root) == []


def test_allow_stand_in_says_so_loudly(tmp_data_root, monkeypatch, capsys):
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    with pytest.warns(UserWarning, match="stand-in"):
        data = load_dataset("mnist", "test", allow_stand_in=True, limit=100)
    assert data.source == "stand-in" and data.is_stand_in and len(data) == 100
    err = capsys.readouterr().err
    assert "GENERATED STAND-IN" in err and "gancourse download mnist" in err


def test_http_server_fixture_serves_ranges(http_server):
    """The shared fixture itself: other tests (range downloads) rely on it."""
    import urllib.error
    import urllib.request

    http_server.write("r.bin", bytes(range(100)))

    def get(headers):
        request = urllib.request.Request(http_server.url_for("r.bin"), headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Content-Range"), response.read()

    assert get({}) == (200, None, bytes(range(100)))
    assert get({"Range": "bytes=10-19"}) == (206, "bytes 10-19/100", bytes(range(10, 20)))
    assert get({"Range": "bytes=95-"}) == (206, "bytes 95-99/100", bytes(range(95, 100)))
    assert get({"Range": "bytes=-3"}) == (206, "bytes 97-99/100", bytes(range(97, 100)))
    with pytest.raises(urllib.error.HTTPError, match="416"):
        get({"Range": "bytes=100-"})
    http_server.ignore_range = True
    assert get({"Range": "bytes=10-19"})[0] == 200
    assert http_server.requests[1] == ("GET", "r.bin", "bytes=10-19")


# ------------------------------------------------------------------------------------------ stand-ins


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_stand_in_has_the_real_shape_and_classes(tmp_data_root, name):
    data = standins.make(name, "test", n=200, cache=False)
    assert isinstance(data, ImageSet)
    assert data.images.shape == (200, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64 and torch.bincount(data.labels).tolist() == [20] * 10
    assert data.class_names == (idx.MNIST_CLASSES if name == "mnist" else idx.FASHION_CLASSES)
    assert data.source == "stand-in" and data.is_stand_in
    images = data.images.float() / 255
    assert images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]].mean() < 0.05  # a dark background (corners)
    assert 0.05 < images.mean() < 0.5 and images.amax() > 0.9  # bright strokes / garments on it
    per_class = torch.stack([images[data.labels == k].mean(0) for k in range(10)]).flatten(1)
    assert torch.cdist(per_class, per_class).add(torch.eye(10) * 99).min() > 1.0  # classes differ


def test_stand_in_is_deterministic_and_splits_differ():
    a_images, a_labels = standins.generate("mnist", "train", 60)
    b_images, b_labels = standins.generate("mnist", "train", 60)
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    test_images, _ = standins.generate("mnist", "test", 60)
    assert not np.array_equal(a_images, test_images)


def test_stand_in_is_cached_atomically(tmp_data_root):
    first = standins.make("fashion-mnist", "test", n=50)
    cached = list((tmp_data_root.parent / "cache" / "stand-ins").iterdir())
    assert [p.name for p in cached] == [f"fashion-mnist-test-50-v{standins.VERSION}.npz"]  # no temp file left
    again = standins.make("fashion-mnist", "test", n=50)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    good = cached[0].read_bytes()
    for damaged in (b"garbage", good[: len(good) // 2]):  # a damaged cache is redrawn, not fatal
        cached[0].write_bytes(damaged)
        assert torch.equal(standins.make("fashion-mnist", "test", n=50).images, first.images)


def test_stand_in_rejects_unknown_names():
    with pytest.raises(ValueError, match="mnist, fashion-mnist"):
        standins.make("cifar10")
    with pytest.raises(ValueError, match="splits: train, test"):
        standins.make("mnist", "val")


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions on a shared CPU: more threads only contend
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_stand_in_classes_are_learnable(name, one_thread):
    """A judge trained for 40 steps on the stand-in tells its classes apart.

    With the full sets and the judge's defaults, held-out accuracy is about 98% (MNIST) and 94%
    (Fashion-MNIST); this short version checks the classes are not confusable.
    """
    from gancourse.metrics.judge import judge_accuracy, train_judge

    train = standins.make(name, "train", n=1280, cache=False)
    test = standins.make(name, "test", n=300, cache=False)
    judge = train_judge(train, epochs=2, batch_size=64, max_images=1280, progress=False)
    assert judge_accuracy(judge, test) > 0.8


def test_download_command_uses_download_dataset(tmp_path, http_server, monkeypatch, capsys):
    from gancourse.cli import main

    files = serve_dataset(http_server, "mnist", monkeypatch)
    assert main(["download", "mnist", "--root", str(tmp_path / "root")]) == 0
    assert all_files(tmp_path / "root" / "mnist") == sorted(files)
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    assert main(["download", "fashion-mnist", "--root", str(tmp_path / "root")]) != 0
    assert "GANCOURSE_OFFLINE" in capsys.readouterr().err
