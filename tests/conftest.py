"""Fixtures shared by the test files.

- every test starts from the same ``GANCOURSE_*`` environment, whatever the caller exported (autouse):
  offline (no test reaches the internet; the local-server fixtures below switch it back on), the smoke
  profile, headless, runs in the test's own temporary folder, a fixed thread count (``GANCOURSE_THREADS``:
  the caller's, else ``auto``), every other variable cleared. Kept: the
  data root ``$GANCOURSE_DATA`` and the cache ``$GANCOURSE_CACHE``, which change what is found, not what
  is right (the real data when CI passes it; stand-ins and skips without it).
- ``tmp_data_root``: an empty data root and cache in a temporary folder, set as ``$GANCOURSE_DATA`` and
  ``$GANCOURSE_CACHE`` for one test (the network switch ``$GANCOURSE_OFFLINE`` is cleared).
- ``real_data_root``: the real data root (``$GANCOURSE_DATA``, else the checkout's ``data/``), or a skip
  when it is missing. Ask for a dataset in it with ``require_dataset(root, "mnist")``.
- ``http_server``: a local HTTP server on 127.0.0.1 serving the files you write into its folder, with
  single-range ``Range`` requests (206 / 416), and switches to misbehave: drop a file's transfer after
  N bytes, stall before sending, ignore ``Range``, answer first with queued statuses (429 with
  ``Retry-After``, 503), redirect to another server, trickle a byte at a time, or never end. It records
  every request it gets (and its headers). ``second_server``: another one, on another loopback address
  (127.0.0.2 where it can bind, else another port), e.g. a CDN the first one redirects to.
- ``closed_port_url``: the URL of a local port nobody listens on (a connection there is refused at once).
- on the toys of ``tests/helpers.py``: ``blob_scorer`` (a conditional evaluator for the blobs, per module),
  ``wikiart_root`` (a toy wikiart folder); and, asked for by whole modules with ``usefixtures``,
  ``one_torch_thread`` and ``fresh_network_memory``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gancourse.paths import data_root

KEPT_VARIABLES = ("GANCOURSE_DATA", "GANCOURSE_CACHE", "GANCOURSE_THREADS")
FIXED_VARIABLES = {"GANCOURSE_OFFLINE": "1", "GANCOURSE_PROFILE": "smoke", "GANCOURSE_HEADLESS": "1"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebooks (up to two minutes each) first, then everything else in its order: with
    pytest-xdist handing out a few tests at a time (``--dist loadgroup``, the Makefile; it puts the groups of
    tests that share a fixture first), the workers start on the long ones and the short ones fill the gaps,
    instead of one worker ending the run alone on a row of notebooks it was handed together."""
    items.sort(key=lambda item: item.get_closest_marker("notebook") is None)  # a stable sort: order kept within


@pytest.fixture(autouse=True)
def fixed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same GANCOURSE_* variables for every test (see the module's docstring); a test changes them itself."""
    import os

    for name in [n for n in os.environ if n.startswith("GANCOURSE_") and n not in KEPT_VARIABLES]:
        monkeypatch.delenv(name)
    for name, value in FIXED_VARIABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "runs"))
    # A fixed thread count keeps the bit-for-bit tests exact on a busy machine (the default adapts to the load).
    monkeypatch.setenv("GANCOURSE_THREADS", os.environ.get("GANCOURSE_THREADS", "auto"))


@pytest.fixture(autouse=True)
def _no_real_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the internet: the large downloads point at a closed local port unless a test
    points them at its own server (the Hub through $HF_ENDPOINT, CycleGAN's zip, the Inception weights)."""
    from gancourse.data import monet_download
    from gancourse.metrics import inception

    nowhere = "http://127.0.0.1:9"  # the discard port: nobody listens, a connection is refused at once
    monkeypatch.setenv("HF_ENDPOINT", nowhere)
    for name in ("HF_TOKEN", "HF_TOKEN_PATH"):  # the user's own Hugging Face token stays out of the tests
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(Path(__file__).parent / "no-hf-home"))  # a folder that does not exist
    monkeypatch.setattr(monet_download, "ZIP_MIRRORS", [f"{nowhere}/monet2photo.zip"])
    monkeypatch.setattr(inception, "WEIGHTS_URL", f"{nowhere}/{inception.WEIGHTS_NAME}")


