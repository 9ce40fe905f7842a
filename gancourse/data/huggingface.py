"""Public Hugging Face dataset repositories, read over plain HTTPS with the course's own polite client.

- :func:`list_files`: the files of a repository folder with their size and LFS SHA-256, from the Hub's
  tree API (``<endpoint>/api/datasets/<repo>/tree/<revision>/<folder>``): the checksum every download
  is verified against;
- :func:`file_url`: the public ``resolve`` URL of a file (no login for public datasets; the Hub answers
  large files with a redirect to its CDN);
- :func:`dataset_features`: the ``datasets`` features (class names of integer labels) from the
  repository's ``dataset_infos.json``, one small request;
- :func:`parquet_footer`: a parquet file's metadata from its last bytes, one explicit range request
  (``bytes=<size-N>-<size-1>``) that must be answered ``206``; a server that ignores the range is not read;
- :func:`matching_rows`: read a local parquet file a few rows at a time (page by page through a small
  read buffer), so memory holds a few images, never a shard's image column.

``$HF_ENDPOINT`` (the variable ``huggingface_hub`` reads too) points everything at a mirror, or at a
local test server; ``$HF_TOKEN`` (or ``huggingface_hub``'s token file) is sent to that host only. Why
not ``huggingface_hub`` itself: see data/README.md ("How downloads work").
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import DownloadError, hub_endpoint, open_url, read_capped

IMAGE_BATCH = 16  # images decoded at a time while reading a shard
READ_BUFFER = 1 << 20  # bytes read from disk at a time while decoding a column chunk (pages stream through it)
FOOTER_PROBE_BYTES = 1 << 16  # the tail fetched to read a parquet footer (enough for ~100 row groups)
API_CAP = 16 << 20  # the most an API answer (a tree page, dataset_infos.json) may be
FOOTER_CAP = 16 << 20  # the largest parquet footer read


def endpoint() -> str:
    """The Hub's address: ``$HF_ENDPOINT`` (a mirror, a test server), else huggingface.co."""
    return hub_endpoint()


@dataclass(frozen=True)
class RemoteFile:
    path: str  # inside the repository, e.g. "data/train-00000-of-00072.parquet"
    size: int  # bytes
    sha256: str | None  # the LFS object id (its SHA-256); None for small files kept in git itself
    url: str  # where to GET it

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def file_url(repo: str, path: str, revision: str = "main") -> str:
    return f"{endpoint()}/datasets/{repo}/resolve/{revision}/{urllib.parse.quote(path)}"


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", exc)
    return "timed out" if isinstance(reason, TimeoutError) else str(reason)


def list_files(repo: str, folder: str = "", revision: str = "main", recursive: bool = False) -> list[RemoteFile]:
    """Every file of ``repo`` under ``folder`` (sorted by path), with its size and SHA-256."""
    url = f"{endpoint()}/api/datasets/{repo}/tree/{revision}/{urllib.parse.quote(folder)}".rstrip("/")
    if recursive:
        url += "?recursive=true"
    files = []
    while url:
        try:
            with open_url(url) as response:
                entries = json.loads(read_capped(response, API_CAP, url).decode())
                link = response.headers.get("Link", "")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DownloadError(f"{url}: {_why(exc)}") from exc
        for entry in entries:
            if entry.get("type") != "file":
                continue
            lfs = entry.get("lfs") or {}
            files.append(RemoteFile(entry["path"], int(lfs.get("size", entry.get("size", 0))), lfs.get("oid"),
                                    file_url(repo, entry["path"], revision)))
        match = re.search(r'<([^>]+)>;\s*rel="next"', link)  # the tree API pages long listings
        url = match.group(1) if match else ""
    return sorted(files, key=lambda f: f.path)


def dataset_features(repo: str, revision: str = "main") -> dict | None:
    """The ``datasets`` features of ``repo`` (its first configuration) from ``dataset_infos.json``; None
    when the repository has none or it cannot be read (the caller falls back to what it knows)."""
    url = file_url(repo, "dataset_infos.json", revision)
    try:
        with open_url(url) as response:
            infos = json.loads(read_capped(response, API_CAP, url).decode())
    except urllib.error.HTTPError:
        return None  # 404 (no such file) or another refusal: not worth failing the download for
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"{url}: {_why(exc)}") from exc
    configs = infos.values() if isinstance(infos, dict) else []
    return next((c["features"] for c in configs if isinstance(c, dict) and isinstance(c.get("features"), dict)),
                None)


