"""Mode collapse in two dimensions: a ring of 8 and a grid of 25 Gaussians, tiny MLPs, seconds on a CPU.

The image loop (:func:`gancourse.engine.training.fit`) is built for image datasets and run directories; a
2-D toy needs none of that, so it has its own ten-line loop here, with the same losses
(:mod:`gancourse.losses`) and the same idea of packing (PacGAN) as the image recipes. Every sample is
assigned to its nearest centre: it is *high quality* when within 3 standard deviations of it, a mode is
*covered* when it holds at least a fifth of a uniform share of the high-quality samples, and the KL
divergence of that histogram from uniform says how unevenly the modes are visited (Srivastava et al. 2017
and Lin et al. 2018 score their 2-D experiments this way).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn

from ..losses import get_loss
from ..metrics.scores import kl_from_uniform, modes_covered


@dataclass
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane."""

    name: str
    centres: torch.Tensor  # (K, 2)
    std: float

    @property
    def num_modes(self) -> int:
        return len(self.centres)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        which = torch.randint(self.num_modes, (n,), generator=generator)
        return self.centres[which] + self.std * torch.randn(n, 2, generator=generator)


# The papers' modes are narrower (std 0.02 on the ring, 0.05 on the grid) and their GANs train for tens of
# thousands of steps. At 0.1 a tiny MLP lands points within 3 std of the centres in a couple of thousand
# steps (seconds on a CPU), while the modes stay far apart (1.5 on the ring, 2 on the grid).
COURSE_STD = 0.1


def ring(modes: int = 8, radius: float = 2.0, std: float = COURSE_STD) -> Mixture:
    """``modes`` Gaussians evenly spaced on a circle (Metz et al. 2017 use 8, radius 2, std 0.02)."""
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return Mixture(f"ring of {modes}", radius * torch.stack([angles.cos(), angles.sin()], dim=1), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = COURSE_STD) -> Mixture:
    """A ``side`` x ``side`` grid of Gaussians (VEEGAN and PacGAN: 5 x 5 at -4, -2, 0, 2, 4, std 0.05)."""
    axis = (torch.arange(side) - (side - 1) / 2) * spacing
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return Mixture(f"grid of {side * side}", torch.stack([xx.flatten(), yy.flatten()], dim=1), std)


MIXTURES = {"ring": ring, "grid": grid}


def mixture(name: str) -> Mixture:
    if name not in MIXTURES:
        raise ValueError(f"unknown mixture {name!r}; choose one of {', '.join(MIXTURES)}")
    return MIXTURES[name]()


def _mlp(inputs: int, hidden: int, layers: int, outputs: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(inputs if i == 0 else hidden, hidden), activation()]
    return nn.Sequential(*blocks, nn.Linear(hidden, outputs))


