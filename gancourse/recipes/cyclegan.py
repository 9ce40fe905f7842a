"""The CycleGAN recipe (Zhu et al. 2017): unpaired translation between two image domains A and B.

Two generators (``G_AB``: A -> B, ``G_BA``: B -> A) and two PatchGAN discriminators (``D_A`` judges
domain A, ``D_B`` domain B). One ``step`` updates both generators, then both discriminators:

- adversarial (least squares): G_BA(b) should look like A to D_A, G_AB(a) like B to D_B;
- cycle consistency, ``lambda_cycle`` x L1: G_BA(G_AB(a)) = a and G_AB(G_BA(b)) = b. Without it,
  nothing ties the output to the input: any painting D_A accepts would do (notebook 06 shows this);
- identity, ``lambda_identity`` x ``lambda_cycle`` x L1: G_BA(a) = a, G_AB(b) = b, which keeps the
  colours of an image already in the target domain (the reference uses it for Monet <-> photo);
- the discriminators see a history of 50 earlier fakes (:class:`ImagePool`), half of the time, so
  they do not chase only the generators' latest trick (Shrivastava et al. 2017);
- Adam 2e-4 (0.5, 0.999), constant for ``constant_steps`` then linearly to zero over ``decay_steps``
  (:class:`LinearDecayLR`).

With ``monet2photo``, A = Monet and B = photos: photo -> Monet is ``G_BA``.

Beyond the reference: ``residual=True`` makes each ResNet generator change its input instead of drawing a new
image (it starts as the identity). The L1 cycle and identity terms pull a generator back towards the identity
with the same force however close it is, so a residual one needs them weaker (``lambda_identity=0``, a
``lambda_cycle`` near 0.3) or it never leaves its start. ``d_norm`` gives the discriminators a norm of their own
(``"none"``: they see each image's palette, which instance norm hides). ``ema`` keeps an exponential moving
average of both generators (``gancourse.ema``), which is what translates, is scored and is exported.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DATASETS, to_unit_range
from ..ema import EMA, check_ema
from ..losses import get_loss
from ..models.cyclegan import CYCLEGAN_NORMS, GENERATORS, PatchDiscriminator, ResnetGenerator, UnetGenerator
from ..models.dcgan import UPSAMPLES
from .augment import DiffAugment, normalise_policy
from .base import Recipe


class ImagePool:
    """A history of up to ``size`` generated images (Shrivastava et al. 2017; CycleGAN's image buffer).

    ``query(fakes)`` returns a batch of the same shape: while the pool fills, the new images themselves;
    afterwards each image is, with probability 1/2, swapped for a random stored one (which the new image
    replaces in the pool), else returned as is. Random draws use torch's global CPU generator, which
    checkpoints save, so a resumed run draws the same. ``size=0`` disables the pool.
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: torch.Tensor | None = None  # (size, C, H, W), filled up to ``count``
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        if self.images is None:
            self.images = torch.empty((self.size, *images.shape[1:]), dtype=images.dtype, device=images.device)
        out = images.clone()
        for i in range(images.shape[0]):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ()))
                out[i] = self.images[j]
                self.images[j] = images[i]
        return out

    def state_dict(self) -> dict[str, Any]:
        stored = self.images[: self.count].clone() if self.images is not None else torch.empty(0)
        return {"size": self.size, "count": self.count, "images": stored}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size, self.count = int(state["size"]), int(state["count"])
        stored = state["images"]
        if self.count:
            self.images = torch.empty((self.size, *stored.shape[1:]), dtype=stored.dtype, device=stored.device)
            self.images[: self.count] = stored
        else:
            self.images = None


