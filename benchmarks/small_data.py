"""The small-data toolbox on WikiArt (297 training paintings, 64 px DCGAN) at an equal CPU budget.

Variants of notebook 02's quick-profile DCGAN (width 32, nz 100, batch 32, flips), each changing one
thing, or two for "both":

- baseline: today's defaults;
- +DiffAugment: "color,translation,cutout" on every image D sees, real and fake, in D's and G's updates;
- +EMA: the generator sampled, scored and exported is the EMA of G (half-life ``--ema`` images);
- both: DiffAugment and EMA;
- +R1: gamma ``--r1`` zero-centred gradient penalty on the real images (D without batch norm: a per-image
  gradient penalty needs per-image scores; "D no norm" is the same G and D without the penalty); "lazy R1":
  StyleGAN2's lazy regularisation, R1 on every 16th D update with 16 x gamma;
- R3GAN loss: the relativistic loss with R1 and R2 (gamma ``--r1`` each), D without batch norm, resize-conv G;
- resize-conv: G doubles its maps by nearest-neighbour resizing and a 3x3 convolution (and "+EMA",
  "+DiffAugment" on top of it);
- lr 5e-4, lr_d 4e-4: learning rates (both, or D's alone) instead of 2e-4.

Besides FID, KID and the two-sample test, the samples' energy in patterns repeating every 2 pixels
(checkerboards) and every 8 pixels (tiles) is reported (``metrics.artifacts``), next to the real paintings':
the course's painting features barely see such tiles, so a low KID alone can hide them.

Equal budget: each variant's cost per step relative to the baseline is measured here first, in interleaved
rounds so that every variant sees the same load (median ratio over rounds), and each run gets the steps that
cost as much as ``--base-steps`` baseline steps (a costlier step buys fewer steps; on a machine shared with
others, a wall-clock budget would hand each run whatever the load left it). The runs themselves are
reproducible step for step. ``--budget SECONDS`` instead fills that many seconds at the rate measured.
Every run is scored on the same held-out paintings by the course's painting feature network (FID, KID;
``n`` = the 103 held-out paintings) and by a classifier two-sample test (``metrics.two_sample``: a small
CNN trained from scratch on real vs generated, 4-fold cross-validated accuracy, 0.5 = indistinguishable;
all 400 real paintings against 400 generated ones). D's accuracy on training vs held-out real paintings at
the end of each run is reported too (103 random training paintings against the 103 held-out ones, from the
run's last checkpoint): their gap is D memorising the training set.

    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/small_data.py              # 300-step budget
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/small_data.py --quick      # a 2-minute check
    # the quick profile's budget, in two processes at once: measure the step counts, then split the variants
    python benchmarks/small_data.py --base-steps 800 --out runs/benchmarks/small_data_800 --rates-only
    python benchmarks/small_data.py --base-steps 800 --out runs/benchmarks/small_data_800 --only baseline +EMA ... &

Results are appended to ``--results`` (JSON lines) as each run finishes; a rerun skips the runs already
there, so the benchmark can be stopped and continued, and ``--report`` prints the table from that file alone.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from same_seeds import paired_kid, relative_kid  # noqa: E402  (benchmarks/, the script's own folder)
from step_costs import cost_ratios  # noqa: E402

from gancourse.data import load_dataset  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.lessons.overfitting import DAccuracyMonitor, read_d_accuracy  # noqa: E402
from gancourse.metrics import feature_evaluator  # noqa: E402
from gancourse.metrics.artifacts import checkerboard_energy  # noqa: E402
from gancourse.metrics.two_sample import two_sample_accuracy  # noqa: E402
from gancourse.recipes import DCGAN  # noqa: E402

BASE = {"g_width": 32, "d_width": 32, "nz": 100}  # notebook 02's quick profile at 64 px
POLICY = "color,translation,cutout"


def variants(ema: float, r1: float) -> dict[str, dict]:
    return {"baseline": {}, "+EMA": {"ema": ema}, "+DiffAugment": {"diffaugment": POLICY},
            "both": {"diffaugment": POLICY, "ema": ema}, "lr 5e-4": {"lr_g": 5e-4, "lr_d": 5e-4},
            "lr_d 4e-4": {"lr_d": 4e-4}, "+R1": {"r1": r1, "d_norm": "none"},
            "resize-conv": {"upsample": "nearest"}, "resize-conv +EMA": {"upsample": "nearest", "ema": ema},
            "+DiffAugment resize-conv": {"diffaugment": POLICY, "upsample": "nearest"},
            "+DiffAugment resize-conv +EMA": {"diffaugment": POLICY, "upsample": "nearest", "ema": ema},
            "resize-conv D no norm": {"upsample": "nearest", "d_norm": "none"},
            "resize-conv +R1": {"upsample": "nearest", "d_norm": "none", "r1": r1},
            "+DiffAugment resize-conv +R1": {"diffaugment": POLICY, "upsample": "nearest", "d_norm": "none", "r1": r1},
            "resize-conv +lazy R1": {"upsample": "nearest", "d_norm": "none", "r1": r1, "penalty_every": 16},
            "+DiffAugment resize-conv +lazy R1": {"diffaugment": POLICY, "upsample": "nearest", "d_norm": "none",
                                                  "r1": r1, "penalty_every": 16},
            "R3GAN loss resize-conv": {"upsample": "nearest", "d_norm": "none", "loss": "relativistic", "r1": r1,
                                       "r2": r1}}


def step_rates(data, options: dict[str, dict], batch_size: int, rounds: int, steps: int) -> dict[str, float]:
    """Steps per second of each variant (the first one is the baseline): the baseline's median rate, divided by
    each variant's median cost ratio to it, measured side by side (``step_costs.cost_ratios``)."""
    from gancourse.data import BatchStream

    with torch.random.fork_rng(devices=[]):
        models = {name: DCGAN(DCGAN.config_for(data, **BASE, **o)) for name, o in options.items()}
        stream = BatchStream(data, batch_size, "cpu", seed=0)
        seconds, ratios = cost_ratios({name: lambda m=m: m.step(stream.next()) for name, m in models.items()},
                                      rounds, steps)
    return {name: 1.0 / (seconds * ratio) for name, ratio in ratios.items()}


