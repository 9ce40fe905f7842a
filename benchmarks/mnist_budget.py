"""MNIST DCGAN at notebook 01's budget: today's default against the small-data toolbox and other settings.

"300 s of training" is defined as the steps notebook 01's default (``DCGAN.config_for(data, lr_g=5e-4,
lr_d=5e-4, beta1=0.5)``, batch 64) takes in 300 s of CPU time on ONE core of this machine: its cost per step
is measured here, one thread, as process CPU time (so the budget does not depend on what else the machine
runs), median over interleaved rounds. Every other training gets the steps that cost the same CPU time by its
cost ratio to the default measured side by side in the same rounds (small_data.py's ``step_rates``, on CPU
time). The step counts are written to ``<out>/steps-<budget>.json`` so a continued or extended benchmark keeps
them. Notebook 01 itself runs with both cores of a 2-core machine; its quick profile trains 3,000 steps, and
its 4-5 minutes also hold the judge's training, six evaluations and its EMA section, so 300 CPU-s of training
alone is about 3.5 times its training (``--base-steps 3000`` runs its step count instead).

Trainings (``--only``; names combine with ``+``, e.g. ``nearest+b128``):

- today: notebook 01's default (nz 64, width 32, stride-2 transposed convolutions, no EMA, batch 64);
- nearest: G doubles its maps by nearest-neighbour resizing and a 3x3 convolution (``upsample="nearest"``);
- b128 / b32: batch 128 / 32 (fewer / more steps for the same CPU time);
- lr2e-4: Adam at 2e-4 for both players (GANConfig's default); ttur: lr_g 2e-4, lr_d 6e-4;
- w48: width 48 in G and D.

Every training also keeps exponential moving averages of G (``gancourse.ema.EMA``, half-lives ``--ema`` in
images) beside the raw G; they change nothing in training, so one run scores the raw G and each EMA of G at
the same steps (rows "<training> ema<half-life>").

Each generator is scored on 10,000 samples against the 10,000 MNIST test images by two feature networks:

- the course's judge (``metrics.evaluator_for(train, test=test, n=10000)``: a conv net with batch norm and
  average pooling, 128-d features); its FID on the first 2,000 samples against 2,000 test images (the
  notebook's quick-profile ``eval_samples``) is reported too, for comparison with the notebook's numbers;
- a second network of another architecture trained only for this benchmark: a pixel MLP (784-512-256-10,
  ReLU, no convolution, no batch norm), FID and KID in its 256-d penultimate features. It is trained with a
  fixed seed on the 60,000 training digits and cached in ``<out>/pixel_mlp.pt``; its test accuracy is printed.

The real-vs-real floor of both (10,000 training vs the 10,000 test digits) is printed with the table.

    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --measure-only  # steps
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --seeds 0 --only today nearest
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --report
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --quick      # a 2-minute check

Results are appended to ``--results`` (JSON lines) as each run finishes; a rerun skips the runs already
there, so the benchmark can be stopped, continued and run as two processes with different ``--only``
(measure the steps first with ``--measure-only``), and ``--report`` prints the table from that file alone.
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
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from step_costs import cost_ratios  # noqa: E402  (benchmarks/, the script's own folder)

from gancourse.data import BatchStream, ImageSet, load_dataset, to_unit_range  # noqa: E402
from gancourse.devices import seed_everything  # noqa: E402
from gancourse.ema import EMA  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.metrics import Evaluator, evaluator_for  # noqa: E402
from gancourse.metrics.scores import fid_from_features, kid_from_features, modes_covered  # noqa: E402
from gancourse.recipes import DCGAN  # noqa: E402

TODAY = {"lr_g": 5e-4, "lr_d": 5e-4, "beta1": 0.5}  # notebook 01's RunSpec recipe_options
PARTS: dict[str, dict] = {  # "batch" is the batch size, everything else a GANConfig option
    "today": {}, "nearest": {"upsample": "nearest"}, "b128": {"batch": 128}, "b32": {"batch": 32},
    "lr2e-4": {"lr_g": 2e-4, "lr_d": 2e-4}, "ttur": {"lr_g": 2e-4, "lr_d": 6e-4},
    "w48": {"g_width": 48, "d_width": 48},
}


def training_options(name: str) -> tuple[dict, int]:
    """(GANConfig options, batch size) of a training name such as ``nearest+b128``."""
    merged: dict = {}
    for part in name.split("+"):
        if part not in PARTS:
            sys.exit(f"unknown training {part!r}: choose from {', '.join(PARTS)} (combine with +)")
        merged |= PARTS[part]
    batch = merged.pop("batch", 64)
    return {**TODAY, **merged}, batch


class TrackedDCGAN(DCGAN):
    """DCGAN that also keeps EMAs of G at several half-lives, checkpointed with it (so a resume is exact)."""

    def __init__(self, config, half_lives: list[float]) -> None:
        super().__init__(config)
        self.extra_emas = {h: EMA(self.G, h) for h in half_lives}

    def update_ema(self, batch_size: int) -> None:
        super().update_ema(batch_size)
        for e in self.extra_emas.values():
            e.update(self.G, batch_size)

    def state_dict(self) -> dict:
        return super().state_dict() | {"extra_emas": {str(h): e.state_dict() for h, e in self.extra_emas.items()}}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        for h, e in self.extra_emas.items():
            e.load_state_dict(state["extra_emas"][str(h)])


def step_costs(data: ImageSet, names: list[str], rounds: int, steps: int) -> tuple[float, dict[str, float]]:
    """CPU seconds per step of ``today`` (median over rounds) and each training's median cost ratio to it
    within a round, all measured in interleaved rounds in this process (one thread)."""
    names = ["today"] + [n for n in names if n != "today"]
    with torch.random.fork_rng(devices=[]):
        steppers = {}
        for name in names:
            options, batch = training_options(name)
            model, stream = DCGAN(DCGAN.config_for(data, **options)), BatchStream(data, batch, "cpu", seed=0)
            steppers[name] = lambda m=model, s=stream: m.step(s.next())
        return cost_ratios(steppers, rounds, steps, clock=time.process_time)


class PixelMLP(nn.Module):
    """The second feature network: an MLP on raw pixels (no convolution, no batch norm); features are 256-d."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
        self.classifier = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(x))

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        self.eval()
        return torch.cat([self.body(chunk.float()) for chunk in images.split(batch_size)])