class LinearDecayLR(torch.optim.lr_scheduler.LRScheduler):
    """Learning rate constant for ``constant_steps`` steps, then linearly down to zero over ``decay_steps``.

    CycleGAN's schedule (100 epochs constant + 100 decaying) counted in steps, stepped once per training
    step. ``decay_steps=0`` keeps the rate constant. Its ``state_dict`` (the step count) goes into the
    checkpoint, so a resumed run continues on the same curve.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, constant_steps: int, decay_steps: int,
                 last_epoch: int = -1) -> None:
        if constant_steps < 0 or decay_steps < 0:
            raise ValueError(f"constant_steps and decay_steps must be >= 0, got {constant_steps}, {decay_steps}")
        self.constant_steps, self.decay_steps = constant_steps, decay_steps
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """The multiplier of the base rate for training step ``step`` (0-based)."""
        if not self.decay_steps or step < self.constant_steps:
            return 1.0
        # the reference's rule: the rate would reach zero one step after the last scheduled one
        return max(0.0, 1.0 - (step - self.constant_steps + 1) / (self.decay_steps + 1))

    def get_lr(self) -> list[float]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]


OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class CycleGANConfig:
    """Knobs of the CycleGAN recipe. Defaults are the reference's 256 px setting (a GPU's job)."""

    image_size: int = 256
    channels: int = 3
    domain_a: str = "A"  # names used in grids and for --direction (monet2photo: monet, photo)
    domain_b: str = "B"
    generator: str = "resnet"  # resnet | unet
    ngf: int = 64  # generator width next to the image
    n_blocks: int = 9  # residual blocks (resnet): 9 at 256 px, 6 at 128 px in the reference
    ndf: int = 64  # discriminator width
    d_layers: int = 3  # PatchGAN depth: 3 -> 70x70 patches
    norm: str = "instance"  # instance | batch | none
    # the discriminators' norm, "" for the same as ``norm``; instance norm (the reference) removes each image's
    # own colour and contrast after D's first layer, so "none" lets D judge a translation's palette
    d_norm: str = ""
    use_dropout: bool = False
    # how the resnet decoder doubles its maps: transposed (the reference) | nearest | bilinear (resize + 3x3 conv);
    # the unet keeps its transposed convolutions, so a preset's choice carries over to generator="unet" harmlessly
    upsample: str = "transposed"
    # resnet only: the generators predict a change to their input, tanh(atanh(x) + f(x)), starting at identity
    residual: bool = False
    loss: str = "least-squares"  # the adversarial loss (gancourse.losses)
    lambda_gan: float = 2.0  # LeastSquaresLoss.generator is LSGAN's ½(D-1)²; 2 gives the reference's MSE weight
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # a fraction of lambda_cycle (0.5 -> weight 5); 0 switches it off
    pool_size: int = 50
    optimizer: str = "adam"  # adam (the reference) | rmsprop
    diffaugment: str = ""  # DiffAugment policy for every image D_A and D_B see (gancourse.recipes.augment); "" is off
    # EMA of both generators, which translate, are scored and are exported: a decay per step in (0, 1), or a
    # half-life in images (gancourse.ema); 0 is off
    ema: float = 0.0
    lr: float = 2e-4
    beta1: float = 0.5  # Adam's; RMSprop has no momentum here
    beta2: float = 0.999
    constant_steps: int = 0  # steps at the full learning rate...
    decay_steps: int = 0  # ...then linear decay to zero over this many steps (0: never decay)
    amp: bool = True  # bfloat16 autocast on CUDA, and on a CPU where the recipe's cpu_bf16 allows it

    def __post_init__(self) -> None:
        get_loss(self.loss)
        self.diffaugment = normalise_policy(self.diffaugment)  # fails early on an unknown transform
        check_ema(self.ema)
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {', '.join(GENERATORS)}, got {self.generator!r}")
        if self.upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLES)}, got {self.upsample!r}")
        if self.norm not in CYCLEGAN_NORMS:
            raise ValueError(f"norm must be one of {', '.join(CYCLEGAN_NORMS)}, got {self.norm!r}")
        if self.d_norm not in ("", *CYCLEGAN_NORMS):  # "": the generators' norm
            raise ValueError(f"d_norm must be one of {', '.join(CYCLEGAN_NORMS)}, got {self.d_norm!r}")
        for name in ("lambda_gan", "lambda_cycle", "lambda_identity"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {self.image_size}")

    def make_optimizer(self, parameters) -> torch.optim.Optimizer:
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(parameters, self.lr)
        return torch.optim.Adam(parameters, self.lr, (self.beta1, self.beta2))

    def build_generator(self) -> nn.Module:
        if self.generator == "unet":
            return UnetGenerator(self.channels, self.ngf, norm=self.norm, use_dropout=self.use_dropout,
                                 image_size=self.image_size)
        return ResnetGenerator(self.channels, self.ngf, self.n_blocks, self.norm, self.use_dropout,
                               upsample=self.upsample, residual=self.residual)

    def build_discriminator(self) -> nn.Module:
        return PatchDiscriminator(self.channels, self.ndf, self.d_layers, self.d_norm or self.norm)


class CycleGAN(Recipe):
    name = "cyclegan"
    Config = CycleGANConfig

    @classmethod
    def defaults_for(cls, device: torch.device, dataset: str) -> dict[str, Any]:
        """The reference's batch size 1; on a GPU the reference networks at 256 px, on a CPU the course's
        CPU-sized ones at 128 px (``PRESETS``)."""
        chosen = PRESETS["full" if torch.device(device).type == "cuda" else "quick"]
        sized = dataset in DATASETS and "size" in DATASETS[dataset].options
        return {"batch_size": chosen["batch_size"], "data_options": {"size": chosen["size"]} if sized else {},
                "recipe_options": dict(chosen["recipe"])}

    def __init__(self, config: CycleGANConfig, device: torch.device | str = "cpu") -> None:
        super().__init__(config, torch.device(device))
        c = config
        self.G_AB, self.G_BA = c.build_generator().to(self.device), c.build_generator().to(self.device)
        self.D_A, self.D_B = c.build_discriminator().to(self.device), c.build_discriminator().to(self.device)
        self.modules = {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}
        self.optimizers = {
            "G": c.make_optimizer(itertools.chain(self.G_AB.parameters(), self.G_BA.parameters())),
            "D": c.make_optimizer(itertools.chain(self.D_A.parameters(), self.D_B.parameters())),
        }
        self.schedulers = {k: LinearDecayLR(o, c.constant_steps, c.decay_steps) for k, o in self.optimizers.items()}
        self.pools = {"A": ImagePool(c.pool_size), "B": ImagePool(c.pool_size)}
        self.loss = get_loss(c.loss)
        self.augment = DiffAugment(c.diffaugment)
        self.averages = {"G_AB": EMA(self.G_AB, c.ema), "G_BA": EMA(self.G_BA, c.ema)} if c.ema else {}
        self.preview: dict[str, torch.Tensor] = {}  # held-out uint8 images per domain, from prepare(data)

    @classmethod
    def config_for(cls, data, **overrides: Any) -> CycleGANConfig:
        domains = getattr(data, "domains", None)
        if domains:
            overrides = {"domain_a": domains[0], "domain_b": domains[1]} | overrides
        return super().config_for(data, **overrides)

    # -- the names of things ------------------------------------------------------------------------

    @property
    def directions(self) -> dict[str, nn.Module]:
        """``{"monet2photo": G_AB, "photo2monet": G_BA}`` (with the config's domain names): the generators that
        translate, are scored and are exported, which are their EMAs when ``ema`` is on."""
        a, b = self.config.domain_a, self.config.domain_b
        g_ab, g_ba = ((self.averages["G_AB"].model, self.averages["G_BA"].model) if self.averages
                      else (self.G_AB, self.G_BA))
        return {f"{a}2{b}": g_ab, f"{b}2{a}": g_ba}

    def translator(self, direction: str) -> nn.Module:
        if direction not in self.directions:
            raise ValueError(f"unknown direction {direction!r}; choose one of {', '.join(self.directions)}")
        return self.directions[direction]

    # -- training -----------------------------------------------------------------------------------

    @staticmethod
    def _requires_grad(modules: list[nn.Module], flag: bool) -> None:
        for m in modules:
            for p in m.parameters():
                p.requires_grad_(flag)

    def seen_by_d(self, images: torch.Tensor) -> torch.Tensor:
        """What a discriminator looks at: ``images`` through the DiffAugment policy, or as they are."""
        return self.augment(images) if self.augment else images

    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor
                         ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """(total G loss, its parts, fake A, fake B) for one batch of each domain."""
        c, adversarial = self.config, self.loss.generator

        def l1(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return F.l1_loss(x.float(), target)

        with self.autocast():
            fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
            parts = {"adversarial": adversarial(self.D_B(self.seen_by_d(fake_b)).float())
                     + adversarial(self.D_A(self.seen_by_d(fake_a)).float()),
                     "cycle": l1(self.G_BA(fake_b), real_a) + l1(self.G_AB(fake_a), real_b)}
            total = c.lambda_gan * parts["adversarial"] + c.lambda_cycle * parts["cycle"]
            if c.lambda_identity:
                parts["identity"] = l1(self.G_BA(real_a), real_a) + l1(self.G_AB(real_b), real_b)
                total = total + c.lambda_identity * c.lambda_cycle * parts["identity"]
        return total, parts, fake_a, fake_b

    def discriminator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor,
                             fake_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_A and D_B's losses on real images and on (detached) fakes."""
        see = self.seen_by_d
        with self.autocast():
            return {"A": self.loss.discriminator(self.D_A(see(real_a)).float(), self.D_A(see(fake_a.detach())).float()),
                    "B": self.loss.discriminator(self.D_B(see(real_b)).float(), self.D_B(see(fake_b.detach())).float())}

    def step(self, batch) -> dict[str, float]:
        real_a, real_b = batch.a, batch.b

        # Generators first, with the discriminators frozen (no wasted gradients for them).
        self._requires_grad([self.D_A, self.D_B], False)
        loss_g, parts, fake_a, fake_b = self.generator_losses(real_a, real_b)
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["G"].step()
        for name, average in self.averages.items():
            average.update(self.modules[name], real_a.shape[0])

        # Then the discriminators, on real images and on fakes drawn partly from the history pools.
        self._requires_grad([self.D_A, self.D_B], True)
        loss_d = self.discriminator_losses(real_a, real_b, self.pools["A"].query(fake_a.float()),
                                           self.pools["B"].query(fake_b.float()))
        self.optimizers["D"].zero_grad(set_to_none=True)
        (loss_d["A"] + loss_d["B"]).backward()
        self.optimizers["D"].step()

        lr = self.optimizers["G"].param_groups[0]["lr"]
        for scheduler in self.schedulers.values():
            scheduler.step()
        scalars = {"loss_g": float(loss_g.detach()), "loss_d": float((loss_d["A"] + loss_d["B"]).detach()) / 2,
                   "loss_cycle": float(parts["cycle"].detach())}
        scalars |= {f"loss_{k}": float(v.detach()) for k, v in parts.items() if k != "cycle"}
        return scalars | {"loss_d_a": float(loss_d["A"].detach()), "loss_d_b": float(loss_d["B"].detach()), "lr": lr}

    # -- state: networks and optimisers (base class), plus schedulers and pools -----------------------

    def __deepcopy__(self, memo: dict) -> CycleGAN:
        """A copy with schedulers of its own, in the same state (the memory probe steps one).

        torch's LR schedulers wrap ``optimizer.step`` to check that it runs before theirs; a deep-copied optimizer
        keeps only its state, not that wrapper, so the copied schedulers would warn on their first step that the
        step "has been overridden" (every ``gancourse train --recipe cyclegan`` printed it)."""
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "schedulers"}, memo))
        clone.schedulers = {}
        for name, scheduler in self.schedulers.items():
            optimizer = clone.optimizers[name]
            rates = [group["lr"] for group in optimizer.param_groups]  # a new scheduler resets them
            clone.schedulers[name] = LinearDecayLR(optimizer, scheduler.constant_steps, scheduler.decay_steps)
            clone.schedulers[name].load_state_dict(scheduler.state_dict())
            for group, rate in zip(optimizer.param_groups, rates, strict=True):
                group["lr"] = rate
        return clone

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["schedulers"] = {k: s.state_dict() for k, s in self.schedulers.items()}
        state["pools"] = {k: p.state_dict() for k, p in self.pools.items()}
        if self.averages:
            state["ema"] = {k: average.state_dict() for k, average in self.averages.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        for k, p in self.pools.items():
            p.load_state_dict(state["pools"][k])
        for k, average in self.averages.items():
            average.load_state_dict(state["ema"][k])

    # -- sample grids and translation ---------------------------------------------------------------

    def prepare(self, data) -> None:
        """Keep held-out images of both domains for the sample grids (``fit`` calls this before training).

        ``data.preview`` (the test split, for ``monet2photo``) when the data has one, at its own size if the
        generators take it (they are fully convolutional: a model trained on crops translates whole
        images); else the first training images, centre-cropped to the model's size.
        """
        held_out = getattr(data, "preview", None)
        source = held_out if held_out is not None else data
        size, multiple = self.config.image_size, getattr(self.G_BA, "multiple", 1)
        for key, images in (("A", source.a), ("B", source.b)):
            uint8 = torch.as_tensor(images.images[:64])
            side = uint8.shape[-1]
            if side != size and not (held_out is not None and side % multiple == 0):
                top = (side - size) // 2
                uint8 = uint8[..., top:top + size, top:top + size]
            self.preview[key] = uint8.contiguous()

    def _preview(self, key: str) -> torch.Tensor:
        if key not in self.preview:
            raise RuntimeError("the CycleGAN recipe has no preview images: call recipe.prepare(data) with an "
                               "UnpairedSet first (fit does it)")
        return self.preview[key]

    def fixed_inputs(self, n: int, seed: int = 1234) -> dict[str, torch.Tensor]:
        """``sqrt(n)`` held-out images of each domain: the columns of the sample grids."""
        columns = max(1, int(n**0.5))  # as many as fit puts in a grid row; fewer images are repeated
        a, b = self._preview("A"), self._preview("B")
        return {"a": to_unit_range(a[torch.arange(columns) % len(a)]),
                "b": to_unit_range(b[torch.arange(columns) % len(b)])}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str, batch_size: int = 16) -> torch.Tensor:
        """Float images in [-1, 1] translated by the generator of ``direction`` (eval mode), on the CPU."""
        g = self.translator(direction)
        was_training = g.training
        g.eval()
        out = torch.cat([g(chunk.to(self.device)).float().cpu() for chunk in images.split(batch_size)])
        g.train(was_training)
        return out

    @torch.no_grad()
    def reconstruction_error(self, images: torch.Tensor, direction: str) -> float:
        """Mean L1 (in [-1, 1] units) between ``images`` and their round trip: ``direction``, then back.

        What FID cannot see: whether a translation kept the input's content (0 for a perfect cycle).
        """
        source, _, target = direction.partition("2")
        back = self.translate(self.translate(images, direction), f"{target}2{source}")
        return float((back - images.float().cpu()).abs().mean())

    @torch.no_grad()
    def sample_fixed(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: B images, B -> A, back to B; A images, A -> B, back to A (one column per image)."""
        a, b = self.config.domain_a, self.config.domain_b
        real_a, real_b = inputs["a"], inputs["b"]
        fake_a = self.translate(real_b, f"{b}2{a}")
        fake_b = self.translate(real_a, f"{a}2{b}")
        return torch.cat([real_b, fake_a, self.translate(fake_a, f"{a}2{b}"),
                          real_a, fake_b, self.translate(fake_b, f"{b}2{a}")])

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``n`` translations B -> A (photo -> Monet) of held-out B images, drawn with ``generator``."""
        b = self._preview("B")
        index = torch.randint(len(b), (n,), generator=generator) if generator is not None else torch.arange(n) % len(b)
        a_name, b_name = self.config.domain_a, self.config.domain_b
        return self.translate(to_unit_range(b[index]), f"{b_name}2{a_name}")

    def generator_export(self) -> dict[str, Any]:
        """B -> A (photo -> Monet) as the main generator, so ``load_generator`` returns it; A -> B under ``reverse``.

        With ``ema`` on, the exported weights are the averages'."""
        a, b = self.config.domain_a, self.config.domain_b
        translators = self.directions

        def entry(g: nn.Module, direction: str) -> dict[str, Any]:
            return {"class": type(g).__name__, "config": dict(g.config), "state_dict": g.state_dict(),
                    "direction": direction}

        return {"recipe": self.name, **entry(translators[f"{b}2{a}"], f"{b}2{a}"),
                "reverse": entry(translators[f"{a}2{b}"], f"{a}2{b}"), "ema": bool(self.averages),
                "domains": [a, b], "image_size": self.config.image_size,
                "recipe_config": dataclasses.asdict(self.config)}


# Residual generators, which change the photo instead of redrawing it, with the weak cycle term they need and no
# identity term, discriminators without instance norm (which would hide each image's palette from them) and the
# EMA of both generators (half-life 100 images, i.e. steps, in the quick profile): the first setting whose
# translations a two-sample classifier tells from Monets less often than the photos themselves
# (benchmarks/monet_small_data.py).
CPU_TRANSLATION: dict[str, Any] = {"residual": True, "lambda_cycle": 0.3, "lambda_identity": 0.0, "d_norm": "none"}

# The course's budgets per profile (notebook 06 and benchmarks/cyclegan_cpu.py read them from here):
# ``size`` is the monet2photo data option, ``recipe`` the config overrides, ``steps`` at batch size 1,
# ``evaluations`` the metric evaluations during training, ``feature_steps`` the metric network's training.
PRESETS: dict[str, dict[str, Any]] = {
    # CI: a minute on a CPU, 64 px, a toy generator; shows that everything runs, not what it learns.
    "smoke": {"size": 64, "steps": 30, "batch_size": 1,
              "recipe": {"ngf": 8, "n_blocks": 2, "ndf": 16, "upsample": "nearest", **CPU_TRANSLATION, "ema": 10.0},
              "evaluations": 1, "feature_steps": 20},
    # A student's CPU: 128 px, a small ResNet generator, 1000 steps in a few minutes. Its decoder resizes then
    # convolves: the transposed convolutions' checkerboard is gone at no loss of KID or two-sample accuracy;
    # DiffAugment in the discriminators did not help at this budget (benchmarks/monet_small_data.py). Its 1000
    # steps cost about what the reference's 800 did (timings: docs/performance.md, "CycleGAN on a CPU").
    "quick": {"size": 128, "steps": 1000, "batch_size": 1,
              "recipe": {"ngf": 16, "n_blocks": 6, "ndf": 32, "upsample": "nearest", **CPU_TRANSLATION, "ema": 100.0},
              "evaluations": 8, "feature_steps": 300},
    # A GPU: the reference networks at 256 px (9 blocks), ~37 passes over the 270 photos.
    "full": {"size": 256, "steps": 10000, "batch_size": 1, "recipe": {"ngf": 64, "n_blocks": 9, "ndf": 64},
             "evaluations": 10, "feature_steps": 300},
}

