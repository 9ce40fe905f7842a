"""Downloads that never hang, never read more than they asked for, and never leave a half-written file behind.

Every file goes to a hidden temporary file beside its destination, is checked (length, MD5 or SHA-256),
and only then renamed into place. The client is polite to public servers:

- a ``429``/``503`` answer is waited out as its ``Retry-After`` asks (seconds or an HTTP date), other
  transient failures (``5xx``, a connection reset) are retried with exponential backoff and jitter, all
  within a bounded total wait (``$GANCOURSE_RETRY_WAIT`` seconds, default 120), with a message per wait;
- what retrying cannot fix fails at once (connection refused, unknown host, a 404, no byte for
  ``$GANCOURSE_NET_TIMEOUT`` seconds, default 10), so an offline machine fails fast; a host that could
  not be reached is not tried again for a few minutes, and ``GANCOURSE_OFFLINE=1`` skips the network;
- the user's Hugging Face token (``$HF_TOKEN``, or the file ``huggingface_hub`` writes) goes to the
  Hub's host only, never to a redirect target on another host (the Xet CDN's URLs are signed);
- a response is read up to what was asked (a range, the published size) and no further, and a transfer
  whose average speed stays under a floor (``$GANCOURSE_MIN_SPEED`` bytes/s over
  ``$GANCOURSE_SPEED_WINDOW`` seconds, default 1 KB/s over 30 s) fails, naming the server.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import DownloadError

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRY_WAIT_S = 120.0  # total wait on 429/503/5xx/resets before giving up
DEFAULT_MIN_SPEED = 1024.0  # bytes/s: a slower transfer is a broken mirror, not a slow one
DEFAULT_SPEED_WINDOW_S = 30.0
UNREACHABLE_FOR_S = 300.0  # how long a host that failed to connect is skipped
BACKOFF_S = 1.0  # the first wait after a transient failure; doubled each time, with jitter
MAX_TRIES = 8
MAX_RESUMES = 3  # a transfer cut off mid-body continues (Range) this many times within one call
SMALL_FILE_CAP = 64 << 20  # what :func:`fetch` reads at most from a response that announces no length
CHUNK = 1 << 16
RETRY_STATUS = {429, 500, 502, 503, 504}
DEFAULT_HUB = "https://huggingface.co"

_unreachable: dict[str, float] = {}  # host:port -> when it last failed to connect
_traffic = {"requests": 0, "bytes": 0}  # what this process asked and read (tests, measurements)


class ChecksumError(DownloadError):
    """The downloaded bytes are not the expected file."""


class TooSlow(DownloadError):
    """A transfer stayed under the speed floor: the server is broken or overloaded."""


def offline() -> bool:
    """``GANCOURSE_OFFLINE=1`` skips every network attempt (CI, aeroplanes)."""
    return os.environ.get("GANCOURSE_OFFLINE", "").lower() in {"1", "true", "yes"}


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def timeout_s() -> float:
    """Seconds a connection or a read may stall: ``$GANCOURSE_NET_TIMEOUT``, default 10."""
    return _env_float("GANCOURSE_NET_TIMEOUT", DEFAULT_TIMEOUT_S)


def retry_wait_s() -> float:
    """Seconds spent waiting on a busy server in all, per request: ``$GANCOURSE_RETRY_WAIT``, default 120."""
    return _env_float("GANCOURSE_RETRY_WAIT", DEFAULT_RETRY_WAIT_S)


def speed_floor() -> tuple[float, float]:
    """(bytes/s, window in s): a transfer slower than this on average over the window fails."""
    return (_env_float("GANCOURSE_MIN_SPEED", DEFAULT_MIN_SPEED),
            _env_float("GANCOURSE_SPEED_WINDOW", DEFAULT_SPEED_WINDOW_S))


TIMEOUT_S = timeout_s()  # read once at import, for callers that take it as a default argument


def hub_endpoint() -> str:
    """The Hugging Face Hub's address: ``$HF_ENDPOINT`` (a mirror, a test server), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_HUB).rstrip("/")


def hub_token() -> str | None:
    """The user's Hugging Face token: ``$HF_TOKEN``, else the file ``huggingface_hub`` writes at login
    (``$HF_TOKEN_PATH``, else ``$HF_HOME/token``, default ``~/.cache/huggingface/token``)."""
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        return token
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    path = Path(os.environ.get("HF_TOKEN_PATH") or os.path.join(home, "token")).expanduser()
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return path.read_text().strip() or None
    return None