TRAINING_OF = {"baseline": "baseline", "+EMA": "baseline", "+DiffAugment": "+DiffAugment", "both": "+DiffAugment",
               "resize-conv +EMA": "resize-conv", "+DiffAugment resize-conv +EMA": "+DiffAugment resize-conv"}


def trainings_of(all_variants: dict[str, dict], ema: float) -> dict[str, tuple[dict, dict[str, str]]]:
    """{training: (recipe options, {generator kind: variant})}. EMA changes nothing in training (no randomness, no
    effect on G or D), so a variant and its EMA twin (``TRAINING_OF``) are one run with EMA on: its raw G gives
    the variant, its EMA G the twin, at the same steps."""
    twins = {training: name for name, training in TRAINING_OF.items() if name != training}
    return {name: ({**options, "ema": ema} if name in twins else options,
                   {"raw": name, **({"ema": twins[name]} if name in twins else {})})
            for name, options in all_variants.items() if TRAINING_OF.get(name, name) == name}


def run_dir_of(out: Path, training: str, label: str, seed: int | str) -> Path:
    """Where a training's run with ``seed`` at budget ``label`` lives in ``out``."""
    return out / f"{training}-{label.replace(' ', '_')}-seed{seed}"


def finished_recipe(run) -> DCGAN:
    """The recipe of a finished run, from its last checkpoint; building it leaves the global RNG as it was."""
    from gancourse.checkpoints import load_checkpoint

    with torch.random.fork_rng(devices=[]):
        recipe = DCGAN(DCGAN.Config(**run.read_config()["recipe_config"]))
    recipe.load_state_dict(load_checkpoint(run.last_checkpoint)["recipe"])
    return recipe


