"""Monet translations with Monet in them (issue 30, item 3): which change to notebook 06's quick profile makes
the translated photos visibly changed (told from their own photos) while keeping them close to Monet.

Each variant is the quick profile (128 px, residual generators, cycle 0.3, discriminators without a norm, EMA,
1000 steps, the learning rate decayed over the second half) with a few options changed: the discriminators'
patch size (``d_layers``: 70, 34 or 16 px patches at 128 px) and the cycle weight. Every (variant, seed) trains
in a process of its own on one thread, ``--jobs`` at once, then is scored by ``long_training.MonetTranslations``:
the two-sample test at 64 px against the 250 Monets (0.5: they pass for Monets), the same with each image's
colour statistics taken out (strokes and texture left to tell), and against the photos the translations came
from (1.0: always told apart, visibly changed), over the two-sample seeds 0-2; with the course's translation
features (FID, KID) and a random ResNet-18 (KID). Issue 30's targets for the quick profile: vs Monet <= 0.80
and vs their photos >= 0.90.

    GANCOURSE_DATA=../shared/data python benchmarks/monet_strokes.py --seeds 0 1 --out runs/benchmarks/monet_strokes
    GANCOURSE_DATA=../shared/data python benchmarks/monet_strokes.py --report --out runs/benchmarks/monet_strokes

Results are appended to ``<out>/results.jsonl`` as each run is scored; a rerun skips what is there (an
interrupted training resumes from its checkpoint). Each run's photo | translation grid is ``<out>/<run>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from long_training import MonetTranslations, monet_table  # noqa: E402  (benchmarks/, the script's own folder)

from gancourse.devices import seed_everything  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.recipes import RECIPES  # noqa: E402
from gancourse.viz.grids import save_grid  # noqa: E402

VARIANTS: dict[str, dict] = {
    "quick profile": {},
    "D 34 px patches": {"d_layers": 2},
    "D 16 px patches": {"d_layers": 1},
    "cycle 0.1": {"lambda_cycle": 0.1},
    "D 34 px patches, cycle 0.1": {"d_layers": 2, "lambda_cycle": 0.1},
    "D 16 px patches, cycle 0.1": {"d_layers": 1, "lambda_cycle": 0.1},
}
C2ST_SEEDS = [0, 1, 2]


def run_name(variant: str, seed: int) -> str:
    return f"{variant.replace(' ', '_').replace(',', '').replace('.', 'p')}-seed{seed}"


def train_and_score(variant: str, seed: int, steps: int, out: Path) -> dict:
    """Train one (variant, seed) in this process and score what it translates (the EMA of its generators)."""
    settings = preset("quick", steps)
    translations = MonetTranslations(settings["size"], settings["feature_steps"])
    recipe_class = RECIPES["cyclegan"]
    seed_everything(seed)
    recipe = recipe_class(recipe_class.config_for(translations.data, **(settings["recipe"] | VARIANTS[variant])))
    started = time.perf_counter()
    fit(recipe, translations.data, out / run_name(variant, seed),
        Loop(steps=steps, batch_size=settings["batch_size"], seed=seed, flip=True), progress=False)
    train_s = time.perf_counter() - started
    g = recipe.directions[translations.direction]
    some = translations.photos[:8]
    pairs = torch.stack([some, translations.evaluator.translate_with(g, some)], dim=1).flatten(0, 1)
    save_grid(pairs, out / f"{run_name(variant, seed)}.png", 4)  # each photo beside its translation
    d_patch = recipe.D_A.receptive_field()
    return {"variant": variant, "seed": seed, "steps": steps, "train_s": round(train_s, 1), "d_patch": d_patch,
            **translations.score(g, C2ST_SEEDS)}


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def report(rows: list[dict], references: dict[str, dict]) -> str:
    """The table of ``long_training.monet_table``, each run a row, then the targets' verdict per variant."""
    named = [{**r, "generator": f"{r['variant']}, seed {r['seed']} ({r['d_patch']} px patches, {r['train_s']:.0f} s)"}
             for r in sorted(rows, key=lambda r: (list(VARIANTS).index(r["variant"]) if r["variant"] in VARIANTS
                                                  else len(VARIANTS), r["seed"]))]
    verdicts = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        met = sum(r["c2st_vs_monet"] <= 0.80 and r["c2st_vs_photos"] >= 0.90 for r in mine)
        verdicts.append(f"- {variant}: both targets met on {met} of {len(mine)} seeds")
    return monet_table(named, references) + "\n\n" + "\n".join(verdicts)


def run_all(args: argparse.Namespace) -> None:
    """Each missing (variant, seed) in a child process of its own, one thread each, ``--jobs`` at once."""
    done = {(r["variant"], r["seed"]) for r in load_rows(args.out / "results.jsonl")}
    pending = [(v, s) for v in args.variants for s in args.seeds if (v, s) not in done]
    environment = {**os.environ, "GANCOURSE_THREADS": "1", "OMP_NUM_THREADS": "1"}
    running: dict[tuple[str, int], subprocess.Popen] = {}
    while pending or running:
        while pending and len(running) < args.jobs:
            variant, seed = pending.pop(0)
            print(f"training {variant}, seed {seed}", flush=True)
            running[variant, seed] = subprocess.Popen(
                [sys.executable, __file__, "--one", variant, "--seed", str(seed), "--steps", str(args.steps),
                 "--out", str(args.out)], env=environment)
        time.sleep(5)
        for (variant, seed), child in list(running.items()):
            if child.poll() is not None:
                del running[variant, seed]
                if child.returncode:
                    print(f"{variant}, seed {seed} failed (exit {child.returncode})", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--steps", type=int, default=preset("quick")["steps"])
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each (default 2)")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/monet_strokes"))
    p.add_argument("--report", action="store_true", help="print the table from <out>/results.jsonl and stop")
    p.add_argument("--one", choices=list(VARIANTS), help=argparse.SUPPRESS)  # a child: train and score one run
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        row = train_and_score(args.one, args.seed, args.steps, args.out)
        with open(args.out / "results.jsonl", "a") as f:  # one short line: appends from two children do not mix
            f.write(json.dumps(row) + "\n")
        return
    if not args.report:
        run_all(args)
    references_path = args.out / "references.json"
    if not references_path.is_file():
        references_path.write_text(json.dumps(MonetTranslations(128, preset("quick")["feature_steps"])
                                              .references(C2ST_SEEDS)))
    print(f"\n{' '.join(sys.argv)}\n{platform.machine()} {platform.system()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, one thread per run, two-sample seeds {C2ST_SEEDS}\n")
    print(report(load_rows(args.out / "results.jsonl"), json.loads(references_path.read_text())))


if __name__ == "__main__":
    main()
