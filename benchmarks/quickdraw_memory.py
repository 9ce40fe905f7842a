"""Quick Draw larger than the cap: peak memory of loading and streaming must not grow with the file size.

For each size (10x, 20x, 40x the per-category cap by default) this writes synthetic ``numpy_bitmap`` files
(uint8, (N, 784), the public format) for a few categories into a temporary data root, then, in a fresh
process each (so every peak is its own), runs two loads through ``gancourse.data.load_dataset("quickdraw")``
and streams batches through ``BatchStream``:

- capped: ``max_per_class=CAP``, as the notebook trains. Memory must stay flat as the files grow (the
  memory map reads only the first rows).
- whole file: no cap, with ``GANCOURSE_IN_MEMORY_MB=1`` so the loader keeps the selection on disk (a
  prepared, memory-mapped array in the cache), and batches are streamed over all of it. RssAnon (memory
  the process owns) must stay flat; RssFile (mapped page cache of the files) may grow and is reclaimable.

    python benchmarks/quickdraw_memory.py            # cap 5000, 3 categories, files of 10x/20x/40x the cap
    python benchmarks/quickdraw_memory.py --quick    # cap 1000, files of 10x/20x
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from streaming import memory_mb  # noqa: E402

CATEGORIES = ("apple", "cat", "house")


def write_category(path: Path, rows: int, seed: int) -> None:
    """A synthetic category: random strokes are not needed, only the format and the size."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, 784))
    rng = np.random.default_rng(seed)
    block = rng.integers(0, 256, (4096, 784), dtype=np.uint8)
    for first in range(0, rows, len(block)):
        n = min(len(block), rows - first)
        out[first:first + n] = block[:n]
    out.flush()
    del out


def measure(root: str, cap: int, batches: int) -> dict:
    """Runs in a fresh process: load capped and whole, stream ``batches`` each, report memory (MB)."""
    import torch

    from gancourse.data import BatchStream, load_dataset

    torch.set_num_threads(1)
    report: dict = {"start": memory_mb()}
    for mode, options in (("capped", {"max_per_class": cap}), ("whole", {})):
        # capped: the loader's default (a small selection is copied into memory); whole: forced onto disk
        os.environ["GANCOURSE_IN_MEMORY_MB"] = "512" if mode == "capped" else "1"
        start = time.perf_counter()
        data = load_dataset("quickdraw", "train", categories=",".join(CATEGORIES), **options)
        opened = time.perf_counter() - start
        stream = BatchStream(data, 256, "cpu", seed=0)
        start = time.perf_counter()
        for _ in range(batches):
            stream.next()
        report[mode] = {"images": len(data), "in_memory": isinstance(data.images, torch.Tensor),
                        "open_s": opened, "images_per_s": batches * 256 / (time.perf_counter() - start),
                        "memory": memory_mb()}
        del data, stream
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=int, default=5000, help="drawings per category used for training")
    parser.add_argument("--multiples", default="10,20,40", help="file sizes as multiples of the cap")
    parser.add_argument("--batches", type=int, default=400, help="batches of 256 streamed per load")
    parser.add_argument("--quick", action="store_true", help="cap 1000, multiples 10,20, 100 batches")
    parser.add_argument("--measure", nargs=2, metavar=("ROOT", "CAP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]), args.batches)))
        return 0
    if args.quick:
        args.cap, args.multiples, args.batches = 1000, "10,20", 100
    multiples = [int(m) for m in args.multiples.split(",")]

    print(f"{len(CATEGORIES)} categories, cap {args.cap} per category, {args.batches} batches of 256 per load")
    print(f"{'file rows':>10} {'MB on disk':>10} | {'capped: images':>14} {'RssAnon':>8} {'VmHWM':>7} | "
          f"{'whole: images':>13} {'on disk?':>8} {'RssAnon':>8} {'RssFile':>8} {'VmHWM':>7} {'img/s':>7}")
    anon = []
    for multiple in multiples:
        rows = multiple * args.cap
        with tempfile.TemporaryDirectory(prefix="gancourse-qd-") as tmp:
            folder = Path(tmp) / "data" / "quickdraw"
            folder.mkdir(parents=True)
            for i, name in enumerate(CATEGORIES):
                write_category(folder / f"{name}.npy", rows, seed=i)
            env = {**os.environ, "GANCOURSE_DATA": str(Path(tmp) / "data"), "GANCOURSE_CACHE": str(Path(tmp) / "cache"),
                   "GANCOURSE_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
            out = subprocess.run([sys.executable, __file__, "--measure", env["GANCOURSE_DATA"], str(args.cap),
                                  "--batches", str(args.batches)], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:])
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
        mb = rows * 784 * len(CATEGORIES) / 1e6
        c, w = r["capped"], r["whole"]
        anon.append(w["memory"]["RssAnon"])
        print(f"{rows:10d} {mb:10.0f} | {c['images']:14d} {c['memory']['RssAnon']:8.0f} {c['memory']['VmHWM']:7.0f} | "
              f"{w['images']:13d} {'yes' if not w['in_memory'] else 'no':>8} {w['memory']['RssAnon']:8.0f} "
              f"{w['memory']['RssFile']:8.0f} {w['memory']['VmHWM']:7.0f} {w['images_per_s']:7.0f}")
    growth = anon[-1] - anon[0]
    print(f"\nRssAnon (memory the process owns) after streaming the whole files: {anon[0]:.0f} MB at "
          f"{multiples[0]}x the cap, {anon[-1]:.0f} MB at {multiples[-1]}x ({growth:+.0f} MB while the files grew "
          f"{multiples[-1] / multiples[0]:.0f}x): {'flat' if abs(growth) < 0.1 * anon[0] + 20 else 'GROWS'}")
    print("RssFile is mapped page cache of the files (shared, clean, reclaimable by the kernel), not a copy.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
