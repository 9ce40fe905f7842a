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
from monet_small_data import C2ST_SIZE, centre, resized  # noqa: E402  (benchmarks/, the script's own folder)

from gancourse.checkpoints import generator_from_export, translators_from_export  # noqa: E402
from gancourse.data import load_dataset, to_unit_range  # noqa: E402
from gancourse.engine.restore import last_checkpoint_export  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.metrics.artifacts import checkerboard_energy  # noqa: E402
from gancourse.metrics.features import feature_evaluator  # noqa: E402
from gancourse.metrics.scores import kid_from_features  # noqa: E402
from gancourse.metrics.translation import translation_evaluator  # noqa: E402
from gancourse.metrics.two_sample import palette_matched, two_sample_accuracy  # noqa: E402
from gancourse.pretrained import PREFIX, load_pretrained, load_pretrained_translators  # noqa: E402
from gancourse.runs import RunDir  # noqa: E402
from gancourse.viz.grids import save_grid  # noqa: E402


def load_source(source: str) -> tuple[torch.nn.Module, str]:
    """The generator ``source`` names and a few words on where it came from."""
    if source.startswith(PREFIX):
        return load_pretrained(source), source
    export, step = last_checkpoint_export(source)
    return generator_from_export(export, source), f"{source} at step {step}"


def load_translator(source: str, direction: str) -> tuple[torch.nn.Module, str]:
    """The CycleGAN generator of ``direction`` that ``source`` names, and where it came from."""
    if source.startswith(PREFIX):
        return load_pretrained_translators(source)[direction], source
    export, step = last_checkpoint_export(source)
    return translators_from_export(export, source)[direction], f"{source} at step {step}"


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


class MonetTranslations:
    """Photos translated to Monet (notebook 06), scored by three yardsticks: the course's translation features
    (FID, KID of the 30 test photos translated against the 25 held-out Monets, ``metrics.translation``), the
    random ResNet-18 above (KID of all 300 photos translated against all 250 Monets), and the two-sample test at
    64 px against the Monets (0.5: they pass for Monets), again with each image's colour statistics taken out
    (``palette=False``: strokes, edges and texture left to tell), and against the photos they came from (1.0:
    visibly changed), over ``seeds``."""

    def __init__(self, size: int, feature_steps: int) -> None:
        self.data, self.size = load_dataset("monet2photo", size=size), size
        self.evaluator = translation_evaluator(self.data, feature_steps=feature_steps, progress=False)
        self.monets = torch.cat([centre(self.data.a.images, size), centre(self.data.preview.a.images, size)])
        self.photos = to_unit_range(torch.cat([centre(self.data.b.images, size),
                                               centre(self.data.preview.b.images, size)]))
        self.monets_small, self.photos_small = resized(self.monets, C2ST_SIZE), resized(self.photos, C2ST_SIZE)
        self.resnet = RandomResNet(to_unit_range(self.monets))
        a, b = self.data.domains
        self.direction = f"{b}2{a}"

    def score(self, g: torch.nn.Module, seeds: list[int]) -> dict:
        translated = self.evaluator.translate_with(g, self.photos)
        return {**{k: v for k, v in self.evaluator(g).items() if k in ("fid", "kid")},
                **self._yardsticks(translated, seeds)}

    def references(self, seeds: list[int]) -> dict[str, dict]:
        """The same yardsticks for what a translation must beat: the photos as they are, and the photos with
        Monet's palette (``metrics.two_sample.palette_matched``: every colour moved, no stroke)."""
        test_photos = to_unit_range(centre(self.data.preview.b.images, self.size))
        rows = {}
        for name, change in (("photos as they are", lambda x: x),
                             ("photos with Monet's palette", lambda x: to_unit_range(palette_matched(x, self.monets)))):
            scores = self.evaluator.score(change(test_photos))
            rows[name] = {"fid": scores["fid"], "kid": scores["kid"], **self._yardsticks(change(self.photos), seeds)}
        return rows

    def _yardsticks(self, images: torch.Tensor, seeds: list[int]) -> dict:
        small = resized(images, C2ST_SIZE)
        row = {"resnet_kid": self.resnet.kid(images)}
        # vs Monet, and vs Monet with each image's own colour statistics taken out (palette=False: strokes, edges
        # and texture left to tell); vs the photos the images came from
        for name, real, palette in (("vs_monet", self.monets_small, True),
                                    ("vs_monet_strokes", self.monets_small, False),
                                    ("vs_photos", self.photos_small, True)):
            accuracies = [two_sample_accuracy(real, small, seed=s, palette=palette)["c2st_acc"] for s in seeds]
            row[f"c2st_{name}"] = statistics.mean(accuracies)
            row[f"c2st_{name}_sd"] = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        return row


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


def monet_table(rows: list[dict], references: dict[str, dict]) -> str:
    lines = ["| translations | FID (course) | KID (course) | KID (random ResNet) | two-sample accuracy vs Monet "
             "(0.5 best) | the same, colour statistics taken out | vs their photos (1.0 = visibly changed) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in [{"generator": name, **row} for name, row in references.items()] + rows:
        lines.append(f"| {r['generator']} | {r['fid']:.3f} | {r['kid']:.4f} | {r['resnet_kid']:.4f} | "
                     + " | ".join(f"{r[f'c2st_{k}']:.3f} ± {r[f'c2st_{k}_sd']:.3f}"
                                  for k in ("vs_monet", "vs_monet_strokes", "vs_photos")) + " |")
    return "\n".join(lines)


def record(row: dict, out: Path, line: str) -> None:
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(line, flush=True)


def how_measured(args: argparse.Namespace, where: str) -> str:
    return (f"\n{' '.join(sys.argv)}\n{platform.machine()} {platform.system()}, {os.cpu_count()} cores, torch "
            f"{torch.__version__}, two-sample seeds {args.seeds}; {where}\n")


def score_monet(args: argparse.Namespace, out: Path) -> None:
    """``--dataset monet``: each source's photo -> Monet generator on the 300 photos, beside the photos."""
    translations = MonetTranslations(args.size, preset("quick")["feature_steps"])
    references = translations.references(args.seeds)
    rows = []
    for item in args.generators:
        label, source = item.split("=", 1)
        g, origin = load_translator(source, translations.direction)
        row = {"generator": label, "source": origin, **translations.score(g, args.seeds)}
        some = translations.photos[:8]
        pairs = torch.stack([some, translations.evaluator.translate_with(g, some)], dim=1).flatten(0, 1)
        save_grid(pairs, out / f"{label}.png", 4)  # each photo beside its translation
        rows.append(row)
        record(row, out, f"{label}: {origin}")
    print(how_measured(args, f"photo | translation grids in {out}"))
    print(monet_table(rows, references))


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
    p.add_argument("--dataset", choices=("wikiart", "monet"), default="wikiart",
                   help="wikiart: generators of paintings; monet: CycleGANs' photo -> Monet translators")
    p.add_argument("--style", default="Impressionism")
    p.add_argument("--size", type=int, default=0, help="image size (default 64 for wikiart, 128 for monet)")
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
    args.size = args.size or (64 if args.dataset == "wikiart" else preset("quick")["size"])
    if args.dataset == "monet":
        score_monet(args, out)
        return
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
        record(row, out, f"{label}: {origin}, scored in {row['seconds']} s")
    print(how_measured(args, f"grids in {out}"))
    print(table(rows, floor))
    if args.progress:
        progress_figure(args.progress, args.at, out / "progress.jpg")
        print(f"\n{out / 'progress.jpg'}: {args.progress} at steps {args.at}")


if __name__ == "__main__":
    main()