def _netloc(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.lower()


def is_hub(url: str) -> bool:
    """Whether ``url`` is on the Hub's own host (the only one that gets the token)."""
    return _netloc(url) == _netloc(hub_endpoint())


def _token_for(url: str) -> str | None:
    return hub_token() if is_hub(url) else None


def traffic() -> dict[str, int]:
    """Requests made and body bytes read by this process so far."""
    return dict(_traffic)


def reset_traffic() -> None:
    _traffic.update(requests=0, bytes=0)


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def forget_unreachable() -> None:
    """Try every host again (after the network came back, or between tests)."""
    _unreachable.clear()


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


def _connection_failed(exc: BaseException) -> bool:
    """True when the host itself could not be reached (DNS, refused, timeout), not when it said no."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError))


def _say(message: str) -> None:
    print(f"gancourse: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# The polite client: one GET with retries, a token for the Hub only, bounded reads
# ---------------------------------------------------------------------------------------------------


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (Range and the other headers go along) but gives the token only to the Hub's host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            _traffic["requests"] += 1
            token = _token_for(newurl)  # Authorization is an unredirected header: it never follows by itself
            if token:
                new.add_unredirected_header("Authorization", f"Bearer {token}")
        return new


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _transient(exc: BaseException) -> bool:
    """A failure worth retrying: the connection was reset or dropped (not refused, not a stall, not DNS)."""
    reason = getattr(exc, "reason", exc) if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                               http.client.RemoteDisconnected, http.client.BadStatusLine))


def _give_up(url: str, answer: str, tries: int, waited: float, asked: float | None) -> DownloadError:
    told = f" and asked for {asked:.0f} s more (Retry-After)" if asked is not None else ""
    message = (f"{url}: the server answered {answer} {tries} time{'s' * (tries > 1)}{told}; gave up after "
               f"waiting {waited:.0f} s (at most {retry_wait_s():.0f} s, $GANCOURSE_RETRY_WAIT)")
    if is_hub(url) and answer.startswith("HTTP 429"):
        message += ("; the Hub limits anonymous downloads per IP address (a class behind one address shares "
                    "the limit): " + ("your token is sent, so wait a few minutes and run the same command again"
                                      if hub_token() else "a free Hugging Face token raises the limit (set HF_TOKEN "
                                      "or run `huggingface-cli login`)")
                    + ", or have the instructor prepare the data once for the class (data/README.md)")
    return DownloadError(message)


def open_url(url: str, headers: dict[str, str] | None = None, timeout: float | None = None):
    """GET ``url`` and return the open response (2xx), waiting out busy servers (see the module docstring).

    Raises ``urllib.error.HTTPError`` for an answer that retrying cannot change (404, 416, ...), the
    ``URLError``/``OSError`` of a connection that failed, or :class:`DownloadError` after giving up.
    """
    timeout = timeout or timeout_s()
    opener = urllib.request.build_opener(_Redirects)
    waited, tries = 0.0, 0
    while True:
        tries += 1
        request = urllib.request.Request(url, headers={"User-Agent": "gancourse", **(headers or {})})
        token = _token_for(url)
        if token:
            request.add_unredirected_header("Authorization", f"Bearer {token}")
        _traffic["requests"] += 1
        asked = None
        try:
            return opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUS:
                raise
            answer = f"HTTP {exc.code} {exc.reason}"
            asked = _retry_after(exc.headers.get("Retry-After")) if exc.code in (429, 503) else None
            exc.close()  # the error page is not read
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if not _transient(exc):
                raise
            answer = f"a dropped connection ({getattr(exc, 'reason', exc)!r})"
        delay = asked if asked is not None else BACKOFF_S * 2 ** (tries - 1) * random.uniform(0.5, 1.5)
        if tries >= MAX_TRIES or waited + delay > retry_wait_s():
            raise _give_up(url, answer, tries, waited, asked)
        why = "as the server asks (Retry-After)" if asked is not None else "before trying again"
        _say(f"{_host(url)} answered {answer}; waiting {delay:.1f} s {why} ({waited + delay:.0f} of at most "
             f"{retry_wait_s():.0f} s)")
        time.sleep(delay)
        waited += delay


def stream(response, limit: int | None, url: str) -> Iterator[bytes]:
    """The body of ``response`` in chunks, ``limit`` bytes at most (None: to its end), as they arrive.

    Raises :class:`DownloadError` when the average speed over the window stays under the floor.
    """
    floor, window = speed_floor()
    read = getattr(response, "read1", response.read)  # read1 returns what has arrived: a trickle is seen
    mark, got, marked = time.monotonic(), 0, 0
    while limit is None or got < limit:
        chunk = read(CHUNK if limit is None else min(CHUNK, limit - got))
        if not chunk:
            return
        got += len(chunk)
        _traffic["bytes"] += len(chunk)
        yield chunk
        now = time.monotonic()
        if now - mark >= window:
            if (got - marked) / (now - mark) < floor:
                raise TooSlow(f"{url}: {_host(url)} sent {got - marked} bytes in {now - mark:.1f} s, under "
                                    f"the floor of {floor:g} bytes/s ($GANCOURSE_MIN_SPEED over "
                                    f"$GANCOURSE_SPEED_WINDOW = {window:g} s): a broken or overloaded mirror")
            mark, marked = now, got


def read_capped(response, limit: int, url: str) -> bytes:
    """The whole body of a response that must be at most ``limit`` bytes (an API answer, a range)."""
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise DownloadError(f"{url}: the server announces {int(length)} bytes where at most {limit} were asked for")
    data = b"".join(stream(response, limit, url))
    if len(data) == limit and not length and getattr(response, "read1", response.read)(1):
        raise DownloadError(f"{url}: the server sends more than the {limit} bytes asked for")
    return data


# ---------------------------------------------------------------------------------------------------
# Small files: one GET, checked against an MD5
# ---------------------------------------------------------------------------------------------------


def fetch(url: str, dest: Path, *, md5: str | None = None, timeout: float | None = None,
          headers: dict[str, str] | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically: into a temporary file beside it, checked, then renamed.

    Raises :class:`DownloadError` (or :class:`ChecksumError`) and leaves nothing behind on failure.
    """
    if offline():
        raise DownloadError(f"{url}: not downloading because GANCOURSE_OFFLINE is set")
    dest = Path(dest)
    made_folder = not dest.parent.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            with open_url(url, headers, timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                received = 0
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
                    for chunk in stream(response, total or SMALL_FILE_CAP + 1, url):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        if total is None and received > SMALL_FILE_CAP:
            raise DownloadError(f"{url}: the server sends more than {SMALL_FILE_CAP:,} bytes (not the small file "
                                "expected here)")
        if total is not None and received != total:
            raise DownloadError(f"{url}: the transfer stopped after {received} of {total} bytes")
        if md5 is not None and (got := file_digest(tmp)) != md5:
            raise ChecksumError(f"{url}: MD5 {got} does not match the expected {md5} (corrupt or changed file)")
        os.replace(tmp, dest)
        done = True
        return dest
    except http.client.HTTPException as exc:  # e.g. IncompleteRead: the server hung up mid-file
        raise DownloadError(f"{url}: the transfer failed ({exc!r})") from exc
    finally:
        tmp.unlink(missing_ok=True)
        if made_folder and not done:  # leave no empty folder that looks like a dataset
            with contextlib.suppress(OSError):
                dest.parent.rmdir()


def fetch_from_mirrors(filename: str, mirrors: list[str], dest: Path, md5: str | None = None) -> Path:
    """Try each mirror in turn; raise one :class:`DownloadError` that lists what every mirror said."""
    if offline():
        raise DownloadError(f"{filename}: not downloading because GANCOURSE_OFFLINE is set")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        host = _host(url)
        failed_at = _unreachable.get(host)
        if failed_at is not None and time.monotonic() - failed_at < UNREACHABLE_FOR_S:
            failures.append(f"  {url}: skipped, {host} could not be reached a moment ago")
            continue
        try:
            return fetch(url, dest, md5=md5)
        except (DownloadError, urllib.error.URLError, OSError) as exc:
            if _connection_failed(exc):
                _unreachable[host] = time.monotonic()
            failures.append(f"  {url}: {exc}")
    raise DownloadError(f"could not download {filename}:\n" + "\n".join(failures))


# ---------------------------------------------------------------------------------------------------
# Large files: resumable (HTTP Range), checked against a SHA-256, progress in bytes
# ---------------------------------------------------------------------------------------------------


def partial_path(dest: Path) -> Path:
    """Where the bytes of an unfinished download of ``dest`` wait for the next try (a hidden file beside it)."""
    return dest.with_name(f".{dest.name}.part")


def _open_from(url: str, start: int, timeout: float):
    """GET ``url`` from byte ``start``: (response, whether it resumes at ``start``, total size or None)."""
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        response = open_url(url, headers, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left after ``start``: the part file may already be whole
            total = exc.headers.get("Content-Range", "").rpartition("/")[2]
            return None, True, int(total) if total.isdigit() else None
        raise
    if response.status == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return response, True, int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return response, False, int(length) if length else None


def _transfer(url: str, part: Path, size: int | None, timeout: float, desc: str, progress: bool) -> int | None:
    """One GET into ``part`` from where it ends, up to ``size`` bytes and no further; returns the size expected."""
    have = part.stat().st_size if part.is_file() else 0
    response, resumed, total = _open_from(url, have, timeout)
    if not resumed:
        have = 0  # the server sent the whole file: start over
    if size is not None and total is not None and total != size:
        if response is not None:
            response.close()
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the server offers {total} bytes where the published file has {size} "
                            "(not the expected file); nothing was kept")
    expected = size if size is not None else total
    if response is None:
        return expected
    with response, open(part, "ab" if have else "wb") as out, \
            tqdm(total=expected, initial=have, unit="B", unit_scale=True, desc=desc, leave=False,
                 disable=not progress) as bar:
        for chunk in stream(response, None if expected is None else expected - have, url):
            out.write(chunk)  # never past ``expected``: an endless answer cannot grow the part file
            bar.update(len(chunk))
    return expected


def fetch_large(url: str, dest: Path, *, sha256: str | None, size: int | None = None,
                timeout: float | None = None, desc: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming an earlier partial download, and check its size and SHA-256.

    The bytes go to :func:`partial_path` first, never more than ``size`` (or the announced length); a
    transfer cut off mid-body continues at once with a ``Range`` request (up to ``MAX_RESUMES`` times);
    a stall, a transfer under the speed floor or one still short raises :class:`DownloadError` and keeps
    the bytes, so running again asks only for the rest. A complete file whose SHA-256 is wrong is deleted
    and raises :class:`ChecksumError`; only a file that matches is renamed to ``dest``. ``sha256`` may be
    a prefix of at least 8 hex digits.
    """
    if offline():
        raise DownloadError(f"{url}: not downloading because GANCOURSE_OFFLINE is set")
    dest, timeout = Path(dest), timeout or timeout_s()
    if sha256 is not None and len(sha256) < 8:
        raise ValueError(f"a SHA-256 (or a prefix of at least 8 hex digits) is needed, got {sha256!r}")
    part = partial_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if size is not None and part.is_file() and part.stat().st_size > size:  # not a prefix of this file
        part.unlink()
    resume = " (the bytes so far are kept; run the same command again to resume)"
    expected, got = size, -1
    try:
        for _ in range(1 + MAX_RESUMES):
            before = part.stat().st_size if part.is_file() else 0
            if size is not None and before == size:
                break  # whole already (an earlier run stopped before checking it)
            expected = _transfer(url, part, size, timeout, desc or dest.name, progress)
            got = part.stat().st_size if part.is_file() else 0
            if expected is None or got >= expected or got <= before:
                break  # done, or no progress: resuming again would not help
            _say(f"{_host(url)} cut the transfer off after {got} of {expected} bytes; asking for the rest")
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
            raise DownloadError(f"{url}: no data for {timeout:g} s (timed out){resume}") from exc
        raise DownloadError(f"{url}: the transfer failed ({exc!r}){resume}") from exc
    except TooSlow as exc:
        raise TooSlow(f"{exc}{resume}") from exc
    got = part.stat().st_size if part.is_file() else 0
    if expected is not None and got != expected:
        raise DownloadError(f"{url}: the transfer stopped after {got} of {expected} bytes{resume}")
    if sha256 is not None and not (digest := file_digest(part, "sha256")).startswith(sha256.lower()):
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{url}: SHA-256 {digest} does not match the published {sha256} "
                            f"(corrupt or changed file); the download was deleted")
    os.replace(part, dest)
    return dest
