"""Fetch only the first rows of a remote ``.npy`` file with HTTP range requests, resumably.

A ``.npy`` file is a short header (magic, version, a dict with dtype and shape) followed by the rows,
back to back. So the first N rows are one byte range: ``[offset, offset + N * row_bytes)``. We read the
remote header, request that range, and write a valid ``.npy`` whose header says N rows.

Resuming: rows go into ``<dest>.part`` (a valid header for the target row count, then the rows so far).
A later call keeps every complete row there, asks only for the rest, and renames the file into place
once its size is exactly right. There is no checksum to check a prefix against; the sizes are checked
instead (the remote total against its header, the bytes received, the final file).
"""

from __future__ import annotations

import http.client
import io
import os
import re
import shutil
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from ..files import atomic_write
from .download import DownloadError, open_url, timeout_s

HEADER_BYTES = 128  # the headers we write: fixed size, so the row count can be rewritten in place
PROBE_BYTES = 4096  # enough for any ordinary .npy header


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int  # where the data starts

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.offset + self.rows * self.row_bytes


def parse_npy_header(prefix: bytes, source: str = "the file") -> NpyHeader:
    """The header at the start of ``prefix`` (the first bytes of a ``.npy`` file)."""
    f = io.BytesIO(prefix)
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(f)
    except (ValueError, EOFError) as exc:
        raise UserError(f"{source} does not start with a valid .npy header: {exc}") from exc
    if fortran_order and len(shape) > 1:
        raise UserError(f"{source} is stored in Fortran order: its rows are not contiguous byte ranges")
    if not shape:
        raise UserError(f"{source} holds a scalar, not rows")
    return NpyHeader(tuple(int(s) for s in shape), np.dtype(dtype), f.tell())


