"""gancourse.sweeps.report: collect a sweep into a table, replicates (mean, std, ties), the heat-map and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gancourse.sweeps import collect, combination_name, write_report


@pytest.mark.xdist_group("swept")
def test_collect_gives_one_row_per_combination(swept):
    _, out, _ = swept
    df = collect(out)
    assert len(df) == 5
    assert list(df.columns[:2]) == ["a", "b"]
    ok = df[df["status"] == "ok"]
    assert len(ok) == 4
    assert sorted(ok["fid"]) == pytest.approx([10.5, 11.5, 20.5, 21.5])
    assert ok.set_index(["a", "b"]).loc[(1, 0.5), "rank"] == 1  # lowest FID ranks first
    failed = df[df["status"] == "failed"].iloc[0]
    assert failed["a"] == 3 and "fails on purpose" in failed["error"] and failed["wall_time"] > 0
    assert df.attrs["fixed"] == {"fail_on": 3}

    df, paths = write_report(out)
    assert set(paths) == {"csv", "markdown", "heatmap", "contact_sheet"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert paths["markdown"].read_text().count("\n| ") == 5 + 1  # header row + one row per combination


@pytest.mark.xdist_group("swept")
def test_cli_collect_prints_the_table(swept, capsys):
    from gancourse.cli import main

    _, out, _ = swept
    assert main(["collect", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| a | b | fid |" in printed and "contact_sheet.png" in printed


def fake_sweep(folder: Path, runs: list[tuple[dict, dict | None]], varying: list[str]) -> Path:
    """A sweep folder as `gancourse sweep` leaves it: one (values, metrics or None for a failed run) per run."""
    from PIL import Image

    combos = []
    for values, metrics in runs:
        name = combination_name(values)
        combos.append({"name": name, "values": values})
        run = folder / name / "run"
        (run / "samples").mkdir(parents=True)
        status = {"status": "ok" if metrics else "failed", "error": "" if metrics else "ValueError: boom",
                  "wall_time": 10.0, "params": values}
        (folder / name / "status.json").write_text(json.dumps(status))
        if metrics:
            (run / "metrics.json").write_text(json.dumps({"step": 100, **metrics}))
            Image.new("L", (16, 16), 100).save(run / "samples" / "step_000100.png")
    (folder / "sweep.json").write_text(json.dumps({"notebook": "x.ipynb", "varying": varying, "fixed": {},
                                                   "combinations": combos}))
    return folder


def replicate_runs(fids: dict[tuple, list[float | None]]) -> list[tuple[dict, dict | None]]:
    return [({"dropout": d, "width": w, "seed": s}, {"fid": f, "recall": 0.1 * s} if f is not None else None)
            for (d, w), values in fids.items() for s, f in enumerate(values)]


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_replicate_table_gives_mean_std_n_rank_and_ties(tmp_path):
    from gancourse.sweeps import replicate_table

    runs = replicate_runs({(0.1, 64): [100.0, 110.0, 120.0],   # mean 110, std 10
                           (0.1, 128): [80.0, 82.0, 84.0],     # mean 82, std 2: best, clearly
                           (0.3, 64): [104.0, 111.0, None],    # mean 107.5 (n=2): within 10 of 110 -> tie
                           (0.3, 128): [None, None, None]})    # nothing finished
    df = collect(fake_sweep(tmp_path / "s", runs, ["dropout", "width", "seed"]))
    table = replicate_table(df)
    assert list(table[["dropout", "width"]].itertuples(index=False, name=None)) == [
        (0.1, 128), (0.3, 64), (0.1, 64), (0.3, 128)]  # by mean FID, the setting with no finished seed last
    best, second, third, none = (table.iloc[i] for i in range(4))
    assert (best["n"], best["fid_mean"], best["fid_std"]) == (3, pytest.approx(82.0), pytest.approx(2.0))
    assert (third["fid_mean"], third["fid_std"]) == (pytest.approx(110.0), pytest.approx(10.0))
    assert second["n"] == 2 and second["seeds"] == "0, 1" and second["fid_mean"] == pytest.approx(107.5)
    assert best["recall_mean"] == pytest.approx(0.1)  # every metric, not only the ranking one
    assert [best["rank"], second["rank"], third["rank"]] == [1, 2, 3] and pd_isna(none["rank"])
    assert none["n"] == 0
    # 107.5 vs 110 differ by less than the larger std (10): tied; 82 vs 107.5 (std 2 and 4.9): not tied
    assert (best["tied_with"], second["tied_with"], third["tied_with"]) == ("", "3", "2")
    assert list(table["rank_label"]) == ["1", "=2", "=2", ""]  # a shared place; no place without a finished seed


def test_ties_need_a_spread_and_follow_the_larger_std():
    from gancourse.sweeps.report import is_tie

    assert is_tie(100.0, 5.0, 104.0, 1.0)           # 4 < 5
    assert not is_tie(100.0, 5.0, 106.0, 1.0)       # 6 > 5
    assert not is_tie(100.0, float("nan"), 100.5, float("nan"))  # one seed each: no spread, no claim either way
    assert is_tie(100.0, float("nan"), 100.5, 1.0)  # the one spread there is


def test_higher_is_better_metrics_rank_the_other_way(tmp_path):
    from gancourse.sweeps import replicate_table

    runs = [({"width": w, "seed": s}, {"fid": fid, "recall": recall})
            for w, s, fid, recall in [(64, 0, 10.0, 0.2), (64, 1, 11.0, 0.3), (128, 0, 20.0, 0.5), (128, 1, 21.0, 0.6)]]
    df = collect(fake_sweep(tmp_path / "s", runs, ["width", "seed"]))
    by_recall, by_fid = replicate_table(df, "recall"), replicate_table(df, "fid")
    assert list(by_recall["width"]) == [128, 64] and list(by_fid["width"]) == [64, 128]
    assert by_recall.iloc[0]["recall_mean"] == pytest.approx(0.55) and by_recall.iloc[0]["tied_with"] == ""


def test_report_of_a_replicated_sweep(tmp_path):
    runs = replicate_runs({(0.1, 64): [100.0, 110.0], (0.1, 128): [80.0, 84.0],
                           (0.3, 64): [90.0, None], (0.3, 128): [70.0, 71.0]})
    df, paths = write_report(fake_sweep(tmp_path / "s", runs, ["dropout", "width", "seed"]))
    assert set(paths) == {"csv", "markdown", "replicates", "heatmap", "contact_sheet"}
    md = paths["markdown"].read_text()
    assert "| dropout | width | n | fid (mean ± std) |" in md
    assert "| 0.3 | 128 | 2 | 70.5 ± 0.707 |" in md and "| 0.3 | 64 | 1 | 90 |" in md
    replicates = paths["replicates"].read_text().splitlines()
    assert replicates[0].startswith("dropout,width,n,seeds,fid_mean,fid_std") and len(replicates) == 5
    from gancourse.sweeps.report import one_seed_per_setting

    shown = one_seed_per_setting(df)
    assert len(shown) == 4 and set(shown["seed"]) == {0}  # one seed per setting: the lowest that finished
    # a setting whose seed 0 failed shows the seed that finished
    runs = replicate_runs({(0.1, 64): [None, 110.0]})
    df = collect(fake_sweep(tmp_path / "t", runs, ["dropout", "width", "seed"]))
    assert list(one_seed_per_setting(df)["seed"]) == [1]


def test_heatmap_tells_a_gap_in_the_grid_from_a_failed_run(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from gancourse.sweeps import plot_heatmap

    runs = [({"dropout": 0.3, "width": 128, "seed": 0}, {"fid": 80.0}), ({"dropout": 0.3, "width": 128, "seed": 1},
            {"fid": 90.0}), ({"dropout": 0.1, "width": 256, "seed": 0}, None)]  # two explicit combinations
    fig = plot_heatmap(collect(fake_sweep(tmp_path / "s", runs, ["dropout", "width", "seed"])))
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["85 *\n± 7.1\nn=2", "failed /\nnot run", "not in\nthe grid", "not in\nthe grid"]