def final_d_accuracy(out: Path, label: str, paintings, held_out) -> dict[tuple[str, int], dict[str, float]]:
    """D's accuracy at the end of every finished run in ``out``: 103 random training paintings against the 103
    held-out ones (``overfitting.same_size_subsets``), from each run's last checkpoint. Keyed by (training, seed)."""
    from gancourse.lessons.overfitting import d_real_accuracy, same_size_subsets
    from gancourse.runs import RunDir

    train_images, held_images = same_size_subsets(paintings.images, held_out.images, n=len(held_out))
    found = {}
    suffix = run_dir_of(out, "", label, "").name  # between a run's training and its seed
    for run_dir in sorted(out.glob(f"*{suffix}*")):
        run = RunDir(run_dir)
        if not run.generator_path.is_file():
            continue  # unfinished
        name, seed = run_dir.name.rsplit(suffix, 1)
        recipe = finished_recipe(run)
        scores = found[(name, int(seed))] = {"d_acc_train": d_real_accuracy(recipe, train_images),
                                             "d_acc_held_out": d_real_accuracy(recipe, held_images)}
        for kind, g in (("raw", recipe.G), ("ema", recipe.G_ema.model if recipe.G_ema is not None else None)):
            if g is not None:  # the share of the samples' detail in period-2 grids and period-8 tiles
                fake = sample_generator(g, 256, seed=1000 + int(seed))
                scores[f"checkerboard_{kind}"] = checkerboard_energy(fake)
                scores[f"tiles_{kind}"] = checkerboard_energy(fake, period=8)
    return found


