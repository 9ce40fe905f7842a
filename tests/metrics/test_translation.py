"""Translation scores (gancourse.metrics.translation)."""

from __future__ import annotations

import pytest
import torch

from gancourse.metrics.translation import TranslationEvaluator, memorization_distance, mifid

from ..helpers import toy_unpaired

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_memorization_distance_and_mifid():
    train = torch.randn(50, 8)
    assert memorization_distance(train[:10], train) == pytest.approx(0.0, abs=1e-9)
    assert memorization_distance(torch.randn(10, 8), train) > 0.01
    assert mifid(10.0, 0.5, epsilon=0.1) == 10.0 and mifid(10.0, 0.05, epsilon=0.1) == pytest.approx(200.0)


def test_translation_evaluator_prefers_translations_that_look_like_the_target():
    data = toy_unpaired(n=40)

    def colour_stats(images):  # a stand-in feature network: mean and spread of each channel
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], dim=1), torch.zeros(len(images))

    evaluator = TranslationEvaluator(data.preview.b.images, data.preview.a.images, colour_stats,
                                     direction="photo2art", floor_reference=data.a.images[..., :32, :32])
    as_is = evaluator.score(evaluator.sources.float() / 127.5 - 1)
    swapped = evaluator.sources.float().flip(1) / 127.5 - 1  # blue photos turned red: 'translated'
    translated = evaluator.score(swapped)
    assert translated["kid"] < as_is["kid"] and translated["fid"] < as_is["fid"]
    assert {"fid_floor", "kid_floor", "memorization_distance", "memorization_floor", "mifid"} <= set(translated)
