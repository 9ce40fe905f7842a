"""Training images/s on a GPU: DCGAN at 64 and 128 px, CycleGAN at 256 px, bf16 + channels_last vs fp32.

Each configuration runs the recipe's own ``step`` (the code ``fit`` runs) on synthetic uint8 images that
live on the GPU, so the figure is the networks' speed, not the disk's (see benchmarks/streaming.py).
Two modes, otherwise identical:

- fp32: ``amp=False``, NCHW tensors. On Ampere and later, cuDNN convolutions use TF32 unless
  ``--strict-fp32`` (torch's default, ``torch.backends.cudnn.allow_tf32``).
- bf16 + channels_last: ``amp=True`` (bfloat16 autocast, the recipes' default on CUDA), networks and
  batches in channels_last memory format.

cuDNN stays in the deterministic mode that ``seed_everything`` sets for every course run, unless
``--cudnn-benchmark``. Without CUDA it refuses (exit 0, so ``make benchmarks`` goes on); ``--cpu`` runs a
tiny sanity pass of the same code whose numbers mean nothing.

    python benchmarks/gpu_throughput.py            # ~2-3 min on one GPU
    python benchmarks/gpu_throughput.py --quick    # fewer steps
    python benchmarks/gpu_throughput.py --cpu      # sanity pass on a CPU, seconds
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.data import BatchStream, ImageSet  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.recipes import RECIPES  # noqa: E402


@dataclass
class Case:
    recipe: str
    size: int
    batch_size: int
    options: dict  # recipe config overrides

    @property
    def label(self) -> str:
        return f"{self.recipe} {self.size}px"


def gpu_cases(cyclegan_batch: int) -> list[Case]:
    # DCGAN: the paper's widths (ngf = ndf = 64, nz = 100); CycleGAN: the reference 256 px setting.
    dcgan = dict(channels=3, nz=100, g_width=64, d_width=64)
    return [Case("dcgan", 64, 128, dcgan), Case("dcgan", 128, 64, dcgan),
            Case("cyclegan", 256, cyclegan_batch, dict(channels=3))]


def cpu_cases() -> list[Case]:
    return [Case("dcgan", 32, 16, dict(channels=3, nz=16, g_width=8, d_width=8)),
            Case("cyclegan", 32, 2, dict(channels=3, ngf=8, ndf=8, n_blocks=1))]


def synthetic(size: int, n: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(f"synthetic-{size}px", torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8))


def build(case: Case, device: torch.device, fast_mode: bool, cudnn_benchmark: bool):
    """(recipe, stream) for ``case``; ``fast_mode``: bf16 autocast and channels_last."""
    cls = RECIPES[case.recipe]
    n = max(4 * case.batch_size, 256)
    if case.recipe == "cyclegan":
        from gancourse.data.unpaired import UnpairedSet

        data = UnpairedSet("synthetic", synthetic(case.size, n, 1), synthetic(case.size, n, 2))
    else:
        data = synthetic(case.size, n, 1)
    seed_everything(0)  # as every course run: this also puts cuDNN in its deterministic mode
    if cudnn_benchmark:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
    recipe = cls(cls.config_for(data, image_size=case.size, amp=fast_mode, **case.options), device)
    if hasattr(recipe, "prepare"):
        recipe.prepare(data)
    if fast_mode:
        for module in recipe.modules.values():
            module.to(memory_format=torch.channels_last)
    make_stream = data.stream if hasattr(data, "stream") else lambda *a, **k: BatchStream(data, *a, **k)
    return recipe, make_stream(case.batch_size, device, seed=0)


def as_channels_last(batch):
    """The batch with every image tensor in channels_last (a DCGAN Batch or a CycleGAN UnpairedBatch)."""
    return batch._replace(**{k: v.contiguous(memory_format=torch.channels_last)
                             for k, v in batch._asdict().items() if isinstance(v, torch.Tensor) and v.ndim == 4})


def measure(case: Case, device: torch.device, fast_mode: bool, steps: int, warmup: int, cudnn_benchmark: bool
            ) -> tuple[float, float]:
    """(images/s, peak GPU memory in GB) over ``steps`` timed steps after ``warmup`` untimed ones."""
    recipe, stream = build(case, device, fast_mode, cudnn_benchmark)
    recipe.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def one_step() -> None:
        batch = stream.next()
        recipe.step(as_channels_last(batch) if fast_mode else batch)

    for _ in range(warmup):
        one_step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else float("nan")
    return steps * case.batch_size / seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first (cuDNN and autocast warm-up)")
    parser.add_argument("--quick", action="store_true", help="30 timed steps after 5 warm-up steps")
    parser.add_argument("--cyclegan-batch", type=int, default=4, help="CycleGAN batch (the reference trains with 1)")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN time its algorithms (not deterministic; course runs keep it off)")
    parser.add_argument("--strict-fp32", action="store_true", help="no TF32 in the fp32 mode's convolutions")
    parser.add_argument("--cpu", action="store_true", help="tiny sanity pass on the CPU (numbers meaningless)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup = 30, 5

    if args.cpu:
        device, cases = torch.device("cpu"), cpu_cases()
        args.steps, args.warmup = 3, 1
        torch.set_num_threads(1)  # tiny models: more threads only contend
        print("CPU sanity pass: tiny models, 3 steps each; the figures say nothing about GPU throughput. "
              "bf16 autocast is CUDA-only, so on the CPU the two modes differ only by channels_last.")
    elif not torch.cuda.is_available():
        print("SKIPPED: no CUDA GPU here. This benchmark measures GPU training throughput (bf16 autocast and "
              "channels_last act on CUDA only). Run it on a machine with an NVIDIA GPU, or pass --cpu for a tiny "
              "sanity pass of the same code.")
        return 0
    else:
        device, cases = torch.device("cuda"), gpu_cases(args.cyclegan_batch)
        props = torch.cuda.get_device_properties(device)
        print(f"GPU: {torch.cuda.get_device_name(device)} ({props.total_memory / 2**30:.0f} GiB, compute capability "
              f"{props.major}.{props.minor}), bf16 {'yes' if torch.cuda.is_bf16_supported() else 'NO'}")
        print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
              f"Python {platform.python_version()}")
    if args.strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    print(f"{args.steps} timed steps after {args.warmup} warm-up steps; cuDNN "
          f"{'benchmark' if args.cudnn_benchmark else 'deterministic'}; fp32 convolutions "
          f"{'strict' if args.strict_fp32 else 'TF32 allowed (torch default)'}\n")

    header = (f"{'model':<16} {'batch':>5} {'fp32 img/s':>11} {'bf16+CL img/s':>14} {'speed-up':>9} "
              f"{'peak GB fp32/bf16':>18}")
    print(header)
    print("-" * len(header))
    for case in cases:
        if case.recipe not in RECIPES:
            print(f"{case.label:<16} skipped: recipe {case.recipe!r} is not registered in gancourse.recipes.RECIPES")
            continue
        results = []
        for fast_mode in (False, True):
            results.append(measure(case, device, fast_mode, args.steps, args.warmup, args.cudnn_benchmark))
            if device.type == "cuda":
                torch.cuda.empty_cache()
        (fp32, mem32), (bf16, mem16) = results
        print(f"{case.label:<16} {case.batch_size:>5} {fp32:>11.0f} {bf16:>14.0f} {bf16 / fp32:>8.2f}x "
              f"{mem32:>8.2f} / {mem16:<7.2f}", flush=True)
    print("\nimages/s = real images per training step x steps per second (CycleGAN: one domain's batch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