def sample_grid(out: Path, label: str, names: list[str], path: Path, real: torch.Tensor, seed: int = 0,
                per_row: int = 8) -> None:
    """One row of samples per variant (its run with ``seed``; the EMA of G for an "+EMA" variant), the same
    latent vectors in every row, real paintings on top, saved as a PNG: the pictures behind the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    from gancourse.data import to_unit_range
    from gancourse.runs import RunDir

    rows = [("held-out paintings", to_unit_range(torch.as_tensor(real[:per_row])))]
    for name in names:
        training = TRAINING_OF.get(name, name)
        run = RunDir(run_dir_of(out, training, label, seed))
        if not run.generator_path.is_file():
            continue
        recipe = finished_recipe(run)
        g = recipe.G_ema.model if training != name else recipe.G  # an EMA twin samples its run's EMA of G
        rows.append((name, sample_generator(g, per_row, seed=1000 + seed)))
    fig, axes = plt.subplots(len(rows), 1, figsize=(per_row * 1.1, len(rows) * 1.25))
    for ax, (name, images) in zip(axes, rows, strict=True):
        ax.imshow(make_grid(images.clamp(-1, 1) * 0.5 + 0.5, nrow=per_row, padding=2).permute(1, 2, 0).numpy())
        ax.set_title(name, fontsize=9, loc="left")
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, **({"pil_kwargs": {"quality": 85}} if path.suffix in (".jpg", ".jpeg") else {}))
    print(f"samples of seed {seed}: {path}")


def load_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def budget_label(args: argparse.Namespace) -> str:
    return f"{args.budget:g} s" if args.budget else f"{args.base_steps} baseline steps"


def report(results: list[dict], budget: str, real_grid: dict[int, float], d_final: dict | None = None) -> str:
    """The markdown table; ``real_grid``: the held-out paintings' checkerboard energy by period (2 and 8)."""
    rows = [r for r in results if r["budget"] == budget]
    if d_final:  # D's final accuracies on random subsets (see final_d_accuracy) replace those logged during runs
        rows = [{**r, **d_final.get((TRAINING_OF.get(r["variant"], r["variant"]), r["seed"]), {})} for r in rows]
        for r in rows:
            r["checkerboard"] = r.get(f"checkerboard_{r.get('generator', 'raw')}", float("nan"))
            r["tiles"] = r.get(f"tiles_{r.get('generator', 'raw')}", float("nan"))
    canonical = list(variants(0.0, 0.0))  # the table keeps the order variants() lists them in
    names = sorted(dict.fromkeys(r["variant"] for r in rows),
                   key=lambda n: canonical.index(n) if n in canonical else len(canonical))
    lines = [f"WikiArt Impressionism 64 px DCGAN, equal CPU budget per run: the time of {budget} (each variant's "
             "steps by its cost per step measured side by side); mean ± std over seeds",
             "| variant | seeds | steps | FID | KID | C2ST acc (0.5 best) | D acc train | D acc held-out "
             "| checkerboard (period 2) | tiles (period 8) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    base_kid = None
    for name in names:
        rs = [r for r in rows if r["variant"] == name]

        def ms(key: str, fmt: str, rs=rs) -> str:
            values = [r[key] for r in rs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):{fmt}} ± {sd:{fmt}}"

        kid = statistics.mean(r["kid"] for r in rs)
        base_kid = kid if name == "baseline" else base_kid
        # a relativistic D scores differences between reals and fakes: the sign of one logit means nothing
        relativistic = rs[0].get("options", {}).get("loss") == "relativistic"
        d_acc = "– | –" if relativistic else f"{ms('d_acc_train', '.2f')} | {ms('d_acc_held_out', '.2f')}"
        lines.append(f"| {name} | {len(rs)} ({', '.join(str(r['seed']) for r in rs)}) | {rs[0]['steps']} | "
                     f"{ms('fid', '.3f')} | {ms('kid', '.4f')} | {ms('c2st_acc', '.3f')} | {d_acc} | "
                     f"{ms('checkerboard', '.4f') if all('checkerboard' in r for r in rs) else '-'} | "
                     f"{ms('tiles', '.4f') if all('tiles' in r for r in rs) else '-'} |")
    lines.append("")  # ends the markdown table
    if base_kid:
        lines.append("mean KID relative to the baseline's mean on the same seeds: " + ", ".join(
            f"{n} {relative_kid(rows, n):+.0%}" for n in names))
        lines.append("KID relative to the baseline of the same seed (same data order), and on how many seeds it is "
                     "lower: " + ", ".join(paired_kid(rows, n) for n in names if n != "baseline"))
    floor = rows[0].get("kid_floor") if rows else None
    if floor is not None:
        lines.append(f"real-vs-real floor: FID {rows[0]['fid_floor']:.3f}, KID {floor:.4f} (103 vs 103 paintings); "
                     f"the held-out paintings' energy at period 2: {real_grid[2]:.4f}, at period 8: {real_grid[8]:.4f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=0.0, help="seconds of training per run at the rate measured "
                   "at the start (default: use --base-steps)")
    p.add_argument("--base-steps", type=int, default=300,
                   help="the budget as baseline steps: each variant gets the steps that cost as much CPU time, by "
                        "its cost ratio to the baseline measured side by side (robust to a busy machine; default 300)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="+", default=None, help="variant names to run (default all)")
    p.add_argument("--ema", type=float, default=1000.0, help="EMA half-life in images (default 1000)")
    p.add_argument("--r1", type=float, default=0.0256, help="gamma of R1 (and R2): default StyleGAN2-ADA's "
                   "heuristic 0.0002 * resolution^2 / batch = 0.0256 at 64 px, batch 32")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/small_data"))
    p.add_argument("--results", type=Path, default=None, help="JSON lines file (default <out>/results.jsonl)")
    p.add_argument("--quick", action="store_true", help="8 s per run, one seed: checks that everything runs")
    p.add_argument("--rates-only", action="store_true", help="measure the variants' costs per step, write the "
                   "step counts to <out> and stop (then run the variants in parallel with --only)")
    p.add_argument("--grid", type=Path, default=None, help="with --report: also save a PNG of seed 0's samples, "
                   "one row per variant in --grid-variants")
    p.add_argument("--grid-variants", nargs="+", default=["baseline", "+DiffAugment", "resize-conv",
                                                          "resize-conv +R1"])
    p.add_argument("--report", action="store_true", help="print the table from --results (and the finished runs' "
                   "checkpoints in --out) and stop")
    args = p.parse_args()
    if args.quick:
        args.base_steps, args.seeds, args.out = 15, [0], args.out.with_name(args.out.name + "_quick")
    results_path = args.results or args.out / "results.jsonl"

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), load average at start {os.getloadavg()}", flush=True)
    options = {"style": "Impressionism", "size": 64}
    paintings = load_dataset("wikiart", "train", **options)
    held_out = load_dataset("wikiart", "test", **options)
    if paintings.is_stand_in:
        sys.exit("this benchmark needs the real WikiArt paintings: set GANCOURSE_DATA (see data/README.md)")
    print(paintings.describe(), "|", held_out.describe(), flush=True)
    real_grid = {q: checkerboard_energy(torch.as_tensor(held_out.images), period=q) for q in (2, 8)}
    if args.report:
        label = budget_label(args)
        print(report(load_results(results_path), label, real_grid,
                     final_d_accuracy(args.out, label, paintings, held_out)))
        if args.grid:
            sample_grid(args.out, label, args.grid_variants, args.grid, held_out.images)
        return
    evaluator = feature_evaluator(paintings, test=held_out, n=2000, progress=False)
    train_images, held_out_images = torch.as_tensor(paintings.images), torch.as_tensor(held_out.images)
    real_all = torch.cat([train_images, held_out_images])

    chosen = {k: v for k, v in variants(args.ema, args.r1).items() if not args.only or k in args.only}
    steps_file = args.out / f"steps-{budget_label(args).replace(' ', '_')}.json"
    if steps_file.is_file():  # a continued benchmark keeps the step counts it started with
        saved = json.loads(steps_file.read_text())
        rates, steps = saved["rates"], saved["steps"]
        missing = [n for n in chosen if n not in steps]
        if missing and not args.rates_only:
            sys.exit(f"{steps_file} has no step count for {', '.join(missing)}: add them with --rates-only "
                     "(their costs are measured against the baseline's again)")
        if missing:  # new variants join at the same budget: their cost relative to a baseline measured now
            options = {"baseline": variants(args.ema, args.r1)["baseline"]} | {n: chosen[n] for n in missing}
            added = step_rates(paintings, options, args.batch_size, rounds=6, steps=4)
            for name in missing:
                steps[name] = max(1, round(steps["baseline"] * added[name] / added["baseline"]))
                rates[name] = rates["baseline"] * added[name] / added["baseline"]
            steps_file.write_text(json.dumps({"rates": rates, "steps": steps}))
    else:
        rates = step_rates(paintings, chosen, args.batch_size, rounds=2 if args.quick else 6,
                           steps=2 if args.quick else 4)
        base_rate = rates["baseline"] if "baseline" in rates else next(iter(rates.values()))
        seconds = args.budget or args.base_steps / base_rate
        steps = {name: max(1, round(rate * seconds)) for name, rate in rates.items()}
        steps_file.parent.mkdir(parents=True, exist_ok=True)
        steps_file.write_text(json.dumps({"rates": rates, "steps": steps}))
    label = budget_label(args)
    print("steps per second:", {k: round(v, 3) for k, v in rates.items()}, "-> steps:", steps, flush=True)
    if args.rates_only:
        return

    trainings = trainings_of(variants(args.ema, args.r1), args.ema)
    trainings = {k: v for k, v in trainings.items() if any(n in chosen for n in v[1].values())}
    done = {(r["variant"], r["seed"], r["budget"]) for r in load_results(results_path)}
    results_path.parent.mkdir(parents=True, exist_ok=True)
    # the core comparison first, for every seed; then the others
    queue = [(seed, name) for name in trainings for seed in args.seeds]
    for seed, name in queue:
        variant, outputs = trainings[name]
        todo = {kind: v for kind, v in outputs.items() if (v, seed, label) not in done and v in chosen}
        if not todo:
            continue
        run_dir = run_dir_of(args.out, name, label, seed)
        seed_everything(seed)
        recipe = DCGAN(DCGAN.config_for(paintings, **BASE, **variant))
        monitor = DAccuracyMonitor(train_images, held_out_images, every=50)
        # the run's own wall time, summed over its resumes: a finished run that is only scored again keeps it
        train_s = fit(recipe, paintings, run_dir, Loop(steps=steps[name], batch_size=args.batch_size, seed=seed,
                                                       flip=True), hooks=[monitor], progress=False).wall_time
        last = read_d_accuracy(run_dir)[-1]
        generators = {"raw": recipe.G, "ema": recipe.G_ema.model if recipe.G_ema is not None else None}
        for kind, variant_name in todo.items():
            fake = sample_generator(generators[kind], len(real_all), seed=1000 + seed)
            scores = evaluator.score(fake[: evaluator.n])
            c2st = two_sample_accuracy(real_all, fake, seed=seed)
            row = {"variant": variant_name, "seed": seed, "budget": label, "steps": steps[name],
                   "train_s": round(train_s, 1), "fid": scores["fid"], "kid": scores["kid"],
                   "fid_floor": scores.get("fid_floor"), "kid_floor": scores.get("kid_floor"),
                   "precision": scores["precision"], "recall": scores["recall"], **c2st,
                   "d_acc_train": last["d_acc_train"], "d_acc_held_out": last["d_acc_held_out"],
                   "options": variant, "generator": kind, "load": os.getloadavg()[0]}
            with open(results_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print(f"load average at end {os.getloadavg()}")
    print(report(load_results(results_path), label, real_grid, final_d_accuracy(args.out, label, paintings, held_out)))


if __name__ == "__main__":
    main()
