"""The DCGAN recipe: one D update, then one G update; the step every adversarial recipe shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data import Batch
from ..ema import EMA, check_ema
from ..losses import get_loss, zero_centred_penalty
from ..models import Discriminator, Generator
from ..models.dcgan import UPSAMPLES
from .augment import DiffAugment, normalise_policy
from .base import Recipe


@dataclass
class GANConfig:
    """Knobs of the adversarial recipes. Defaults: the 2016 DCGAN (batch norm in D, Adam with beta1 0.5) at the
    course's small widths; a run on a dataset of ``MEASURED_DEFAULTS`` starts from its best measured setting."""

    image_size: int = 28
    channels: int = 1
    n_classes: int = 0  # > 0: conditional G and D
    nz: int = 64  # latent size
    g_width: int = 32  # channels next to the image in G; deeper layers double it
    d_width: int = 32
    g_norm: str = "batch"
    d_norm: str = "batch"  # batch | none | spectral | layer
    dropout: float = 0.0  # in D, after every block
    minibatch_std: bool = False
    pack: int = 1  # PacGAN: D judges `pack` samples at once
    loss: str = "non-saturating"  # minimax | non-saturating | least-squares | hinge | wasserstein
    lr_g: float = 2e-4
    lr_d: float = 2e-4  # two time-scale update rule: lr_d > lr_g often helps (Heusel et al. 2017)
    beta1: float = 0.5
    beta2: float = 0.999
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    d_gate: float = 0.0  # > 0: skip D's update while loss_G > d_gate * loss_D (D too far ahead)
    aux_weight: float = 0.0  # > 0: AC-GAN class head in D, this weight on its cross-entropy (recipes that use it: cgan)
    # The small-data toolbox (recipes.augment, gancourse.ema, losses.zero_centred_penalty); all off by default.
    diffaugment: str = ""  # DiffAugment policy for every image D sees, e.g. "color,translation,cutout"
    ema: float = 0.0  # EMA of G, sampled and exported: a decay per step in (0, 1), or a half-life in images
    r1: float = 0.0  # gamma of the R1 penalty: gamma / 2 * E||grad D(real)||^2 added to D's loss
    r2: float = 0.0  # gamma of R2, the same penalty on the fakes (R3GAN: loss="relativistic", r1 = r2)
    # lazy regularisation (StyleGAN2: 16): r1 and r2 on every k-th D update only, weighted k times, so their double
    # backward costs 1/k as much
    penalty_every: int = 1
    upsample: str = "transposed"  # how G doubles its maps: transposed | nearest | bilinear (resize + 3x3 conv)
    amp: bool = True  # bfloat16 autocast on CUDA, and on a CPU where the recipe's cpu_bf16 allows it

    def __post_init__(self) -> None:
        get_loss(self.loss)  # fails early, naming the choices
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.pack < 1:
            raise ValueError(f"pack must be >= 1, got {self.pack}")
        if self.aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0, got {self.aux_weight}")
        self.diffaugment = normalise_policy(self.diffaugment)  # fails early on an unknown transform
        check_ema(self.ema)
        for name in ("r1", "r2"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.penalty_every < 1:
            raise ValueError(f"penalty_every must be >= 1 (1 = every D update), got {self.penalty_every}")
        if (self.r1 or self.r2) and self.d_norm == "batch":
            raise ValueError("r1 and r2 penalise the gradient of each image's score, and batch norm in D makes that "
                             "score depend on the whole batch: use d_norm='none', 'spectral' or 'layer' with them, "
                             "or set r1 and r2 to 0")
        if (self.r1 or self.r2) and (self.minibatch_std or self.pack > 1):
            raise ValueError("minibatch_std and pack > 1 mix images inside D, which breaks the per-image gradient "
                             "penalties r1 and r2; turn them off (minibatch_std=False, pack=1)")
        if self.loss == "relativistic" and self.label_smoothing:
            raise ValueError("label smoothing has no target to smooth in the relativistic loss: leave it at 0")
        if self.upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLES)}, got {self.upsample!r}")


# What ``gancourse train`` and ``train(spec)`` give a dcgan run on these datasets for what the caller left out: the
# best setting measured there (docs/results/01_mnist.md). On MNIST it is notebook 01's "discriminator from 2018"
# (spectral norm in D, Adam without momentum, batches of 32, notebook 01's learning rates) with an EMA of G over
# 5,000 images, which the same measurements favour over the 2016 DCGAN that GANConfig's defaults describe.
# Fashion-MNIST was not measured, so it keeps those defaults.
MEASURED_DEFAULTS: dict[str, dict[str, Any]] = {
    "mnist": {"batch_size": 32,
              "recipe_options": {"d_norm": "spectral", "beta1": 0.0, "lr_g": 5e-4, "lr_d": 5e-4, "ema": 5000.0}},
}


