"""A class on one connection: a data root prepared once, served to every student by a plain HTTP server.

The instructor runs ``gancourse download all --to DIR``, which also writes ``DIR/gancourse-mirror.json``
(every file's path, size and SHA-256), and serves DIR with any static file server
(``python -m http.server``). A student with ``$GANCOURSE_MIRROR`` set to that server's address gets each
``gancourse download ...`` from it: the manifest, then each missing file, checked against its SHA-256,
resumable. No request goes to the Hub or any other public host.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
from pathlib import Path

from .download import DownloadError, fetch_large, file_digest, offline, open_url, read_capped

MANIFEST = "gancourse-mirror.json"
MANIFEST_CAP = 64 << 20
# what each download fills, as folders of the data root
FOLDERS = {"mnist": ["mnist"], "stacked-mnist": ["mnist"], "fashion-mnist": ["fashion-mnist"],
           "quickdraw": ["quickdraw"], "wikiart": ["wikiart"], "monet2photo": ["monet2photo"],
           "inception": ["inception"]}


def mirror_url() -> str | None:
    """The course mirror's address (``$GANCOURSE_MIRROR``), or None."""
    url = os.environ.get("GANCOURSE_MIRROR", "").strip()
    return url.rstrip("/") + "/" if url else None


def _listed(root: Path) -> list[Path]:
    """The data files under ``root``: hidden files and folders (caches, partial downloads, state) stay out."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts) and p.name != MANIFEST)


def write_manifest(root: Path | str) -> Path:
    """Record every data file under ``root`` (size, SHA-256) in ``root/gancourse-mirror.json``."""
    root = Path(root)
    files = {p.relative_to(root).as_posix(): {"size": p.stat().st_size, "sha256": file_digest(p, "sha256")}
             for p in _listed(root)}
    path = root / MANIFEST
    path.write_text(json.dumps({"files": files}, indent=1, sort_keys=True))
    return path


def fetch(what: str, root: Path | str, base: str | None = None) -> Path:
    """Copy ``what`` (a dataset or ``inception``) from the course mirror into ``root``; returns ``root``."""
    base = base or mirror_url()
    if base is None:
        raise DownloadError("no course mirror: set GANCOURSE_MIRROR to its address")
    if offline():
        raise DownloadError(f"not downloading {what} because GANCOURSE_OFFLINE is set")
    root = Path(root)
    url = base + MANIFEST
    try:
        with open_url(url) as response:
            files = json.loads(read_capped(response, MANIFEST_CAP, url).decode())["files"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        why = f"HTTP {exc.code} {exc.reason}" if isinstance(exc, urllib.error.HTTPError) else exc
        raise DownloadError(f"{url}: {why} (is GANCOURSE_MIRROR the address of a folder made by "
                            "`gancourse download all --to DIR`?)") from exc
    folders = FOLDERS.get(what, [what])
    wanted = {path: entry for path, entry in files.items() if path.split("/", 1)[0] in folders}
    if not wanted:
        raise DownloadError(f"the course mirror {base} has no {what} (nothing under {', '.join(folders)}/)")
    for path, entry in sorted(wanted.items()):
        parts = Path(path).parts
        if Path(path).is_absolute() or ".." in parts or "\\" in path:
            raise DownloadError(f"{url}: lists {path!r}, which is not a path inside the data root")
        dest = root.joinpath(*parts)
        if dest.is_file() and dest.stat().st_size == entry["size"]:
            continue  # already there (a second run asks for nothing)
        fetch_large(base + urllib.parse.quote(path), dest, sha256=entry["sha256"], size=entry["size"],
                    progress=False)
    return root
