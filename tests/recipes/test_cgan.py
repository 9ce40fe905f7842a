"""The conditional GAN: labels reach G and D, a chosen class can be drawn, conditional metrics, CLI."""

import numpy as np
import pytest
import torch

from gancourse.cli import main
from gancourse.data import ImageSet
from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.recipes import ACGAN, CGAN, RECIPES
from gancourse.recipes.cgan import class_index

from ..helpers import BLOBS as DATA
from ..helpers import SMALL, OneImageSampler, RealSampler
from ..helpers import tiny_cgan as make


def test_config_for_makes_it_conditional_on_the_data_classes():
    recipe = make()
    assert RECIPES["cgan"] is CGAN and recipe.config.n_classes == 4
    assert recipe.G.embed is not None and recipe.D.embed is not None  # label embedding in G, projection in D
    assert 0.15 < float(recipe.G.embed.weight.detach().std()) < 0.6  # not DCGAN's 0.02, or G ignores the label at first
    unlabelled = ImageSet("plain", DATA.images, None, [], "real")
    with pytest.raises(ValueError, match="labelled data"):
        CGAN(CGAN.config_for(unlabelled, **SMALL))


def make_acgan(**options) -> ACGAN:
    seed_everything(0)
    return ACGAN(ACGAN.config_for(DATA, **SMALL, **options))


def test_cgan_is_acgan_plus_the_mode_seeking_term():
    """cgan's defaults are the benchmark's winning candidate `acgan-ms`: the old recipe + mode seeking."""
    import dataclasses

    recipe, old = make(), make_acgan()
    assert RECIPES["acgan"] is ACGAN and old.config.mode_seeking == 0 and recipe.config.mode_seeking == 1.0
    assert dataclasses.asdict(recipe.config) == dataclasses.asdict(old.config) | {"mode_seeking": 1.0}
    from benchmarks.cgan_accuracy import CANDIDATES

    assert CANDIDATES["acgan-ms"] == ("acgan", {"mode_seeking": 1.0}) and CANDIDATES["acgan"] == ("acgan", {})
    o = old.config  # the earlier default, kept as `acgan` to show the collapse
    assert (o.loss, o.d_norm, o.minibatch_std, o.twin, o.aux_weight) == ("non-saturating", "batch", True, False, 1.0)
    assert old.D.classifier.out_channels == o.n_classes
    tac = make(twin=True, loss="hinge", d_norm="spectral")  # measured, not chosen
    assert tac.D.classifier.out_channels == 2 * tac.config.n_classes  # AC-GAN's head and its twin, side by side
    assert hasattr(tac.D.head, "parametrizations")  # spectral norm on D's layers
    assert make(aux_weight=0.0, twin=True).D.classifier is None  # projection only: no head, so no twin to correct
    projection_only = make(aux_weight=0.0, twin=True, mode_seeking=0.0)
    assert "twin_d" not in projection_only.step(_batch()) and "cls_d" not in projection_only.step(_batch())


def test_cgan_shares_dcgans_step_so_its_penalties_and_losses_apply_too():
    """cgan only adds loss terms: R1/R2 and the relativistic loss of DCGAN's step work with its class head."""
    recipe = make(loss="relativistic", r1=1.0, r2=1.0, d_norm="none", minibatch_std=False)
    logs = recipe.step(_batch())
    assert {"r1", "r2", "cls_d", "cls_g", "ms_ratio"} <= set(logs) and recipe.extra_state["d_updates"] == 1
    assert all(torch.isfinite(p).all() for p in recipe.D.parameters())


def test_the_twin_classifier_learns_the_fakes_classes_and_g_is_pushed_away_from_it():
    recipe = make(twin=True, loss="hinge", d_norm="spectral", minibatch_std=False, mode_seeking=0.0)
    from gancourse.data import BatchStream

    stream = BatchStream(DATA, 32, seed=0)
    history = [recipe.step(stream.next()) for _ in range(60)]
    assert all(np.isfinite([h["loss_d"], h["cls_d"], h["twin_d"], h["twin_g"]]).all() for h in history)
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    assert mean(history[-10:], "cls_d") < 0.6 * mean(history[:5], "cls_d")  # the head learns real classes
    assert mean(history[-10:], "d_class_acc_real") > 0.9
    assert mean(history[-10:], "d_class_acc_fake") > 0.5  # and G's fakes are drawn as asked (chance 0.25)
    before = {k: v.detach().clone() for k, v in recipe.G.state_dict().items()}
    recipe.step(stream.next())
    assert any(not torch.equal(before[k], v) for k, v in recipe.G.state_dict().items())


