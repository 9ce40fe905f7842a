"""Folders of images prepared into uint8 arrays (gancourse.data.folders)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.data import BatchStream
from gancourse.data import folders as folders_module
from gancourse.data.folders import EmptyImageFolder, SkippedFilesWarning, load_image_folder, prepare_image_folder

from ..helpers import jpeg, three_band


def test_folder_images_are_centre_cropped_and_resized(tmp_data_root: Path) -> None:
    folder = tmp_data_root / "bands"
    folder.mkdir()
    three_band(folder / "a.png")
    jpeg(folder / "b.jpg", 30, 70, (10, 20, 200))
    data = load_image_folder(folder, 16, progress=False)
    assert tuple(data.images.shape) == (2, 3, 16, 16) and data.images.dtype == torch.uint8
    band = data.images[0].int()
    assert (band[1] > 250).all() and (band[0] < 5).all() and (band[2] < 5).all()  # only the green square is left
    assert data.labels is None and data.name == "bands"
    grey = load_image_folder(folder, 8, channels=1, progress=False)
    assert tuple(grey.images.shape) == (2, 1, 8, 8)


def test_prepared_folder_is_cached_and_rebuilt_when_the_folder_changes(tmp_data_root: Path, monkeypatch) -> None:
    folder = tmp_data_root / "pics"
    folder.mkdir()
    for i in range(3):
        jpeg(folder / f"p{i}.jpg", 20, 20, (50 * i, 0, 0))
    first = prepare_image_folder(folder, 12, progress=False)
    assert first.array_path.is_file() and first.files == ["p0.jpg", "p1.jpg", "p2.jpg"]

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cached array should have been used")

    monkeypatch.setattr(folders_module, "square_image", no_decoding)
    again = prepare_image_folder(folder, 12, progress=False)
    assert again.array_path == first.array_path
    monkeypatch.undo()

    jpeg(folder / "p3.jpg", 20, 20, (0, 0, 255))
    changed = prepare_image_folder(folder, 12, progress=False)
    assert changed.array_path != first.array_path and len(changed) == 4
    assert prepare_image_folder(folder, 24, progress=False).array_path != changed.array_path  # size is in the key


def test_unreadable_files_are_skipped_with_one_warning(tmp_data_root: Path) -> None:
    folder = tmp_data_root / "mixed"
    folder.mkdir()
    for i in range(3):
        jpeg(folder / f"good{i}.jpg", 16, 16, (0, 80 * i, 0))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    truncated = (folder / "good0.jpg").read_bytes()[:40]
    (folder / "truncated.jpg").write_bytes(truncated)
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.jpg").write_bytes(b"ignored")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_image_folder(folder, 8, progress=False)
    skipped = [w for w in caught if issubclass(w.category, SkippedFilesWarning)]
    assert len(skipped) == 1 and "skipped 3 of 6 files" in str(skipped[0].message)
    assert len(data) == 3


def test_empty_or_unreadable_folder_is_a_clear_error(tmp_data_root: Path) -> None:
    empty = tmp_data_root / "empty"
    empty.mkdir()
    with pytest.raises(EmptyImageFolder, match="is empty"):
        load_image_folder(empty, 8, progress=False)
    junk = tmp_data_root / "junk"
    junk.mkdir()
    (junk / "a.txt").write_text("x")
    with pytest.warns(SkippedFilesWarning), pytest.raises(EmptyImageFolder, match="no readable image"):
        load_image_folder(junk, 8, progress=False)
    with pytest.raises(FileNotFoundError, match="no image folder"):
        load_image_folder(tmp_data_root / "missing", 8, progress=False)


def test_large_prepared_arrays_are_memory_mapped(tmp_data_root: Path, monkeypatch) -> None:
    folder = tmp_data_root / "big"
    folder.mkdir()
    for i in range(6):
        jpeg(folder / f"{i}.jpg", 20, 20, (40 * i, 0, 0))
    monkeypatch.setattr(folders_module, "MMAP_BYTES", 0)
    data = load_image_folder(folder, 8, progress=False)
    assert isinstance(data.images, np.memmap)
    batch = BatchStream(data, 4, seed=0).next()
    assert batch.images.shape == (4, 3, 8, 8) and batch.images.min() >= -1 and batch.images.max() <= 1