class DCGAN(Recipe):
    name = "dcgan"
    Config = GANConfig
    class_head = False  # whether D can carry an AC-GAN class head (``aux_weight``): cgan's alone
    cpu_bf16 = True

    @classmethod
    def defaults_for(cls, device: torch.device, dataset: str) -> dict[str, Any]:
        """The base defaults, or on a dataset of ``MEASURED_DEFAULTS`` its best measured setting.

        Only the dcgan recipe itself: wgan, wgan-gp, cgan and acgan share its step but change the loss or the
        networks, so the measurements say nothing about them.
        """
        defaults = super().defaults_for(device, dataset)
        measured = MEASURED_DEFAULTS.get(dataset) if cls.name == DCGAN.name else None
        if measured is None:
            return defaults
        return {**defaults, "batch_size": measured["batch_size"], "recipe_options": dict(measured["recipe_options"])}

    def __init__(self, config: GANConfig, device: torch.device | str = "cpu") -> None:
        if config.aux_weight and not self.class_head:
            raise ValueError(f"{self.name} has no class head, so aux_weight={config.aux_weight:g} would be ignored: "
                             "it is the cgan recipe's option (train with recipe cgan), or leave aux_weight at 0")
        super().__init__(config, torch.device(device))
        c = config
        self.build_networks()
        self.modules = {"G": self.G, "D": self.D}
        self.optimizers = self.build_optimizers()
        self.loss = get_loss(c.loss)
        self.extra_state = {"last_loss_d": 0.0, "last_loss_g": 0.0, "d_skipped": 0, "d_updates": 0}
        self.augment = DiffAugment(c.diffaugment)
        self.G_ema = EMA(self.G, c.ema) if c.ema else None

    def build_networks(self) -> None:
        """``self.G`` and ``self.D`` for the config, on the recipe's device."""
        c = self.config
        self.G = Generator(c.image_size, c.channels, c.nz, c.g_width, c.n_classes, c.g_norm,
                           upsample=c.upsample).to(self.device)
        self.D = Discriminator(c.image_size, c.channels, c.d_width, c.d_norm, c.dropout, c.n_classes,
                               c.minibatch_std, c.pack).to(self.device)

    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator that is sampled, scored and exported: the EMA of G when ``ema`` is on, else G."""
        return self.G_ema.model if self.G_ema is not None else self.G

    def update_ema(self, batch_size: int) -> None:
        """Call after every G update (a recipe with its own step calls it too)."""
        if self.G_ema is not None:
            self.G_ema.update(self.G, batch_size)

    def seen_by_d(self, images: torch.Tensor) -> torch.Tensor:
        """What D looks at: ``images`` through the DiffAugment policy (the same for real and fake), or as they are."""
        return self.augment(images) if self.augment else images

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.G_ema is not None:
            state["ema"] = self.G_ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["ema"])

    def generator_export(self) -> dict:
        export = super().generator_export()
        export["state_dict"] = self.sampling_generator.state_dict()
        export["ema"] = self.G_ema is not None
        return export

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {"G": torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2)),
                "D": torch.optim.Adam(self.D.parameters(), lr=c.lr_d, betas=(c.beta1, c.beta2))}

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            return torch.randn(n, self.config.nz, device=self.device)
        return torch.randn(n, self.config.nz, generator=generator).to(self.device)

    def d_should_train(self) -> bool:
        gate, s = self.config.d_gate, self.extra_state
        return not gate or s["last_loss_d"] == 0.0 or s["last_loss_g"] <= gate * s["last_loss_d"]

    def step(self, batch: Batch) -> dict[str, float]:
        """One update of D on a real batch and detached fakes, then one of G against the updated D."""
        real, labels = batch.images, self.labels_of(batch)
        z, fake_labels = self.noise(real.shape[0]), self.fake_labels(labels)
        with self.autocast():
            fake = self.G(z, fake_labels)
        logs: dict[str, float] = {}
        train_d = self.d_should_train()  # the gate may skip D's update while G is far behind
        penalise = train_d and self.extra_state["d_updates"] % self.config.penalty_every == 0
        loss_d = self.d_loss(real, fake.detach(), labels, fake_labels, logs, penalise)
        if train_d:
            self.update("D", loss_d)
        self.extra_state["d_updates" if train_d else "d_skipped"] += 1
        self.update("G", self.g_loss(real, fake, z, labels, fake_labels, logs))
        self.update_ema(real.shape[0])
        self.extra_state["last_loss_d"], self.extra_state["last_loss_g"] = logs["loss_d"], logs["loss_g"]
        return logs | {"d_trained": float(train_d)}

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
               fake_labels: torch.Tensor | None, logs: dict[str, float], penalise: bool = False) -> torch.Tensor:
        """D's loss on real images and detached fakes: the GAN loss, the recipe's own terms (``d_terms``) and,
        when ``penalise``, the R1/R2 penalties. Logs its parts into ``logs``."""
        c = self.config
        r1, r2 = c.r1 and penalise, c.r2 and penalise
        # R1 and R2 differentiate D's output with respect to its input images (before augmentation)
        real = real.detach().requires_grad_(True) if r1 else real
        fake = fake.requires_grad_(True) if r2 else fake
        with self.autocast():
            d_real, heads_real = self.judge_real(real, labels)
            d_fake, heads_fake = self.judge(fake, fake_labels)
            loss = self.loss.discriminator(d_real.float(), d_fake.float(), c.label_smoothing)
            terms = self.d_terms(heads_real, heads_fake, labels, fake_labels, logs)
        for name, scores, images, on in (("r1", d_real, real, r1), ("r2", d_fake, fake, r2)):
            if on:
                penalty = zero_centred_penalty(scores, images)
                terms.append(getattr(c, name) * c.penalty_every / 2 * penalty)
                self.extra_state[f"last_{name}"] = float(penalty.detach())  # lazy steps log the last value
        logs |= {"loss_d": float(loss.detach())}
        logs |= {name: self.extra_state[f"last_{name}"] for name in ("r1", "r2") if f"last_{name}" in self.extra_state}
        logs |= {"d_real": float(torch.sigmoid(d_real.detach().float()).mean()),
                 "d_fake": float(torch.sigmoid(d_fake.detach().float()).mean())}
        return sum(terms, loss)

    def g_loss(self, real: torch.Tensor, fake: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None,
               fake_labels: torch.Tensor | None, logs: dict[str, float]) -> torch.Tensor:
        """G's loss on the updated D's logits of its fakes, plus the recipe's own terms (``g_terms``)."""
        with self.autocast():
            d_gen, heads = self.judge(fake, fake_labels)
            d_real = None
            if self.loss.relativistic:  # G's fakes are scored against the updated D's view of the real batch
                with torch.no_grad():
                    d_real = self.D(self.seen_by_d(real.detach()), labels).float()
            loss = self.loss.generator(d_gen.float(), d_real)
            terms = self.g_terms(heads, fake, z, fake_labels, logs)
        logs["loss_g"] = float(loss.detach())
        return sum(terms, loss)

    # -- what a recipe built on this step overrides (cgan: a class head and the mode-seeking term) --------------

    def labels_of(self, batch: Batch) -> torch.Tensor | None:
        """The labels G and D are conditioned on: the batch's when the recipe is conditional, else None."""
        return batch.labels if self.conditional_on(batch) else None

    def fake_labels(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The classes G draws: those of the real batch, so every class trains as often as it appears."""
        return labels

    def d_terms(self, heads_real: torch.Tensor | None, heads_fake: torch.Tensor | None, labels: torch.Tensor | None,
                fake_labels: torch.Tensor | None, logs: dict[str, float]) -> list[torch.Tensor]:
        """Terms added to D's GAN loss (weighted), given D's class logits; none in DCGAN."""
        return []

    def g_terms(self, heads: torch.Tensor | None, fake: torch.Tensor, z: torch.Tensor,
                fake_labels: torch.Tensor | None, logs: dict[str, float]) -> list[torch.Tensor]:
        """Terms added to G's GAN loss (weighted); none in DCGAN."""
        return []

    def judge(self, images: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's real/fake logits of ``images`` as D sees them (DiffAugment), and its class logits when it has a
        class head (else None)."""
        images = self.seen_by_d(images)
        if self.D.classifier is None:
            return self.D(images, labels), None
        return self.D(images, labels, with_classes=True)

    def judge_real(self, images: torch.Tensor, labels: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``judge`` of the real batch in D's update; a recipe whose D learns something from real images alone
        (fastgan: redrawing them) returns that beside the logits."""
        return self.judge(images, labels)

    def conditional_on(self, batch: Batch) -> bool:
        return bool(self.config.n_classes) and batch.labels is not None

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``n`` images in [-1, 1] from G (its EMA when ``ema`` is on) in eval mode (batch-norm running statistics)."""
        g = self.sampling_generator
        was_training = g.training
        g.eval()
        if self.config.n_classes and labels is None:
            labels = torch.arange(n, device=self.device) % self.config.n_classes
        images = g(self.noise(n, generator), labels.to(self.device) if labels is not None else None)
        g.train(was_training)
        return images.float()

    def grid_columns(self, n: int) -> int:
        """One column per class for a conditional G (its fixed labels cycle through them), else a square."""
        return self.config.n_classes or super().grid_columns(n)

    def fixed_inputs(self, n: int, seed: int = 1234) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        inputs = {"z": torch.randn(n, self.config.nz, generator=g)}
        if self.config.n_classes:
            # labels cycle through the classes, so a grid n_classes wide shows one class per column
            inputs["labels"] = torch.arange(n) % self.config.n_classes
        return inputs

    @torch.no_grad()
    def sample_fixed(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        g = self.sampling_generator
        was_training = g.training
        g.eval()
        labels = inputs.get("labels")
        images = g(inputs["z"].to(self.device), labels.to(self.device) if labels is not None else None)
        g.train(was_training)
        return images.float()
