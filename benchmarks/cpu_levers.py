"""What the CPU levers buy (issue 31): training steps/s under each thread setting, OpenMP wait policy, a busy
neighbour, bf16 autocast, ``channels_last`` and ``torch.compile``, for DCGAN, WGAN-GP and the CPU CycleGAN.

Each setting runs in a fresh process, because the OpenMP runtime reads its environment once, when torch loads.
The networks are the course's (DCGAN and WGAN-GP on 32 px MNIST-sized images, batch 64; CycleGAN with the quick
profile's 128 px networks, batch 1) on random images, so no dataset is needed: speed does not depend on the
pixels. ``--warmup`` steps are timed apart (they hold torch.compile's compilation), then ``--repeats`` rounds of
``--steps`` steps each give the median, min and max steps/s. "steps in budget" is what a ``--budget`` seconds
run would reach, warm-up (compilation) included: the fair comparison for torch.compile.

Loads: ``idle``, or ``busy``: one single-threaded CPU-bound process (``while True: pass``) that this script
starts before the setting's process and kills after it, as a student's browser would take a core.

    python benchmarks/cpu_levers.py --markdown docs/results/cpu_levers.md      # all of it (~15 min on 2 cores)
    python benchmarks/cpu_levers.py --recipes dcgan --levers threads wait      # the thread settings only
    python benchmarks/cpu_levers.py --recipes dcgan wgan-gp --levers bf16 channels_last compile --loads idle
    OMP_NUM_THREADS=1 python benchmarks/cpu_levers.py --steps 3 --repeats 1 --warmup 1 --cores 1   # a check

Levers (each row compares with its lever's first setting, same recipe and load):
- threads: 1 thread, one per usable core (``GANCOURSE_THREADS=auto``), ``adaptive`` (the governor);
- wait: the OpenMP runtime's default (spinning), ``OMP_WAIT_POLICY=PASSIVE``, ``GOMP_SPINCOUNT=0`` alone;
- bf16: fp32, bf16 autocast on the CPU (``GANCOURSE_CPU_BF16=1``; "not supported" without AVX512_BF16/AMX);
- channels_last: default layout, networks and batches in ``torch.channels_last``;
- compile: eager, every network through ``torch.compile``, the generators only (compile time in the warm-up
  column, with an empty compile cache each time; WGAN-GP's gradient penalty, a double backward, cannot run
  compiled).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_time import busy_neighbour  # noqa: E402

from gancourse.cpu_threads import usable_cores  # noqa: E402
from gancourse.data import Batch  # noqa: E402
from gancourse.data.unpaired import UnpairedBatch  # noqa: E402
from gancourse.devices import cpu_bf16_enabled, cpu_bf16_supported, govern_threads, seed_everything  # noqa: E402
from gancourse.lessons.cyclegan_presets import preset  # noqa: E402
from gancourse.recipes import DCGAN, WGANGP, CycleGAN, CycleGANConfig, GANConfig, WGANGPConfig  # noqa: E402

RECIPES = ("dcgan", "wgan-gp", "cyclegan")
LEVERS = ("threads", "wait", "bf16", "channels_last", "compile")
THREAD_LEVERS = ("threads", "wait")  # the ones a busy neighbour is about
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


# -- settings ----------------------------------------------------------------------------------------------------

def settings(lever: str, cores: int) -> list[dict]:
    """The settings of ``lever``, first the baseline: a name, the process's environment, the step's options."""
    all_cores = {"GANCOURSE_THREADS": "auto", "GANCOURSE_CPU_BF16": "0"}  # fp32 unless the bf16 lever says
    if lever == "threads":
        return [_setting("1 thread", {**all_cores, "GANCOURSE_THREADS": "1"}),
                _setting(f"all {cores} cores (auto)", all_cores),
                _setting("adaptive", {**all_cores, "GANCOURSE_THREADS": "adaptive"})]
    if lever == "wait":
        return [_setting("spinning (runtime default)", all_cores),
                _setting("OMP_WAIT_POLICY=PASSIVE", {**all_cores, "GANCOURSE_THREADS": "auto,passive"}),
                _setting("GOMP_SPINCOUNT=0", {**all_cores, "GOMP_SPINCOUNT": "0", "KMP_BLOCKTIME": "0"})]
    if lever == "bf16":
        return [_setting("fp32", all_cores), _setting("bf16 autocast", {**all_cores, "GANCOURSE_CPU_BF16": "1"})]
    if lever == "channels_last":
        return [_setting("default layout", all_cores), _setting("channels_last", all_cores, channels_last=True)]
    if lever == "compile":
        return [_setting("eager", all_cores), _setting("torch.compile", all_cores, compile="all"),
                _setting("torch.compile, generators only", all_cores, compile="generators")]
    raise ValueError(lever)


def _setting(name: str, env: dict[str, str], channels_last: bool = False, compile: str = "") -> dict:
    """``compile``: "" (eager), "all" networks, or "generators" only (WGAN-GP's penalty differentiates D twice,
    which compiled code cannot)."""
    return {"name": name, "env": env, "channels_last": channels_last, "compile": compile}


def child_environment(setting: dict, cores: int) -> dict[str, str]:
    """The parent's environment, less every thread and wait variable, plus the setting's own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GANCOURSE_THREADS", "GANCOURSE_CPU_BF16", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                        "KMP_BLOCKTIME")}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(cores)  # torch's starting count: the cores this benchmark may use (the adaptive ceiling)
    return {**env, **setting["env"]}


