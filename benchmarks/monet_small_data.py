"""The small-data toolbox on notebook 06's Monet paintings (225 training paintings), at an equal CPU budget.

Two parts (``--part``):

- ``cyclegan``: notebook 06's quick-profile networks (128 px, ResNet generator ngf 16 x 6 blocks, PatchGAN
  ndf 32, batch 1, lr decayed over the second half), in the CPU time of 800 reference steps. Variants:
  baseline (the reference's settings); +DiffAugment (``--policy`` on every image D_A and D_B see, in D's and
  G's updates); resize-conv (the generator's decoder doubles its maps by nearest-neighbour resizing and a 3x3
  convolution instead of stride-2 transposed convolutions); both; residual generators (``residual=True``: they
  change the photo, starting as the identity) with the reference's loss weights, without the identity term,
  and with the cycle weighted 1, 0.3 or 0; with discriminators without a norm (``d_norm="none"``); with the
  EMA of both generators (``--ema``, a half-life in images; raw and EMA from the same run); and the quick
  profile as notebook 06 ships it, at its own 1000 steps.
  Scored on the 30 test photos translated to Monet against the 25 held-out Monets by the course's translation
  evaluator (FID, KID; ``metrics.translation``), and by a classifier two-sample test at 64 px
  (``metrics.two_sample``, 4-fold cross-validated accuracy, 0.5 = indistinguishable): all 250 Monet paintings
  against 250 of the 300 photos translated, and, with the same images and protocol, against those photos as
  they are. The target: translations closer to Monet than the photos they came from, by both measures.
- ``dcgan``: notebook 06's "simple GAN" (section 7: 64 px DCGAN on the paintings, nz 64, width 32, label
  smoothing 0.1, batch 32, flips, the quick profile's 1500 steps). Variants: baseline, +EMA, +DiffAugment,
  both (DiffAugment and EMA), resize-conv (and its EMA), +DiffAugment resize-conv, resize-conv +R1 (R1 with a D
  without batch norm). A training added to a continued benchmark has its cost measured against the
  baseline's when it first runs. Scored by the painting feature network
  trained on the Monets (FID, KID against the 25 held-out paintings) and by the two-sample test (all 250
  paintings against 250 samples).

Equal budget: each variant's cost per step relative to the baseline is measured first, side by side in
interleaved rounds (median ratio); a variant gets the steps that cost as much as the baseline's (the same
steps when the ratio is within 5%, which the load's noise cannot resolve). The runs are reproducible step for
step. EMA changes nothing in training, so +EMA and both come from the baseline's and +DiffAugment's runs.

    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/monet_small_data.py --part cyclegan
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/monet_small_data.py --part dcgan
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/monet_small_data.py --part cyclegan --quick

Results are appended to ``<out>/results.jsonl`` as each run finishes; a rerun skips the runs already there
(an interrupted run resumes from its checkpoint), and ``--report`` prints the table from that file alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from same_seeds import paired_kid, relative_kid  # noqa: E402  (benchmarks/, the script's own folder)
from step_costs import cost_ratios  # noqa: E402

from gancourse.data import BatchStream, load_dataset, to_unit_range  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.metrics import feature_evaluator  # noqa: E402
from gancourse.metrics.artifacts import checkerboard_energy  # noqa: E402
from gancourse.metrics.translation import translation_evaluator  # noqa: E402
from gancourse.metrics.two_sample import two_sample_accuracy  # noqa: E402
from gancourse.recipes import DCGAN  # noqa: E402
from gancourse.recipes.cyclegan import CycleGAN  # noqa: E402

DCGAN_BASE = {"nz": 64, "g_width": 32, "d_width": 32, "label_smoothing": 0.1}  # notebook 06's simple_spec
DCGAN_STEPS = 1500  # notebook 06's baseline_steps, quick profile
# the reference CycleGAN's steps in the quick profile's CPU time (the profile's own steps before it adopted the
# residual generators, which cost less per step and take 1000 in that time)
CYCLEGAN_STEPS = 800
# trained at the profile's own step count instead of the budget's: the preset as notebook 06 ships it
AS_SHIPPED = "quick profile"
C2ST_SIZE = 64


def trainings(part: str, policy: str, ema: float) -> dict[str, tuple[dict, dict[str, str]]]:
    """{training: (recipe options, {generator kind: variant name})}: one run can give two variants (raw, EMA)."""
    if part == "cyclegan":
        def residual(lambda_cycle: float, **more) -> dict:
            return {"upsample": "nearest", "residual": True, "lambda_cycle": lambda_cycle, "lambda_identity": 0.0,
                    **more}

        shipped = {k: v for k, v in preset("quick")["recipe"].items() if k not in ("constant_steps", "decay_steps")}
        return {"baseline": ({}, {"raw": "baseline"}),
                "+DiffAugment": ({"diffaugment": policy}, {"raw": "+DiffAugment"}),
                "resize-conv": ({"upsample": "nearest"}, {"raw": "resize-conv"}),
                "both": ({"diffaugment": policy, "upsample": "nearest"}, {"raw": "both"}),
                # the generators change their input (they start as the identity), which the L1 identity and
                # cycle terms pin in place at the reference's weights: these trainings lower them
                "resize-conv residual": (residual(10.0, lambda_identity=0.5), {"raw": "resize-conv residual"}),
                "resize-conv residual, no identity loss": (residual(10.0),
                                                           {"raw": "resize-conv residual, no identity loss"}),
                "residual, cycle 1": (residual(1.0), {"raw": "residual, cycle 1"}),
                "residual, cycle 0.3": (residual(0.3), {"raw": "residual, cycle 0.3"}),
                "residual, no cycle": (residual(0.0), {"raw": "residual, no cycle"}),
                "residual, cycle 1, no norm": (residual(1.0, norm="none"), {"raw": "residual, cycle 1, no norm"}),
                "residual, cycle 0.3, EMA": (residual(0.3, ema=ema), {"raw": "residual, cycle 0.3 (EMA run)",
                                                                      "ema": "residual, cycle 0.3 +EMA"}),
                "residual, cycle 1, EMA": (residual(1.0, ema=ema), {"raw": "residual, cycle 1 (EMA run)",
                                                                    "ema": "residual, cycle 1 +EMA"}),
                # instance norm in D hides each image's palette from it: D without a norm sees colour casts
                "residual, cycle 0.3, D no norm, EMA": (residual(0.3, d_norm="none", ema=ema),
                                                        {"raw": "residual, cycle 0.3, D no norm",
                                                         "ema": "residual, cycle 0.3, D no norm +EMA"}),
                AS_SHIPPED: (shipped, {"raw": "quick profile, raw G", "ema": "quick profile"})}
    return {"baseline": ({"ema": ema}, {"raw": "baseline", "ema": "+EMA"}),
            "+DiffAugment": ({"diffaugment": policy, "ema": ema}, {"raw": "+DiffAugment", "ema": "both"}),
            "resize-conv": ({"upsample": "nearest", "ema": ema}, {"raw": "resize-conv", "ema": "resize-conv +EMA"}),
            "+DiffAugment resize-conv": ({"diffaugment": policy, "upsample": "nearest"},
                                         {"raw": "+DiffAugment resize-conv"}),
            # R1 (gamma by StyleGAN2-ADA's rule at 64 px, batch 32) needs D without batch norm
            "resize-conv +R1": ({"upsample": "nearest", "d_norm": "none", "r1": 0.0256}, {"raw": "resize-conv +R1"})}


def budget_steps(name: str, base_steps: int, ratio: float, quick: bool) -> int:
    """A training's steps: those that cost what the baseline's do (the same steps when the cost ratio is within
    5%, which the load's noise cannot resolve); the quick profile as shipped keeps its own, unless ``quick``."""
    if name == AS_SHIPPED and not quick:
        return preset("quick")["steps"]
    return base_steps if abs(ratio - 1) < 0.05 else max(1, round(base_steps / ratio))


def build(part: str, data, options: dict, steps: int):
    if part == "cyclegan":
        # the quick profile's network sizes with everything else the reference's, whatever the preset adopted
        # since: the baseline stays the baseline
        sizes = {k: preset("quick")["recipe"][k] for k in ("ngf", "n_blocks", "ndf")}
        return CycleGAN(CycleGAN.config_for(data, **{"generator": "resnet", **sizes, "constant_steps": steps // 2,
                                                     "decay_steps": steps - steps // 2, **options}))
    return DCGAN(DCGAN.config_for(data, **DCGAN_BASE, **options))


def step_costs(part: str, data, options: dict[str, dict], batch_size: int, rounds: int, steps: int
               ) -> tuple[float, dict[str, float]]:
    """(baseline seconds per step, each training's median cost ratio to the baseline within interleaved rounds)."""
    with torch.random.fork_rng(devices=[]):
        models = {name: build(part, data, o, 1000) for name, o in options.items()}
        stream = (data.stream(batch_size, "cpu", flip=True, seed=0) if part == "cyclegan"
                  else BatchStream(data, batch_size, "cpu", flip=True, seed=0))
        return cost_ratios({name: lambda m=m: m.step(stream.next()) for name, m in models.items()}, rounds, steps)


def resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 or [-1, 1] images -> [-1, 1] floats at ``size`` px (antialiased), for the two-sample test."""
    x = to_unit_range(images) if images.dtype == torch.uint8 else images.float()
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)


def centre(images, size: int) -> torch.Tensor:
    x = torch.as_tensor(images[:])
    top = (x.shape[-1] - size) // 2
    return x[..., top:top + size, top:top + size]


def load_results(path: Path) -> list[dict]:
    """The rows of ``path``, the first one per (variant, seed): two processes sharing an --out may both score a run."""
    if not path.is_file():
        return []
    rows: dict[tuple[str, int], dict] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows.setdefault((row["variant"], row["seed"]), row)
    return list(rows.values())


def report(results: list[dict], part: str) -> str:
    def ms(rs: list[dict], key: str, fmt: str) -> str:
        values = [r[key] for r in rs if key in r]
        if not values:
            return "-"
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):{fmt}} ± {sd:{fmt.lstrip('+')}}"

    rows = [r for r in results if r["variant"] != "photos as they are"]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    if part == "cyclegan":
        lines = ["Monet CycleGAN, notebook 06's quick profile (128 px), equal CPU budget; 30 test photos -> Monet "
                 "vs 25 held-out Monets (course translation features); C2ST at 64 px: 250 Monets vs 250 of the "
                 "300 photos, translated or as they are (0.5 = indistinguishable); mean ± std over seeds",
                 "| variant | seeds | steps | FID | KID | C2ST acc, translated | C2ST acc, photos as they are "
                 "| translated - photos, same seed | checkerboard |", "| --- " * 9 + "|"]
        photos = [r for r in results if r["variant"] == "photos as they are"]
        for name in names:
            rs = sorted((r for r in rows if r["variant"] == name), key=lambda r: r["seed"])
            gaps = [{"gap": r["c2st_acc"] - r["c2st_photos_acc"]} for r in rs]
            lines.append(f"| {name} | {len(rs)} ({', '.join(str(r['seed']) for r in rs)}) | {rs[0]['steps']} | "
                         f"{ms(rs, 'fid', '.3f')} | {ms(rs, 'kid', '.4f')} | {ms(rs, 'c2st_acc', '.3f')} | "
                         f"{ms(rs, 'c2st_photos_acc', '.3f')} | {ms(gaps, 'gap', '+.3f')} | "
                         f"{ms(rs, 'checkerboard', '.4f')} |")
        if photos:
            lines.append(f"| photos as they are | - | - | {ms(photos, 'fid', '.3f')} | {ms(photos, 'kid', '.4f')} "
                         f"| - | {ms(photos, 'c2st_acc', '.3f')} | - | {ms(photos, 'checkerboard', '.4f')} |")
        lines.append("")
        if rows and "kid_floor" in rows[0]:
            lines.append(f"real-vs-real floor: FID {rows[0]['fid_floor']:.3f}, KID {rows[0]['kid_floor']:.4f}")
        # the target, seed by seed: translations clearly closer to Monet than the photos, by both measures:
        # KID lower by a tenth, C2ST lower by more than twice the photos' spread over seeds (an untrained
        # residual generator returns the photos, and must not count by a rounding error)
        margin = 2 * statistics.stdev(r["c2st_acc"] for r in photos) if len(photos) > 1 else 0.0
        for name in names:
            rs = sorted((r for r in rows if r["variant"] == name), key=lambda r: r["seed"])
            wins = sum(r["kid"] < 0.9 * r["kid_photos"] and r["c2st_acc"] < r["c2st_photos_acc"] - margin for r in rs)
            lines.append(f"{name}: translations clearly closer to Monet than the photos by both KID and C2ST in "
                         f"{wins} of {len(rs)} seeds")
        return "\n".join(lines)
    lines = ["Monet 64 px DCGAN (notebook 06's simple GAN), equal CPU budget; FID/KID: Monet painting features, "
             "samples vs the 25 held-out paintings; C2ST: 250 paintings vs 250 samples; mean ± std over seeds",
             "| variant | seeds | steps | FID | KID | C2ST acc (0.5 best) | checkerboard |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    base_kid = None
    for name in names:
        rs = sorted((r for r in rows if r["variant"] == name), key=lambda r: r["seed"])
        base_kid = statistics.mean(r["kid"] for r in rs) if name == "baseline" else base_kid
        lines.append(f"| {name} | {len(rs)} ({', '.join(str(r['seed']) for r in rs)}) | {rs[0]['steps']} | "
                     f"{ms(rs, 'fid', '.3f')} | {ms(rs, 'kid', '.4f')} | {ms(rs, 'c2st_acc', '.3f')} | "
                     f"{ms(rs, 'checkerboard', '.4f')} |")
    lines.append("")
    if base_kid:
        lines.append("mean KID relative to the baseline's mean on the same seeds: " + ", ".join(
            f"{n} {relative_kid(rows, n):+.0%}" for n in names))
        lines.append("KID relative to the baseline of the same seed, and on how many seeds it is lower: " + ", ".join(
            paired_kid(rows, n) for n in names if n != "baseline"))
    if rows and "kid_floor" in rows[0]:
        lines.append(f"real-vs-real floor: FID {rows[0]['fid_floor']:.3f}, KID {rows[0]['kid_floor']:.4f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=("cyclegan", "dcgan"), default="cyclegan")
    p.add_argument("--base-steps", type=int, default=0, help="the baseline's steps (default: notebook 06's quick "
                   "profile, 800 for the CycleGAN, 1500 for the DCGAN)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="+", default=None, help="trainings to run (default all; the baseline's cost "
                   "per step is measured in any case)")
    p.add_argument("--policy", default="color,translation,cutout", help="the DiffAugment policy")
    p.add_argument("--ema", type=float, default=0.0, help="EMA half-life in images (default 1000 for the dcgan "
                   "part, 100 for the cyclegan part: batch 1, so 100 steps)")
    p.add_argument("--out", type=Path, default=None, help="default runs/benchmarks/monet_<part>")
    p.add_argument("--quick", action="store_true", help="a few steps per run, one seed: checks that everything runs")
    p.add_argument("--report", action="store_true", help="print the table from <out>/results.jsonl and stop")
    args = p.parse_args()
    args.out = args.out or Path(f"runs/benchmarks/monet_{args.part}")
    cyclegan = args.part == "cyclegan"
    args.ema = args.ema or (100.0 if cyclegan else 1000.0)
    base_steps = args.base_steps or (CYCLEGAN_STEPS if cyclegan else DCGAN_STEPS)
    if args.quick:
        base_steps, args.seeds, args.out = 6, [0], args.out.with_name(args.out.name + "_quick")
    results_path = args.out / "results.jsonl"
    if args.report:
        print(report(load_results(results_path), args.part))
        return

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), load average at start {os.getloadavg()}", flush=True)
    batch_size = 1 if cyclegan else 32
    if cyclegan:
        size = preset("quick")["size"]
        data = load_dataset("monet2photo", size=size)
        evaluator = translation_evaluator(data, feature_steps=preset("quick")["feature_steps"], progress=False)
        monets = torch.cat([centre(data.a.images, size), centre(data.preview.a.images, size)])
        photos = torch.cat([centre(data.b.images, size), centre(data.preview.b.images, size)])
        real_c2st = resized(monets, C2ST_SIZE)
        a, b = data.domains
    else:
        data = load_dataset("monet2photo", size=64, domain="monet")
        held_out = load_dataset("monet2photo", "test", size=64, domain="monet")
        evaluator = feature_evaluator(data, test=held_out, n=2000, progress=False)
        real_c2st = resized(torch.cat([torch.as_tensor(data.images[:]), torch.as_tensor(held_out.images[:])]),
                            C2ST_SIZE)
    if data.is_stand_in:
        sys.exit("this benchmark needs the real monet2photo images: set GANCOURSE_DATA (see data/README.md)")
    print(data.describe(), flush=True)

    chosen = trainings(args.part, args.policy, args.ema)  # every cost is measured; --only picks what is trained
    if args.only and not set(args.only) <= set(chosen):
        sys.exit(f"--only: choose among {', '.join(chosen)}")
    steps_file = args.out / "steps.json"
    if steps_file.is_file():  # a continued benchmark keeps the step counts it started with
        saved = json.loads(steps_file.read_text())
        missing = {name: v[0] for name, v in chosen.items() if name not in saved["steps"]}
        if missing:  # a training added later: its cost against the baseline's, measured now side by side
            _, ratios = step_costs(args.part, data, {"baseline": chosen["baseline"][0], **missing}, batch_size,
                                   rounds=5, steps=4)
            for name in missing:
                saved["cost_ratio"][name] = ratios[name]
                saved["steps"][name] = budget_steps(name, saved["base_steps"], ratios[name], args.quick)
            steps_file.write_text(json.dumps(saved))
    else:
        seconds, ratios = step_costs(args.part, data, {k: v[0] for k, v in chosen.items()}, batch_size,
                                     rounds=2 if args.quick else 5, steps=2 if args.quick else 4)
        steps = {name: budget_steps(name, base_steps, r, args.quick) for name, r in ratios.items()}
        saved = {"baseline_s_per_step": seconds, "cost_ratio": ratios, "steps": steps, "base_steps": base_steps}
        steps_file.parent.mkdir(parents=True, exist_ok=True)
        steps_file.write_text(json.dumps(saved))
    steps = saved["steps"]
    print("cost per step relative to the baseline:", {k: round(v, 3) for k, v in saved["cost_ratio"].items()},
          "-> steps:", steps, flush=True)

    results = load_results(results_path)
    done = {(r["variant"], r["seed"]) for r in results}
    results_path.parent.mkdir(parents=True, exist_ok=True)

    def append(row: dict) -> None:
        with open(results_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    photo_scores = {}
    if cyclegan:  # the photos as they are: the same images and protocol as the translations
        photo_scores = evaluator.score(to_unit_range(centre(data.preview.b.images, size)))
        for seed in args.seeds:  # two_sample_accuracy draws the same 250 of the 300 photos, translated or not
            if ("photos as they are", seed) not in done:
                append({"variant": "photos as they are", "seed": seed, "fid": photo_scores["fid"],
                        "kid": photo_scores["kid"], "checkerboard": checkerboard_energy(photos),
                        **two_sample_accuracy(real_c2st, resized(photos, C2ST_SIZE), seed=seed)})
    photo_c2st = {r["seed"]: r["c2st_acc"] for r in load_results(results_path) if r["variant"] == "photos as they are"}

    for seed in args.seeds:  # every variant with seed 0 first, then seed 1, ...
        for name, (options, outputs) in chosen.items():
            if args.only and name not in args.only:
                continue  # the baseline is measured for the step counts, and trained only when named
            todo = {kind: v for kind, v in outputs.items() if (v, seed) not in done}
            if not todo:
                continue
            run_dir = args.out / f"{name.replace(' ', '_')}-seed{seed}"
            seed_everything(seed)
            recipe = build(args.part, data, options, steps[name])
            # the run's own wall time, summed over its resumes: a run that is only scored again keeps it
            train_s = fit(recipe, data, run_dir, Loop(steps=steps[name], batch_size=batch_size, seed=seed, flip=True),
                          progress=False).wall_time
            for kind, variant in todo.items():
                row = {"variant": variant, "seed": seed, "steps": steps[name], "train_s": round(train_s, 1),
                       "options": options, "generator": kind}
                if cyclegan:  # photo -> Monet by the raw generator, or by its EMA (what the recipe translates with)
                    g = recipe.G_BA if kind == "raw" else recipe.directions[f"{b}2{a}"]
                    scores = evaluator(g)
                    translated = evaluator.translate_with(g, to_unit_range(photos))
                    c2st = two_sample_accuracy(real_c2st, resized(translated, C2ST_SIZE), seed=seed)
                    row |= {"kid_photos": photo_scores["kid"], "c2st_photos_acc": photo_c2st[seed],
                            "checkerboard": checkerboard_energy(translated)}
                else:
                    g = recipe.G_ema.model if kind == "ema" else recipe.G
                    fake = sample_generator(g, len(real_c2st), seed=1000 + seed)
                    scores = evaluator.score(fake[: evaluator.n])
                    c2st = two_sample_accuracy(real_c2st, fake, seed=seed)
                    row["checkerboard"] = checkerboard_energy(fake)
                row |= {"fid": scores["fid"], "kid": scores["kid"], "fid_floor": scores.get("fid_floor"),
                        "kid_floor": scores.get("kid_floor"), **c2st, "load": os.getloadavg()[0]}
                append(row)
    print(f"load average at end {os.getloadavg()}")
    print(report(load_results(results_path), args.part))


if __name__ == "__main__":
    main()
