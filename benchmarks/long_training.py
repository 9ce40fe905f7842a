"""What hours of training buy on WikiArt: generators scored side by side by three yardsticks (issue 30).

Each generator is a run directory (its generator as of the last checkpoint, so a long training can be scored
part-way) or ``pretrained:NAME`` (a generator shipped with the course). Each draws the same 400 latent vectors
(seed 0), as many images as there are real paintings, and is scored by:

- the course's painting feature network (``metrics.features``, the one notebook 02 uses): FID, KID, precision
  and recall against the 103 held-out paintings, with the real-vs-real floor;
- a second feature network that nobody trained: a randomly initialised ResNet-18 (torchvision, seed 0), its
  512 pooled features scaled by the held-out paintings' root mean square, KID against the held-out
  paintings (and the same floor). Random convolutional features rank generators much as trained ones do
  (Naeem et al. 2020) and cannot have been tuned towards our generators;
- the two-sample test (``metrics.two_sample``: a small CNN trained from scratch to tell all 400 real paintings
  from 400 generated ones, 4 folds; 0.5 = cannot tell), on ``--seeds`` (each seed a new draw of folds and
  initialisation), as mean ± standard deviation;
- the share of detail in patterns that repeat every 2 and 8 pixels (``metrics.artifacts``), next to the real
  paintings' own;
- copying: the median distance from each image to its nearest training painting, in the course's features and
  in pixels, divided by the same median for the held-out paintings (about 1 for new paintings; well below 1
  for a generator that reproduces its training set, which the features above would score as perfect).

It writes an 8x8 grid of each generator's first 64 images to ``--out``, prints a markdown table, and appends
each generator's row to ``<out>/results.jsonl``. ``--progress RUN`` also draws how one run's samples grew: the
first row of its sample grids (the same latent vectors every time) at the steps ``--at``, each labelled with
the training time it had taken (``<out>/progress.jpg``, the picture notebook 02 shows).

    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/long_training.py \\
        quick=runs/02-quick-seed0 shipped=pretrained:wikiart64 --out runs/benchmarks/long_training
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.checkpoints import generator_from_export  # noqa: E402
from gancourse.data import load_dataset, to_unit_range  # noqa: E402
from gancourse.engine.restore import last_checkpoint_export  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.metrics.artifacts import checkerboard_energy  # noqa: E402
from gancourse.metrics.features import feature_evaluator  # noqa: E402
from gancourse.metrics.scores import kid_from_features  # noqa: E402
from gancourse.metrics.two_sample import two_sample_accuracy  # noqa: E402
from gancourse.pretrained import PREFIX, load_pretrained  # noqa: E402
from gancourse.runs import RunDir  # noqa: E402
from gancourse.viz.grids import save_grid  # noqa: E402


def load_source(source: str) -> tuple[torch.nn.Module, str]:
    """The generator ``source`` names and a few words on where it came from."""
    if source.startswith(PREFIX):
        return load_pretrained(source), source
    export, step = last_checkpoint_export(source)
    return generator_from_export(export, source), f"{source} at step {step}"


class RandomResNet:
    """A randomly initialised ResNet-18's pooled features, divided by the reference set's root mean square (one
    scale for all 512: a random network leaves some features near zero, which a per-feature scale would blow up)."""

    def __init__(self, reference: torch.Tensor, seed: int = 0) -> None:
        from torchvision.models import resnet18

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = resnet18(weights=None)
        net.fc = torch.nn.Identity()
        self.net = net.eval()
        raw = self._raw(reference)
        self.scale = raw.pow(2).mean().sqrt()
        self.reference = raw / self.scale

    @torch.no_grad()
    def _raw(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(batch) for batch in images.split(100)]).double()

    def kid(self, images: torch.Tensor) -> float:
        return kid_from_features(self.reference, self._raw(images) / self.scale)


def nearest_distance(queries: torch.Tensor, references: torch.Tensor) -> float:
    """The median over ``queries`` (N, D) of the Euclidean distance to the nearest of ``references`` (M, D)."""
    return float(torch.cdist(queries.double(), references.double()).min(dim=1).values.median())


class Copying:
    """How close images come to the training paintings, relative to how close the held-out paintings come."""

    def __init__(self, evaluator, training: torch.Tensor, held_out: torch.Tensor) -> None:
        self.embed = lambda images: evaluator.judge.embed(images)[0]
        self.training, self.training_features = training.flatten(1), self.embed(training)
        self.held_out = {"features": nearest_distance(self.embed(held_out), self.training_features),
                         "pixels": nearest_distance(held_out.flatten(1), self.training)}

    def __call__(self, images: torch.Tensor) -> dict[str, float]:
        return {"copy_features": nearest_distance(self.embed(images), self.training_features)
                / self.held_out["features"],
                "copy_pixels": nearest_distance(images.flatten(1), self.training) / self.held_out["pixels"]}


def score(name: str, fakes: torch.Tensor, real: dict, seeds: list[int]) -> dict:
    course = real["evaluator"].score(fakes)
    accuracies = [two_sample_accuracy(real["all"], fakes, seed=s)["c2st_acc"] for s in seeds]
    return {"generator": name, "fid": course["fid"], "kid": course["kid"], "precision": course["precision"],
            "recall": course["recall"], "random_resnet_kid": real["resnet"].kid(fakes),
            "c2st": statistics.mean(accuracies), "c2st_sd": statistics.stdev(accuracies) if len(seeds) > 1 else 0.0,
            "c2st_seeds": accuracies, "grid2": checkerboard_energy(fakes),
            "grid8": checkerboard_energy(fakes, period=8), **real["copying"](fakes)}


def table(rows: list[dict], floor: dict) -> str:
    lines = ["| generator | FID (course) | KID (course) | precision | recall | KID (random ResNet) | two-sample "
             "accuracy | period-2 / period-8 detail | nearest training painting, features / pixels |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
             f"| real paintings (floor) | {floor['fid_floor']:.2f} | {floor['kid_floor']:.4f} | | | "
             f"{floor['resnet_kid_floor']:.4f} | 0.5 | {floor['grid2']:.5f} / {floor['grid8']:.5f} | 1 / 1 |"]
    for r in rows:
        lines.append(f"| {r['generator']} | {r['fid']:.2f} | {r['kid']:.4f} | {r['precision']:.2f} | "
                     f"{r['recall']:.2f} | {r['random_resnet_kid']:.4f} | {r['c2st']:.3f} ± {r['c2st_sd']:.3f} | "
                     f"{r['grid2']:.5f} / {r['grid8']:.5f} | {r['copy_features']:.2f} / {r['copy_pixels']:.2f} |")
    return "\n".join(lines)


def progress_figure(run_dir: str, steps: list[int], path: Path) -> None:
    """The first row of ``run_dir``'s sample grid at each of ``steps``, one above the other, labelled with
    the wall-clock time of training up to that step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    run = RunDir(run_dir)
    seconds = {r["step"]: r["time"] for r in run.read_history() if "time" in r}
    fig, axes = plt.subplots(len(steps), 1, figsize=(8, 1.15 * len(steps)))
    for ax, step in zip(axes, steps, strict=True):
        grid = Image.open(run.samples_dir / f"step_{step:06d}.png")
        ax.imshow(grid.crop((0, 0, grid.width, grid.width // 8 + 1)))  # one row of eight 64 px samples
        minutes = seconds[step] / 60 if step else 0.0
        ax.set_ylabel(f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h", rotation=0,
                      ha="right", va="center")
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110, pil_kwargs={"quality": 88})
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("generators", nargs="+", metavar="LABEL=SOURCE",
                   help="a label and a run directory or pretrained:NAME, e.g. shipped=pretrained:wikiart64")
    p.add_argument("--style", default="Impressionism")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the two-sample test")
    p.add_argument("--out", default="runs/benchmarks/long_training")
    p.add_argument("--progress", metavar="RUN", help="also draw RUN's samples at the steps --at (progress.jpg)")
    p.add_argument("--at", type=int, nargs="+", default=[1000, 2000, 6000, 12000],
                   help="steps of --progress (multiples of the run's sample interval)")
    args = p.parse_args()
    if any("=" not in g for g in args.generators):
        sys.exit("long_training.py: error: give each generator as LABEL=SOURCE, e.g. shipped=pretrained:wikiart64")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"style": args.style, "size": args.size}
    paintings = load_dataset("wikiart", "train", **options)
    held_out = load_dataset("wikiart", "test", **options)
    training, held = to_unit_range(paintings.images), to_unit_range(held_out.images)
    every = torch.cat([training, held])
    evaluator = feature_evaluator(paintings, test=held_out, n=len(held_out))
    resnet = RandomResNet(held)
    some_training = training[torch.randperm(len(training), generator=torch.Generator().manual_seed(0))[:len(held)]]
    floor = {**evaluator.floor, "resnet_kid_floor": resnet.kid(some_training), "grid2": checkerboard_energy(every),
             "grid8": checkerboard_energy(every, period=8)}
    real = {"evaluator": evaluator, "resnet": resnet, "all": every,
            "copying": Copying(evaluator, training, held)}
    save_grid(every[:64], out / "real.png", 8)
    rows = []
    for item in args.generators:
        label, source = item.split("=", 1)
        generator, origin = load_source(source)
        start = time.perf_counter()
        fakes = sample_generator(generator, len(every), seed=0)
        save_grid(fakes[:64], out / f"{label}.png", 8)
        row = {**score(label, fakes, real, args.seeds), "source": origin,
               "seconds": round(time.perf_counter() - start, 1)}
        rows.append(row)
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{label}: {origin}, scored in {row['seconds']} s", flush=True)
    print(f"\n{' '.join(sys.argv)}\n{platform.machine()} {platform.system()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, two-sample seeds {args.seeds}; grids in {out}\n")
    print(table(rows, floor))
    if args.progress:
        progress_figure(args.progress, args.at, out / "progress.jpg")
        print(f"\n{out / 'progress.jpg'}: {args.progress} at steps {args.at}")


if __name__ == "__main__":
    main()