# -- one setting, in its own process -----------------------------------------------------------------------------

def build(recipe: str, seed: int) -> tuple[object, list]:
    """(recipe on the CPU, a few random batches to cycle through) for ``recipe``."""
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    if recipe == "cyclegan":
        plan = preset("quick")
        size = plan["size"]
        model = CycleGAN(CycleGANConfig(image_size=size, channels=3, generator="resnet", **plan["recipe"]), "cpu")
        batches = [UnpairedBatch(*(torch.rand(plan["batch_size"], 3, size, size, generator=g) * 2 - 1
                                   for _ in range(2))) for _ in range(4)]
        return model, batches
    config = (GANConfig(image_size=32, channels=1) if recipe == "dcgan"
              else WGANGPConfig(image_size=32, channels=1))
    model = (DCGAN if recipe == "dcgan" else WGANGP)(config, "cpu")
    return model, [Batch(torch.rand(64, 1, 32, 32, generator=g) * 2 - 1, None) for _ in range(4)]


def in_channels_last(batch):
    return type(batch)(*(t.contiguous(memory_format=torch.channels_last) if t is not None and t.dim() == 4 else t
                         for t in batch))


def measure(options: dict) -> dict:
    """Warm-up seconds and steps/s per repeat of one setting (the environment is already this process's)."""
    if options["env"].get("GANCOURSE_CPU_BF16") == "1" and not cpu_bf16_enabled():
        return {"skipped": "not supported (no AVX512_BF16/AMX)"}
    model, batches = build(options["recipe"], options["seed"])
    model.cpu_bf16 = True  # whatever the recipe's default: the setting's GANCOURSE_CPU_BF16 decides
    if options["channels_last"]:
        for module in model.modules.values():
            module.to(memory_format=torch.channels_last)
        batches = [in_channels_last(b) for b in batches]
    if options["compile"]:
        for name, module in model.modules.items():
            if options["compile"] == "all" or name.startswith("G"):
                module.compile()
    count = 0

    def steps(n: int) -> float:
        nonlocal count
        start = time.perf_counter()
        for _ in range(n):
            model.step(batches[count % len(batches)])
            count += 1
            govern_threads()  # the loop's hook (rate-limited inside): only "adaptive" acts on it
        return time.perf_counter() - start

    warmup = steps(options["warmup"])
    rates = [options["steps"] / steps(options["steps"]) for _ in range(options["repeats"])]
    return {"warmup_s": warmup, "rates": rates, "threads_at_end": torch.get_num_threads()}


def run_child(options: dict) -> None:
    try:
        result = measure(options)
    except Exception as error:  # noqa: BLE001 - a lever that fails (compile of a double backward) is a result
        result = {"skipped": f"failed: {type(error).__name__}: {str(error).splitlines()[0][:160]}"}
    print("RESULT " + json.dumps(result))


