"""Which evaluator scores a data set: the judge for labelled digits, a registered factory, or a feature network.

Above :mod:`.evaluator` and :mod:`.features` (it picks between them), so neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable

from ..data import ImageSet, load_dataset
from .evaluator import Evaluator
from .features import feature_evaluator
from .judge import get_judge

# Datasets the plain judge cannot score register a factory here: (train, *, test, n, device, progress) -> Evaluator.
EVALUATORS: dict[str, Callable[..., Evaluator]] = {}


def register_evaluator(dataset: str, factory: Callable[..., Evaluator]) -> None:
    EVALUATORS[dataset] = factory


def evaluator_for(train: ImageSet, *, test: ImageSet | None = None, n: int = 2000, device: str = "cpu",
                  progress: bool = True) -> Evaluator:
    """An evaluator for a labelled dataset: judge trained on ``train``, scored against its test split.

    The floor compares the test split with the training split (two real samples of size ``n``).
    Datasets in ``EVALUATORS`` (wikiart, stacked-mnist) use their own; unlabelled images get a feature
    network trained on them (:func:`gancourse.metrics.features.feature_evaluator`).
    """
    if train.name in EVALUATORS:
        return EVALUATORS[train.name](train, test=test, n=n, device=device, progress=progress)
    if train.labels is None or not train.num_classes:
        return feature_evaluator(train, test=test, n=n, device=device, progress=progress)
    if test is None:
        test = load_dataset(train.name, "test", allow_stand_in=train.is_stand_in)
        if test.source != train.source:
            raise ValueError(f"{train.name}: train is {train.source} but test is {test.source}")
    judge = get_judge(train, test, device=device, progress=progress)
    return Evaluator(test, judge, floor_reference=train, n=n)