@pytest.fixture(autouse=True)
def _fresh_sources() -> None:
    """Which datasets were real or stand-ins (read by record_headline) does not leak between tests."""
    from gancourse.data import SOURCES_USED

    for used in SOURCES_USED.values():
        used.clear()


@pytest.fixture
def tmp_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data root (returned) and a private cache, both under ``tmp_path``, online by default."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("GANCOURSE_DATA", str(root))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    return root


@pytest.fixture
def real_data_root() -> Path:
    """The data root that holds the real data sets; skips the test when there is none."""
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"no data root at {root}; set GANCOURSE_DATA to the real data (CI: ../shared/data)")
    return root


def require_dataset(root: Path, folder: str) -> Path:
    """``root / folder``, or skip the test when that data set is not there."""
    path = root / folder
    if not path.is_dir() or not any(path.iterdir()):
        pytest.skip(f"{folder} is not under the data root {root}")
    return path


@dataclass
class LocalServer:
    """What the ``http_server`` fixture hands a test; change the switches before making requests."""

    root: Path  # the files served: ``url + "a/b.bin"`` is ``root / "a/b.bin"``
    url: str  # "http://127.0.0.1:PORT/"
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before hanging up
    stall: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before answering
    ignore_range: bool = False  # answer 200 with the whole file, as servers without range support do
    cut_whole_only: bool = False  # apply ``cut_after`` only to requests without ``Range`` (a resume succeeds)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # path -> (status,
    # headers) answered first, one per request, e.g. [(429, {"Retry-After": "1"})] (0: hang up); "*": any path
    redirect: dict[str, str] = field(default_factory=dict)  # path -> URL answered with 302 (any host)
    trickle: dict[str, float] = field(default_factory=dict)  # path -> seconds between single bytes sent
    endless: set[str] = field(default_factory=set)  # paths whose answer has no length and never ends
    headers: list[dict[str, str]] = field(default_factory=list)  # the headers of each request, in order

    def url_for(self, name: str) -> str:
        return self.url + name

    def write(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def count(self, name: str) -> int:
        """How many requests asked for ``name``."""
        return sum(1 for _, path, _ in self.requests if path == name)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            name = self.path.split("?", 1)[0].lstrip("/")
            range_header = self.headers.get("Range")
            server.requests.append((self.command, name, range_header))
            server.headers.append(dict(self.headers.items()))
            if name in server.stall:
                time.sleep(server.stall[name])
            queued = server.answers.get(name) or server.answers.get("*")
            if queued:
                status, headers = queued.pop(0)
                if status == 0:  # hang up without answering (a connection reset, for the client)
                    self.close_connection = True
                    return
                self._reply(status, b"busy, try later", headers)
                return
            if name in server.redirect:
                self._reply(302, b"", {"Location": server.redirect[name]})
                return
            path = (server.root / name).resolve()
            if not path.is_file() or server.root.resolve() not in path.parents:
                self._reply(404, b"not found", {})
                return
            data = path.read_bytes()
            status, headers = 200, {"Accept-Ranges": "bytes"}
            if range_header and not server.ignore_range:
                match = _RANGE.match(range_header.strip())
                start, end = (match.group(1), match.group(2)) if match else ("", "")
                if not match or (not start and not end):
                    self._reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                    return
                if start:
                    first, last = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
                else:  # "bytes=-N": the last N bytes
                    first, last = max(len(data) - int(end), 0), len(data) - 1
                if first >= len(data) or first > last:
                    self._reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                    return
                status, data = 206, data[first:last + 1]
                headers["Content-Range"] = f"bytes {first}-{last}/{path.stat().st_size}"
            cut = server.cut_after.get(name) if not (server.cut_whole_only and range_header) else None
            if name in server.endless and body:
                self._endless(data)
            elif name in server.trickle and body:
                self._trickle(status, data, headers, server.trickle[name])
            else:
                self._reply(status, data if body else b"", headers, length=len(data), cut=cut)

        def _endless(self, data: bytes) -> None:
            """200 without a length: the file, then more bytes until the client hangs up."""
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(data)
                while True:
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass

        def _trickle(self, status: int, data: bytes, headers: dict[str, str], every: float) -> None:
            """The promised length, one byte every ``every`` seconds, until done or the client hangs up."""
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.close_connection = True
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(every)
            except OSError:
                pass

        def _reply(self, status: int, data: bytes, headers: dict[str, str], length: int | None = None,
                   cut: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data) if length is None else length))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if cut is not None:  # promise the whole length, send part of it, hang up
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled handler must not keep the test session alive

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (timeout, cut transfer) is what these tests want