def pixel_mlp(train: ImageSet, test: ImageSet, path: Path, epochs: int = 5, seed: int = 0) -> PixelMLP:
    """The pixel MLP trained on all training digits (fixed seed, Adam, cosine-annealed), cached in ``path``."""
    mlp = PixelMLP()
    if path.is_file():
        mlp.load_state_dict(torch.load(path))
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            mlp = PixelMLP()
            x_all, y_all = to_unit_range(torch.as_tensor(train.images)), torch.as_tensor(train.labels)
            opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
            steps = epochs * (len(x_all) // 128)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
            for _ in range(epochs):
                for index in torch.randperm(len(x_all)).split(128)[: len(x_all) // 128]:
                    loss = F.cross_entropy(mlp(x_all[index]), y_all[index])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    schedule.step()
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(mlp.state_dict(), path)
    mlp.eval()
    with torch.no_grad():
        pred = mlp(to_unit_range(torch.as_tensor(test.images))).argmax(1)
    accuracy = float((pred == torch.as_tensor(test.labels)).float().mean())
    print(f"pixel MLP (second feature network) test accuracy {accuracy:.4f}", flush=True)
    return mlp


class Scorer:
    """FID/KID of 10,000 samples by the course's judge and by the pixel MLP, against the 10,000 test digits."""

    def __init__(self, train: ImageSet, test: ImageSet, mlp: PixelMLP, n: int = 10_000) -> None:
        self.judge_eval = evaluator_for(train, test=test, n=n, progress=False)
        assert len(self.judge_eval.real_features) == n, "the judge must use n test images"
        self.judge_2000 = Evaluator(test, self.judge_eval.judge, floor_reference=train, n=2000)
        self.mlp, self.n = mlp, n
        g = torch.Generator().manual_seed(0)
        self.mlp_real = mlp.embed(to_unit_range(torch.as_tensor(test.images)))
        floor_images = to_unit_range(torch.as_tensor(train.images)[torch.randperm(len(train), generator=g)[:n]])
        floor = mlp.embed(floor_images)
        self.floor = {**self.judge_eval.floor, "fid_2000_floor": self.judge_2000.floor["fid_floor"],
                      "mlp_fid_floor": fid_from_features(self.mlp_real, floor),
                      "mlp_kid_floor": kid_from_features(self.mlp_real, floor)}

    def score(self, fake: torch.Tensor) -> dict[str, float]:
        features, pred = self.judge_eval.judge.embed(fake)
        mlp_features = self.mlp.embed(fake)
        return {"fid": fid_from_features(self.judge_eval.real_features, features),
                "kid": kid_from_features(self.judge_eval.real_features, features),
                "fid_2000": fid_from_features(self.judge_2000.real_features, features[:2000]),
                "modes": modes_covered(pred, 10),
                "mlp_fid": fid_from_features(self.mlp_real, mlp_features),
                "mlp_kid": kid_from_features(self.mlp_real, mlp_features)}


def load_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(results: list[dict], budget: str) -> str:
    rows = [r for r in results if r["budget"] == budget]
    names = list(dict.fromkeys(r["variant"] for r in rows))
    lines = [f"MNIST DCGAN, equal CPU budget per run: {budget} (each training's steps by its CPU cost per step "
             "measured side by side); 10,000 samples vs the 10,000 test digits; mean ± std over seeds",
             "| variant | seeds | steps | judge FID | judge KID | MLP FID | MLP KID | judge FID (2,000) | modes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        rs = [r for r in rows if r["variant"] == name]

        def ms(key: str, fmt: str, rs=rs) -> str:
            values = [r[key] for r in rs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):{fmt}} ± {sd:{fmt}}" if len(values) > 1 else f"{values[0]:{fmt}}"

        lines.append(f"| {name} | {len(rs)} ({', '.join(str(r['seed']) for r in rs)}) | {rs[0]['steps']} | "
                     f"{ms('fid', '.2f')} | {ms('kid', '.4f')} | {ms('mlp_fid', '.2f')} | {ms('mlp_kid', '.4f')} | "
                     f"{ms('fid_2000', '.2f')} | {ms('modes', '.0f')} |")
    lines.append("")  # ends the markdown table
    today = {r["seed"]: r for r in rows if r["variant"] == "today"}
    ratios = []
    for n in names:
        rs = {r["seed"]: r for r in rows if r["variant"] == n and r["seed"] in today}
        if n != "today" and rs:  # on the seeds both have, so that a seed's luck does not pass for an effect
            judge, mlp = (statistics.mean(r[k] for r in rs.values()) / statistics.mean(today[s][k] for s in rs)
                          for k in ("fid", "mlp_fid"))
            ratios.append(f"{n} {judge:.2f} / {mlp:.2f}")
    if ratios:
        lines.append("FID relative to today, judge / MLP (mean over the seeds both have): " + ", ".join(ratios))
    if rows:
        f = rows[0]
        lines.append(f"real-vs-real floor (10,000 training vs 10,000 test digits): judge FID {f['fid_floor']:.2f}, "
                     f"KID {f['kid_floor']:.4f}; MLP FID {f['mlp_fid_floor']:.2f}, KID {f['mlp_kid_floor']:.4f}; "
                     f"judge FID on 2,000 vs 2,000 {f['fid_2000_floor']:.2f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=300.0, help="CPU seconds of today's training per run (default "
                   "300); each training gets the steps that cost as much")
    p.add_argument("--base-steps", type=int, default=0, help="instead of --budget: this many steps of today's "
                   "training (e.g. 3000, notebook 01's quick profile), the others by their cost ratios")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="+", default=["today", "nearest"], help=f"trainings to run ({', '.join(PARTS)}, "
                   "combined with +; default: today nearest)")
    p.add_argument("--ema", type=float, nargs="*", default=[5_000, 10_000, 20_000, 50_000, 100_000],
                   help="EMA half-lives in images kept beside every run (default 5k 10k 20k 50k 100k)")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/mnist_budget"))
    p.add_argument("--results", type=Path, default=None, help="JSON lines file (default <out>/results.jsonl)")
    p.add_argument("--measure-only", action="store_true", help="measure the step counts of --only and stop")
    p.add_argument("--quick", action="store_true", help="3 CPU-seconds per run, one seed: checks that everything runs")
    p.add_argument("--report", action="store_true", help="print the table from --results and stop")
    args = p.parse_args()
    if args.quick:
        args.budget, args.seeds, args.out = 3.0, [0], args.out.with_name(args.out.name + "_quick")
    results_path = args.results or args.out / "results.jsonl"
    label = f"{args.base_steps} steps of today" if args.base_steps else f"{args.budget:g} CPU-s of today's step"
    tag = f"{args.base_steps}steps" if args.base_steps else f"{args.budget:g}cpu-s"

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), load average at start {os.getloadavg()}", flush=True)
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    if train.is_stand_in or test.is_stand_in:
        sys.exit("this benchmark needs the real MNIST digits: set GANCOURSE_DATA (see data/README.md)")
    if args.report:
        print(report(load_results(results_path), label))
        return

    steps_file = args.out / f"steps-{tag}.json"
    saved = json.loads(steps_file.read_text()) if steps_file.is_file() else {}
    missing = [n for n in args.only if n not in saved.get("steps", {})]
    if missing:  # a continued benchmark keeps the step counts it started with; new trainings are added
        base_cost, ratios = step_costs(train, missing, rounds=2 if args.quick else 5, steps=2 if args.quick else 6)
        if not saved:
            today_steps = args.base_steps or max(1, round(args.budget / base_cost))
            saved = {"today_cpu_s_per_step": base_cost, "today_steps": today_steps, "ratios": {}, "steps": {}}
        for name in missing:  # today's steps stay those measured first; a new training's ratio is measured now
            saved["ratios"][name] = ratios[name]
            saved["steps"][name] = max(1, round(saved["today_steps"] / ratios[name]))
        saved["steps"]["today"] = saved["today_steps"]
        steps_file.parent.mkdir(parents=True, exist_ok=True)
        steps_file.write_text(json.dumps(saved, indent=1))
    steps = saved["steps"]
    print(f"today: {saved['today_cpu_s_per_step'] * 1000:.1f} CPU-ms per step -> {saved['today_steps']} steps; "
          "cost ratios:", {k: round(v, 3) for k, v in saved["ratios"].items()}, "-> steps:", steps, flush=True)
    if args.measure_only:
        return

    scorer = Scorer(train, test, pixel_mlp(train, test, args.out / "pixel_mlp.pt"))
    print("floors:", {k: round(v, 4) for k, v in scorer.floor.items()}, flush=True)
    done = {(r["variant"], r["seed"], r["budget"]) for r in load_results(results_path)}
    results_path.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.only:
            outputs = {name: None} | {f"{name} ema{h / 1000:g}k": h for h in args.ema}
            todo = {v: h for v, h in outputs.items() if (v, seed, label) not in done}
            if not todo:
                continue
            options, batch = training_options(name)
            run_dir = args.out / f"{name}-{tag}-seed{seed}"
            seed_everything(seed)
            recipe = TrackedDCGAN(DCGAN.config_for(train, **options), args.ema)
            start, cpu = time.perf_counter(), time.process_time()
            fit(recipe, train, run_dir, Loop(steps=steps[name], batch_size=batch, seed=seed), progress=False)
            train_s, train_cpu_s = time.perf_counter() - start, time.process_time() - cpu
            for variant, h in todo.items():
                g = recipe.G if h is None else recipe.extra_emas[h].model
                fake = sample_generator(g, scorer.n, seed=1000 + seed)
                row = {"variant": variant, "seed": seed, "budget": label, "steps": steps[name], "batch": batch,
                       "train_s": round(train_s, 1), "train_cpu_s": round(train_cpu_s, 1), **scorer.score(fake),
                       **scorer.floor, "options": options, "ema": h, "load": os.getloadavg()[0]}
                with open(results_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    print(f"load average at end {os.getloadavg()}")
    print(report(load_results(results_path), label))


if __name__ == "__main__":
    main()
