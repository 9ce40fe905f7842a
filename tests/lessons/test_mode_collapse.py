"""Stacked MNIST, its per-channel scoring, the 2-D Gaussian toys, and short runs of the collapse cures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.data import ImageSet, load_dataset
from gancourse.data.stacked import CLASS_NAMES, channel_digits, stack_digits
from gancourse.lessons.toys import ToyConfig, grid, ring, score_points, train_toy
from gancourse.metrics.stacked import ChannelJudge, StackedMnistEvaluator


def _digits(per_class: int = 3) -> ImageSet:
    """Grey 28 x 28 "digits" whose pixels all equal 20 * label: the label can be read back from the image."""
    labels = torch.arange(10).repeat_interleave(per_class)
    images = (labels * 20).to(torch.uint8)[:, None, None, None].expand(-1, 1, 28, 28).contiguous()
    return ImageSet("digits", images, labels, [str(d) for d in range(10)], "real")


class BrightnessJudge(torch.nn.Module):
    """A stand-in for the MNIST judge: reads the digit from the mean brightness of a grey image."""

    config = {"channels": 1}
    num_classes = 10

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 500):
        level = (images.mean(dim=(1, 2, 3)) + 1) * 127.5 / 20
        return torch.stack([level, level**2], dim=1), level.round().long().clamp(0, 9)


def test_stacked_digits_carry_their_label_in_the_channels() -> None:
    stacked = stack_digits(_digits(), n=500, seed=3)
    assert tuple(stacked.images.shape) == (500, 3, 28, 28) and stacked.images.dtype == torch.uint8
    assert stacked.class_names == CLASS_NAMES and stacked.num_classes == 1000
    per_channel = stacked.images[:, :, 0, 0].long() // 20
    assert torch.equal(per_channel, channel_digits(stacked.labels))
    assert torch.equal(stack_digits(_digits(), 500, 3).images, stacked.images)  # deterministic
    assert not torch.equal(stack_digits(_digits(), 500, 4).labels, stacked.labels)
    assert len(set(stacked.labels.tolist())) > 350  # 500 draws from 1000 modes cover ~390 of them


def test_stacked_mnist_from_the_real_digits(real_data_root: Path) -> None:
    from tests.conftest import require_dataset

    require_dataset(real_data_root, "mnist")
    train = load_dataset("stacked-mnist", n=3000)
    test = load_dataset("stacked-mnist", "test", n=3000)
    assert train.source == "real" and train.images.shape == (3000, 3, 28, 28)
    assert not torch.equal(train.images[:10], test.images[:10])
    assert len(set(train.labels.tolist())) > 900  # 3000 uniform draws cover ~950 of 1000 modes
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_dataset("stacked-mnist", "validation")


def test_channel_judge_reads_each_channel_as_one_digit() -> None:
    judge = ChannelJudge(BrightnessJudge())
    images = torch.tensor([[4, 7, 2], [0, 0, 9], [9, 9, 9]], dtype=torch.float32) * 20 / 127.5 - 1
    images = images[:, :, None, None].expand(-1, -1, 28, 28)
    features, modes = judge.embed(images)
    assert modes.tolist() == [472, 9, 999] and features.shape == (3, 6)
    with pytest.raises(ValueError, match="3-channel"):
        judge.embed(images[:, :1])


def test_stacked_evaluator_counts_modes_and_kl_against_the_real_floor() -> None:
    reference = stack_digits(_digits(), n=3000, seed=1)
    evaluator = StackedMnistEvaluator(reference, ChannelJudge(BrightnessJudge()), n=400, n_modes=3000)
    assert evaluator.floor["modes_floor"] > 900 and evaluator.floor["kl_floor"] < 0.3

    class Fixed:
        def __init__(self, data: ImageSet) -> None:
            self.data = data

        def sample(self, n, generator=None):
            index = torch.randint(len(self.data), (n,), generator=generator)
            return self.data.images[index].float() / 127.5 - 1

    diverse = evaluator(Fixed(stack_digits(_digits(), n=5000, seed=9)))
    one_mode = reference.subset(torch.nonzero(reference.labels == reference.labels[0]).flatten())
    collapsed = evaluator(Fixed(one_mode))
    assert diverse["modes"] > 850 and diverse["kl_uniform"] < 0.4
    assert collapsed["modes"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(1000))
    assert collapsed["recall"] < diverse["recall"]


def test_toy_mixtures_and_their_scores() -> None:
    r, g = ring(), grid()
    assert r.num_modes == 8 and torch.allclose(r.centres.norm(dim=1), torch.full((8,), 2.0))
    assert g.num_modes == 25 and sorted(set(g.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    points = g.sample(5000, torch.Generator().manual_seed(0))
    perfect = score_points(points, g)
    assert perfect["modes"] == 25 and perfect["high_quality"] > 0.98 and perfect["kl_uniform"] < 0.02
    one = score_points(r.centres[[3]].repeat(100, 1), r)
    assert one["modes"] == 1 and one["kl_uniform"] == pytest.approx(math.log(8))
    far = score_points(torch.full((50, 2), 10.0), r)
    assert far["modes"] == 0 and far["high_quality"] == 0


def test_toy_gan_trains_and_records_what_it_needs() -> None:
    run = train_toy(mixture="ring", steps=40, eval_every=20, batch_size=64, pack=2, seed=1)
    assert [e["step"] for e in run.evaluations] == [0, 20, 40]
    assert all("loss_d" in h for h in run.history[1:]) and sorted(run.snapshots) == [0, 20, 40]
    assert run.snapshots[40].shape == (run.config.eval_samples, 2)
    again = train_toy(mixture="ring", steps=40, eval_every=20, batch_size=64, pack=2, seed=1)
    assert np.array_equal(again.snapshots[40], run.snapshots[40])  # one seed, one run
    with pytest.raises(ValueError, match="pack must"):
        ToyConfig(batch_size=64, pack=3)
    with pytest.raises(ValueError, match="unknown mixture"):
        ToyConfig(mixture="spiral")


@pytest.mark.parametrize("cure", [dict(pack=2), dict(minibatch_std=True), dict(d_norm="spectral", d_width=8)])
def test_a_short_run_of_each_cure(tmp_path: Path, cure: dict) -> None:
    from gancourse.engine.experiment import train

    data = stack_digits(_digits(), n=128, seed=0)
    result = train("stacked-mnist", "dcgan", tmp_path / "run", data=data, steps=3, batch_size=16, evaluate=False,
                   progress=False, g_width=8, d_width=cure.pop("d_width", 4), **cure)
    assert result.step == 3 and result.run.generator_path.is_file()
    assert result.run.read_config()["recipe_config"]["channels"] == 3


def test_variants_share_one_evaluator_and_make_one_table(tmp_path: Path) -> None:
    from gancourse.engine.comparisons import run_variants, variants_table

    data = stack_digits(_digits(), n=64, seed=0)
    calls = []

    def evaluator(recipe) -> dict[str, float]:
        calls.append(recipe.config.pack)
        return {"modes": float(len(calls)), "kl_uniform": 1.0}

    results = run_variants({"baseline": {}, "pack 2": dict(pack=2)}, dataset="stacked-mnist", data=data,
                           out_root=tmp_path, steps=2, evaluator=evaluator, batch_size=16, progress=False,
                           g_width=4, d_width=4)
    table = variants_table(results)
    assert calls == [1, 2] and list(table.index) == ["baseline", "pack 2"]
    assert table.loc["pack 2", "options"] == "pack=2" and table.loc["baseline", "options"] == "(baseline)"
    assert table.loc["pack 2", "modes"] == 2.0


def test_cures_are_named_variants_and_unknown_names_are_refused() -> None:
    from gancourse.lessons.mode_collapse import BASELINE, CURES, cure_variants, published_table

    variants = cure_variants()
    assert list(variants) == list(CURES) and variants["baseline"] == {}
    assert variants["WGAN-GP"]["recipe"] == "wgan-gp" and variants["pack 4"] == {"pack": 4}
    assert variants["D width 32"]["d_width"] > variants["D width 16"]["d_width"] > BASELINE["d_width"]
    with pytest.raises(ValueError, match="unknown cure 'unrolling'.*pack 2"):
        cure_variants(["baseline", "unrolling"])
    table = published_table()
    assert table["modes (of 1000)"].between(0, 1000).all() and (table["KL"] >= 0).all()


def test_our_rows_beside_the_papers_name_d_size_as_the_papers_do() -> None:
    from gancourse.engine.comparisons import VariantResult
    from gancourse.lessons.mode_collapse import PUBLISHED, ours_beside_published

    measured = [("baseline", {}, 17.0, 6.444), ("D width 32", {"d_width": 32}, 837.0, 0.79)]
    results = [VariantResult(name, options, run=None, steps=10, seconds=1.0, metrics={"modes": m, "kl_uniform": kl})
               for name, options, m, kl in measured]
    table = ours_beside_published(results, "10 steps", 1000)
    assert len(table) == 2 + len(PUBLISHED)
    assert list(table["setting"][:2]) == ["course DCGAN, D 1/4 of G's width", "course DCGAN, D as wide as G"]
    assert list(table["KL"][:2]) == [6.44, 0.79] and table["budget"][0] == "10 steps, 1000 samples"
