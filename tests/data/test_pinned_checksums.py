"""The checksums and sizes that are public are pinned in the code, and downloads check them."""

from __future__ import annotations

import pytest

from gancourse.data import download as dl
from gancourse.data import download_dataset
from gancourse.data import monet_download as md
from gancourse.metrics import inception

from ..helpers import all_files

pytestmark = pytest.mark.usefixtures("fresh_network_memory")

# TensorFlow Datasets' url_checksums/cycle_gan.txt; pytorch-fid's release asset fid_weights
MONET_ZIP = (305_231_073, "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04")
INCEPTION = (95_628_359, "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2")


def test_the_published_values_are_in_the_code():
    assert (md.ZIP_SIZE, md.ZIP_SHA256) == MONET_ZIP
    assert (inception.WEIGHTS_SIZE, inception.WEIGHTS_SHA256) == INCEPTION
    assert inception.WEIGHTS_SHA256.startswith(inception.WEIGHTS_NAME.rsplit("-", 1)[1].removesuffix(".pth"))
    assert not any("people.eecs.berkeley.edu" in url for url in md.ZIP_MIRRORS)  # dead (404)


def test_inception_weights_are_checked_by_size_and_full_sha256(tmp_data_root, http_server, monkeypatch):
    data = b"not the weights" * 1000
    http_server.write("w.pth", data)
    monkeypatch.setattr(inception, "WEIGHTS_URL", http_server.url_for("w.pth"))
    with pytest.raises(dl.DownloadError, match=f"offers {len(data)} bytes where the published file has 95628359"):
        inception.download_inception(progress=False)
    monkeypatch.setattr(inception, "WEIGHTS_SIZE", len(data))  # the right length, other bytes: the hash decides
    with pytest.raises(dl.ChecksumError, match=f"does not match the published {INCEPTION[1]}"):
        inception.download_inception(progress=False)
    assert all_files(tmp_data_root) == []


def test_a_zip_that_is_not_the_published_one_is_refused_before_unpacking(tmp_data_root, http_server, monkeypatch):
    http_server.write("monet2photo.zip", b"PK not the archive")
    monkeypatch.setattr(md, "ZIP_MIRRORS", [http_server.url_for("monet2photo.zip")])
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))  # the Hub mirror: 404 here
    with pytest.raises(dl.DownloadError) as info:
        download_dataset("monet2photo")
    assert "where the published file has 305231073" in str(info.value) and "404" in str(info.value)
    assert all_files(tmp_data_root) == []
