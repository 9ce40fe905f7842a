"""Downloads that never hang and never leave a half-written file behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

TIMEOUT_S = float(os.environ.get("GANCOURSE_NET_TIMEOUT", "10"))


class DownloadError(RuntimeError):
    """No mirror delivered a file (network down, 404, or a checksum mismatch)."""


class ChecksumError(DownloadError):
    pass


def offline() -> bool:
    """``GANCOURSE_OFFLINE=1`` skips every network attempt (CI, aeroplanes)."""
    return os.environ.get("GANCOURSE_OFFLINE", "").lower() in {"1", "true", "yes"}


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, dest: Path, *, md5: str | None = None, timeout: float = TIMEOUT_S,
          headers: dict[str, str] | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically: into a temporary file beside it, checked, then renamed."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "gancourse", **(headers or {})})
        with urllib.request.urlopen(request, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        if md5 is not None and (got := file_digest(tmp)) != md5:
            raise ChecksumError(f"{url}: MD5 {got} does not match the expected {md5} (corrupt or changed file)")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_from_mirrors(filename: str, mirrors: list[str], dest: Path, md5: str | None = None) -> Path:
    """Try each mirror in turn; raise one error that lists what every mirror said."""
    if offline():
        raise DownloadError(f"{filename}: not downloading because GANCOURSE_OFFLINE is set")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            return fetch(url, dest, md5=md5)
        except (urllib.error.URLError, OSError, ChecksumError) as exc:
            failures.append(f"  {url}: {exc}")
    raise DownloadError(f"could not download {filename}:\n" + "\n".join(failures))


def copy_tree_atomic(src: Path, dest: Path) -> None:
    """Copy a prepared folder into place in one rename (used when a download unpacks many files)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