def feature_names(features: dict | None, column: str) -> list[str] | None:
    """The ``ClassLabel`` names of ``column`` in a ``datasets`` features dict, if it has them."""
    feature = (features or {}).get(column)
    names = feature.get("names") if isinstance(feature, dict) else None
    return list(names) if isinstance(names, list) and names else None


def _tail(remote: RemoteFile, want: int) -> bytes | None:
    """The last ``want`` bytes of a remote file, or None when the server does not answer the range with 206."""
    first = remote.size - want
    try:
        with open_url(remote.url, {"Range": f"bytes={first}-{remote.size - 1}"}) as response:
            if response.status != 206 or not response.headers.get("Content-Range", "").startswith(f"bytes {first}-"):
                return None  # the whole file (or another part) is coming: close without reading it
            return read_capped(response, want, remote.url)
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{remote.url}: {_why(exc)}") from exc


def parquet_footer(remote: RemoteFile):
    """The :class:`pyarrow.parquet.FileMetaData` of a remote parquet file, from its last bytes; None when the
    server does not honour a range request (reading the whole file for its footer is never worth it)."""
    import pyarrow.parquet as pq

    want = min(FOOTER_PROBE_BYTES, remote.size)
    for _ in range(2):
        tail = _tail(remote, want)
        if tail is None:
            return None
        if len(tail) < 8 or tail[-4:] != b"PAR1":
            raise DownloadError(f"{remote.url}: not a parquet file (no PAR1 at its end)")
        footer = int.from_bytes(tail[-8:-4], "little") + 8
        if footer <= len(tail):
            return pq.ParquetFile(io.BytesIO(tail[-footer:])).metadata
        if footer > min(remote.size, FOOTER_CAP):
            raise DownloadError(f"{remote.url}: a parquet footer of {footer} bytes (damaged or not parquet)")
        want = footer  # a footer larger than the probe: ask once more for all of it
    raise DownloadError(f"{remote.url}: could not read the parquet footer")


def class_names(metadata, column: str) -> list[str] | None:
    """The ``ClassLabel`` names the ``datasets`` library stored for ``column`` in a parquet file, if any."""
    raw = (metadata.metadata or {}).get(b"huggingface")
    if not raw:
        return None
    try:
        feature = json.loads(raw)["info"]["features"][column]
    except (ValueError, KeyError, TypeError):
        return None
    names = feature.get("names") if isinstance(feature, dict) else None
    return list(names) if names else None


def image_bytes(cell) -> bytes:
    """The encoded image of a ``datasets`` Image cell: a struct {bytes, path}, or raw bytes."""
    if isinstance(cell, dict):
        cell = cell.get("bytes")
    if not isinstance(cell, (bytes, bytearray)):
        raise ValueError(f"not an encoded image: {type(cell).__name__}")
    return bytes(cell)


def matching_rows(path: Path, label_columns: list[str], image_columns: list[str],
                  select: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
                  ) -> Iterator[tuple[int, dict, dict]]:
    """Yield (row index in the file, labels, images) for the rows ``select`` keeps, one row group at a time.

    ``select`` gets the label columns of a row group as arrays and returns a boolean mask (None: every
    row); the image columns of a row group are read only when it keeps a row, ``IMAGE_BATCH`` rows at a
    time, through a ``READ_BUFFER`` read buffer: pyarrow then decodes a column chunk page by page instead
    of loading it whole (a real wikiart shard is one row group of ~520 MB).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path, buffer_size=READ_BUFFER, pre_buffer=False)
    first = 0
    for g in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(g).num_rows
        arrays = {}
        if label_columns:
            labels = parquet.read_row_group(g, columns=label_columns)
            arrays = {c: labels.column(c).to_numpy(zero_copy_only=False) for c in label_columns}
        mask = np.ones(rows, dtype=bool) if select is None else np.asarray(select(arrays), dtype=bool)
        if mask.any():  # images in small batches: memory stays at a few images even in a huge row group
            start = 0
            for batch in parquet.iter_batches(batch_size=IMAGE_BATCH, row_groups=[g], columns=image_columns,
                                              use_threads=False):
                keep = np.flatnonzero(mask[start:start + batch.num_rows])
                if len(keep):
                    cells = {c: batch.column(c).take(pa.array(keep)).to_pylist() for c in image_columns}
                    for k, row in enumerate(keep):
                        row = start + int(row)
                        yield (first + row, {c: arrays[c][row] for c in label_columns},
                               {c: cells[c][k] for c in image_columns})
                start += batch.num_rows
        first += rows