def test_the_mode_seeking_term_keeps_two_noise_vectors_apart():
    """MSGAN's term (Mao et al. 2019): G is penalised when two z drawn for the same label give close images."""
    from gancourse.data import BatchStream

    def spread_after(**options) -> float:
        recipe = make_acgan(**options)
        stream = BatchStream(DATA, 32, seed=0)
        logs = [recipe.step(stream.next()) for _ in range(60)]
        images = recipe.sample_class(1, 64, generator=torch.Generator().manual_seed(5))
        return float(torch.pdist(images.flatten(1)).mean()), logs  # distance between two drawings of one class

    plain, _ = spread_after()
    seeking, logs = spread_after(mode_seeking=1.0)
    assert "ms_ratio" in logs[-1] and seeking > 1.5 * plain
    with pytest.raises(ValueError, match="mode_seeking"):
        make(mode_seeking=-1.0)


def test_the_auxiliary_classifier_is_on_for_cgan_only():
    recipe = make_acgan()
    assert recipe.config.aux_weight > 0 and recipe.D.classifier is not None
    assert recipe.optimizers["D"].param_groups[0]["params"][-1] is recipe.D.classifier.bias  # D's optimiser trains it
    assert make_acgan(aux_weight=0.0).D.classifier is None  # projection only, DCGAN's step
    dcgan = RECIPES["dcgan"](RECIPES["dcgan"].config_for(DATA, **SMALL))
    assert dcgan.config.aux_weight == 0 and dcgan.D.classifier is None
    with pytest.raises(ValueError, match="aux_weight"):
        make_acgan(aux_weight=-1.0)
    with pytest.raises(ValueError, match="aux_weight=0"):
        make_acgan(pack=2)
    assert make_acgan(pack=2, aux_weight=0.0).D.pack == 2


def test_the_auxiliary_term_teaches_d_the_classes_and_g_to_draw_them():
    recipe = make_acgan()
    from gancourse.data import BatchStream

    stream = BatchStream(DATA, 32, seed=0)
    history = [recipe.step(stream.next()) for _ in range(60)]
    first, last = history[:5], history[-10:]
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    assert mean(first, "d_class_acc_real") < 0.6 < 0.95 < mean(last, "d_class_acc_real")  # chance is 0.25
    assert mean(last, "cls_d") < 0.5 * mean(first, "cls_d")
    # D's head never sees fakes in training: its growing agreement with their requested labels is G's doing
    assert mean(last, "cls_g") < 0.75 * mean(first, "cls_g")
    assert mean(first, "d_class_acc_fake") < 0.6 < 0.9 < mean(last, "d_class_acc_fake")


def test_the_generator_draws_the_class_it_is_asked_for():
    recipe = make()
    recipe.step(next(iter([_batch()])))
    a = recipe.sample_class(1, 6, generator=torch.Generator().manual_seed(3))
    b = recipe.sample_class(2, 6, generator=torch.Generator().manual_seed(3))
    assert a.shape == (6, 1, 16, 16) and not torch.allclose(a, b)  # same noise, other label: other images
    with pytest.raises(ValueError, match="label must be"):
        recipe.sample_class(4, 1)


def _batch():
    from gancourse.data import BatchStream

    return BatchStream(DATA, 32, seed=0).next()


def test_class_index_accepts_names_and_indices_and_lists_the_classes():
    names = ["apple", "cat", "star"]
    assert class_index(names, "cat") == 1 and class_index(names, "2") == 2 and class_index(names, 0) == 0
    with pytest.raises(ValueError, match="apple, cat, star"):
        class_index(names, "dog")


