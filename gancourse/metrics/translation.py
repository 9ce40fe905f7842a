"""Scores for unpaired translation (CycleGAN): do translated photos land among the paintings?

- A feature network that needs no download: :func:`domain_judge`, the course's small :class:`Judge`
  trained to tell the two domains apart (Monet vs photo), on the training split, cached. Its features
  are what distinguishes a Monet from a photo (palette, brush texture, soft edges), which is what a
  photo -> Monet translation must change; its prediction gives the most readable number, the share of
  translations it takes for the target domain (``target_rate``).
- :class:`TranslationEvaluator`: translate held-out source images and compare them with held-out target
  images: FID and KID in those features, the real-vs-real floor beside them, ``target_rate``, and the
  memorization distance of MiFID (:func:`memorization_distance`).

Numbers are comparable within this course (same judge, same images), not with papers' Inception FIDs.
With the course's 25 + 30 test images, FID's covariances rest on fewer samples than features: read FID
as a coarse ranking, beside its floor, and prefer KID (unbiased at any sample size) for close calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checkpoints import load_checkpoint, save_checkpoint
from ..data import ImageSet, to_unit_range
from ..paths import cache_dir
from .judge import Judge, train_judge
from .scores import fid_from_features, kid_from_features

DOMAIN_JUDGE_VERSION = 1
Embed = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # images in [-1, 1] -> (features, classes)


def _shrink(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 or float images to ``size`` px by area averaging (the judge looks at a fixed scale)."""
    x = images.float()
    return F.adaptive_avg_pool2d(x, size) if x.shape[-1] != size else x


class DomainJudge:
    """A :class:`Judge` that sees every image at ``size`` px: ``embed(images in [-1, 1]) -> (features, class)``.

    Class 0 is domain A (Monet), class 1 domain B (photos).
    """

    def __init__(self, judge: Judge, size: int, domains: tuple[str, str]) -> None:
        self.judge, self.size, self.domains = judge, size, domains

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.judge.embed(_shrink(images, self.size))

    __call__ = embed


def _fingerprint(a: torch.Tensor, b: torch.Tensor) -> str:
    h = hashlib.sha1()
    for x in (a, b):
        probe = torch.linspace(0, len(x) - 1, 32).long()
        h.update(x[probe].contiguous().numpy().tobytes())
        h.update(str(tuple(x.shape)).encode())
    return h.hexdigest()[:12]


def domain_judge(a: ImageSet, b: ImageSet, *, domains: tuple[str, str] = ("A", "B"), size: int = 64,
                 epochs: int = 12, seed: int = 0, progress: bool = True) -> DomainJudge:
    """The A-vs-B judge for two training sets, trained once (seconds on a CPU) and cached by a data fingerprint."""
    xa, xb = torch.as_tensor(a.images[:]), torch.as_tensor(b.images[:])
    key = f"domain-judge-{domains[0]}-{domains[1]}-{size}px-{_fingerprint(xa, xb)}-v{DOMAIN_JUDGE_VERSION}"
    path = cache_dir() / "judges" / f"{key}.pt"
    if path.is_file():
        saved = load_checkpoint(path)
        judge = Judge(**saved["config"])
        judge.load_state_dict(saved["state_dict"])
        return DomainJudge(judge.eval(), size, domains)
    images = torch.cat([_shrink(xa, size), _shrink(xb, size)]).round().clamp(0, 255).to(torch.uint8)
    labels = torch.cat([torch.zeros(len(xa), dtype=torch.long), torch.ones(len(xb), dtype=torch.long)])
    data = ImageSet(f"{domains[0]}-vs-{domains[1]}", images, labels, list(domains))
    judge = train_judge(data, epochs=epochs, batch_size=32, seed=seed, progress=progress)
    save_checkpoint({"config": judge.config, "state_dict": judge.state_dict()}, path)
    return DomainJudge(judge, size, domains)


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
    """Memorization-informed FID: ``fid / distance`` when ``distance < epsilon``, else plain FID."""
    return fid / max(distance, 1e-15) if distance < epsilon else fid


class TranslationEvaluator:
    """Scores translations of ``sources`` (uint8, e.g. test photos) against ``targets`` (e.g. test paintings).

    ``floor_reference`` (other real target images, e.g. training paintings) gives the real-vs-real floor
    of FID and KID at the same sample sizes, and is what the memorization distance is measured against.
    Call it on a recipe (``evaluator(recipe)``, the ``fit`` hook) or score images directly (``score``).
    """

    def __init__(self, sources: torch.Tensor, targets: torch.Tensor, embed: Embed, *, direction: str,
                 target_class: int = 0, floor_reference: torch.Tensor | None = None, epsilon: float = 0.1) -> None:
        self.sources = torch.as_tensor(sources)
        self.embed, self.direction, self.target_class, self.epsilon = embed, direction, target_class, epsilon
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
                          "kid_floor": kid_from_features(self.target_features, floor_features)}

    def score(self, translated: torch.Tensor) -> dict[str, float]:
        """Metrics for float images in [-1, 1] that should belong to the target domain."""
        features, predicted = self.embed(translated)
        fid = fid_from_features(self.target_features, features)
        scores = {"fid": fid, "kid": kid_from_features(self.target_features, features),
                  "target_rate": float((predicted == self.target_class).float().mean()), **self.floor}
        if self.train_features is not None:
            distance = memorization_distance(features, self.train_features)
            scores["memorization_distance"] = distance
            scores["mifid"] = mifid(fid, distance, self.epsilon)
        return scores

    def translate(self, recipe) -> torch.Tensor:
        return recipe.translate(to_unit_range(self.sources), self.direction)

    def __call__(self, recipe) -> dict[str, float]:
        with torch.random.fork_rng(devices=[]):  # evaluating must not change the training run's randomness
            return self.score(self.translate(recipe))


def translation_evaluator(data, test=None, *, direction: str = "", size: int = 64,
                          progress: bool = True) -> TranslationEvaluator:
    """The evaluator for an :class:`UnpairedSet`: B -> A translations of test B images vs test A images.

    ``direction`` defaults to B -> A (photo -> Monet for ``monet2photo``); the judge is trained on the
    training split (``data``), the floor compares test A with training A.
    """
    test = test if test is not None else data.preview
    if test is None:
        raise ValueError(f"{data.name}: no held-out images to score translations against (pass test=...)")
    a_name, b_name = data.domains
    direction = direction or f"{b_name}2{a_name}"
    source_domain, target_domain = direction.split("2", 1)
    if {source_domain, target_domain} != {a_name, b_name}:
        raise ValueError(f"unknown direction {direction!r}; choose {b_name}2{a_name} or {a_name}2{b_name}")
    judge = domain_judge(data.a, data.b, domains=data.domains, size=size, progress=progress)
    source_test, target_test = test.domain(source_domain), test.domain(target_domain)
    target_train = data.domain(target_domain)
    crop = data.size
    reference = torch.as_tensor(target_train.images[:])
    if reference.shape[-1] != crop:  # training images are stored larger (random crops): take the centre
        top = (reference.shape[-1] - crop) // 2
        reference = reference[..., top:top + crop, top:top + crop]
    return TranslationEvaluator(torch.as_tensor(source_test.images[:]), torch.as_tensor(target_test.images[:]),
                                judge.embed, direction=direction, target_class=data.domains.index(target_domain),
                                floor_reference=reference)
