import errno
import json
import os
import stat

import pytest

from gancourse.errors import DiskFull
from gancourse.files import atomic_write, write_bytes_atomic, write_json_atomic, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.bin"
    write_bytes_atomic(path, b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("killed mid-write")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_the_new_content_replaces_the_old_in_one_step_and_folders_are_made(tmp_path):
    path = tmp_path / "deep" / "er" / "notes.txt"
    write_text_atomic(path, "one")
    seen_before_rename = []
    with atomic_write(path, "w", before_replace=lambda: seen_before_rename.append(path.read_text())) as f:
        f.write("two")
    assert seen_before_rename == ["one"] and path.read_text() == "two"


def test_json_is_indented_sorted_and_writes_what_json_cannot_hold_as_text(tmp_path):
    path = tmp_path / "config.json"
    write_json_atomic(path, {"b": 1, "a": tmp_path})
    text = path.read_text()
    assert text.index('"a"') < text.index('"b"') and text.endswith("}\n")
    assert json.loads(text) == {"a": str(tmp_path), "b": 1}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_files_get_the_permissions_of_any_file_under_the_umask_not_0600(tmp_path, umask):
    from gancourse.checkpoints import save_checkpoint

    old = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "config.json", {"a": 1})
        write_json_atomic(tmp_path / "metrics.json", {"fid": 1.0})
        save_checkpoint({"step": 1}, tmp_path / "last.pt")
        (tmp_path / "plain.txt").write_text("x")  # what open() gives: the reference
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == expected
    for name in ("config.json", "metrics.json", "last.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


def test_a_run_folder_is_readable_by_its_group(tmp_path):
    from .helpers import fit_blobs

    old = os.umask(0o022)
    try:
        fit_blobs(tmp_path / "run", 2, evaluator=lambda recipe: {"x": 1.0})
    finally:
        os.umask(old)
    for name in ("config.json", "metrics.json", "checkpoints/last.pt", "checkpoints/generator.pt"):
        assert stat.S_IMODE((tmp_path / "run" / name).stat().st_mode) == 0o644, name


def test_a_full_disk_is_one_line_naming_the_file_and_nothing_is_left_behind(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    write_json_atomic(path, {"old": True})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFull, match=r"could not write .*config.json: no space left .* free there\); config.json "
                                       "was left as it was"):
        write_json_atomic(path, {"new": True})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"old": True} and os.listdir(tmp_path) == ["config.json"]


def test_other_write_errors_are_not_called_a_full_disk(tmp_path):
    with pytest.raises(OSError) as info, atomic_write(tmp_path / "x") as f:
        f.write(b"x")
        raise OSError(errno.EIO, "Input/output error")
    assert not isinstance(info.value, DiskFull) and os.listdir(tmp_path) == []
