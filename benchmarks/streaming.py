"""Streaming a data set larger than RAM: images/s and peak memory of BatchStream over a memory-mapped array.

WikiArt at 256 px is about 80,000 paintings x 3 x 256 x 256 bytes = 15.7 GB. This script writes a synthetic
uint8 array of that size to disk the way the image-folder cache is written (row blocks into
``np.lib.format.open_memmap``), asks the kernel to drop it from the page cache so that reads come from
the disk, then streams shuffled batches through ``BatchStream`` (optionally one rank's shard) and prints
images/s and the process's memory as it goes.

Memory, read from /proc/self/status (Linux):
- RssAnon: memory the process owns (tensors, Python). This is the figure that must stay flat.
- RssFile: pages of the memory-mapped file currently mapped into the process. They are page cache, not
  a copy: clean, and dropped by the kernel whenever memory is needed elsewhere.
- VmHWM: the peak of the two together, as ``resource.getrusage`` reports it.

    python benchmarks/streaming.py              # 15 GB (scaled down to the free disk), ~3-4 min
    python benchmarks/streaming.py --quick      # 1 GB, 20 s of streaming
    python benchmarks/streaming.py --gb 4 --shard 1/2 --device cuda
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.data import BatchStream, ImageSet  # noqa: E402
from gancourse.devices import pick_device  # noqa: E402

GB = 1e9
DISK_MARGIN_GB = 2.0  # left free for everyone else


def memory_mb() -> dict[str, float]:
    """RssAnon, RssFile, VmRSS and VmHWM in MB (Linux); elsewhere only the peak from getrusage."""
    status = Path("/proc/self/status")
    if status.is_file():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile", "VmRSS", "VmHWM") if k in fields}
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"VmHWM": peak / 2**20 if sys.platform == "darwin" else peak / 1024}  # bytes on macOS, KB on Linux


class PeakMemory:
    """Samples memory_mb() and keeps the maximum of each field."""

    def __init__(self) -> None:
        self.peak: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        now = memory_mb()
        for k, v in now.items():
            self.peak[k] = max(v, self.peak.get(k, 0.0))
        return now


def fitting_size(requested_gb: float, folder: Path) -> float:
    free_gb = shutil.disk_usage(folder).free / GB
    if requested_gb <= free_gb - DISK_MARGIN_GB:
        return requested_gb
    scaled = max(0.25, round(0.9 * (free_gb - DISK_MARGIN_GB), 1))
    print(f"!! {folder} has {free_gb:.1f} GB free: writing {scaled} GB instead of {requested_gb} GB "
          f"(keeping {DISK_MARGIN_GB} GB free). The memory figures still show whether memory grows with the data;"
          f" for the full-size figure run it where {requested_gb + DISK_MARGIN_GB:.0f} GB are free (--dir).")
    if scaled > free_gb - 0.5:
        raise SystemExit(f"not enough free disk under {folder} ({free_gb:.1f} GB): choose another --dir")
    return scaled


def write_array(path: Path, count: int, size: int, memory: PeakMemory) -> float:
    """Write (count, 3, size, size) uint8 block by block through a memory map, as the folder cache does."""
    rng = np.random.default_rng(0)
    block = rng.integers(0, 256, (256, 3, size, size), dtype=np.uint8)  # one random block, shifted per block
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, 3, size, size))
    start, flushed = time.perf_counter(), 0
    for first in range(0, count, len(block)):
        n = min(len(block), count - first)
        out[first:first + n] = block[:n] + np.uint8(first // len(block) % 251)
        memory.sample()
        if (first + n - flushed) * block[0].nbytes > GB:  # bound the dirty pages waiting for the disk
            out.flush()
            flushed = first + n
    out.flush()
    del out
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return time.perf_counter() - start


def drop_from_page_cache(path: Path) -> bool:
    """Ask the kernel to forget the file's cached pages, so the stream reads the disk (Linux, no root needed)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=15.7, help="array size on disk (WikiArt 256 px: 15.7 GB)")
    parser.add_argument("--quick", action="store_true", help="1 GB and 20 s of streaming")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (3 channels)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to stream")
    parser.add_argument("--shard", default="0/1", help="RANK/WORLD: stream one rank's share, e.g. 1/4")
    parser.add_argument("--device", default="cpu", help="where batches go: cpu, cuda, auto")
    parser.add_argument("--flip", action="store_true", help="random horizontal flips, as training may use")
    parser.add_argument("--warm", action="store_true", help="keep the file in the page cache (no cold reads)")
    parser.add_argument("--dir", default=None, help="where to write the array (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the array and reuse it on the next run")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.quick:
        args.gb, args.seconds = 1.0, 20.0
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world = (int(x) for x in args.shard.split("/"))
    device = pick_device(None if args.device == "auto" else args.device)

    folder = Path(args.dir or tempfile.gettempdir()).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    row_bytes = 3 * args.size * args.size
    path = folder / f"gancourse-streaming-{args.size}px-{args.gb:g}gb.npy"
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, batches to {device}, {torch.get_num_threads()} threads")
    before = memory_mb()

    reused = path.is_file() and args.keep
    if reused:
        print(f"reusing {path} ({path.stat().st_size / GB:.2f} GB)")
    else:
        gb = fitting_size(args.gb, folder)
        count = int(gb * GB // row_bytes)
        path = folder / f"gancourse-streaming-{args.size}px-{gb:g}gb.npy"
        print(f"writing {count} images of 3x{args.size}x{args.size} ({count * row_bytes / GB:.2f} GB) to {path}")
        writing = PeakMemory()
        seconds = write_array(path, count, args.size, writing)
        print(f"  written in {seconds:.1f} s ({count * row_bytes / GB / seconds:.2f} GB/s); while writing: "
              f"peak RssAnon {writing.peak.get('RssAnon', float('nan')):.0f} MB, peak RssFile "
              f"{writing.peak.get('RssFile', float('nan')):.0f} MB (written pages of the map: page cache, flushed "
              f"every GB, reclaimable)")
    try:
        cold = not args.warm and drop_from_page_cache(path)
        print("reads come from the disk (file dropped from the page cache)" if cold else
              "reads may come from the page cache (--warm, or no posix_fadvise here)")
        array = np.load(path, mmap_mode="r")
        data = ImageSet("synthetic", array)
        read_seconds = [0.0]
        rows = data.rows

        def timed_rows(index):  # how much of a batch's time is reading its rows from the disk
            t = time.perf_counter()
            out = rows(index)
            read_seconds[0] += time.perf_counter() - t
            return out

        data.rows = timed_rows
        stream = BatchStream(data, args.batch_size, device, flip=args.flip, seed=0, shard=(rank, world))
        print(f"streaming {len(data)} images ({array.nbytes / GB:.2f} GB), batch {args.batch_size}, shard "
              f"{rank}/{world} ({len(data) // world} images, {stream.batches_per_epoch} batches per epoch) "
              f"for {args.seconds:.0f} s")
        print(f"{'seconds':>8} {'images':>8} {'images/s':>9} {'GB/s':>6} {'RssAnon MB':>11} {'RssFile MB':>11}")
        memory = PeakMemory()  # the streaming phase only
        start = last_report = time.perf_counter()
        images, anon_early = 0, None
        while (elapsed := time.perf_counter() - start) < args.seconds:
            batch = stream.next()
            if device.type == "cuda":
                torch.cuda.synchronize()
            images += batch.images.shape[0]
            now = memory.sample()
            if anon_early is None and elapsed > 0.1 * args.seconds:
                anon_early = now.get("RssAnon", now.get("VmHWM", 0.0))
            if time.perf_counter() - last_report >= args.seconds / 10:
                last_report = time.perf_counter()
                rate = images / (last_report - start)
                print(f"{last_report - start:8.1f} {images:8d} {rate:9.0f} {rate * row_bytes / GB:6.2f} "
                      f"{now.get('RssAnon', float('nan')):11.0f} {now.get('RssFile', float('nan')):11.0f}")
        elapsed = time.perf_counter() - start
        array_gb = array.nbytes / GB
        del batch, stream, data, array
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)

    rate = images / elapsed
    peak, final = memory.peak, memory.sample()
    print(f"\nstreamed {images} images in {elapsed:.1f} s: {rate:.0f} images/s, {rate * row_bytes / GB:.2f} GB/s "
          f"({'cold' if cold else 'warm'} reads, batch {args.batch_size}, shard {rank}/{world}, to {device})")
    print(f"reading rows took {read_seconds[0]:.1f} s of it ({images / read_seconds[0]:.0f} images/s if reading "
          f"were all); the rest is the uint8 -> float [-1, 1] conversion{', flips' if args.flip else ''} and the copy "
          f"to {device}")
    if "RssAnon" in peak:
        growth = peak["RssAnon"] - (anon_early or before["RssAnon"])
        print(f"peak RssAnon {peak['RssAnon']:.0f} MB for a {array_gb:.2f} GB array (at start "
              f"{before['RssAnon']:.0f} MB; growth after the first 10% of the run {growth:+.0f} MB)")
        print(f"peak RssFile {peak['RssFile']:.0f} MB (at start {before['RssFile']:.0f} MB of shared libraries; the "
              f"rest is mapped page cache of the array, reclaimable), VmHWM {final['VmHWM']:.0f} MB")
    else:
        print(f"peak resident memory {peak['VmHWM']:.0f} MB")


if __name__ == "__main__":
    main()
