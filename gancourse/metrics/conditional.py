"""Conditional metrics: does a class-conditional generator draw the class it is asked for, and how well?

For each class c, ``n_per_class`` samples are drawn with label c. The judge (a classifier trained on the
same classes) labels them: the share it labels c is the *conditional accuracy* of c. Their features are
compared with real held-out images of c: the *per-class FID*, with its real-vs-real floor (training
images of c against test images of c, same sizes) beside it. Variety per class: the *spread ratio*, the
mean distance between two generated drawings of c over that between two real ones (judge features; 1 = as
varied as the data, near 0 = one drawing again and again), and improved precision / recall per class.

Read the accuracy against the judge's own accuracy on real test images (``real_accuracy``): a judge that
recognises 90% of real cats cannot be expected to recognise many more generated ones, and samples that
beat it are often just very typical (low variety; per-class FID and recall tell).

The **diversity alarm**: a class the judge recognises (at least ``RECOGNISED`` of the samples asked for c are
judged c, and of those judged c, as many were asked for c: the label is followed) whose spread is below
``collapse_below`` of real (default 0.4) is *collapsed*: right class, one drawing again and again (AC-GAN's
failure with long training). The evaluator prints a warning above the progress bar and the history gets
``collapsed`` (how many classes) and ``collapsed/<class>`` (1 or 0) at every evaluation. Classes that are
not yet recognised are left out: early in training every class is the same grey smudge, which is not collapse
(whichever class the judge calls it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data import ImageSet, to_unit_range
from .judge import Judge, get_judge
from .samples import CHUNK, EVAL_SEED, draw_samples
from .scores import fid_from_features, precision_recall


def conditional_accuracy(predicted: torch.Tensor, requested: torch.Tensor, num_classes: int
                         ) -> tuple[float, np.ndarray, np.ndarray]:
    """(overall accuracy, accuracy per requested class, confusion matrix requested x predicted)."""
    predicted, requested = torch.as_tensor(predicted).long().cpu(), torch.as_tensor(requested).long().cpu()
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (requested.numpy(), predicted.numpy()), 1)
    totals = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), totals, out=np.full(num_classes, np.nan), where=totals > 0)
    return float((predicted == requested).float().mean()), per_class, confusion


RECOGNISED = 0.5  # a class the judge recognises at least this often is drawn as itself: low spread is collapse


def mean_distance(features: torch.Tensor) -> float:
    """The mean Euclidean distance between two different rows of ``features``: how spread out a sample is."""
    return float(torch.pdist(torch.as_tensor(features, dtype=torch.float64)).mean())


@dataclass
class ConditionalReport:
    class_names: list[str]
    accuracy: float  # share of all samples the judge assigns to the class they were drawn for
    per_class_accuracy: dict[str, float]
    per_class_fid: dict[str, float]
    per_class_fid_floor: dict[str, float]  # real-vs-real with the same judge and sizes: the best possible
    real_accuracy: dict[str, float]  # the judge on real test images: the ceiling to read accuracy against
    fid: float  # all classes pooled
    fid_floor: float
    confusion: np.ndarray = field(repr=False)  # requested (rows) x judged (columns), counts
    per_class_precision: dict[str, float] = field(default_factory=dict)  # quality: fakes inside real c's manifold
    per_class_recall: dict[str, float] = field(default_factory=dict)  # variety: real c inside the fakes' manifold
    per_class_spread: dict[str, float] = field(default_factory=dict)  # variety: fake spread / real spread
    # The diversity alarm's threshold on the spread (a fraction of real). Measured on 6 Quick Draw categories: AC-GAN
    # at 2k steps draws one drawing per class to the eye and scores 0.19-0.45 (judge features also see stroke
    # noise); the mode-seeking recipe's lowest class stayed at 0.56 or more from 1k to 10k steps.
    collapse_below: float = 0.4

    @property
    def collapsed(self) -> list[str]:
        """Classes drawn as themselves but with under ``collapse_below`` of real variety (the diversity alarm)."""
        judged = self.confusion.sum(axis=0)  # how many samples the judge gave each class, whatever was asked
        return [n for c, n in enumerate(self.class_names) if n in self.per_class_spread
                and self.per_class_accuracy[n] >= RECOGNISED and self.confusion[c, c] >= RECOGNISED * judged[c]
                and self.per_class_spread[n] < self.collapse_below]

    def alarm(self) -> str | None:
        """One line naming the collapsed classes, or None when there are none."""
        if not self.collapsed:
            return None
        which = ", ".join(f"{n} (spread {self.per_class_spread[n]:.2f}, {self.per_class_accuracy[n]:.0%} recognised)"
                          for n in self.collapsed)
        return (f"diversity alarm: {which}: under {self.collapse_below:g} of real variety, one drawing again and "
                "again (per-class collapse)")

    def as_metrics(self) -> dict[str, float]:
        """Flat scalars for ``history.jsonl`` / ``metrics.json``: ``cond_acc``, ``acc/<class>``, ``fid/<class>``."""
        metrics = {"cond_acc": self.accuracy, "fid": self.fid, "fid_floor": self.fid_floor,
                   "judge_real_acc": float(np.mean(list(self.real_accuracy.values())))}
        for name in self.class_names:
            metrics[f"acc/{name}"] = self.per_class_accuracy[name]
            metrics[f"fid/{name}"] = self.per_class_fid[name]
            metrics[f"fid_floor/{name}"] = self.per_class_fid_floor[name]
        for kind, values in (("precision", self.per_class_precision), ("recall", self.per_class_recall),
                             ("spread", self.per_class_spread)):
            if values:
                metrics[kind] = float(np.mean(list(values.values())))
                metrics.update({f"{kind}/{name}": v for name, v in values.items()})
        if self.per_class_spread:
            collapsed = self.collapsed
            metrics["collapsed"] = float(len(collapsed))
            metrics.update({f"collapsed/{name}": float(name in collapsed) for name in self.class_names})
        return metrics

    def table(self) -> str:
        """A plain-text table, one row per class, with the overall figures last."""
        width = max(8, *(len(n) for n in self.class_names))
        spread = bool(self.per_class_spread)
        lines = [f"{'class':<{width}}  {'cond. acc':>9}  {'judge on real':>13}  {'FID':>8}  {'floor':>7}"
                 + (f"  {'spread':>6}" if spread else "")]
        collapsed = self.collapsed
        for n in self.class_names:
            lines.append(f"{n:<{width}}  {self.per_class_accuracy[n]:>9.1%}  {self.real_accuracy[n]:>13.1%}  "
                         f"{self.per_class_fid[n]:>8.2f}  {self.per_class_fid_floor[n]:>7.2f}"
                         + (f"  {self.per_class_spread[n]:>6.2f}" if spread else "")
                         + ("  <- collapsed" if n in collapsed else ""))
        real = float(np.mean(list(self.real_accuracy.values())))
        means = f"  {np.mean(list(self.per_class_spread.values())):>6.2f}" if spread else ""
        lines.append(f"{'overall':<{width}}  {self.accuracy:>9.1%}  {real:>13.1%}  {self.fid:>8.2f}  "
                     f"{self.fid_floor:>7.2f}" + means)
        return "\n".join(lines)


def _class_rows(data: ImageSet, label: int, n: int, generator: torch.Generator) -> torch.Tensor:
    where = torch.nonzero(data.labels == label).flatten()
    return where[torch.randperm(len(where), generator=generator)[:n]]


class ConditionalEvaluator:
    """Scores a conditional recipe per class against a held-out labelled test split.

    Real features are computed once; each call draws ``n_per_class`` samples per class from fixed noise
    (so curves over training are not jittered by the noise) and scores them. Usable as ``fit``'s evaluator.
    """

    def __init__(self, train: ImageSet, test: ImageSet, judge: Judge | None = None, *, n_per_class: int = 500,
                 seed: int = 0, device: str = "cpu", progress: bool = True, collapse_below: float = 0.4) -> None:
        if train.labels is None or test.labels is None:
            raise ValueError("conditional metrics need labelled train and test splits")
        if list(train.class_names) != list(test.class_names):
            raise ValueError(f"train and test splits have different classes: {train.class_names} vs "
                             f"{test.class_names}; load both with the same options")
        self.class_names = list(train.class_names)
        self.num_classes = len(self.class_names)
        self.judge = judge if judge is not None else get_judge(train, test, device=device, progress=progress)
        if self.judge.num_classes != self.num_classes:
            raise ValueError(f"the judge knows {self.judge.num_classes} classes, the data {self.num_classes}")
        g = torch.Generator().manual_seed(seed)
        self.real_features, self.floor_features, self.real_accuracy, self.real_spread = [], [], {}, []
        for c, name in enumerate(self.class_names):
            test_rows = _class_rows(test, c, n_per_class, g)
            if len(test_rows) < 2:
                raise ValueError(f"the test split has {len(test_rows)} images of {name!r}: too few to score it")
            features, pred = self._embed(test, test_rows)
            self.real_features.append(features)
            self.real_spread.append(mean_distance(features))
            self.real_accuracy[name] = float((pred == c).float().mean())
            self.floor_features.append(self._embed(train, _class_rows(train, c, len(test_rows), g))[0])
        # The floors (real against real) are the same at every evaluation: computed once.
        self.fid_floors = {name: fid_from_features(real, floor) for name, real, floor
                           in zip(self.class_names, self.real_features, self.floor_features, strict=True)}
        self.fid_floor = fid_from_features(torch.cat(self.real_features), torch.cat(self.floor_features))
        self.n_per_class = n_per_class
        self.seed = seed
        if not 0.0 <= collapse_below < 1.0:
            raise ValueError(f"collapse_below is a fraction of real variety in [0, 1), got {collapse_below}")
        self.collapse_below = collapse_below
        self.last_report: ConditionalReport | None = None  # what the latest call scored (fit's last evaluation)

    def _embed(self, data: ImageSet, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, _ = data.rows(index)
        return self.judge.embed(to_unit_range(images))

    @torch.no_grad()
    def sample(self, recipe, batch_size: int = CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
        """``n_per_class`` images per class from ``recipe`` (fixed noise), and the labels asked for."""
        labels = torch.arange(self.num_classes).repeat_interleave(self.n_per_class)
        images = draw_samples(recipe, len(labels), labels=labels, seed=self.seed + EVAL_SEED, batch_size=batch_size)
        return images, labels

    def score(self, images: torch.Tensor, labels: torch.Tensor) -> ConditionalReport:
        """Scores float images in [-1, 1] drawn for ``labels``."""
        features, predicted = self.judge.embed(images)
        accuracy, per_class, confusion = conditional_accuracy(predicted, labels, self.num_classes)
        fids, precision, recall, spread = {}, {}, {}, {}
        for c, name in enumerate(self.class_names):
            mine = features[labels == c]
            fids[name] = fid_from_features(self.real_features[c], mine) if len(mine) > 1 else float("nan")
            enough = len(mine) > 3 and len(self.real_features[c]) > 3  # k = 3 neighbours define the manifolds
            precision[name], recall[name] = (precision_recall(self.real_features[c], mine) if enough
                                             else (float("nan"), float("nan")))
            spread[name] = mean_distance(mine) / self.real_spread[c] if len(mine) > 1 else float("nan")
        return ConditionalReport(
            class_names=self.class_names, accuracy=accuracy,
            per_class_accuracy=dict(zip(self.class_names, map(float, per_class), strict=True)),
            per_class_fid=fids, per_class_fid_floor=dict(self.fid_floors),
            real_accuracy=dict(self.real_accuracy),
            fid=fid_from_features(torch.cat(self.real_features), features),
            fid_floor=self.fid_floor,
            confusion=confusion, per_class_precision=precision, per_class_recall=recall,
            per_class_spread=spread, collapse_below=self.collapse_below)

    def report(self, recipe) -> ConditionalReport:
        """The full report (confusion matrix included); the latest is kept as ``last_report``."""
        with torch.random.fork_rng(devices=[]):  # scoring must not change the training run's randomness
            self.last_report = self.score(*self.sample(recipe))
        return self.last_report

    def __call__(self, recipe) -> dict[str, float]:
        """``fit``'s evaluation hook: the metrics for the history, and the diversity alarm above the progress bar."""
        report = self.report(recipe)
        alarm = report.alarm()
        if alarm:
            tqdm.write(f"[gancourse] {alarm}")
        return report.as_metrics()