def npy_header_bytes(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """A version 1.0 header of exactly ``HEADER_BYTES`` bytes (padded with spaces, as numpy does)."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(shape)}).encode("latin1")
    room = HEADER_BYTES - 10 - 1  # magic (6) + version (2) + length (2), and the closing newline
    if len(text) > room:
        raise ValueError(f"shape {shape} does not fit a {HEADER_BYTES}-byte header")
    body = text + b" " * (room - len(text)) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


def local_rows(path: Path) -> tuple[NpyHeader, int]:
    """(header, complete rows actually present) of a local ``.npy`` or ``.npy.part`` file."""
    with open(path, "rb") as f:
        header = parse_npy_header(f.read(PROBE_BYTES), str(path))
    data_bytes = max(0, path.stat().st_size - header.offset)
    return header, min(header.rows, data_bytes // header.row_bytes)


def _open(url: str, start: int, stop: int | None, timeout: float):
    """GET ``url`` from byte ``start`` (to ``stop`` exclusive, or the end); returns (response, total size)."""
    byte_range = f"bytes={start}-{'' if stop is None else stop - 1}"
    response = open_url(url, {"Range": byte_range}, timeout)  # waits out 429/503, backs off on dropped connections
    total = None
    if response.status == 206:
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != start:
            response.close()
            raise DownloadError(f"{url}: the server answered range {byte_range} with "
                                f"{response.headers.get('Content-Range')!r}")
        total = int(match.group(3)) if match.group(3) != "*" else None
    else:  # 200: the server ignored the range and sends the whole file; skip to ``start``
        length = response.headers.get("Content-Length")
        total = int(length) if length else None
        _skip(response, start)
    return response, total


def _skip(response, count: int) -> None:
    while count > 0:
        chunk = response.read(min(count, 1 << 20))
        if not chunk:
            raise DownloadError("the server closed the connection early")
        count -= len(chunk)


def remote_header(url: str, timeout: float | None = None) -> tuple[NpyHeader, int | None]:
    """The remote file's header, and its total size when the server says it."""
    response, total = _open(url, 0, PROBE_BYTES, timeout or timeout_s())
    with response:
        prefix = response.read(PROBE_BYTES)
    header = parse_npy_header(prefix, url)
    if total is not None and total != header.nbytes:
        raise DownloadError(f"{url}: the server reports {total} bytes but the header describes "
                            f"{header.nbytes} ({header.shape}, {header.dtype}): truncated or changed file")
    return header, total


def fetch_npy_rows(url: str, dest: str | os.PathLike, rows: int = 0, *, timeout: float | None = None,
                   progress: bool = True) -> Path:
    """Make ``dest`` a ``.npy`` holding the first ``rows`` rows of the remote ``url`` (0: all of them).

    Only the missing bytes are requested: rows already in ``dest`` (a shorter earlier download) or in
    ``dest.part`` (an interrupted one) are kept. ``dest`` is replaced only once the new file is complete.
    """
    dest, timeout = Path(dest), timeout or timeout_s()
    part = dest.with_name(dest.name + ".part")
    if dest.is_file() and rows:
        _, have = local_rows(dest)
        if have >= rows:
            return dest  # already long enough: no network needed
    try:
        remote, _ = remote_header(url, timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"{url}: {exc}") from exc
    target = min(rows, remote.rows) if rows else remote.rows
    dest.parent.mkdir(parents=True, exist_ok=True)

    have = 0
    if part.is_file():
        old, have = local_rows(part)
        if old.shape[1:] != remote.shape[1:] or old.dtype != remote.dtype or old.offset != HEADER_BYTES:
            part.unlink()  # not a partial download of this file: start over
            have = 0
    if not part.is_file() and dest.is_file():
        old, dest_rows = local_rows(dest)
        if old.shape[1:] == remote.shape[1:] and old.dtype == remote.dtype:
            shutil.copyfile(dest, part)  # extend a shorter download; dest stays valid meanwhile
            have = dest_rows
            if old.offset != HEADER_BYTES:  # a header of another size (not ours): rewrite the file
                _rewrite_with_our_header(part, old, dest_rows)
    if not part.is_file():
        part.write_bytes(npy_header_bytes((target,) + remote.shape[1:], remote.dtype))
    have = min(have, target)
    with open(part, "r+b") as f:
        f.truncate(HEADER_BYTES + have * remote.row_bytes)  # drop a row cut short by the interruption
        f.seek(0)
        f.write(npy_header_bytes((target,) + remote.shape[1:], remote.dtype))

    if have < target:
        start = remote.offset + have * remote.row_bytes
        stop = remote.offset + target * remote.row_bytes
        try:
            _append_range(url, part, start, stop, timeout, progress, desc=f"{dest.name} rows {have}-{target}")
        except (urllib.error.URLError, OSError, http.client.HTTPException, DownloadError) as exc:
            raise DownloadError(f"{url}: {exc} (the rows fetched so far are kept in {part}; "
                                f"run the download again to resume)") from exc

    expected = HEADER_BYTES + target * remote.row_bytes
    if (size := part.stat().st_size) != expected:
        raise DownloadError(f"{part}: {size} bytes after the download, expected {expected} "
                            f"({target} rows); run the download again to resume")
    os.replace(part, dest)
    return dest


def _append_range(url: str, part: Path, start: int, stop: int, timeout: float, progress: bool,
                  desc: str) -> None:
    response, _ = _open(url, start, stop, timeout)
    with response, open(part, "ab") as out, tqdm(total=stop - start, unit="B", unit_scale=True, desc=desc,
                                                   leave=False, disable=not progress) as bar:
        remaining = stop - start
        while remaining > 0:
            chunk = response.read(min(remaining, 1 << 16))
            if not chunk:
                raise DownloadError(f"the connection closed with {remaining} bytes still to come")
            out.write(chunk)
            remaining -= len(chunk)
            bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())


def _rewrite_with_our_header(path: Path, header: NpyHeader, rows: int) -> None:
    with open(path, "rb") as src, atomic_write(path) as out:
        out.write(npy_header_bytes((rows,) + header.shape[1:], header.dtype))
        src.seek(header.offset)
        remaining = rows * header.row_bytes
        while remaining > 0:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)
