"""bfloat16 autocast on the CPU against fp32 at an equal CPU budget, for WGAN-GP and the CycleGAN (issue 31).

The DCGAN's check is ``benchmarks/mnist_budget.py --only sn+b32+beta0 sn+b32+beta0+bf16``. Here, one part each:

- ``wgan-gp``: notebook 04's WGAN-GP (5 critic updates per G update, penalty weight 10, batch 32) on MNIST.
  Scored on 10,000 samples against the 10,000 test digits by the course's judge (FID, KID) and by a second,
  differently built feature network: ``mnist_budget.py``'s MLP on raw pixels.
- ``cyclegan``: notebook 06's quick profile (the CLI's CPU preset, 128 px). Scored as
  ``monet_small_data.py`` scores it: the 30 test photos translated to Monet against the 25 held-out Monets in
  the course's translation features (FID, KID), a second feature network nobody trained (a random ResNet-18,
  ``long_training.py``'s, KID of 250 of the 300 photos translated against all Monets) and the two-sample test at
  64 px, against the Monets and against the photos the translations came from.

fp32 trains ``--steps`` steps (default: the profile's); bf16 gets the steps that cost the same CPU time, by the
cost ratio of the two measured side by side in interleaved rounds in this process. Both sides train in this
process on the threads ``OMP_NUM_THREADS`` gives (default 1), from the same seed; the runs resume from their
checkpoints, and a rerun skips the (side, seed) pairs already in ``<out>/results.jsonl``.

    GANCOURSE_DATA=../shared/data python benchmarks/bf16_quality.py wgan-gp --seeds 0 1 2
    GANCOURSE_DATA=../shared/data python benchmarks/bf16_quality.py cyclegan --seeds 0 1 2
    GANCOURSE_DATA=../shared/data python benchmarks/bf16_quality.py cyclegan --quick   # checks that it runs
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
from long_training import MonetTranslations  # noqa: E402  (benchmarks/, the script's own folder)
from mnist_budget import Scorer, bf16_steps, pixel_mlp  # noqa: E402
from step_costs import cost_ratios  # noqa: E402

from gancourse.data import load_dataset  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.recipes import RECIPES  # noqa: E402

SIDES = ("fp32", "bf16")
HIGHER_IS_BETTER = ("modes", "c2st_vs_photos")  # modes covered; translations told from their photos: changed more
WGAN_GP = {"n_critic": 5, "gp_weight": 10.0}  # notebook 04's defaults
WGAN_GP_BATCH, WGAN_GP_STEPS = 32, 300  # the quick profile's batch; about its 75 s budget on two cores, times four


class WganGp:
    """Notebook 04's WGAN-GP on MNIST and its scorer."""

    batch_size = WGAN_GP_BATCH
    default_steps = WGAN_GP_STEPS

    def __init__(self, out: Path) -> None:
        self.data, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
        self.scorer = Scorer(self.data, test, pixel_mlp(self.data, test, out / "pixel_mlp.pt"))

    def build(self, steps: int):
        return RECIPES["wgan-gp"](RECIPES["wgan-gp"].config_for(self.data, **WGAN_GP))

    def stream(self, seed: int):
        return self.data.stream(self.batch_size, "cpu", flip=False, seed=seed)

    def score(self, recipe, seed: int) -> dict:
        return self.scorer.score(recipe.sample(self.scorer.n, generator=torch.Generator().manual_seed(1000 + seed)))

    def floor(self) -> dict:
        return self.scorer.floor


