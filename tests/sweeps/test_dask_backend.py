"""The Dask backend's local cluster admits only the sweep itself (TLS with a certificate made in memory)."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest

distributed = pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
pytest.importorskip("cryptography", reason='the dask backend needs pip install "gancourse[cluster]"')

from distributed.comm import connect  # noqa: E402
from distributed.security import Security  # noqa: E402

from gancourse.sweeps import collect, dask_backend, parse_grid, run_sweep  # noqa: E402

from .conftest import executions, make_notebook  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    cluster = dask_backend.local_cluster(1)  # the sweep's own cluster, as `gancourse sweep --backend dask` starts it
    yield cluster
    cluster.close()


def ask_identity(address: str, **connection_args) -> dict:
    """Connect to the scheduler as any process could and ask it something (the first step of submitting code)."""
    async def attempt() -> dict:
        comm = await connect(address, timeout=30, **connection_args)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            await comm.close()

    return asyncio.run(attempt())


def test_the_local_cluster_listens_on_loopback_with_tls(cluster):
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")


def test_a_connection_without_the_clusters_certificate_is_refused(cluster):
    """What another user of the machine would try: connect to the port and talk to the scheduler."""
    address = cluster.scheduler_address
    with pytest.raises(OSError):  # plain TCP to the same port: the TLS handshake fails, the connection is dropped
        ask_identity(address.replace("tls://", "tcp://"))
    anonymous = ssl.create_default_context()  # TLS, trusting anything, but with no client certificate
    anonymous.check_hostname, anonymous.verify_mode = False, ssl.CERT_NONE
    with pytest.raises(OSError):
        ask_identity(address, ssl_context=anonymous)
    with pytest.raises(OSError):  # a certificate of one's own is not the cluster's: refused too
        ask_identity(address, **Security.temporary().get_connection_args("client"))


def test_a_client_without_security_cannot_connect(cluster):
    with pytest.raises((OSError, TypeError)):  # Dask's own client, no credentials: no connection at all
        distributed.Client(cluster.scheduler_address, timeout=30)


def test_the_sweep_itself_connects_with_the_clusters_certificate(cluster):
    identity = ask_identity(cluster.scheduler_address, **cluster.security.get_connection_args("client"))
    assert identity["type"] == "Scheduler"
    with distributed.Client(cluster) as client:  # what run_on_dask does
        assert client.submit(sum, [1, 2], pure=False).result() == 3


def test_a_plain_tcp_scheduler_is_named_as_open_to_anyone(capsys):
    dask_backend.warn_if_unauthenticated("tcp://10.0.0.5:8786")
    assert "accepts code from anyone" in capsys.readouterr().out
    dask_backend.warn_if_unauthenticated("tls://10.0.0.5:8786")
    assert capsys.readouterr().out == ""


def test_without_cryptography_the_cluster_talks_in_process_with_no_port(monkeypatch):
    def missing():
        raise ImportError("Using `Security.temporary` requires `cryptography`")

    monkeypatch.setattr(Security, "temporary", staticmethod(missing))
    cluster = dask_backend.local_cluster(1)
    try:
        assert cluster.scheduler_address.startswith("inproc://")  # nothing to connect to from another process
        with distributed.Client(cluster) as client:
            assert client.submit(sum, [1, 2], pure=False).result() == 3
    finally:
        cluster.close()


def test_the_clusters_plain_http_server_tells_nothing_but_health(cluster):
    import urllib.error
    import urllib.request

    http = cluster.scheduler.http_server
    assert http.address == "127.0.0.1"
    base = f"http://127.0.0.1:{http.port}"
    assert urllib.request.urlopen(f"{base}/health", timeout=30).status == 200
    for page in ("/info/main/workers.html", "/json/counts.json", "/metrics"):
        with pytest.raises(urllib.error.HTTPError):  # 404: no task names, paths or logs for other users
            urllib.request.urlopen(base + page, timeout=30)


# -- a whole sweep on a LocalCluster of 2 worker processes on loopback -------------------------------------

def test_dask_backend_runs_the_sweep_isolates_the_failure_and_resumes(tmp_path):
    pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
    import psutil

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "sweeps" / "tiny"
    grid = parse_grid({"parameters": {"a": [1, 2]}, "combinations": [{"a": 3}], "fixed": {"fail_on": 3}})
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = run_sweep(notebook, grid, out, jobs=2, progress=False, backend="dask")
    assert result.count("ok") == 2
    assert list(result.failed) == ["a-3"]
    assert "ValueError: combination a=3 fails on purpose" in result.failed["a-3"]
    assert list(collect(out).set_index("a")["fid"].dropna()) == pytest.approx([10.5, 20.5])
    from gancourse.cpu_threads import affinity_cores

    # each of the 2 workers' combinations gets half the cores
    assert json.loads((out / "a-1" / "status.json").read_text())["threads"] == str(max(1, affinity_cores() // 2))
    # the cluster, its workers and every notebook process are gone
    assert {p.pid for p in psutil.Process().children(recursive=True)} - before == set()

    again = run_sweep(notebook, grid, out, jobs=2, progress=False, backend="dask")
    assert sorted(again.skipped) == ["a-1", "a-2"]
    assert executions(out, "a-1") == 1 and executions(out, "a-3") == 2
