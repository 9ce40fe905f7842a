"""What the two-sample test sees in generated paintings: the same test on views of both sets that keep less.

Issue 30's independent yardstick is a two-sample classifier, and on WikiArt it disagrees with both feature
networks: the generators the features put at the real floor (the two-hour one, the compute ladder's DiffAugment
runs) are the ones it tells from paintings most surely (0.998), and notebook 02's blurrier recipe it tells less
surely (0.94-0.99). This script asks where the difference it finds lives, by running the course's test
(``metrics.two_sample``) on all 400 paintings against 400 samples of each generator, both sides seen through
the same view:

- ``as is``: the yardstick itself;
- ``texture``: ``palette=False``, each image standardised per channel (colours and brightness gone);
- ``blurred``: a 3x3 binomial filter (the finest detail damped);
- ``32 px`` and ``16 px``: averaged down 2x and 4x (only coarser structure, then only colour masses left).

If a generator's accuracy falls towards 0.5 in a view, the test told it apart by what that view removes.

    GANCOURSE_DATA=../shared/data python benchmarks/two_sample_views.py shipped=pretrained:wikiart64 \\
        nb02=LADDER/runs/nb02-seed0 diffaugment=LADDER/runs/diffaugment-seed0 --seeds 0 1

Results go to ``<out>/results.jsonl`` as each cell finishes; a rerun skips the cells already there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from long_training import load_source  # noqa: E402  (benchmarks/, the script's own folder)

from gancourse.data import load_dataset, to_unit_range  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.metrics.two_sample import two_sample_accuracy  # noqa: E402


def _blurred(images: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 16).expand(images.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), kernel, groups=images.shape[1])


# view name -> (transform of [-1, 1] images, keyword arguments of the test)
VIEWS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], dict]] = {
    "as is": (lambda x: x, {}),
    "texture": (lambda x: x, {"palette": False}),
    "blurred": (_blurred, {}),
    "32 px": (lambda x: F.avg_pool2d(x, 2), {}),
    "16 px": (lambda x: F.avg_pool2d(x, 4), {}),
}


def done_cells(path: Path) -> dict[tuple[str, str, int], float]:
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(row["generator"], row["view"], row["seed"]): row["accuracy"] for row in rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("generators", nargs="+", metavar="LABEL=SOURCE",
                   help="a label and a run directory or pretrained:NAME, e.g. shipped=pretrained:wikiart64")
    p.add_argument("--views", nargs="+", choices=list(VIEWS), default=list(VIEWS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds of the two-sample test")
    p.add_argument("--style", default="Impressionism")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/two_sample_views"))
    args = p.parse_args()
    if any("=" not in g for g in args.generators):
        sys.exit("two_sample_views.py: error: give each generator as LABEL=SOURCE, e.g. shipped=pretrained:wikiart64")
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.jsonl"
    done = done_cells(results)
    options = {"style": args.style, "size": 64}
    real = torch.cat([to_unit_range(load_dataset("wikiart", split, **options).images) for split in ("train", "test")])
    for item in args.generators:
        label, source = item.split("=", 1)
        generator, origin = load_source(source)
        fakes = sample_generator(generator, len(real), seed=0)
        for view in args.views:
            transform, keywords = VIEWS[view]
            for seed in args.seeds:
                if (label, view, seed) in done:
                    continue
                accuracy = two_sample_accuracy(transform(real), transform(fakes), seed=seed, **keywords)["c2st_acc"]
                done[label, view, seed] = accuracy
                with open(results, "a") as f:
                    f.write(json.dumps({"generator": label, "source": origin, "view": view, "seed": seed,
                                        "accuracy": accuracy}) + "\n")
                print(f"{label} ({origin}), {view}, seed {seed}: {accuracy:.3f}", flush=True)
    labels = [item.split("=", 1)[0] for item in args.generators]
    print(f"\n{' '.join(sys.argv)}\n{platform.machine()} {platform.system()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}; two-sample accuracy, mean ± standard deviation over seeds {args.seeds}\n")
    print("| generator | " + " | ".join(args.views) + " |")
    print("| --- |" + " --- |" * len(args.views))
    for label in labels:
        cells = []
        for view in args.views:
            values = [done[label, view, s] for s in args.seeds if (label, view, s) in done]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {spread:.3f}" if values else "")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
