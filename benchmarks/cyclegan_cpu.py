"""CycleGAN on a CPU (notebook 06): training speed at 128 px, and what the quick profile's training buys.

1. Speed: training steps/s of the quick profile's networks (ResNet generator, ngf=16, 6 blocks; PatchGAN,
   ndf=32) at 128 px, batch 1 (one painting + one photo per step), with ``--threads`` CPU threads.
2. Quality: FID and KID of the 30 test photos translated to Monet against the 25 held-out Monets (the
   course's painting features, :func:`gancourse.metrics.translation.translation_evaluator`) after the
   quick profile (1000 steps), beside the untrained generator (the same initial weights), the photos left
   as they are and the real-vs-real floor; and the photo -> Monet -> photo reconstruction error.

The quality run IS notebook 06's quick-profile run (the same ``RunSpec``, so the same run directory
``runs/06_monet_cyclegan/quick-monet2photo-cyclegan-...``): whichever of the two runs first trains it,
the other reuses it, and an interrupted run resumes where it stopped.

    python benchmarks/cyclegan_cpu.py                   # ~4 min on 2 idle cores; seconds if notebook 06
                                                        # already ran its quick profile
    python benchmarks/cyclegan_cpu.py --quick           # ~1 min: 5 timed steps; quality of the smoke profile
                                                        # (64 px, 30 steps: checks the script, learns nothing)
    python benchmarks/cyclegan_cpu.py --time-budget 600 # stop training after 10 min (the lr decay is cut short)
    python benchmarks/cyclegan_cpu.py --run-dir DIR     # score another finished cyclegan run instead
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gancourse.checkpoints import load_checkpoint  # noqa: E402
from gancourse.course.notebook import setup  # noqa: E402
from gancourse.data import load_dataset, to_unit_range  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.engine.experiment import load_run_data, train  # noqa: E402
from gancourse.engine.restore import restore_recipe  # noqa: E402
from gancourse.engine.spec import RunSpec  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.metrics.translation import translation_evaluator  # noqa: E402
from gancourse.recipes.cyclegan import CycleGAN, CycleGANConfig  # noqa: E402
from gancourse.runs import RunDir  # noqa: E402

SPEED_SIZE = 128  # the quick profile's image size


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    load = " | load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads{load}"


def training_speed(steps: int, allow_stand_in: bool) -> tuple[float, str]:
    """(steps/s, data source) of the quick profile's networks at 128 px, after 3 warm-up steps."""
    data = load_dataset("monet2photo", size=SPEED_SIZE, allow_stand_in=allow_stand_in)
    plan = preset("quick")
    seed_everything(0)
    recipe = CycleGAN(CycleGAN.config_for(data, **plan["recipe"]), "cpu")
    stream = data.stream(plan["batch_size"], "cpu", flip=True, seed=0)
    for _ in range(3):
        recipe.step(stream.next())
    start = time.perf_counter()
    for _ in range(steps):
        recipe.step(stream.next())
    return steps / (time.perf_counter() - start), data.source