# -- the parent: every setting in turn -----------------------------------------------------------------------------

def run_setting(options: dict, cores: int, load: str) -> dict:
    """One setting in a fresh process (beside a busy neighbour under load ``busy``): its result."""
    env = child_environment(options, cores)
    with tempfile.TemporaryDirectory() as cache:
        env["TORCHINDUCTOR_CACHE_DIR"] = cache  # compiled from scratch, as on a student's first run
        with busy_neighbour(load == "busy"):
            done = subprocess.run([sys.executable, __file__, "--child", json.dumps(options)], capture_output=True,
                                  text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"skipped": f"crashed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1][len("RESULT "):])


def machine(cores: int) -> str:
    cpu, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and cpu == (platform.processor() or platform.machine()):
                cpu = value.strip()
            if key.strip() == "flags" and not flags:
                flags = set(value.split())
    shown = " ".join(f for f in SHOWN_FLAGS if f in flags) or "none of " + " ".join(SHOWN_FLAGS)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{cpu}; {os.cpu_count()} logical CPUs, {usable_cores()} usable, {cores} used here; flags: {shown}; "
            f"torch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}, "
            f"bf16 {'supported' if cpu_bf16_supported() else 'not supported'}); python {platform.python_version()}; "
            f"load average {load}")


def row(recipe: str, lever: str, setting: dict, load: str, result: dict, base: dict | None, budget: float) -> str:
    cells = [recipe, lever, setting["name"], load]
    if "skipped" in result:
        return "| " + " | ".join([*cells, result["skipped"], "", "", "", "", ""]) + " |"
    rates = result["rates"]
    median = statistics.median(rates)
    ratio = ""
    if base is not None and "rates" in base:
        ratio = f"{median / statistics.median(base['rates']):.2f}x"
    warmup, warmup_s = result["warmup_steps"], result["warmup_s"]
    in_budget = (warmup + (budget - warmup_s) * median if warmup_s <= budget
                 else warmup * budget / warmup_s)  # still compiling when the budget ran out
    return "| " + " | ".join([*cells, f"{median:.2f}", f"{min(rates):.2f}-{max(rates):.2f}", ratio,
                              f"{result['warmup_s']:.1f}", f"{in_budget:.0f}", str(result["threads_at_end"])]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    parser.add_argument("--loads", nargs="+", choices=("idle", "busy"), default=["idle", "busy"],
                        help="busy: with one CPU-bound neighbour (thread and wait levers only)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per setting (median, min, max)")
    parser.add_argument("--warmup", type=int, default=3, help="steps before timing (torch.compile compiles here)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of the budgeted comparison")
    parser.add_argument("--cores", type=int, default=usable_cores(), help="cores the settings may use")
    parser.add_argument("--seed", type=int, default=0, help="seeds the networks and the random images")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(json.loads(args.child))
    if min(args.steps, args.repeats, args.cores) < 1 or args.warmup < 0:
        parser.error("--steps, --repeats and --cores take 1 or more, --warmup 0 or more")

    header = [f"machine: {machine(args.cores)}",
              f"seed {args.seed}; {args.warmup} warm-up steps, then {args.repeats} x {args.steps} timed steps per "
              f"setting, each setting in a fresh process; budget {args.budget:g} s",
              "", "| recipe | lever | setting | load | steps/s (median) | min-max | vs first | warm-up s | "
              f"steps in {args.budget:g} s | threads at end |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    print("\n".join(header), flush=True)
    rows = []
    for recipe in args.recipes:
        for lever in args.levers:
            loads = args.loads if lever in THREAD_LEVERS else ["idle"]
            for load in loads:
                base = None
                for setting in settings(lever, args.cores):
                    options = {**setting, "recipe": recipe, "seed": args.seed, "steps": args.steps,
                               "repeats": args.repeats, "warmup": args.warmup}
                    result = {**run_setting(options, args.cores, load), "warmup_steps": args.warmup}
                    rows.append(row(recipe, lever, setting, load, result, base, args.budget))
                    print(rows[-1], flush=True)
                    base = base or result
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text("\n".join([*header, *rows]) + "\n")
        print(f"table written to {args.markdown}")


if __name__ == "__main__":
    main()
