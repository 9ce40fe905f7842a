"""The conditional DCGAN: G draws the class it is asked for, D judges image *and* label.

G concatenates a learned label embedding to z (``models.Generator(n_classes=...)``); D adds a projection
term ``<embed(y), features(x)>`` to its logit (Miyato & Koyama 2018, ``models.Discriminator``) and has a
class head (AC-GAN, Odena et al. 2017). The step is DCGAN's; these recipes add loss terms (``d_terms``,
``g_terms``) and choose the fakes' labels:

- ``acgan``: the class head alone. D's head learns the classes of the real drawings (Odena et al. also
  train it on the fakes, which lets D and G agree on a class without the fakes looking like it), and G wants
  its fakes classified as asked. With training, each class tends to one most-classifiable drawing
  (per-class collapse, Shu et al. 2017): kept to show that failure.
- ``cgan``: the same plus the **mode-seeking** term (MSGAN, Mao et al. 2019): half of the fakes repeat the
  labels of the other half with other noise, and G pays ``mode_seeking / ratio``, where ratio is the
  distance between two drawings over that between their noise vectors, so ignoring z becomes costly.
- ``twin=True``: TAC-GAN's twin head (Gong et al. 2019) learns the fakes' classes; G maximises its loss.

``benchmarks/cgan_accuracy.py`` compares them; its figures are in docs/performance.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import Batch
from ..ema import EMA
from ..models import Discriminator
from .dcgan import DCGAN, GANConfig


@dataclass
class ACGANConfig(GANConfig):
    """AC-GAN: projection + a class head with weight 1 + minibatch std, batch norm in D, non-saturating loss."""

    aux_weight: float = 1.0
    minibatch_std: bool = True  # a batch of near-identical fakes is easy to spot: pushes back on the collapse
    twin: bool = False  # TAC-GAN's twin classifier (Gong et al. 2019); it corrects the head: aux_weight=0 drops both
    mode_seeking: float = 0.0  # > 0: MSGAN's term (Mao et al. 2019) with this weight: two z, same label, G must differ

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode_seeking < 0:
            raise ValueError(f"mode_seeking must be >= 0, got {self.mode_seeking}")


@dataclass
class CGANConfig(ACGANConfig):
    """AC-GAN's networks and class head, plus the mode-seeking term that keeps G from ignoring z."""

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
    cpu_bf16 = False  # not measured with bfloat16: its class accuracy and variety are the lesson's claims
    class_head = True
    # The label embedding's initial scale next to z ~ N(0, 1): DCGAN's N(0, 0.02) makes the label a whisper G
    # ignores, N(0, 1) makes G ignore z instead; 0.3 trained best (benchmarks/cgan_accuracy.py).
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

    def labels_of(self, batch: Batch) -> torch.Tensor:
        if batch.labels is None:
            raise ValueError(f"{self.name} trains on labelled batches; this dataset has no labels")
        return batch.labels

    def fake_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """The real batch's classes; with mode seeking, the second half repeats the first half's labels, so the
        fakes come in pairs (z1, y), (z2, y) that differ in their noise alone."""
        if not self.config.mode_seeking:
            return labels
        b = labels.shape[0]
        return labels[: b // 2].repeat(2) if b % 2 == 0 else torch.cat([labels[: b // 2].repeat(2), labels[-1:]])

    def d_terms(self, heads_real, heads_fake, labels, fake_labels, logs):
        """AC-GAN: D's head learns the classes of the real drawings. TAC-GAN's twin head learns the fakes'."""
        c, k = self.config, self.config.n_classes
        if heads_real is None:  # aux_weight 0: no class head
            return []
        cls_d = F.cross_entropy(heads_real[:, :k].float(), labels)
        logs |= {"cls_d": float(cls_d.detach()),
                 "d_class_acc_real": float((heads_real[:, :k].detach().argmax(1) == labels).float().mean())}
        terms = [c.aux_weight * cls_d]
        if c.twin:
            twin_d = F.cross_entropy(heads_fake[:, k:].float(), fake_labels)
            logs["twin_d"] = float(twin_d.detach())
            terms.append(c.aux_weight * twin_d)
        return terms

    def g_terms(self, heads, fake, z, fake_labels, logs):
        """G wants its fakes classified as the label it was asked for (and, with the twin, not recognised by the
        twin head); mode seeking charges G when two noise vectors with one label give close drawings."""
        c, k = self.config, self.config.n_classes
        terms = []
        if heads is not None:
            cls_g = F.cross_entropy(heads[:, :k].float(), fake_labels)
            logs |= {"cls_g": float(cls_g.detach()),
                     "d_class_acc_fake": float((heads[:, :k].detach().argmax(1) == fake_labels).float().mean())}
            terms.append(c.aux_weight * cls_g)
            if c.twin:
                twin_g = F.cross_entropy(heads[:, k:].float(), fake_labels)
                logs["twin_g"] = float(twin_g.detach())
                terms.append(-c.aux_weight * twin_g)
        if c.mode_seeking:
            h = fake.shape[0] // 2
            ratio = (fake[:h] - fake[h:2 * h]).float().abs().mean() / (z[:h] - z[h:2 * h]).abs().mean()
            logs["ms_ratio"] = float(ratio.detach())
            terms.append(c.mode_seeking / (ratio + 1e-5))  # Mao et al. 2019: a small ratio means z is ignored
        return terms

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
