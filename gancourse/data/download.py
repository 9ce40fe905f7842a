"""Downloads that never hang and never leave a half-written file behind.

Every file goes to a hidden temporary file beside its destination, is checked (length, MD5), and only
then renamed into place; a failure at any point removes the temporary file. Each network operation has
a short timeout (``$GANCOURSE_NET_TIMEOUT`` seconds, default 10), a host that could not be reached is
not tried again for a few minutes (an offline machine would otherwise wait once per file and per split),
and ``GANCOURSE_OFFLINE=1`` skips the network entirely.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

DEFAULT_TIMEOUT_S = 10.0
UNREACHABLE_FOR_S = 300.0  # how long a host that failed to connect is skipped

_unreachable: dict[str, float] = {}  # host:port -> when it last failed to connect


class DownloadError(RuntimeError):
    """No mirror delivered a file (network down, 404, cut-off transfer, or a checksum mismatch)."""


class ChecksumError(DownloadError):
    """The downloaded bytes are not the expected file."""


def offline() -> bool:
    """``GANCOURSE_OFFLINE=1`` skips every network attempt (CI, aeroplanes)."""
    return os.environ.get("GANCOURSE_OFFLINE", "").lower() in {"1", "true", "yes"}


def timeout_s() -> float:
    """Seconds a connection or a read may stall: ``$GANCOURSE_NET_TIMEOUT``, default 10."""
    return float(os.environ.get("GANCOURSE_NET_TIMEOUT") or DEFAULT_TIMEOUT_S)


TIMEOUT_S = timeout_s()  # read once at import, for callers that take it as a default argument


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
            request = urllib.request.Request(url, headers={"User-Agent": "gancourse", **(headers or {})})
            with urllib.request.urlopen(request, timeout=timeout or timeout_s()) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                received = 0
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
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
    headers = {"User-Agent": "gancourse"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
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


def fetch_large(url: str, dest: Path, *, sha256: str | None, size: int | None = None,
                timeout: float | None = None, desc: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming an earlier partial download, and check its SHA-256.

    The bytes go to :func:`partial_path` first; a stall (no byte for ``timeout`` seconds) or a transfer
    cut short raises :class:`DownloadError` and keeps them there, so running again asks only for the rest
    (``Range``). A complete file whose SHA-256 is wrong is deleted and raises :class:`ChecksumError`;
    only a file that matches is renamed to ``dest``. ``sha256`` may be a prefix of at least 8 hex digits
    (the torch.hub convention of naming weight files after it).
    """
    if offline():
        raise DownloadError(f"{url}: not downloading because GANCOURSE_OFFLINE is set")
    dest, timeout = Path(dest), timeout or timeout_s()
    if sha256 is not None and len(sha256) < 8:
        raise ValueError(f"a SHA-256 (or a prefix of at least 8 hex digits) is needed, got {sha256!r}")
    part = partial_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:  # not a prefix of this file
        part.unlink()
        have = 0
    resume = " (the bytes so far are kept; run the same command again to resume)"
    try:
        response, resumed, total = _open_from(url, have, timeout)
        if not resumed:
            have = 0  # the server sent the whole file: start over
        total = total if total is not None else size
        if response is not None:
            with response, open(part, "ab" if have else "wb") as out, \
                    tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=desc or dest.name,
                         leave=False, disable=not progress) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
            raise DownloadError(f"{url}: no data for {timeout:g} s (timed out){resume}") from exc
        raise DownloadError(f"{url}: the transfer failed ({exc!r}){resume}") from exc
    got = part.stat().st_size if part.is_file() else 0
    expected = size if size is not None else total
    if expected is not None and got != expected:
        raise DownloadError(f"{url}: the transfer stopped after {got} of {expected} bytes{resume}")
    if sha256 is not None and not (digest := file_digest(part, "sha256")).startswith(sha256.lower()):
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{url}: SHA-256 {digest} does not match the published {sha256} "
                            f"(corrupt or changed file); the download was deleted")
    os.replace(part, dest)
    return dest