class ToyGenerator(nn.Module):
    def __init__(self, nz: int = 2, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.nz = nz
        self.net = _mlp(nz, hidden, layers, 2, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """One logit per point, or per pack of ``pack`` points side by side (PacGAN)."""

    def __init__(self, hidden: int = 128, layers: int = 2, pack: int = 1) -> None:
        super().__init__()
        self.pack = pack
        self.net = _mlp(2 * pack, hidden, layers, 1, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0] // self.pack, 2 * self.pack)).flatten()


@dataclass
class ToyConfig:
    mixture: str = "ring"  # ring (8 modes) | grid (25 modes)
    loss: str = "non-saturating"  # any name in gancourse.losses.LOSSES
    nz: int = 2
    g_hidden: int = 128
    d_hidden: int = 128
    # G learns five times faster than D: G chases whichever region the slow D currently rates highest, so a
    # plain GAN collapses onto a few modes and hops, while packing covers them; with equal rates the plain GAN
    # covers the ring too (docs/results/03_mode_collapse.md).
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    batch_size: int = 256
    pack: int = 1  # PacGAN: D judges `pack` points at once
    steps: int = 2000
    eval_every: int = 100
    eval_samples: int = 2500
    seed: int = 0

    def __post_init__(self) -> None:
        mixture(self.mixture)
        if get_loss(self.loss).relativistic:
            raise ValueError("the toy GAN's step scores fakes alone; the relativistic loss is the dcgan recipe's")
        if self.pack < 1 or self.batch_size % self.pack:
            raise ValueError(f"pack must be >= 1 and divide batch_size {self.batch_size}; got {self.pack}")


@dataclass
class ToyRun:
    config: ToyConfig
    mixture: Mixture
    history: list[dict[str, float]] = field(default_factory=list)  # losses every step, scores every eval_every
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> (n, 2) generated points
    generator: ToyGenerator | None = None

    @property
    def evaluations(self) -> list[dict[str, float]]:
        return [h for h in self.history if "modes" in h]

    @property
    def final(self) -> dict[str, float]:
        return self.evaluations[-1]


def score_points(points: torch.Tensor | np.ndarray, mix: Mixture, n_std: float = 3.0) -> dict[str, float]:
    """Modes covered, share of high-quality points and KL(mode histogram || uniform) for 2-D samples.

    A point counts for its nearest centre when it lies within ``n_std`` standard deviations of it (a
    high-quality point); the mode scores are :mod:`gancourse.metrics.scores`' over those points.
    """
    points = torch.as_tensor(points, dtype=torch.float32)
    nearest, which = torch.cdist(points, mix.centres.float()).min(dim=1)
    good = nearest <= n_std * mix.std
    k = mix.num_modes
    kl = kl_from_uniform(which[good], k) if good.any() else math.log(k)  # no point near a mode: total collapse
    return {"modes": float(modes_covered(which[good], k)), "high_quality": float(good.double().mean()),
            "kl_uniform": kl}


@contextmanager
def _one_thread() -> Iterator[None]:
    # Layers of 128 units are too small to share between threads: two threads spend their time waiting
    # for each other, and one is many times faster (docs/performance.md, "Figures behind code choices").
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_toy(config: ToyConfig | None = None, *, progress: bool = False, snapshot_every: int = 0,
              **overrides) -> ToyRun:
    """Train a tiny GAN on a 2-D mixture; seconds on a CPU (on one thread). Same seed, same run."""
    with _one_thread():
        return _train_toy(config, progress=progress, snapshot_every=snapshot_every, **overrides)


def _train_toy(config: ToyConfig | None, *, progress: bool, snapshot_every: int, **overrides) -> ToyRun:
    from tqdm.auto import tqdm

    config = ToyConfig(**{**asdict(config), **overrides}) if config else ToyConfig(**overrides)
    mix = mixture(config.mixture)
    loss = get_loss(config.loss)
    torch.manual_seed(config.seed)
    g_rng = torch.Generator().manual_seed(config.seed)
    G, D = ToyGenerator(config.nz, config.g_hidden), ToyDiscriminator(config.d_hidden, pack=config.pack)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=(config.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=(config.beta1, 0.999))
    fixed_z = torch.randn(config.eval_samples, config.nz, generator=torch.Generator().manual_seed(config.seed + 1))
    run = ToyRun(config, mix, generator=G)
    snapshot_every = snapshot_every or config.eval_every
    b = config.batch_size

    def evaluate(step: int, record: dict[str, float]) -> None:
        with torch.no_grad():
            points = G(fixed_z)
        record.update(score_points(points, mix))
        if step % snapshot_every == 0 or step == config.steps:
            run.snapshots[step] = points.numpy()

    first: dict[str, float] = {"step": 0}
    evaluate(0, first)
    run.history.append(first)
    for step in tqdm(range(1, config.steps + 1), disable=not progress, desc=f"toy GAN on a {mix.name}",
                     leave=False):
        real = mix.sample(b, g_rng)
        fake = G(torch.randn(b, config.nz, generator=g_rng))
        loss_d = loss.discriminator(D(real), D(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = loss.generator(D(fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        record = {"step": step, "loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach())}
        if step % config.eval_every == 0 or step == config.steps:
            evaluate(step, record)
        run.history.append(record)
    return run


def plot_toy_run(run: ToyRun, count: int = 5, title: str = ""):
    """Generated points (orange) over the mixture's centres at ``count`` steps, then modes and losses per step."""
    import matplotlib.pyplot as plt

    steps = sorted(run.snapshots)
    chosen = [steps[round(i)] for i in np.linspace(0, len(steps) - 1, min(count, len(steps)))]
    fig = plt.figure(figsize=(2.6 * len(chosen), 5.4))
    centres = run.mixture.centres.numpy()
    reach = float(np.abs(centres).max()) * 1.4 + 0.5
    for i, step in enumerate(chosen):
        ax = fig.add_subplot(2, len(chosen), i + 1)
        pts = run.snapshots[step]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.3, color="tab:orange")
        ax.scatter(centres[:, 0], centres[:, 1], s=12, marker="x", color="black")
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"step {step}", fontsize=9)
    ax = fig.add_subplot(2, 1, 2)
    evals = run.evaluations
    ax.plot([e["step"] for e in evals], [e["modes"] for e in evals], "o-", color="tab:green",
            label=f"modes covered (of {run.mixture.num_modes})")
    ax.set_ylabel("modes")
    ax.set_ylim(0, run.mixture.num_modes + 0.5)
    ax.set_xlabel("step")
    twin = ax.twinx()
    losses = [h for h in run.history if "loss_d" in h]
    for key, colour in (("loss_d", "tab:blue"), ("loss_g", "tab:red")):
        values = [h[key] for h in losses]
        window = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        twin.plot([h["step"] for h in losses][window - 1:], smooth, color=colour, alpha=0.6, label=key)
    twin.set_ylabel("loss")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", fontsize=8)
    fig.suptitle(title or f"{run.config.loss} GAN on a {run.mixture.name}, pack={run.config.pack}")
    fig.tight_layout()
    return fig
