import json

import pytest

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
