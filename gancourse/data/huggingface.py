"""Public Hugging Face dataset repositories, read over plain HTTPS with the course's own downloader.

- :func:`list_files`: the files of a repository folder with their size and LFS SHA-256, from the Hub's
  tree API (``<endpoint>/api/datasets/<repo>/tree/<revision>/<folder>``): the checksum every download
  is verified against;
- :func:`file_url`: the public ``resolve`` URL of a file (no login for public datasets);
- :func:`parquet_footer`: a parquet file's metadata (row groups, column statistics, the ``datasets``
  features with the class names) from its last bytes, one range request, before deciding to fetch it;
- :func:`matching_rows`: read a local parquet file row group by row group, so memory holds one row
  group's images at most, never a whole shard's.

``$HF_ENDPOINT`` (the variable ``huggingface_hub`` reads too) points everything at a mirror, or at a
local test server. Why not ``huggingface_hub`` itself: see data/README.md ("How downloads work").
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import DownloadError, timeout_s

DEFAULT_ENDPOINT = "https://huggingface.co"
IMAGE_BATCH = 16  # images decoded at a time while reading a shard
FOOTER_PROBE_BYTES = 1 << 16  # the tail fetched to read a parquet footer (enough for ~100 row groups)


def endpoint() -> str:
    """The Hub's address: ``$HF_ENDPOINT`` (a mirror, a test server), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


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


def _get(url: str, headers: dict[str, str] | None = None, timeout: float | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": "gancourse", **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout or timeout_s())


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
            with _get(url) as response:
                entries = json.loads(response.read().decode())
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


def parquet_footer(remote: RemoteFile):
    """The :class:`pyarrow.parquet.FileMetaData` of a remote parquet file, read from its last bytes."""
    import pyarrow.parquet as pq

    want = min(FOOTER_PROBE_BYTES, remote.size)
    for _ in range(2):
        try:
            with _get(remote.url, {"Range": f"bytes=-{want}"}) as response:
                tail = response.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"{remote.url}: {_why(exc)}") from exc
        tail = tail[-want:]  # a server that ignores Range sends the whole file
        if len(tail) < 8 or tail[-4:] != b"PAR1":
            raise DownloadError(f"{remote.url}: not a parquet file (no PAR1 at its end)")
        footer = int.from_bytes(tail[-8:-4], "little") + 8
        if footer <= len(tail):
            return pq.ParquetFile(io.BytesIO(tail[-footer:])).metadata
        want = min(footer, remote.size)  # a footer larger than the probe: ask once more for all of it
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


def column_ranges(metadata, column: str) -> list[tuple[int, int | None, int | None]]:
    """Per row group: (rows, min, max) of an integer column, from the footer's statistics (None: unknown)."""
    out = []
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        low = high = None
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema == column and chunk.statistics is not None and chunk.statistics.has_min_max:
                low, high = chunk.statistics.min, chunk.statistics.max
        out.append((group.num_rows, low, high))
    return out


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
    row); the image columns of a row group are read only when it keeps a row, ``IMAGE_BATCH`` rows at a time.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
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
