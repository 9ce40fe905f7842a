"""The self-supervised feature network (gancourse.metrics.features)."""

from __future__ import annotations

from pathlib import Path

import torch

from gancourse.data import load_dataset
from gancourse.data.folders import load_image_folder

from ..helpers import jpeg


def test_feature_network_metrics_rank_real_above_noise(wikiart_root: Path, monkeypatch) -> None:
    from gancourse.metrics import evaluator_for, features
    from gancourse.metrics.inception import inception_fid, inception_status

    monkeypatch.setattr(features, "TRAIN_STEPS", 15)
    train = load_dataset("wikiart", size=32)
    test = load_dataset("wikiart", "test", size=32)
    evaluator = evaluator_for(train, test=test, n=200, progress=False)
    assert isinstance(evaluator.judge, features.FeatureNet) and evaluator.n == len(test)
    assert (features.cache_dir() / "features").is_dir()

    class Sampler:
        def __init__(self, images) -> None:
            self.images = images

        def sample(self, n, generator=None):
            return self.images[torch.randint(len(self.images), (n,), generator=generator)]

    real = evaluator(Sampler(train.images.float() / 127.5 - 1))
    noise = evaluator(Sampler(torch.rand(50, 3, 32, 32) * 2 - 1))
    assert {"fid", "kid", "precision", "recall", "fid_floor"} <= set(real)
    assert real["fid"] < noise["fid"]
    monkeypatch.setenv("GANCOURSE_INCEPTION", str(wikiart_root / "no-such-weights.pth"))
    assert inception_fid(train.images[:2].float(), train.images[:2].float()) is None
    assert "skipped" in inception_status()


def test_unlabelled_images_get_a_feature_network_evaluator(tmp_data_root: Path, monkeypatch) -> None:
    from gancourse.metrics import evaluator_for, features

    monkeypatch.setattr(features, "TRAIN_STEPS", 3)
    folder = tmp_data_root / "plain"
    folder.mkdir()
    for i in range(44):
        jpeg(folder / f"{i:02d}.jpg", 16, 16, (5 * i, 255 - 5 * i, 0))
    data = load_image_folder(folder, 16, progress=False)
    evaluator = evaluator_for(data, n=100, progress=False)
    assert evaluator.n == 11 and evaluator.num_classes == 0  # every fourth image held out as the reference
