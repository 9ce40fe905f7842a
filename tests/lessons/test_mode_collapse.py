"""Stacked MNIST, its per-channel scoring, the 2-D Gaussian toys, and short runs of the collapse cures."""

from __future__ import annotations

from pathlib import Path

import pytest

from gancourse.data.stacked import stack_digits

from ..helpers import toy_digits


@pytest.mark.parametrize("cure", [dict(pack=2), dict(minibatch_std=True), dict(d_norm="spectral", d_width=8)])
def test_a_short_run_of_each_cure(tmp_path: Path, cure: dict) -> None:
    from gancourse.engine.experiment import train
    from gancourse.engine.spec import RunSpec

    data = stack_digits(toy_digits(), n=128, seed=0)
    spec = RunSpec("stacked-mnist", "dcgan", recipe_options=dict(g_width=8, d_width=cure.pop("d_width", 4), **cure),
                   batch_size=16, steps=3, evaluate=False)
    result = train(spec, out=tmp_path / "run", data=data, progress=False)
    assert result.step == 3 and result.run.generator_path.is_file()
    assert result.run.read_config()["recipe_config"]["channels"] == 3


def test_variants_share_one_evaluator_and_make_one_table(tmp_path: Path) -> None:
    from gancourse.engine.comparisons import run_variants, variants_table
    from gancourse.engine.spec import RunSpec

    data = stack_digits(toy_digits(), n=64, seed=0)
    calls = []

    def evaluator(recipe) -> dict[str, float]:
        calls.append(recipe.config.pack)
        return {"modes": float(len(calls)), "kl_uniform": 1.0}

    base = RunSpec("stacked-mnist", recipe_options=dict(g_width=4, d_width=4), batch_size=16, steps=2)
    results = run_variants(base, {"baseline": {}, "pack 2": dict(pack=2)}, out_root=tmp_path, data=data,
                           evaluator=evaluator, progress=False)
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
