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
- b128 / b32 / b16: batch 128 / 32 / 16 (fewer / more steps for the same CPU time);
- lr2e-4: Adam at 2e-4 for both players (GANConfig's default); ttur: lr_g 2e-4, lr_d 6e-4; lr1e-3: 1e-3 for both;
  beta0: Adam's beta1 = 0 (BigGAN's) instead of 0.5;
- decay: both learning rates fall linearly to zero over the second half of the run;
- w48: width 48 in G and D; d64: width 64 in D only; g48: width 48 in G only;
- sn: spectral norm in D instead of batch norm (``d_norm="spectral"``, Miyato et al. 2018); hinge-sn: that and
  the hinge loss (SNGAN's discriminator);
- pack2 / pack4: D judges 2 / 4 samples at once (PacGAN);
- bf16: the steps under bfloat16 autocast (``GANCOURSE_CPU_BF16=1``; the CPU must have AVX512_BF16 or AMX, else
  the benchmark stops): its cost ratio gives it more steps for the same CPU time, so the table says whether the
  faster arithmetic buys quality or loses it.

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
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --report --ema 5000 \
        --only today sn+b32+beta0                                 # those rows, the raw G and the 5k EMA only
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --seeds 0 \
        --only today "sn+b32+beta0 ema5k" --grid digits.jpg       # 16 digits of each finished run, same noise
    GANCOURSE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/mnist_budget.py --quick      # a 2-minute check

Results are appended to ``--results`` (JSON lines) as each run finishes; a rerun skips the runs already
there, so the benchmark can be stopped, continued and run as two processes with different ``--only``
(measure the steps first with ``--measure-only``), and ``--report`` prints the table from that file alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from step_costs import cost_ratios  # noqa: E402  (benchmarks/, the script's own folder)

from gancourse.checkpoints import load_training_checkpoint  # noqa: E402
from gancourse.data import BatchStream, ImageSet, load_dataset, to_unit_range  # noqa: E402
from gancourse.devices import cpu_bf16_supported, seed_everything  # noqa: E402
from gancourse.ema import EMA  # noqa: E402
from gancourse.engine.sampling import sample_generator  # noqa: E402
from gancourse.engine.training import Loop, fit  # noqa: E402
from gancourse.metrics import Evaluator, evaluator_for  # noqa: E402
from gancourse.metrics.scores import fid_from_features, kid_from_features, modes_covered  # noqa: E402
from gancourse.recipes import DCGAN  # noqa: E402
from gancourse.runs import RunDir  # noqa: E402
from gancourse.viz.plots import grid_image  # noqa: E402

TODAY = {"lr_g": 5e-4, "lr_d": 5e-4, "beta1": 0.5}  # notebook 01's RunSpec recipe_options
PARTS: dict[str, dict] = {  # "batch" is the batch size, "decay" the LR schedule, everything else a GANConfig option
    "today": {}, "nearest": {"upsample": "nearest"},
    "b128": {"batch": 128}, "b32": {"batch": 32}, "b16": {"batch": 16},
    "lr2e-4": {"lr_g": 2e-4, "lr_d": 2e-4}, "ttur": {"lr_g": 2e-4, "lr_d": 6e-4},
    "lr1e-3": {"lr_g": 1e-3, "lr_d": 1e-3}, "beta0": {"beta1": 0.0}, "decay": {"decay": 0.5},
    "w48": {"g_width": 48, "d_width": 48}, "d64": {"d_width": 64}, "g48": {"g_width": 48},
    "sn": {"d_norm": "spectral"}, "hinge-sn": {"loss": "hinge", "d_norm": "spectral"},
    "pack2": {"pack": 2}, "pack4": {"pack": 4}, "bf16": {},  # bf16: the arithmetic (bf16_steps), no option
}
# Parts that change only numbers the step uses, not the work it does: a training costs what it costs without them.
COST_FREE = ("lr2e-4", "ttur", "lr1e-3", "beta0", "decay")


def cost_twin(name: str) -> str:
    """The training whose cost per step ``name`` shares: ``name`` without its COST_FREE parts."""
    return "+".join(part for part in name.split("+") if part not in COST_FREE) or "today"


@contextlib.contextmanager
def bf16_steps(name: str) -> Iterator[None]:
    """Steps inside this block run under CPU bfloat16 autocast when ``name`` has the ``bf16`` part (the recipe asks
    ``gancourse.devices.autocast`` at every step, which reads ``GANCOURSE_CPU_BF16``), in fp32 otherwise."""
    wanted = "bf16" in name.split("+")
    if wanted and not cpu_bf16_supported():
        sys.exit("the bf16 trainings need a CPU with AVX512_BF16 or AMX; this one has neither")
    before = os.environ.get("GANCOURSE_CPU_BF16")
    os.environ["GANCOURSE_CPU_BF16"] = "1" if wanted else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["GANCOURSE_CPU_BF16"]
        else:
            os.environ["GANCOURSE_CPU_BF16"] = before


def training_options(name: str) -> tuple[dict, int, float]:
    """(GANConfig options, batch size, LR-decay fraction) of a training name such as ``nearest+b128``."""
    merged: dict = {}
    for part in name.split("+"):
        if part not in PARTS:
            sys.exit(f"unknown training {part!r}: choose from {', '.join(PARTS)} (combine with +)")
        merged |= PARTS[part]
    batch, decay = merged.pop("batch", 64), merged.pop("decay", 0.0)
    return {**TODAY, **merged}, batch, decay


class TrackedDCGAN(DCGAN):
    """DCGAN that also keeps EMAs of G at several half-lives, checkpointed with it (so a resume is exact), and
    optionally decays both learning rates linearly to zero over the last ``decay`` fraction of ``total_steps``."""

    def __init__(self, config, half_lives: list[float], decay: float = 0.0, total_steps: int = 0) -> None:
        super().__init__(config)
        self.extra_emas = {h: EMA(self.G, h) for h in half_lives}
        self.decay, self.total_steps = decay, total_steps

    def step(self, batch):
        if self.decay:  # the rate follows the steps taken, which DCGAN's checkpointed counters give: resume is exact
            taken = self.extra_state["d_updates"] + self.extra_state["d_skipped"]
            factor = min(1.0, (self.total_steps - taken) / (self.decay * self.total_steps))
            for opt, lr in ((self.optimizers["G"], self.config.lr_g), (self.optimizers["D"], self.config.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        return super().step(batch)

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


def _bf16_step(name: str, model: DCGAN, stream: BatchStream) -> None:
    with bf16_steps(name):
        model.step(stream.next())


def step_costs(data: ImageSet, names: list[str], rounds: int, steps: int) -> tuple[float, dict[str, float]]:
    """CPU seconds per step of ``today`` (median over rounds) and each training's median cost ratio to it
    within a round, all measured in interleaved rounds in this process (one thread)."""
    names = ["today"] + [n for n in names if n != "today"]
    with torch.random.fork_rng(devices=[]):
        steppers = {}
        for name in names:
            options, batch, _ = training_options(name)
            model, stream = DCGAN(DCGAN.config_for(data, **options)), BatchStream(data, batch, "cpu", seed=0)
            steppers[name] = lambda m=model, s=stream, n=name: _bf16_step(n, m, s)
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


def finished_generator(run_dir: Path, name: str, half_life: float | None, data: ImageSet) -> nn.Module:
    """G of a finished run (or its EMA at ``half_life``), rebuilt from the run's last checkpoint, in eval mode."""
    options, _, _ = training_options(name)
    recipe = TrackedDCGAN(DCGAN.config_for(data, **options), [half_life] if half_life else [])
    recipe.load_state_dict(load_training_checkpoint(RunDir(run_dir).last_checkpoint)["recipe"])
    return (recipe.extra_emas[half_life].model if half_life else recipe.G).eval()


def sample_grid(variants: list[str], seed: int, tag: str, out: Path, data: ImageSet, picture: Path) -> None:
    """One row of 16 digits per variant (``name`` or ``name ema<k>k``), the same noise in every row, and a row of
    real training digits on top."""
    import matplotlib.pyplot as plt

    rows = {"real training digits": to_unit_range(torch.as_tensor(data.images[:16]))}
    for variant in variants:
        name, _, ema = variant.partition(" ema")
        half_life = float(ema.rstrip("k")) * 1000 if ema else None
        g = finished_generator(out / f"{name}-{tag}-seed{seed}", name, half_life, data)
        rows[f"{variant} (seed {seed})"] = sample_generator(g, 16, seed=1000 + seed)
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 0.75 * len(rows) + 0.3))
    for ax, (title, images) in zip(axes, rows.items(), strict=True):
        ax.imshow(grid_image(images, nrow=16))
        ax.set_title(title, fontsize=8, loc="left", pad=2)
        ax.axis("off")
    fig.tight_layout(pad=0.2)
    picture.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(picture, dpi=110)
    print(f"wrote {picture}")


def load_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(results: list[dict], budget: str, trainings: list[str] | None = None,
           half_lives: list[float] | None = None) -> str:
    """The table of ``results`` at ``budget``: every variant, or those of ``trainings``, with the raw G and the EMAs
    of G at ``half_lives`` (default: every EMA)."""
    rows = [r for r in results if r["budget"] == budget
            and (not trainings or r["variant"].partition(" ema")[0] in trainings)
            and (half_lives is None or r["ema"] is None or r["ema"] in half_lives)]
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
    p.add_argument("--only", nargs="+", default=None, help=f"trainings to run ({', '.join(PARTS)}, combined with +; "
                   "default: today nearest); with --report, the trainings whose rows to show (default: all)")
    p.add_argument("--ema", type=float, nargs="*", default=None,
                   help="EMA half-lives in images kept beside every run (default 5k 10k 20k 50k 100k); with --report, "
                   "the EMA rows to show (default: all)")
    p.add_argument("--out", type=Path, default=Path("runs/benchmarks/mnist_budget"))
    p.add_argument("--results", type=Path, default=None, help="JSON lines file (default <out>/results.jsonl)")
    p.add_argument("--measure-only", action="store_true", help="measure the step counts of --only and stop")
    p.add_argument("--quick", action="store_true", help="3 CPU-seconds per run, one seed: checks that everything runs")
    p.add_argument("--report", action="store_true", help="print the table from --results and stop")
    p.add_argument("--grid", type=Path, default=None, help="draw 16 digits of each of --only (a name, or 'name "
                   "ema10k') from the finished runs of the first of --seeds, same noise in every row, into this file")
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
        print(report(load_results(results_path), label, args.only, args.ema))
        return
    if args.grid:
        sample_grid(args.only or ["today"], args.seeds[0], tag, args.out, train, args.grid)
        return
    args.only = args.only or ["today", "nearest"]
    args.ema = [5_000, 10_000, 20_000, 50_000, 100_000] if args.ema is None else args.ema

    steps_file = args.out / f"steps-{tag}.json"
    saved = json.loads(steps_file.read_text()) if steps_file.is_file() else {}
    missing = [n for n in args.only if n not in saved.get("steps", {})]
    if missing:  # a continued benchmark keeps the step counts it started with; new trainings are added
        to_measure = list(dict.fromkeys(cost_twin(n) for n in missing if cost_twin(n) not in saved.get("ratios", {})))
        base_cost, ratios = (step_costs(train, to_measure, rounds=2 if args.quick else 5, steps=2 if args.quick else 6)
                             if to_measure or not saved else (saved["today_cpu_s_per_step"], {}))
        if not saved:
            today_steps = args.base_steps or max(1, round(args.budget / base_cost))
            saved = {"today_cpu_s_per_step": base_cost, "today_steps": today_steps, "ratios": {}, "steps": {}}
        saved["ratios"] |= {name: ratios[name] for name in to_measure}  # today's steps stay those measured first
        for name in missing:
            saved["ratios"][name] = saved["ratios"][cost_twin(name)]
            saved["steps"][name] = max(1, round(saved["today_steps"] / saved["ratios"][name]))
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
            options, batch, decay = training_options(name)
            run_dir = args.out / f"{name}-{tag}-seed{seed}"
            seed_everything(seed)
            recipe = TrackedDCGAN(DCGAN.config_for(train, **options), args.ema, decay, steps[name])
            start, cpu = time.perf_counter(), time.process_time()
            with bf16_steps(name):
                fit(recipe, train, run_dir, Loop(steps=steps[name], batch_size=batch, seed=seed), progress=False)
            train_s, train_cpu_s = time.perf_counter() - start, time.process_time() - cpu
            for variant, h in todo.items():
                g = recipe.G if h is None else recipe.extra_emas[h].model
                fake = sample_generator(g, scorer.n, seed=1000 + seed)
                row = {"variant": variant, "seed": seed, "budget": label, "steps": steps[name], "batch": batch,
                       "train_s": round(train_s, 1), "train_cpu_s": round(train_cpu_s, 1), **scorer.score(fake),
                       **scorer.floor, "options": options, "decay": decay, "ema": h, "load": os.getloadavg()[0]}
                with open(results_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    print(f"load average at end {os.getloadavg()}")
    print(report(load_results(results_path), label))


if __name__ == "__main__":
    main()
