"""The conditional DCGAN: G draws the class it is asked for, D judges image *and* label.

G concatenates a learned label embedding to z (``models.Generator(n_classes=...)``); D adds a projection
term ``<embed(y), features(x)>`` to its logit (Miyato & Koyama 2018, ``models.Discriminator``) and has a
class head (AC-GAN, Odena et al. 2017): D learns the classes of real images, G to have its fakes classified
as the label it was asked for. The fakes of a step carry the labels of the real batch, so every class is
trained as often as it appears in the data.

Two recipes, measured against each other in ``benchmarks/cgan_accuracy.py`` (6 Quick Draw categories,
3 seeds, 1k-10k steps; the figures are in the README):

- ``acgan``: the course's earlier default, kept to show its failure. It reaches the target accuracy fast,
  then trades variety for it: with training, each class is drawn with fewer and fewer kinds of drawing
  (per-class collapse; Shu et al. 2017: the class term rewards the most classifiable drawing of each class,
  and nothing in it rewards variety). G ends up ignoring z.
- ``cgan``: the same networks plus the **mode-seeking** term (MSGAN, Mao et al. 2019): half of the fakes
  repeat the labels of the other half with other noise, and G pays ``mode_seeking / ratio``, where ratio is
  the distance between the two drawings over that between their noise vectors. Ignoring z becomes costly.

Also here, measured and not chosen: TAC-GAN's twin classifier (``twin=True``, Gong et al. 2019) and the
projection discriminator as its authors use it (``loss="hinge", d_norm="spectral"``): with this small DCGAN
they drew every class as one drawing within 1k-2k steps (spread ~0.1 of real).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import Batch
from ..devices import autocast
from ..ema import EMA
from ..models import Discriminator
from .dcgan import DCGAN, GANConfig


@dataclass
class ACGANConfig(GANConfig):
    """AC-GAN: projection + a class head with weight 1 + minibatch std, batch norm in D, non-saturating loss.

    Measured on Quick Draw, 10 categories, seed 0, 300 samples per category scored (judge on real test
    drawings: 91.9%); "spread" is generated over real mean feature distance per class (1 = real variety):
    75% / FID 114 / spread 0.37 at 500 steps, 98.6% / 43 / 0.33 at 1000, 96.0% / 55 / 0.22 at 1500,
    84.6% / 76 / 0.13 at 2000: accurate early, then per-class collapse.
    """

    aux_weight: float = 1.0
    minibatch_std: bool = True  # a batch of near-identical fakes is easy to spot: pushes back on the collapse
    twin: bool = False  # TAC-GAN's twin classifier (Gong et al. 2019); it corrects the head: aux_weight=0 drops both
    mode_seeking: float = 0.0  # > 0: MSGAN's term (Mao et al. 2019) with this weight: two z, same label, G must differ

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode_seeking < 0:
            raise ValueError(f"mode_seeking must be >= 0, got {self.mode_seeking}")
        if self.r1 or self.r2 or self.loss == "relativistic":
            raise ValueError("the cgan recipe's step has no r1, r2 or relativistic loss (its D has class heads): "
                             "train them with the dcgan recipe (conditional with n_classes), or leave them off")


@dataclass
class CGANConfig(ACGANConfig):
    """AC-GAN's networks and class head, plus the mode-seeking term that keeps G from ignoring z.

    TAC-GAN's twin (``twin=True``): AC-GAN's head learns the classes of real images, a *twin* head those of
    G's fakes; G minimises the first cross-entropy and maximises the second, which cancels the term that
    drives AC-GAN to the most classifiable drawing. Measured with hinge + spectral norm, it still collapsed
    here; mode seeking was what kept the variety (``benchmarks/cgan_accuracy.py``).
    """

    mode_seeking: float = 1.0


def class_index(class_names: list[str], label: str | int) -> int:
    """The index of ``label`` (a class name, or an index given as int or digit string) in ``class_names``."""
    if isinstance(label, str) and label in class_names:
        return class_names.index(label)
    if isinstance(label, int) or (isinstance(label, str) and label.isdigit()):
        index = int(label)
        if 0 <= index < len(class_names):
            return index
    raise ValueError(f"unknown class {label!r}; this model's classes: {', '.join(class_names)}")


class CGAN(DCGAN):
    name = "cgan"
    Config = CGANConfig
    conditional = True  # Recipe.config_for sets n_classes from the dataset
    class_head = True
    # Measured without the class head (aux_weight=0): DCGAN's N(0, 0.02) makes the label about 1% of G's input
    # and G ignores it for a long time (Quick Draw, 10 categories, 1000 steps: 33% conditional accuracy, FID
    # 66). N(0, 1), the scale of z, makes G ignore z instead: one drawing per class whatever the noise (FID
    # 103). 0.3 measured best (46%, FID 64 at 1000 steps; 50%, FID 52 at 1250; 35%, FID 54 at 1500).
    label_embedding_std = 0.3

    def __init__(self, config: GANConfig, device: torch.device | str = "cpu") -> None:
        if config.n_classes < 1:
            raise ValueError(f"{self.name} needs labelled data: n_classes must be >= 1 (config_for sets it from "
                             "the dataset's classes; this dataset has none)")
        if config.aux_weight and config.pack > 1:
            raise ValueError(f"{self.name}'s class head (aux_weight > 0) judges one sample at a time: "
                             f"pack={config.pack} needs aux_weight=0")
        super().__init__(config, device)
        torch.nn.init.normal_(self.G.embed.weight, 0.0, self.label_embedding_std)
        if self.G_ema is not None:  # the average starts from G as initialised here
            self.G_ema = EMA(self.G, config.ema)
        if config.aux_weight:
            c = config
            # With the twin, one head of 2K outputs: the first K are AC-GAN's classifier, the next K the twin.
            heads = c.n_classes * (2 if c.twin else 1)
            self.D = Discriminator(c.image_size, c.channels, c.d_width, c.d_norm, c.dropout, c.n_classes,
                                   c.minibatch_std, c.pack, aux_classes=heads).to(self.device)
            self.modules["D"] = self.D
            self.optimizers = self.build_optimizers()

    def step(self, batch: Batch) -> dict[str, float]:
        if batch.labels is None:
            raise ValueError(f"{self.name} trains on labelled batches; this dataset has no labels")
        c = self.config
        if (c.aux_weight and c.twin) or c.mode_seeking:
            return self._conditional_step(batch)
        return super().step(batch)  # DCGAN's step, with AC-GAN's class terms when aux_weight > 0

    def _conditional_step(self, batch: Batch) -> dict[str, float]:
        """DCGAN's step with TAC-GAN's class terms and/or the mode-seeking term.

        TAC-GAN: D's head learns real classes, its twin the fakes' classes; G minimises the head's
        cross-entropy on its fakes and maximises the twin's. Mode seeking: the fakes are drawn in two halves
        with the same labels and different z, and G is penalised when two noise vectors give close drawings.
        """
        c, k = self.config, self.config.n_classes
        real, labels = batch.images, batch.labels
        b = real.shape[0]
        fake_labels = labels
        if c.mode_seeking:  # the second half repeats the first half's labels: pairs (z1, y), (z2, y)
            fake_labels = labels[: b // 2].repeat(2) if b % 2 == 0 else torch.cat([labels[: b // 2].repeat(2),
                                                                                     labels[-1:]])
        z = self.noise(b)
        with autocast(self.device, c.amp):
            fake = self.G(z, fake_labels)
        heads = bool(c.aux_weight)

        train_d = self.d_should_train()
        with autocast(self.device, c.amp):
            d_real, heads_real = self._judge(self.seen_by_d(real), labels)
            d_fake, heads_fake = self._judge(self.seen_by_d(fake.detach()), fake_labels)
            loss_d = self.loss.discriminator(d_real.float(), d_fake.float(), c.label_smoothing)
            total_d = loss_d
            if heads:
                cls_d = F.cross_entropy(heads_real[:, :k].float(), labels)
                total_d = total_d + c.aux_weight * cls_d
                if c.twin:
                    twin_d = F.cross_entropy(heads_fake[:, k:].float(), fake_labels)
                    total_d = total_d + c.aux_weight * twin_d
        if train_d:
            self.optimizers["D"].zero_grad(set_to_none=True)
            total_d.backward()
            self.optimizers["D"].step()
            self.extra_state["d_updates"] += 1
        else:
            self.extra_state["d_skipped"] += 1

        logs: dict[str, float] = {}
        with autocast(self.device, c.amp):
            d_gen, heads_gen = self._judge(self.seen_by_d(fake), fake_labels)
            loss_g = self.loss.generator(d_gen.float())
            total_g = loss_g
            if heads:
                cls_g = F.cross_entropy(heads_gen[:, :k].float(), fake_labels)
                total_g = total_g + c.aux_weight * cls_g
                logs |= {"cls_d": float(cls_d.detach()), "cls_g": float(cls_g.detach()),
                         "d_class_acc_real": float((heads_real[:, :k].detach().argmax(1) == labels).float().mean()),
                         "d_class_acc_fake": float((heads_gen[:, :k].detach().argmax(1) == fake_labels)
                                                   .float().mean())}
                if c.twin:
                    twin_g = F.cross_entropy(heads_gen[:, k:].float(), fake_labels)
                    total_g = total_g - c.aux_weight * twin_g
                    logs |= {"twin_d": float(twin_d.detach()), "twin_g": float(twin_g.detach())}
            if c.mode_seeking:
                h = b // 2
                ratio = ((fake[:h] - fake[h:2 * h]).float().abs().mean()
                         / (z[:h] - z[h:2 * h]).abs().mean())
                total_g = total_g + c.mode_seeking / (ratio + 1e-5)  # Mao et al. 2019: small ratio = ignored z
                logs["ms_ratio"] = float(ratio.detach())
        self.optimizers["G"].zero_grad(set_to_none=True)
        total_g.backward()
        self.optimizers["G"].step()
        self.update_ema(b)

        self.extra_state["last_loss_d"] = float(loss_d.detach())
        self.extra_state["last_loss_g"] = float(loss_g.detach())
        return {"loss_d": self.extra_state["last_loss_d"], "loss_g": self.extra_state["last_loss_g"], **logs,
                "d_real": float(torch.sigmoid(d_real.detach().float()).mean()),
                "d_fake": float(torch.sigmoid(d_fake.detach().float()).mean()), "d_trained": float(train_d)}

    def fixed_inputs(self, n: int, seed: int = 1234) -> dict[str, torch.Tensor]:
        """Labels cycle through the classes (as DCGAN's) and each run of ``n_classes`` shares one z.

        ``fit`` lays the grid out ``n_classes`` wide, so every row is one noise vector drawn as every
        class: what changes along a row is the label alone.
        """
        k = self.config.n_classes
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(-(-n // k), self.config.nz, generator=g).repeat_interleave(k, dim=0)[:n]
        return {"z": z, "labels": torch.arange(n) % k}

    @torch.no_grad()
    def sample_class(self, label: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images of class ``label`` in [-1, 1]."""
        if not 0 <= label < self.config.n_classes:
            raise ValueError(f"label must be in [0, {self.config.n_classes}), got {label}")
        return self.sample(n, torch.full((n,), label, dtype=torch.long), generator)


class ACGAN(CGAN):
    """The course's earlier conditional recipe (AC-GAN's class head, weight 1): kept to show per-class collapse."""

    name = "acgan"
    Config = ACGANConfig
