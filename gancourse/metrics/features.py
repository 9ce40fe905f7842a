"""A feature network for colour images without a download: trained on the course's own data in seconds.

The MNIST judge works because digits have labels that *are* the modes. Paintings have at best an artist
label, and Inception-v3 (the network behind published FIDs) needs a 100 MB download and was trained on
photos. So :class:`FeatureNet` learns its features from the data itself, with two signals:

- self-supervised (SimCLR, Chen et al. 2020): two random crops/flips of the same image must map close
  together and far from the other images of the batch, so the features describe content and texture
  rather than the exact position of a brush stroke;
- supervised where labels exist (the artist of a painting): the features must also tell the classes apart.

Its FID/KID/precision/recall are comparable between runs of this course on the same data (same network,
same reference images); they are not comparable with published Inception FIDs, and a network trained on
a few hundred paintings sees colour, texture and layout, not "is this a convincing tree".
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import ImageSet, to_unit_range
from ..paths import cache_dir
from .cache import data_fingerprint, load_or_train
from .embedding import Embeds
from .evaluator import Evaluator

FEATURE_NET_VERSION = 1
TRAIN_STEPS = 300  # smoke runs and tests lower it


class FeatureNet(Embeds):
    """A small conv net; ``features`` is a ``feature_dim`` vector per image, any input size (resized to ``input_size``).

    Same interface as :class:`~gancourse.metrics.judge.Judge` (``embed``, ``num_classes``), so the
    :class:`~gancourse.metrics.Evaluator` uses either.
    """

    def __init__(self, channels: int = 3, num_classes: int = 0, width: int = 16, feature_dim: int = 64,
                 input_size: int = 64) -> None:
        super().__init__()
        self.config = dict(channels=channels, num_classes=num_classes, width=width, feature_dim=feature_dim,
                           input_size=input_size)
        self.num_classes, self.input_size = num_classes, input_size
        w = width

        def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.LeakyReLU(0.2)]

        self.body = nn.Sequential(*block(channels, w, 2), *block(w, 2 * w, 2), *block(2 * w, 4 * w, 2),
                                  *block(4 * w, 4 * w, 1))
        # Mean and spread of every channel over the image: the spread carries texture, which paintings are about.
        self.head = nn.Linear(8 * w, feature_dim)
        self.classifier = nn.Linear(feature_dim, num_classes) if num_classes > 1 else None
        self.projection = nn.Sequential(nn.Linear(feature_dim, feature_dim), nn.ReLU(), nn.Linear(feature_dim, 32))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True,
                              align_corners=False)
        h = self.body(x)
        return self.head(torch.cat([h.mean(dim=(2, 3)), h.std(dim=(2, 3))], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.classifier is None:
            raise ValueError("this feature network was trained without labels: it has no classifier")
        return self.classifier(self.features(x))


def augment(x: torch.Tensor, generator: torch.Generator, min_scale: float = 0.6) -> torch.Tensor:
    """A random crop (60-100% of the side, anywhere), a random flip and a small brightness change per image.

    One ``affine_grid`` for the batch: no per-image Python work. Colour is only nudged, because colour is
    part of what a painting generator should get right and the features must keep seeing it.
    """
    b = x.shape[0]
    scale = min_scale + (1 - min_scale) * torch.rand(b, generator=generator)
    shift = (1 - scale) * (2 * torch.rand(2, b, generator=generator) - 1)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, 0, 2], theta[:, 1, 2] = shift[0], shift[1]
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    brightness = 0.1 * (2 * torch.rand(b, 1, 1, 1, generator=generator) - 1)
    return (out + brightness.to(x.device)).clamp(-1, 1)


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """NT-Xent (SimCLR): each view must pick out its partner among the 2B - 1 other views of the batch."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(-math.inf)
    n = a.shape[0]
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, partner)


