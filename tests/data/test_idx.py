"""MNIST-style idx files (gancourse.data.idx)."""

from __future__ import annotations

import gzip

import pytest

from gancourse.errors import UserError


def test_a_damaged_idx_file_names_the_real_download_command(tmp_path):
    from gancourse.data.idx import read_idx

    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") * 3 + b"\x00" * 20))
    with pytest.raises(UserError) as info:
        read_idx(path)
    assert "gancourse download fashion-mnist" in str(info.value) and "<dataset>" not in str(info.value)
