"""Scores for unpaired translation (CycleGAN): do translated photos land among the paintings?

- Features that need no download: the course's painting feature network
  (:class:`~gancourse.metrics.features.FeatureNet`, self-supervised + supervised) trained on both
  training domains with the domain (Monet or photo) as its label, cached (:func:`domain_feature_net`).
  It knows what separates a Monet from a photo (palette, brush texture, soft edges), which is what a
  photo -> Monet translation must change, and it also describes content, so noise lands far from both.
- :class:`TranslationEvaluator`: translate held-out source images and compare them with held-out target
  images: FID and KID in those features, the real-vs-real floor beside them, and MiFID's memorization
  distance (:func:`memorization_distance`) beside its real-data floor.

Numbers are comparable within this course (same network, same images), not with papers' Inception FIDs.
With the course's 25 + 30 test images, FID's covariances rest on fewer samples than features: read FID
as a coarse ranking, beside its floor, and prefer KID (unbiased at any sample size) for close calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import ImageSet, to_unit_range
from ..paths import cache_dir
from .cache import load_or_train
from .features import FeatureNet, train_feature_net
from .scores import fid_from_features, kid_from_features

DOMAIN_FEATURES_VERSION = 1
FEATURE_SIZE = 64  # the feature network sees every image at 64 px
Embed = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # images in [-1, 1] -> (features, classes)


def _centre(images: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` window (training images are stored larger, for random crops)."""
    side = images.shape[-1]
    if side == size:
        return images
    top = (side - size) // 2
    return images[..., top:top + size, top:top + size]


def _shrink(images: torch.Tensor, size: int = FEATURE_SIZE) -> torch.Tensor:
    """uint8 images to ``size`` px by area averaging, still uint8."""
    x = torch.as_tensor(images)
    if x.shape[-1] == size:
        return x
    return F.adaptive_avg_pool2d(x.float(), size).round().clamp(0, 255).to(torch.uint8)


def _fingerprint(*arrays: torch.Tensor) -> str:
    h = hashlib.sha1()
    for x in arrays:
        probe = torch.linspace(0, len(x) - 1, min(32, len(x))).long()
        h.update(x[probe].contiguous().numpy().tobytes())
        h.update(str(tuple(x.shape)).encode())
    return h.hexdigest()[:12]


def domain_feature_net(a: ImageSet, b: ImageSet, *, domains: tuple[str, str] = ("A", "B"), crop: int = 0,
                       steps: int = 300, seed: int = 0, progress: bool = True) -> FeatureNet:
    """A :class:`FeatureNet` trained on both domains (label = domain), once, then read from the cache.

    ``crop``: use the central ``crop`` px of images stored larger. Fewer ``steps`` make a cheaper (worse)
    network, for smoke tests.
    """
    xa, xb = torch.as_tensor(a.images[:]), torch.as_tensor(b.images[:])
    if crop:
        xa, xb = _centre(xa, crop), _centre(xb, crop)
    key = (f"domains-{domains[0]}-{domains[1]}-{steps}steps-{_fingerprint(xa, xb)}-v{DOMAIN_FEATURES_VERSION}")

    def train() -> FeatureNet:
        images = torch.cat([_shrink(xa), _shrink(xb)])
        labels = torch.cat([torch.zeros(len(xa), dtype=torch.long), torch.ones(len(xb), dtype=torch.long)])
        data = ImageSet(f"{domains[0]}-vs-{domains[1]}", images, labels, list(domains))
        return train_feature_net(data, steps=steps, seed=seed, progress=progress)

    return load_or_train(cache_dir() / "features" / f"{key}.pt", FeatureNet, train)


def memorization_distance(fake: torch.Tensor, train: torch.Tensor) -> float:
    """MiFID's memorization term: the mean over fakes of the smallest cosine distance to any training image.

    Near 0: the outputs copy training images (in feature space). The Kaggle "I'm Something of a Painter
    Myself" leaderboard divided FID by this distance whenever it fell below a threshold
    (:func:`mifid`), so memorising Monet's paintings could not win.
    """
    f = F.normalize(torch.as_tensor(fake).double(), dim=1)
    t = F.normalize(torch.as_tensor(train).double(), dim=1)
    distance = 1.0 - (f @ t.T).abs()
    return float(distance.min(dim=1).values.mean())


def mifid(fid: float, distance: float, epsilon: float = 0.1) -> float:
    """Memorization-informed FID: ``fid / distance`` when ``distance < epsilon``, else plain FID.

    Kaggle (and torchmetrics) use ``epsilon = 0.1`` in Inception features. The course's small feature
    network puts everything closer together (a new, real Monet can lie under 0.1 from its nearest
    training painting: docs/performance.md, "Figures behind code choices"), so
    :class:`TranslationEvaluator` sets epsilon relative to that real floor.
    """
    return fid / max(distance, 1e-15) if distance < epsilon else fid