@contextlib.contextmanager
def _serving(root: Path, host: str = "127.0.0.1") -> Iterator[LocalServer]:
    """A local HTTP server on ``host`` (own thread, port chosen by the OS) serving ``root``."""
    root.mkdir()
    state = LocalServer(root=root, url="")
    try:
        httpd = _QuietServer((host, 0), _handler(state))
    except OSError:  # a system without the whole 127/8 on loopback: another port is another host too
        httpd = _QuietServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://{httpd.server_address[0]}:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              name="test-http-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """A local HTTP server (own thread, port chosen by the OS) serving ``tmp_path / "served"``."""
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)  # 127.0.0.1 is the network these tests use
    with _serving(tmp_path / "served") as state:
        yield state


@pytest.fixture
def second_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """Another local HTTP server, on 127.0.0.2 where the system allows it (another host for the client)."""
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    with _serving(tmp_path / "served-elsewhere", "127.0.0.2") as state:
        yield state


@pytest.fixture
def closed_port_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """``http://127.0.0.1:PORT/`` for a port that was free a moment ago: connecting is refused at once."""
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def drawn_stand_in_cache(tmp_path_factory) -> Path:
    """A cache holding MNIST's stand-in training split, drawn once per test process (its 12,000 digits take
    seconds to draw): ``offline_root`` starts each test's cache as a copy of it."""
    from gancourse.data import standins

    cache = tmp_path_factory.mktemp("stand-in-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANCOURSE_CACHE", str(cache))
        standins.make("mnist", "train")
    return cache


@pytest.fixture
def offline_root(tmp_path, monkeypatch, drawn_stand_in_cache) -> Path:
    """An empty data root, offline: the CLI trains on stand-ins (``--allow-stand-in``) as a new user would.
    Its cache holds MNIST's stand-in already, as it would after a first run."""
    root = tmp_path / "empty-data"
    root.mkdir()
    cache = Path(shutil.copytree(drawn_stand_in_cache, tmp_path / "cache"))
    monkeypatch.setenv("GANCOURSE_DATA", str(root))
    monkeypatch.setenv("GANCOURSE_CACHE", str(cache))
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    return root


# -- fixtures on the toys of tests/helpers.py ------------------------------------------------------------

@pytest.fixture(scope="module")
def blob_scorer():
    """Held-out blob images (seed 1) and a conditional evaluator for the blobs, with a judge trained on them."""
    from gancourse.metrics.conditional import ConditionalEvaluator
    from gancourse.metrics.judge import train_judge

    from .helpers import BLOBS, blob_images

    test = blob_images(n=200, size=16, seed=1)
    return test, ConditionalEvaluator(BLOBS, test, train_judge(BLOBS, epochs=2, batch_size=32, progress=False),
                                      n_per_class=30)


@pytest.fixture
def fp32_steps(monkeypatch) -> None:
    """Training steps in fp32 on every CPU: a test that checks a step's arithmetic against fp32 computed by hand
    would otherwise, on a CPU with bfloat16, check bfloat16 autocast (``Recipe.cpu_bf16``) instead."""
    monkeypatch.setenv("GANCOURSE_CPU_BF16", "0")


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Toy networks gain nothing from a second thread, and on a busy CI machine oversubscribed threads make
    these tests several times slower. A module asks for it with ``pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fresh_network_memory() -> Iterator[None]:
    """Hosts remembered as unreachable by an earlier test do not leak in (nor out)."""
    from gancourse.data import download as dl

    dl.forget_unreachable()
    yield
    dl.forget_unreachable()


@pytest.fixture
def wikiart_root(tmp_data_root: Path) -> Path:
    """A data root holding a toy wikiart: Impressionism by ``WIKIART_ARTISTS``, an empty Baroque."""
    from .helpers import WIKIART_ARTISTS, jpeg

    folder = tmp_data_root / "wikiart" / "Impressionism"
    folder.mkdir(parents=True)
    for k, (artist, count) in enumerate(WIKIART_ARTISTS.items()):
        for i in range(count):
            jpeg(folder / f"{artist}_painting-{i}.jpg", 48 + 4 * i, 40, (40 * k + 20, 10 * i, 100))
    (tmp_data_root / "wikiart" / "Baroque").mkdir()
    return tmp_data_root
