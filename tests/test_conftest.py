"""The test environment itself (tests/conftest.py): every test starts offline, in its own folders."""

from __future__ import annotations

import os
from pathlib import Path


def test_every_test_starts_offline_in_its_own_runs_folder(tmp_path):
    assert os.environ["GANCOURSE_OFFLINE"] == "1" and os.environ["GANCOURSE_PROFILE"] == "smoke"
    assert Path(os.environ["GANCOURSE_RUNS"]) == tmp_path / "runs"
    assert not {"GANCOURSE_DEVICE", "GANCOURSE_NET_TIMEOUT", "GANCOURSE_COURSE_DIR"} & set(os.environ)

def test_the_local_server_fixture_switches_the_network_back_on(http_server):
    assert "GANCOURSE_OFFLINE" not in os.environ
