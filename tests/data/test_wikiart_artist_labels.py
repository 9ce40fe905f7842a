"""A huggan/wikiart row whose artist label is outside the artist names (-1: Hugging Face's "no label").

Python's negative indexing once filed such a painting under the last artist; now it is one clear error.
"""

from __future__ import annotations

import json

import pytest

from gancourse.data import download as dl
from gancourse.data import download_dataset
from gancourse.data import wikiart_download as wd
from gancourse.data.download import DownloadError

from .test_wikiart_download import FEATURES, IMPRESSIONISM, INFOS, PISSARRO, publish, real_paintings, shard_bytes


@pytest.mark.parametrize("label", [-1, len(wd.ARTISTS)])
def test_an_artist_label_outside_the_names_is_one_clear_error(http_server, tmp_data_root, monkeypatch, label):
    good, unlabelled = real_paintings("camille-pissarro", 2)
    publish(http_server, [shard_bytes([(good, PISSARRO, IMPRESSIONISM), (unlabelled, label, IMPRESSIONISM)])])
    http_server.write(INFOS, json.dumps({"huggan--wikiart": {"features": FEATURES}}).encode())
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    monkeypatch.setattr(dl, "BACKOFF_S", 0.01)
    dl.forget_unreachable()
    with pytest.raises(DownloadError, match=rf"row 1: artist label {label} is outside the {len(wd.ARTISTS)} artists"):
        download_dataset("wikiart", count=0)
    folder = tmp_data_root / "wikiart" / "Impressionism"
    written = sorted(p.name for p in folder.iterdir())
    assert len(written) == 1 and written[0].startswith("camille-pissarro_")  # nothing filed under a wrong artist
    assert not any(p.name.startswith(wd.ARTISTS[-1]) for p in folder.iterdir())