def train_feature_net(data: ImageSet, *, steps: int | None = None, batch_size: int = 64, seed: int = 0,
                      device: torch.device | str = "cpu", progress: bool = True, **net_options) -> FeatureNet:
    """Train on uint8 images (labels used when there are two classes or more); cached by the callers."""
    from tqdm.auto import tqdm

    device = torch.device(device)
    steps = TRAIN_STEPS if steps is None else steps
    batch_size = min(batch_size, len(data))
    if batch_size < 4:
        raise ValueError(f"{data.name}: {len(data)} images are too few to train a feature network (need 4)")
    labelled = data.labels is not None and data.num_classes > 1
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # must not shift the caller's random stream
        torch.manual_seed(seed)
        net = FeatureNet(data.channels, data.num_classes if labelled else 0, **net_options).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        bar = tqdm(range(steps), desc=f"training the {data.name} feature network", disable=not progress,
                   leave=False)
        for _ in bar:
            index = torch.randperm(len(data), generator=g)[:batch_size]
            images, labels = data.rows(index)
            x = to_unit_range(images.to(device))
            v1, v2 = augment(x, g), augment(x, g)
            f1, f2 = net.features(v1), net.features(v2)
            loss = contrastive_loss(net.projection(f1), net.projection(f2))
            if labelled:
                y = labels.to(device)
                loss = loss + 0.5 * (F.cross_entropy(net.classifier(f1), y) + F.cross_entropy(net.classifier(f2), y))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        bar.close()
    return net.eval()


@torch.no_grad()
def feature_net_accuracy(net: FeatureNet, data: ImageSet) -> float | None:
    """Class accuracy on ``data`` (e.g. held-out paintings), or None without a classifier or labels."""
    if net.classifier is None or data.labels is None:
        return None
    images, labels = data.rows(torch.arange(len(data)))
    _, pred = net.embed(to_unit_range(images))
    return float((pred == labels).float().mean())


def _cache_key(data: ImageSet) -> str:
    safe = data.name.replace("/", "-")
    return (f"features-{safe}-{data.source}-{data.channels}x{data.size}-{len(data)}-"
            f"{data_fingerprint(data)}-v{FEATURE_NET_VERSION}")


def get_feature_net(train: ImageSet, test: ImageSet | None = None, *, device: torch.device | str = "cpu",
                    progress: bool = True, steps: int | None = None) -> FeatureNet:
    """The feature network for ``train``, from the cache when an earlier run trained it.

    ``steps`` other than ``TRAIN_STEPS`` (a smoke run's few steps) is part of the cache key, so a
    briefly trained network is never served to a run that expects the full one.
    """
    steps = TRAIN_STEPS if steps is None else steps
    suffix = "" if steps == TRAIN_STEPS else f"-{steps}steps"
    return load_or_train(cache_dir() / "features" / f"{_cache_key(train)}{suffix}.pt", FeatureNet,
                         lambda: train_feature_net(train, steps=steps, device=device, progress=progress),
                         accuracy=(lambda net: feature_net_accuracy(net, test)) if test is not None else None,
                         device=device)


def held_out_split(data: ImageSet, every: int = 4) -> tuple[ImageSet, ImageSet]:
    """(the rest, every ``every``-th image): a deterministic reference set for data without a test split."""
    index = torch.arange(len(data))
    held = index % every == every - 1
    return data.subset(index[~held]), data.subset(index[held])


def feature_evaluator(train: ImageSet, *, test: ImageSet | None = None, n: int = 2000,
                      device: str = "cpu", progress: bool = True, steps: int | None = None):
    """An :class:`Evaluator` whose features come from a :class:`FeatureNet` trained on ``train``.

    The reference is ``test`` (held-out real images); without one, every fourth training image is held
    out. ``n`` is capped by the reference size, and the floor compares the reference with as many training
    images, so FID and its floor are always measured at the same sample size. ``steps``: training steps of
    the feature network (default ``TRAIN_STEPS``).
    """
    if test is None:
        train, test = held_out_split(train)
    if test.channels != train.channels or test.size != train.size:
        raise ValueError(f"{train.name}: the reference images are {test.channels}x{test.size} px but the "
                         f"training images {train.channels}x{train.size} px; load both with the same options")
    if len(test) < 10:
        raise ValueError(f"{train.name}: only {len(test)} reference images; metrics need at least 10")
    net = get_feature_net(train, test, device=device, progress=progress, steps=steps)
    return Evaluator(test, net, floor_reference=train, n=n)
