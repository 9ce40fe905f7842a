"""Conditional accuracy (gancourse.metrics.conditional)."""

import pytest
import torch

from gancourse.metrics.conditional import ConditionalEvaluator, conditional_accuracy
from gancourse.metrics.judge import train_judge

from ..helpers import BLOBS as DATA
from ..helpers import OneImageSampler, RealSampler, blob_images


def test_conditional_accuracy_per_class_and_confusion():
    requested = torch.tensor([0, 0, 0, 1, 1, 2])
    predicted = torch.tensor([0, 0, 1, 1, 1, 0])
    overall, per_class, confusion = conditional_accuracy(predicted, requested, 3)
    assert overall == pytest.approx(4 / 6)
    assert per_class.tolist() == pytest.approx([2 / 3, 1.0, 0.0])
    assert confusion.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_conditional_evaluator_tells_right_classes_from_wrong_ones():
    test = blob_images(n=200, size=16, seed=1)
    judge = train_judge(DATA, epochs=2, batch_size=32, progress=False)
    evaluator = ConditionalEvaluator(DATA, test, judge, n_per_class=30)
    right = evaluator.report(RealSampler(test))
    wrong = evaluator.report(RealSampler(test, offset=1))
    assert right.accuracy > 0.9 and wrong.accuracy < 0.1
    assert evaluator.last_report is wrong  # the latest report is kept (fit's final evaluation, for a notebook)
    assert set(right.per_class_accuracy) == set(DATA.class_names)
    assert right.per_class_fid["quadrant 0"] < wrong.per_class_fid["quadrant 0"]
    assert 0.7 < right.per_class_spread["quadrant 0"] < 1.3  # real drawings are as varied as real drawings
    collapsed = evaluator.report(OneImageSampler(test))
    assert collapsed.accuracy > 0.9 and collapsed.per_class_spread["quadrant 0"] < 0.05  # right class, no variety
    metrics = right.as_metrics()
    assert metrics["cond_acc"] == right.accuracy and "acc/quadrant 3" in metrics and "fid/quadrant 3" in metrics
    assert "spread/quadrant 3" in metrics and "recall/quadrant 3" in metrics
    assert "overall" in right.table()
    with pytest.raises(ValueError, match="different classes"):
        ConditionalEvaluator(DATA, blob_images(n=60, size=16, classes=3), judge)


class SmudgeSampler(RealSampler):
    """The same grey image for every class: an untrained generator (not recognised, so not a collapse)."""

    def sample(self, n, labels=None, generator=None):
        return torch.zeros(len(labels), 1, 16, 16)


def test_the_diversity_alarm_names_recognised_classes_without_variety(blob_scorer):
    test, evaluator = blob_scorer
    collapsed = evaluator.report(OneImageSampler(test))
    assert collapsed.collapsed == DATA.class_names and "quadrant 2 (spread 0.00" in collapsed.alarm()
    assert collapsed.table().count("<- collapsed") == 4
    metrics = collapsed.as_metrics()
    assert metrics["collapsed"] == 4 and metrics["collapsed/quadrant 0"] == 1.0
    healthy = evaluator.report(RealSampler(test))
    assert healthy.collapsed == [] and healthy.alarm() is None and healthy.as_metrics()["collapsed"] == 0
    assert "collapsed" not in healthy.table()
    smudge = evaluator.report(SmudgeSampler(test))  # one image for all, but drawn as no class in particular
    assert smudge.accuracy < 0.5 and smudge.alarm() is None
    with pytest.raises(ValueError, match="collapse_below"):
        ConditionalEvaluator(DATA, test, evaluator.judge, collapse_below=1.5)
