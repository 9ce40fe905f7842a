"""The course's HTTP client against misbehaving local servers: busy (429/503), flaky, redirecting to
another host, trickling, endless, ignoring Range. Each test asserts what was asked and read, not just
that something arrived."""

from __future__ import annotations

import email.utils
import hashlib
import time

import pytest

from gancourse.data import download as dl
from gancourse.data import huggingface as hf

from ..helpers import all_files

pytestmark = pytest.mark.usefixtures("fresh_network_memory")

BODY = bytes(range(256)) * 64  # 16 KB


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Backoff in hundredths of a second; the total wait budget stays the real default unless a test sets it."""
    monkeypatch.setattr(dl, "BACKOFF_S", 0.01)
    dl.reset_traffic()


def get(url: str, headers: dict | None = None) -> bytes:
    with dl.open_url(url, headers) as response:
        return dl.read_capped(response, 1 << 20, url)


def test_retry_after_in_seconds_or_as_a_date():
    assert dl._retry_after("7") == 7.0
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= dl._retry_after(in_a_minute) <= 60
    assert dl._retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert dl._retry_after("soon") is None and dl._retry_after(None) is None


def test_429_with_retry_after_is_waited_out_and_said(http_server, capsys):
    http_server.write("f.bin", BODY)
    http_server.answers["f.bin"] = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    assert get(http_server.url_for("f.bin")) == BODY
    assert time.monotonic() - started >= 1.0  # it waited as asked
    assert http_server.count("f.bin") == 2
    err = capsys.readouterr().err
    assert "429" in err and "waiting 1.0 s as the server asks (Retry-After)" in err


def test_transient_failures_back_off_and_retry(http_server):
    http_server.write("f.bin", BODY)
    http_server.answers["f.bin"] = [(503, {}), (0, {}), (502, {})]  # busy, a dropped connection, a bad gateway
    assert get(http_server.url_for("f.bin")) == BODY
    assert http_server.count("f.bin") == 4


def test_a_server_that_stays_busy_is_given_up_on_with_what_it_said(http_server, monkeypatch):
    monkeypatch.setenv("GANCOURSE_RETRY_WAIT", "0.5")
    http_server.write("f.bin", BODY)
    http_server.answers["f.bin"] = [(500, {})] * 100
    with pytest.raises(dl.DownloadError, match=r"answered HTTP 500 .* gave up after waiting") as info:
        get(http_server.url_for("f.bin"))
    assert "HF_TOKEN" not in str(info.value)  # not the Hub: a token would not help
    assert 2 <= http_server.count("f.bin") < 100


def test_a_retry_after_beyond_the_budget_fails_at_once_and_names_the_token_on_the_hub(http_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))  # this server is the Hub now
    http_server.write("f.bin", BODY)
    http_server.answers["f.bin"] = [(429, {"Retry-After": "3600"})]
    with pytest.raises(dl.DownloadError) as info:
        get(http_server.url_for("f.bin"))
    message = str(info.value)
    assert "HTTP 429" in message and "3600 s" in message and "gave up after waiting 0 s" in message
    assert "HF_TOKEN" in message and "token raises the limit" in message
    assert http_server.count("f.bin") == 1  # no hour-long wait: asked once


def test_a_refused_connection_is_not_retried(closed_port_url):
    with pytest.raises(OSError, match="refused"):
        dl.open_url(closed_port_url + "f.bin")
    assert dl.traffic()["requests"] == 1


def test_the_token_goes_to_the_hub_only_never_to_a_redirect_on_another_host(http_server, second_server,
                                                                              monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    second_server.write("cas/object", BODY)
    http_server.redirect["resolve/f.bin"] = second_server.url_for("cas/object") + "?X-Amz-Signature=abc"
    http_server.write("same-host-target.bin", BODY)
    http_server.redirect["resolve/g.bin"] = http_server.url_for("same-host-target.bin")
    assert get(http_server.url_for("resolve/f.bin"), {"Range": "bytes=0-"}) == BODY
    assert http_server.headers[-1]["Authorization"] == "Bearer hf_secret"
    assert "Authorization" not in second_server.headers[-1]  # signed URL: no token for the CDN
    assert second_server.requests == [("GET", "cas/object", "bytes=0-")]  # Range went along
    assert get(http_server.url_for("resolve/g.bin")) == BODY
    assert [h.get("Authorization") for h in http_server.headers[-2:]] == ["Bearer hf_secret"] * 2
    other = second_server.url_for("cas/object")  # a URL on another host never gets it, redirect or not
    assert get(other) == BODY and "Authorization" not in second_server.headers[-1]


def test_the_token_file_huggingface_hub_writes_is_read(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", http_server.url.rstrip("/"))
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("hf_from_file\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    http_server.write("f.bin", BODY)
    get(http_server.url_for("f.bin"))
    assert http_server.headers[-1]["Authorization"] == "Bearer hf_from_file"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "nowhere"))
    get(http_server.url_for("f.bin"))
    assert "Authorization" not in http_server.headers[-1]


def test_an_endless_answer_stops_at_the_expected_size_and_keeps_nothing_more(http_server, tmp_path):
    http_server.write("big.bin", BODY)
    http_server.endless.add("big.bin")  # the file, then zeros forever, no Content-Length
    dest = tmp_path / "out" / "big.bin"
    good = hashlib.sha256(BODY).hexdigest()
    assert dl.fetch_large(http_server.url_for("big.bin"), dest, sha256=good, size=len(BODY), progress=False) == dest
    assert dest.read_bytes() == BODY and dl.traffic()["bytes"] == len(BODY)
    dest.unlink()
    with pytest.raises(dl.ChecksumError):  # a wrong file of the right length: deleted, not kept to resume
        dl.fetch_large(http_server.url_for("big.bin"), dest, sha256="0" * 64, size=len(BODY), progress=False)
    assert all_files(tmp_path / "out") == []


def test_an_answer_longer_than_published_is_refused_before_reading(http_server, tmp_path):
    http_server.write("big.bin", BODY)
    with pytest.raises(dl.DownloadError, match=f"offers {len(BODY)} bytes where the published file has 100"):
        dl.fetch_large(http_server.url_for("big.bin"), tmp_path / "out" / "big.bin", sha256=None, size=100,
                       progress=False)
    assert dl.traffic()["bytes"] == 0 and all_files(tmp_path / "out") == []


def test_a_trickle_under_the_speed_floor_fails_naming_the_mirror(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_MIN_SPEED", "1000")
    monkeypatch.setenv("GANCOURSE_SPEED_WINDOW", "0.5")
    http_server.write("slow.bin", BODY)
    http_server.trickle["slow.bin"] = 0.02  # 50 bytes/s: each byte well within the 10 s stall timeout
    with pytest.raises(dl.TooSlow, match=r"127\.0\.0\.1:\d+ sent \d+ bytes in .* under the floor of 1000") as info:
        dl.fetch_large(http_server.url_for("slow.bin"), tmp_path / "slow.bin", sha256=None, size=len(BODY),
                       progress=False)
    assert "run the same command again to resume" in str(info.value)
    assert dl.traffic()["bytes"] < 200  # half a second of trickle, not the file
    with pytest.raises(dl.TooSlow):  # the small-file path has the same floor
        dl.fetch(http_server.url_for("slow.bin"), tmp_path / "small" / "slow.bin")
    assert not (tmp_path / "small").exists()


def test_a_cut_transfer_continues_in_the_same_call_asking_only_for_the_rest(http_server, tmp_path):
    http_server.write("big.bin", BODY)
    http_server.cut_after["big.bin"] = len(BODY) // 3  # every answer stops after a third of what it promised
    dest = tmp_path / "big.bin"
    dl.fetch_large(http_server.url_for("big.bin"), dest, sha256=hashlib.sha256(BODY).hexdigest(), size=len(BODY),
                   progress=False)
    third = len(BODY) // 3
    assert [r for _, _, r in http_server.requests] == [None, f"bytes={third}-", f"bytes={2 * third}-",
                                                       f"bytes={3 * third}-"]
    assert dest.read_bytes() == BODY and dl.traffic()["bytes"] == len(BODY)


def test_a_transfer_still_short_after_the_resumes_keeps_its_part(http_server, tmp_path):
    http_server.write("big.bin", BODY)
    http_server.cut_after["big.bin"] = 1000
    dest = tmp_path / "big.bin"
    with pytest.raises(dl.DownloadError, match="run the same command again to resume"):
        dl.fetch_large(http_server.url_for("big.bin"), dest, sha256=None, size=len(BODY), progress=False)
    assert dl.partial_path(dest).stat().st_size == 1000 * (1 + dl.MAX_RESUMES)
    http_server.cut_after.clear()
    dl.fetch_large(http_server.url_for("big.bin"), dest, sha256=None, size=len(BODY), progress=False)
    assert http_server.requests[-1][2] == f"bytes={1000 * (1 + dl.MAX_RESUMES)}-" and dest.read_bytes() == BODY


def test_api_answers_are_capped(http_server):
    http_server.write("api.json", b"[" + b"1," * 1000 + b"1]")
    with dl.open_url(http_server.url_for("api.json")) as response:
        with pytest.raises(dl.DownloadError, match="announces 2003 bytes where at most 100"):
            dl.read_capped(response, 100, "api.json")
    http_server.endless.add("api.json")
    with dl.open_url(http_server.url_for("api.json")) as response:
        with pytest.raises(dl.DownloadError, match="sends more than the 100 bytes"):
            dl.read_capped(response, 100, "api.json")
    assert dl.traffic()["bytes"] <= 101


def test_a_footer_probe_is_one_explicit_range_and_a_200_is_not_read(http_server, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(5000))}), path)
    data = path.read_bytes()
    http_server.write("t.parquet", data)
    remote = hf.RemoteFile("t.parquet", len(data), None, http_server.url_for("t.parquet"))
    assert hf.parquet_footer(remote).num_rows == 5000
    start = len(data) - min(hf.FOOTER_PROBE_BYTES, len(data))
    assert http_server.requests == [("GET", "t.parquet", f"bytes={start}-{len(data) - 1}")]
    dl.reset_traffic()
    http_server.ignore_range = True  # a CDN that sends the whole file with 200
    assert hf.parquet_footer(remote) is None
    assert dl.traffic() == {"requests": 1, "bytes": 0}


def test_an_endless_small_file_is_cut_at_the_cap_and_leaves_nothing(http_server, tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "SMALL_FILE_CAP", 100_000)
    http_server.write("labels.gz", BODY)
    http_server.endless.add("labels.gz")
    with pytest.raises(dl.DownloadError, match="sends more than"):
        dl.fetch(http_server.url_for("labels.gz"), tmp_path / "mnist" / "labels.gz")
    assert dl.traffic()["bytes"] == 100_001 and not (tmp_path / "mnist").exists()
