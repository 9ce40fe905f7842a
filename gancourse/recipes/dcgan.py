"""The DCGAN recipe: one D update, then one G update, with the seeds' balancing knobs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..augment import DiffAugment, normalise_policy
from ..data import Batch
from ..devices import autocast
from ..ema import EMA, check_ema
from ..losses import get_loss, zero_centred_penalty
from ..models import Discriminator, Generator
from ..models.dcgan import UPSAMPLES
from .base import Recipe


@dataclass
class GANConfig:
    """Knobs of the adversarial recipes. Defaults are the course's fast, reliable MNIST setting."""

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
    # The small-data toolbox (gancourse.augment, gancourse.ema, losses.zero_centred_penalty); all off by default.
    diffaugment: str = ""  # DiffAugment policy for every image D sees, e.g. "color,translation,cutout"
    ema: float = 0.0  # EMA of G, sampled and exported: a decay per step in (0, 1), or a half-life in images
    r1: float = 0.0  # gamma of the R1 penalty: gamma / 2 * E||grad D(real)||^2 added to D's loss
    r2: float = 0.0  # gamma of R2, the same penalty on the fakes (R3GAN: loss="relativistic", r1 = r2)
    # lazy regularisation (StyleGAN2: 16): r1 and r2 on every k-th D update only, weighted k times, so their double
    # backward costs 1/k as much
    penalty_every: int = 1
    upsample: str = "transposed"  # how G doubles its maps: transposed | nearest | bilinear (resize + 3x3 conv)
    amp: bool = True  # bfloat16 autocast, CUDA only

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


class DCGAN(Recipe):
    name = "dcgan"
    Config = GANConfig
    class_head = False  # whether D can carry an AC-GAN class head (``aux_weight``): cgan's alone

    def __init__(self, config: GANConfig, device: torch.device | str = "cpu") -> None:
        if config.aux_weight and not self.class_head:
            raise ValueError(f"{self.name} has no class head, so aux_weight={config.aux_weight:g} would be ignored: "
                             "it is the cgan recipe's option (train with recipe cgan), or leave aux_weight at 0")
        super().__init__(config, torch.device(device))
        c = config
        self.G = Generator(c.image_size, c.channels, c.nz, c.g_width, c.n_classes, c.g_norm,
                           upsample=c.upsample).to(self.device)
        self.D = Discriminator(c.image_size, c.channels, c.d_width, c.d_norm, c.dropout, c.n_classes,
                               c.minibatch_std, c.pack).to(self.device)
        self.modules = {"G": self.G, "D": self.D}
        self.optimizers = self.build_optimizers()
        self.loss = get_loss(c.loss)
        self.extra_state = {"last_loss_d": 0.0, "last_loss_g": 0.0, "d_skipped": 0, "d_updates": 0}
        self.augment = DiffAugment(c.diffaugment)
        self.G_ema = EMA(self.G, c.ema) if c.ema else None

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
        """One D update, then one G update. With a class head in D (AC-GAN, ``cgan``'s default) D also learns to
        classify the real images and G to be classified as the label it was asked for, weighted by ``aux_weight``.

        D's head learns the classes from real images only (Odena et al. also train it on fakes, which lets D and
        G agree on a class without the fakes looking like it). The d_gate compares the adversarial losses.
        """
        c = self.config
        real, labels = batch.images, batch.labels if self.conditional_on(batch) else None
        b = real.shape[0]
        fake_labels = labels  # conditional G draws the same classes as the real batch
        with autocast(self.device, c.amp):
            fake = self.G(self.noise(b), fake_labels)

        train_d = self.d_should_train()
        penalise = train_d and self.extra_state["d_updates"] % c.penalty_every == 0
        r1, r2 = c.r1 and penalise, c.r2 and penalise
        # R1 and R2 differentiate D's output with respect to its input images (before augmentation)
        real = real.detach().requires_grad_(True) if r1 else real
        fake_in = fake.detach().requires_grad_(True) if r2 else fake.detach()
        with autocast(self.device, c.amp):
            d_real, classes_real = self._judge(self.seen_by_d(real), labels)
            d_fake = self.D(self.seen_by_d(fake_in), fake_labels)
            loss_d = self.loss.discriminator(d_real.float(), d_fake.float(), c.label_smoothing)
            cls_d = None if classes_real is None else F.cross_entropy(classes_real.float(), labels)
        penalties = {name: zero_centred_penalty(scores, images) for name, scores, images, on in
                     (("r1", d_real, real, r1), ("r2", d_fake, fake_in, r2)) if on}
        if train_d:
            self.optimizers["D"].zero_grad(set_to_none=True)
            total_d = loss_d if cls_d is None else loss_d + c.aux_weight * cls_d
            for name, penalty in penalties.items():
                total_d = total_d + getattr(c, name) * c.penalty_every / 2 * penalty
            total_d.backward()
            self.optimizers["D"].step()
            self.extra_state["d_updates"] += 1
        else:
            self.extra_state["d_skipped"] += 1

        with autocast(self.device, c.amp):
            d_gen, classes_fake = self._judge(self.seen_by_d(fake), fake_labels)
            d_real_now = None
            if self.loss.relativistic:  # G's fakes are scored against the updated D's view of the real batch
                with torch.no_grad():
                    d_real_now = self.D(self.seen_by_d(real.detach()), labels).float()
            loss_g = self.loss.generator(d_gen.float(), d_real_now)
            cls_g = None if classes_fake is None else F.cross_entropy(classes_fake.float(), fake_labels)
        self.optimizers["G"].zero_grad(set_to_none=True)
        (loss_g if cls_g is None else loss_g + c.aux_weight * cls_g).backward()
        self.optimizers["G"].step()
        self.update_ema(b)

        self.extra_state["last_loss_d"] = float(loss_d.detach())
        self.extra_state["last_loss_g"] = float(loss_g.detach())
        logs = {"loss_d": self.extra_state["last_loss_d"], "loss_g": self.extra_state["last_loss_g"]}
        for name, penalty in penalties.items():  # kept, so that lazy steps log the last value measured
            self.extra_state[f"last_{name}"] = float(penalty.detach())
        logs |= {name: self.extra_state[f"last_{name}"] for name in ("r1", "r2") if f"last_{name}" in self.extra_state}
        if cls_d is not None:
            logs |= {"cls_d": float(cls_d.detach()), "cls_g": float(cls_g.detach()),
                     "d_class_acc_real": float((classes_real.detach().argmax(1) == labels).float().mean()),
                     "d_class_acc_fake": float((classes_fake.detach().argmax(1) == labels).float().mean())}
        return logs | {"d_real": float(torch.sigmoid(d_real.detach().float()).mean()),
                       "d_fake": float(torch.sigmoid(d_fake.detach().float()).mean()), "d_trained": float(train_d)}

    def _judge(self, images: torch.Tensor, labels: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's real/fake logits, and its class logits when it has a class head (else None)."""
        if self.D.classifier is None:
            return self.D(images, labels), None
        return self.D(images, labels, with_classes=True)

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