def trained_run(profile: str, time_budget: float, allow_stand_in: bool, seed: int):
    """(trained recipe, untrained twin, data, run) of notebook 06's run for ``profile`` (trained here if needed)."""
    plan = preset(profile)
    data = load_dataset("monet2photo", size=plan["size"], allow_stand_in=allow_stand_in)
    steps = plan["steps"]
    # exactly the notebook's spec (its default parameters), so the run directory is shared
    spec = RunSpec("monet2photo", "cyclegan", data_options={"size": plan["size"], "curate_every": 0},
                   recipe_options=plan["recipe"] | dict(generator="resnet", optimizer="adam", lr=2e-4), seed=seed,
                   batch_size=plan["batch_size"], flip=True, allow_stand_in=True, steps=steps, time_budget=time_budget,
                   eval_every=max(1, steps // plan["evaluations"]), sample_every=max(1, steps // 10))
    seed_everything(seed)
    untrained = CycleGAN(CycleGAN.config_for(data, **spec.recipe_options), "cpu")
    evaluator = translation_evaluator(data, feature_steps=plan["feature_steps"])
    run_dir = setup(profile, "06_monet_cyclegan", quiet=True).run_for(spec, data.source)
    print(f"training (or resuming) {run_dir}")
    result = train(spec, out=run_dir, data=data, evaluator=evaluator, device="cpu")
    print(f"{result.step} of {steps} steps ({result.stopped_by}), {result.wall_time:.0f} s of training in all")
    return restore_recipe(result.run, "cpu"), untrained, data, evaluator, result.run


def existing_run(path: Path):
    """The same four things for a finished (or checkpointed) cyclegan run directory."""
    run = RunDir(path)
    config = run.read_config()
    if config.get("recipe") != "cyclegan":
        raise SystemExit(f"{path} is not a cyclegan run (recipe {config.get('recipe')!r})")
    data = load_run_data(path)
    recipe_config = CycleGANConfig(**config["recipe_config"])
    seed_everything(config["seed"])
    untrained = CycleGAN(recipe_config, "cpu")
    recipe = CycleGAN(recipe_config, "cpu")
    recipe.load_state_dict(load_checkpoint(run.last_checkpoint)["recipe"])
    feature_steps = 20 if data.is_stand_in else 300
    return recipe, untrained, data, translation_evaluator(data, feature_steps=feature_steps), run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 timed steps; the smoke profile's run for quality")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1),
                        help="torch CPU threads (2: the course's laptop)")
    parser.add_argument("--speed-steps", type=int, default=0, help="timed steps (default: 30, --quick: 5)")
    parser.add_argument("--time-budget", type=float, default=0, metavar="SECONDS",
                        help="stop the quality run's training after this long (0: the profile's full 1000 steps)")
    parser.add_argument("--run-dir", type=Path, default=None, help="score this cyclegan run instead of training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow-stand-in", action="store_true",
                        help="use the generated stand-in when the real monet2photo is missing (figures mean nothing)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")

    steps = args.speed_steps or (5 if args.quick else 30)
    rate, source = training_speed(steps, args.allow_stand_in)
    quick_steps = preset("quick")["steps"]
    print(f"\n1. speed: {rate:.3f} training steps/s ({1 / rate:.2f} s/step) at {SPEED_SIZE} px, batch 1, ResNet "
          f"ngf=16 x 6 blocks + PatchGAN ndf=32, CPU, {args.threads} threads, {steps} timed steps ({source} data); "
          f"the quick profile's {quick_steps} steps: ~{quick_steps / rate / 60:.0f} min\n")

    if args.run_dir is not None:
        recipe, untrained, data, evaluator, run = existing_run(args.run_dir)
    else:
        profile = "smoke" if args.quick else "quick"
        recipe, untrained, data, evaluator, run = trained_run(profile, args.time_budget, args.allow_stand_in,
                                                              args.seed)
    a, b = data.domains
    photos = to_unit_range(data.preview.b.images)
    rows = {"photos as they are": evaluator.score(photos),
            "untrained generator": evaluator(untrained),
            "trained CycleGAN": evaluator(recipe)}
    reconstruction = {"untrained generator": untrained.reconstruction_error(photos, f"{b}2{a}"),
                      "trained CycleGAN": recipe.reconstruction_error(photos, f"{b}2{a}")}
    floor = rows["trained CycleGAN"]
    print(f"\n2. quality of {run.path} ({data.source} data, {recipe.config.image_size} px): "
          f"{len(data.preview.b)} test photos translated {b}2{a} vs {len(data.preview.a)} held-out paintings")
    print(f"   real-vs-real floor: FID {floor['fid_floor']:.3f}, KID {floor['kid_floor']:.4f}")
    print(f"   {'':22s} {'FID':>8s} {'KID':>8s} {'recon L1':>9s}")
    for name, scores in rows.items():
        recon = f"{reconstruction[name]:9.3f}" if name in reconstruction else f"{'-':>9s}"
        print(f"   {name:22s} {scores['fid']:8.3f} {scores['kid']:8.4f} {recon}")
    better = rows["trained CycleGAN"]["kid"] < rows["untrained generator"]["kid"]
    print(f"   trained {'beats' if better else 'does NOT beat'} the untrained generator on KID; "
          f"final sample grid: {run.sample_paths()[-1] if run.sample_paths() else '(none)'}")


if __name__ == "__main__":
    main()