@pytest.mark.parametrize("sampler, fires", [(OneImageSampler, True), (RealSampler, False)])
def test_the_alarm_warns_during_training_and_lands_in_the_history(blob_scorer, tmp_path, capsys, sampler, fires):
    """A small fit whose G is replaced by a collapsed one (the first real drawing of each class, for every noise
    vector) or by a healthy one (real drawings): the evaluation hook warns above the progress bar, or stays quiet."""
    test, evaluator = blob_scorer
    recipe = make_acgan()
    recipe.sample = sampler(test).sample
    result = fit(recipe, DATA, tmp_path / "run", Loop(steps=4, batch_size=32, eval_every=2), evaluator=evaluator,
                 progress=False)
    evaluations = result.run.evaluations()
    assert [e["step"] for e in evaluations] == [2, 4]
    assert all(e["eval"]["collapsed"] == (4 if fires else 0) for e in evaluations)
    printed = capsys.readouterr()
    assert ("diversity alarm" in printed.out + printed.err) is fires


def test_fixed_samples_share_one_noise_vector_across_the_classes():
    inputs = make().fixed_inputs(10)
    assert inputs["labels"].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert torch.equal(inputs["z"][0], inputs["z"][3]) and not torch.equal(inputs["z"][3], inputs["z"][4])


# --- the CLI: training a conditional run on Quick Draw, and sampling a chosen class ---------------------

@pytest.fixture
def quickdraw_root(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "quickdraw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("apple", "cat", "star"):
        np.save(folder / f"{name}.npy", rng.integers(0, 255, (60, 784), dtype=np.uint8))
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    return tmp_path / "data"


TINY = ["--steps", "2", "--batch-size", "8", "--no-eval", "--quiet", "--set", "nz=8", "--set", "g_width=8",
        "--set", "d_width=8"]


def test_cli_trains_a_conditional_run_on_chosen_categories_and_samples_one_class(quickdraw_root, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--recipe", "cgan", "--dataset", "quickdraw", "--categories", "cat,star",
                 "--out", str(run), *TINY]) == 0
    import json

    assert json.loads((run / "config.json").read_text())["data"]["classes"] == ["cat", "star"]
    out = tmp_path / "stars.pt"
    assert main(["sample", str(run), "--n", "5", "--label", "star", "--out", str(out)]) == 0
    stars = torch.load(out)
    assert stars.shape == (5, 1, 28, 28) and stars.abs().max() <= 1
    cats = tmp_path / "cats.pt"
    main(["sample", str(run), "--n", "5", "--label", "cat", "--out", str(cats)])
    assert not torch.allclose(torch.load(cats), stars)
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "5", "--label", "dog", "--out", str(out)]) == 2
    assert "cat, star" in capsys.readouterr().err


def test_cli_scores_a_conditional_run_per_class_with_the_diversity_alarm(quickdraw_root, tmp_path):
    run = tmp_path / "run"
    tiny = [a for a in TINY if a != "--no-eval"]
    assert main(["train", "--recipe", "cgan", "--dataset", "quickdraw", "--categories", "cat,star",
                 "--out", str(run), "--eval-samples", "40", *tiny]) == 0
    import json

    final = json.loads((run / "metrics.json").read_text())
    assert {"cond_acc", "spread/cat", "collapsed", "collapsed/star"} <= set(final)


@pytest.mark.parametrize("recipe", ["dcgan", "wgan", "wgan-gp"])
def test_cli_trains_every_recipe_on_quickdraw_with_a_data_option(quickdraw_root, tmp_path, recipe):
    run = tmp_path / recipe
    assert main(["train", "--recipe", recipe, "--dataset", "quickdraw", "--data-option", "categories=apple,cat",
                 "--out", str(run), *TINY]) == 0
    assert (run / "checkpoints" / "generator.pt").is_file()


def test_cli_rejects_categories_for_a_dataset_without_them(quickdraw_root, tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--categories", "cat", "--out", str(tmp_path / "x"), *TINY]) == 2
    assert "quickdraw" in capsys.readouterr().err


@pytest.mark.parametrize("recipe", ["dcgan", "wgan", "wgan-gp"])
def test_recipes_without_a_class_head_refuse_aux_weight(recipe):
    """dcgan and wgan have no class head: an aux_weight they would silently ignore is refused, naming cgan."""
    cls = RECIPES[recipe]
    with pytest.raises(ValueError, match="aux_weight=0.5 would be ignored.*cgan"):
        cls(cls.config_for(DATA, aux_weight=0.5, **SMALL))
    assert cls(cls.config_for(DATA, aux_weight=0.0, **SMALL)).D.classifier is None
