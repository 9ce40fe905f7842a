"""Score a generator against real images with a judge: the hook ``fit`` calls every ``eval_every`` steps."""

from __future__ import annotations

import torch

from ..data import ImageSet, to_unit_range
from .judge import Judge
from .samples import CHUNK, draw_samples
from .scores import (
    fid_from_features,
    kid_from_features,
    kid_within_terms,
    kl_from_uniform,
    knn_radii,
    modes_covered,
    precision_recall,
)


class Evaluator:
    """Holds the real features once (and the parts of KID and precision/recall that depend on them alone); each
    call samples ``n`` images from a recipe and scores them.

    ``fid_floor`` is the FID between two disjoint real sets of the same size: the best a perfect
    generator could score with this judge and this ``n``. Read FID as a multiple of it.
    """

    def __init__(self, reference: ImageSet, judge: Judge, *, floor_reference: ImageSet | None = None,
                 n: int = 2000, seed: int = 0) -> None:
        self.judge, self.n = judge, min(n, len(reference))
        self.num_classes = judge.num_classes if reference.num_classes else 0
        g = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(reference), generator=g)[: self.n]
        self.real_features, real_pred = self._embed_uint8(reference, index)
        self.real_modes = modes_covered(real_pred, self.num_classes) if self.num_classes else None
        self.real_radii = knn_radii(self.real_features)
        self._kid_terms: dict[int, list[float]] = {}  # by the number of samples scored
        self.floor: dict[str, float] = {}
        if floor_reference is not None:
            other = torch.randperm(len(floor_reference), generator=g)[: self.n]
            floor_features, _ = self._embed_uint8(floor_reference, other)
            self.floor = {"fid_floor": fid_from_features(self.real_features, floor_features),
                          "kid_floor": self._kid(floor_features)}

    def _embed_uint8(self, data: ImageSet, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, _ = data.rows(index)
        return self.judge.embed(to_unit_range(images))

    def _kid(self, features: torch.Tensor) -> float:
        """KID against the real features, their own terms computed once per number of samples (the floor's
        and every evaluation's are the same ``n``)."""
        if len(features) not in self._kid_terms:
            self._kid_terms[len(features)] = kid_within_terms(self.real_features, len(features))
        return kid_from_features(self.real_features, features, a_terms=self._kid_terms[len(features)])

    def score(self, fake: torch.Tensor) -> dict[str, float]:
        """Metrics for float images in [-1, 1] (N, C, H, W)."""
        return self.score_embedded(*self.judge.embed(fake))

    def score_embedded(self, features: torch.Tensor, pred: torch.Tensor) -> dict[str, float]:
        """Metrics for samples the judge has embedded already: their features and predicted classes."""
        precision, recall = precision_recall(self.real_features, features, real_radii=self.real_radii)
        scores = {"fid": fid_from_features(self.real_features, features), "kid": self._kid(features),
                  "precision": precision, "recall": recall, **self.floor}
        if self.num_classes:
            scores["modes"] = modes_covered(pred, self.num_classes)
            scores["kl_uniform"] = kl_from_uniform(pred, self.num_classes)
        return scores

    def sample(self, recipe, batch_size: int = CHUNK) -> torch.Tensor:
        """``n`` images from ``recipe``, the same noise at every evaluation: less jitter in curves."""
        return draw_samples(recipe, self.n, batch_size=batch_size)

    def __call__(self, recipe) -> dict[str, float]:
        with torch.random.fork_rng(devices=[]):  # evaluating must not change the training run's randomness
            return self.score(self.sample(recipe))