class TranslationEvaluator:
    """Scores translations of ``sources`` (uint8, e.g. test photos) against ``targets`` (e.g. test paintings).

    ``floor_reference`` (other real target images, e.g. training paintings) gives the real-vs-real floor
    of FID and KID at the same sample sizes, and is what the memorization distance is measured against.
    Call it on a recipe (``evaluator(recipe)``, the ``fit`` hook) or score images directly (``score``).
    ``epsilon`` is MiFID's memorization threshold; 0 means half the memorization floor (translations
    twice as close to a training painting as real held-out paintings are count as copies).
    """

    def __init__(self, sources: torch.Tensor, targets: torch.Tensor, embed: Embed, *, direction: str,
                 floor_reference: torch.Tensor | None = None, epsilon: float = 0.0) -> None:
        self.sources = torch.as_tensor(sources)
        self.embed, self.direction, self.epsilon = embed, direction, epsilon
        self.target_features, _ = embed(to_unit_range(torch.as_tensor(targets)))
        self.train_features = None
        self.floor: dict[str, float] = {}
        if floor_reference is not None:
            g = torch.Generator().manual_seed(0)
            reference = torch.as_tensor(floor_reference)
            self.train_features, _ = embed(to_unit_range(reference))
            pick = torch.randperm(len(reference), generator=g)[: len(self.sources)]
            floor_features = self.train_features[pick]
            self.floor = {"fid_floor": fid_from_features(self.target_features, floor_features),
                          "kid_floor": kid_from_features(self.target_features, floor_features),
                          # how close real held-out paintings come to the training ones: not memorization
                          "memorization_floor": memorization_distance(self.target_features, self.train_features)}
            self.epsilon = epsilon or 0.5 * self.floor["memorization_floor"]

    def score(self, translated: torch.Tensor) -> dict[str, float]:
        """Metrics for float images in [-1, 1] that should belong to the target domain."""
        features, _ = self.embed(translated)
        fid = fid_from_features(self.target_features, features)
        scores = {"fid": fid, "kid": kid_from_features(self.target_features, features), **self.floor}
        if self.train_features is not None:
            distance = memorization_distance(features, self.train_features)
            scores["memorization_distance"] = distance
            scores["mifid"] = mifid(fid, distance, self.epsilon)
        return scores

    @torch.no_grad()
    def translate(self, model) -> torch.Tensor:
        """The sources translated by ``model``: a CycleGAN recipe (its generator for ``direction``), or a
        bare generator of that direction (``load_generator`` on an export, wrapped or not in a sampler)."""
        return self.translate_with(model, to_unit_range(self.sources))

    @torch.no_grad()
    def translate_with(self, model, images: torch.Tensor) -> torch.Tensor:
        """``images`` (floats in [-1, 1]) translated in this evaluator's direction by ``model`` (as ``translate``)."""
        if hasattr(model, "translate"):
            return model.translate(images, self.direction)
        generator = getattr(model, "generator", model)
        if not isinstance(generator, torch.nn.Module):
            raise TypeError(f"cannot translate with a {type(model).__name__}: pass a CycleGAN recipe or a generator")
        generator.eval()
        device = next(generator.parameters()).device
        return torch.cat([generator(chunk.to(device)).float().cpu() for chunk in images.split(16)])

    def __call__(self, recipe) -> dict[str, float]:
        with torch.random.fork_rng(devices=[]):  # evaluating must not change the training run's randomness
            return self.score(self.translate(recipe))


def translation_evaluator(data, *, test=None, direction: str = "", feature_steps: int = 300,
                          progress: bool = True, **_ignored) -> TranslationEvaluator:
    """The evaluator for an :class:`UnpairedSet`: translations of test images into the other domain.

    ``direction`` defaults to B -> A (photo -> Monet for ``monet2photo``). Reference: the test images of
    the target domain (``data.preview`` unless ``test`` is given); floor and memorization: its training
    images. The features come from :func:`domain_feature_net` on the training split. Registered for
    ``monet2photo`` in ``gancourse.metrics.EVALUATORS`` (``n``/``device`` of that interface are unused:
    every test image is scored, on the CPU).
    """
    test = test if test is not None else getattr(data, "preview", None)
    if test is None or not hasattr(data, "domains"):
        raise ValueError(f"{data.name}: translation metrics need an UnpairedSet with held-out images")
    a_name, b_name = data.domains
    direction = direction or f"{b_name}2{a_name}"
    source, _, target = direction.partition("2")
    if {source, target} != {a_name, b_name}:
        raise ValueError(f"unknown direction {direction!r}; choose {b_name}2{a_name} or {a_name}2{b_name}")
    # Training images may be stored larger (random-crop margin) or be cropped smaller than the test images;
    # the reference scale is the test images': the centre of the stored training image at that size.
    scale = min(test.a.size, data.a.size)
    net = domain_feature_net(data.a, data.b, domains=data.domains, crop=scale, steps=feature_steps,
                             progress=progress)
    reference = _centre(torch.as_tensor(data.domain(target).images[:]), scale)
    return TranslationEvaluator(torch.as_tensor(test.domain(source).images[:]),
                                torch.as_tensor(test.domain(target).images[:]), net.embed, direction=direction,
                                floor_reference=reference)