class CycleGan:
    """Notebook 06's quick-profile CycleGAN on monet2photo, scored by ``long_training.MonetTranslations``."""

    batch_size = 1

    def __init__(self, out: Path) -> None:
        self.preset = preset("quick")
        self.default_steps = self.preset["steps"]
        self.translations = MonetTranslations(self.preset["size"], self.preset["feature_steps"])
        self.data = self.translations.data

    def build(self, steps: int):
        options = {k: v for k, v in self.preset["recipe"].items() if k not in ("constant_steps", "decay_steps")}
        return RECIPES["cyclegan"](RECIPES["cyclegan"].config_for(
            self.data, **options, constant_steps=steps // 2, decay_steps=steps - steps // 2))

    def stream(self, seed: int):
        return self.data.stream(self.batch_size, "cpu", flip=True, seed=seed)

    def score(self, recipe, seed: int) -> dict:  # with what the recipe translates (the EMA of G)
        return self.translations.score(recipe.directions[self.translations.direction], [seed])

    def floor(self) -> dict:
        return self.translations.references([0])


PARTS = {"wgan-gp": WganGp, "cyclegan": CycleGan}


def either_precision(part, steps: int):
    """``part``'s recipe for ``steps``, with bfloat16 allowed whatever the recipe's default (``cpu_bf16``):
    ``bf16_steps`` (``GANCOURSE_CPU_BF16``) then decides each side's precision."""
    recipe = part.build(steps)
    recipe.cpu_bf16 = True
    return recipe


def bf16_cost_ratio(part, rounds: int, steps: int) -> float:
    """The CPU time of a bf16 step over an fp32 one, measured side by side (median over interleaved rounds)."""
    with torch.random.fork_rng(devices=[]):
        steppers = {}
        for side in SIDES:
            recipe, stream = either_precision(part, 1000), part.stream(0)

            def step(recipe=recipe, stream=stream, side=side) -> None:
                with bf16_steps(side):
                    recipe.step(stream.next())
            steppers[side] = step
        return cost_ratios(steppers, rounds, steps, clock=time.process_time)[1]["bf16"]


def load_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def better(key: str, value: float, than: float) -> bool:
    return value > than if key in HIGHER_IS_BETTER else value < than


def report(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k not in ("side", "seed", "steps", "train_s", "floor") and not k.endswith("_sd")
            ] if rows else []
    lines = ["| side | seeds | steps | " + " | ".join(keys) + " |", "| --- " * (3 + len(keys)) + "|"]
    for side in SIDES:
        rs = sorted((r for r in rows if r["side"] == side), key=lambda r: r["seed"])
        if not rs:
            continue
        cells = []
        for k in keys:
            values = [r[k] for r in rs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4g} ± {spread:.2g}")
        lines.append(f"| {side} | {', '.join(str(r['seed']) for r in rs)} | {rs[0]['steps']} | " + " | ".join(cells)
                     + " |")
    fp32 = {r["seed"]: r for r in rows if r["side"] == "fp32"}
    paired = [(fp32[r["seed"]], r) for r in rows if r["side"] == "bf16" and r["seed"] in fp32]
    if paired:
        lines.append("")
        lines.append("bf16 better than fp32 on the same seed (lower; higher for " + ", ".join(HIGHER_IS_BETTER)
                     + "): " + ", ".join(f"{k} {sum(better(k, b[k], f[k]) for f, b in paired)} of "
                                         f"{len(paired)}" for k in keys))
    if rows:
        lines.append(f"floor and references: {rows[0]['floor']}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("part", choices=sorted(PARTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=0, help="fp32's steps (default: the profile's, see above)")
    p.add_argument("--out", type=Path, default=None, help="default runs/benchmarks/bf16_<part>")
    p.add_argument("--quick", action="store_true", help="a few steps, one seed: checks that everything runs")
    p.add_argument("--report", action="store_true", help="print the table from <out>/results.jsonl and stop")
    args = p.parse_args()
    out = args.out or Path(f"runs/benchmarks/bf16_{args.part}" + ("_quick" if args.quick else ""))
    results_path = out / "results.jsonl"
    if args.report:
        print(report(load_results(results_path)))
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), load average at start {os.getloadavg()}", flush=True)
    part = PARTS[args.part](out)
    if part.data.is_stand_in:
        sys.exit("this benchmark needs the real datasets: set GANCOURSE_DATA (see data/README.md)")
    base = 4 if args.quick else (args.steps or part.default_steps)
    seeds = [0] if args.quick else args.seeds
    steps_file = out / "steps.json"
    if steps_file.is_file():  # a continued benchmark keeps the step counts it started with
        steps = json.loads(steps_file.read_text())
    else:
        ratio = bf16_cost_ratio(part, rounds=2 if args.quick else 5, steps=2 if args.quick else 4)
        steps = {"fp32": base, "bf16": max(1, round(base / ratio)), "bf16_cost_ratio": ratio}
        out.mkdir(parents=True, exist_ok=True)
        steps_file.write_text(json.dumps(steps))
    print(f"steps at an equal CPU budget: {steps}", flush=True)
    floor = part.floor()
    done = {(r["side"], r["seed"]) for r in load_results(results_path)}
    for seed in seeds:
        for side in SIDES:
            if (side, seed) in done:
                continue
            seed_everything(seed)
            recipe = either_precision(part, steps[side])
            with bf16_steps(side):
                result = fit(recipe, part.data, out / f"{side}-seed{seed}",
                             Loop(steps=steps[side], batch_size=part.batch_size, seed=seed,
                                  flip=args.part == "cyclegan"), progress=False)
            row = {"side": side, "seed": seed, "steps": steps[side], "train_s": round(result.wall_time, 1),
                   **part.score(recipe, seed), "floor": floor}
            with open(results_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print(report(load_results(results_path)))


if __name__ == "__main__":
    main()
