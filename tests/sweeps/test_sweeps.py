"""Sweeps: grid files, the checks before anything runs, parallel papermill runs, resume, failures, collect."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from gancourse.course.profiles import ParameterError
from gancourse.sweeps import (
    GridError,
    collect,
    combination_name,
    load_grid,
    notebook_parameters,
    parse_grid,
    plan_sweep,
    run_sweep,
    write_report,
)

# A notebook that trains nothing: it counts its executions in its run directory, writes a metrics.json and
# a sample grid there, and fails on purpose when a == fail_on.
TINY_PARAMETERS = 'a = 1  # an int\nb = 0.5  # a float\nfail_on = -1  # the value of a that raises\nrun_dir = ""\n'
TINY_BODY = """
import json, pathlib
from PIL import Image
out = pathlib.Path(run_dir)
(out / "samples").mkdir(parents=True, exist_ok=True)
counter = out / "executions.txt"
counter.write_text((counter.read_text() if counter.exists() else "") + "x")
if a == fail_on:
    raise ValueError(f"combination a={a} fails on purpose")
(out / "metrics.json").write_text(json.dumps({"step": 10, "fid": a * 10 + b, "precision": 0.5}))
Image.new("L", (20, 20), int(40 * a)).save(out / "samples" / "step_000010.png")
"""


def make_notebook(path: Path, parameters: str = TINY_PARAMETERS, body: str = TINY_BODY) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def executions(sweep: Path, name: str) -> int:
    return len((sweep / name / "run" / "executions.txt").read_text())


GRID = {"parameters": {"a": [1, 2], "b": [0.5, 1.5]}, "combinations": [{"a": 3, "b": 0.5}], "fixed": {"fail_on": 3}}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2x2 grid plus one explicit combination that fails, run with two jobs."""
    tmp = tmp_path_factory.mktemp("sweep")
    notebook = make_notebook(tmp / "tiny.ipynb")
    out = tmp / "sweeps" / "tiny"
    result = run_sweep(notebook, parse_grid(GRID), out, jobs=2, progress=False)
    return notebook, out, result


def test_sweep_runs_every_combination_and_records_the_failure(swept):
    _, out, result = swept
    assert result.count("ok") == 4
    assert list(result.failed) == ["a-3_b-0.5"]
    assert "ValueError: combination a=3 fails on purpose" in result.failed["a-3_b-0.5"]
    assert "ValueError: combination a=3 fails on purpose" in result.summary()
    for name in ("a-1_b-0.5", "a-1_b-1.5", "a-2_b-0.5", "a-2_b-1.5"):
        status = json.loads((out / name / "status.json").read_text())
        assert status["status"] == "ok" and status["metrics"]["fid"] > 0
        assert (out / name / "notebook.ipynb").is_file()
        # each combination trained into its own run directory, passed in as run_dir
        assert json.loads((out / name / "params.json").read_text())["run_dir"] == str(out / name / "run")
    executed = nbformat.read(out / "a-2_b-1.5" / "notebook.ipynb", as_version=4)
    assert executed.metadata["gancourse"]["sweep"]["metrics"]["fid"] == pytest.approx(21.5)


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


def test_rerun_skips_complete_combinations_and_retries_the_rest(swept):
    notebook, out, _ = swept
    before = {n: (out / n / "status.json").stat().st_mtime_ns for n in ("a-1_b-0.5", "a-2_b-1.5")}
    # simulate a combination killed mid-run: its status still says "running"
    status_file = out / "a-1_b-1.5" / "status.json"
    status_file.write_text(json.dumps({**json.loads(status_file.read_text()), "status": "running"}))

    result = run_sweep(notebook, parse_grid(GRID), out, jobs=2, progress=False)
    assert sorted(result.skipped) == ["a-1_b-0.5", "a-2_b-0.5", "a-2_b-1.5"]
    assert executions(out, "a-1_b-0.5") == 1 and executions(out, "a-2_b-1.5") == 1
    assert {n: (out / n / "status.json").stat().st_mtime_ns for n in before} == before
    assert executions(out, "a-1_b-1.5") == 2  # the interrupted one ran again, in the same run directory
    assert executions(out, "a-3_b-0.5") == 2  # the failed one was retried (and failed again)
    assert json.loads((out / "a-3_b-0.5" / "status.json").read_text())["attempts"] == 2
    assert result.count("ok") == 4


def test_unknown_parameter_is_rejected_before_anything_runs(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "never"
    with pytest.raises(ParameterError) as info:
        run_sweep(notebook, parse_grid({"parameters": {"a": [1, 2], "dropout": [0.1]}}), out, progress=False)
    message = str(info.value)
    assert "'dropout'" in message
    for listed in ("a=1", "b=0.5", "fail_on=-1", "run_dir=''"):
        assert listed in message
    assert not out.exists()


def test_value_of_the_wrong_type_is_rejected(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(ParameterError, match="a=0.5 does not fit"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 0.5]}}), tmp_path / "out")
    plan_sweep(notebook, parse_grid({"parameters": {"b": [1, 2]}}), tmp_path / "out")  # an int for a float is fine


def test_notebook_without_run_dir_is_rejected(tmp_path):
    notebook = make_notebook(tmp_path / "no_run_dir.ipynb", parameters="a = 1\n")
    assert notebook_parameters(notebook) == {"a": 1}
    with pytest.raises(ParameterError, match="no `run_dir` parameter"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 2]}}), tmp_path / "out")


def test_parameters_cell_is_read_with_python_not_a_line_pattern(tmp_path):
    # papermill's inspect skips lines with a second "=" (here in the comment); the sweep must still see them
    notebook = make_notebook(tmp_path / "p.ipynb", parameters='%matplotlib inline\nlr = 2e-4  # 0 = off\n'
                                                               'names = ["a", "b"]\nrun_dir = ""\n')
    assert notebook_parameters(notebook) == {"lr": 2e-4, "names": ["a", "b"], "run_dir": ""}


def test_changed_fixed_values_do_not_mix_with_an_earlier_sweep(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "out"
    (out / "a-1").mkdir(parents=True)
    (out / "a-1" / "params.json").write_text(json.dumps({"a": 1, "b": 0.5, "run_dir": "x"}))
    plan_sweep(notebook, parse_grid({"parameters": {"a": [1]}, "fixed": {"b": 0.5}}), out)
    with pytest.raises(ValueError, match=r"other values of b \(b: 0.5 -> 2.0\)"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1]}, "fixed": {"b": 2.0}}), out)


def test_one_driver_per_sweep_folder(tmp_path):
    import fcntl
    import os

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out / "sweep.lock", os.O_RDWR | os.O_CREAT)  # another driver holds the folder's OS lock
    os.write(held, b"process 4242 on lab-7\n")
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        with pytest.raises(RuntimeError, match=r"another sweep \(process 4242 on lab-7\)"):
            run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), out, progress=False)
    finally:
        os.close(held)
    assert not (out / "a-1").exists()


def test_notebook_profile_is_resolved_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_PROFILE", "smoke")
    notebook = make_notebook(tmp_path / "tiny.ipynb", parameters='profile = ""\na = 1\nrun_dir = ""\n')
    plan = plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 2]}}), tmp_path / "out")
    assert [c.params for c in plan.combinations] == [{"profile": "smoke", "a": 1}, {"profile": "smoke", "a": 2}]


def test_grid_product_explicit_combinations_and_fixed(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("description: test\nparameters:\n  lr: [1e-4, 2e-4]\n  beta1: [0.5, 0.6]\n"
                    "combinations:\n  - {lr: 1e-4, beta1: 0.5}\n  - {lr: 4e-4, beta1: 0.9, width: 64}\n"
                    "fixed:\n  steps: 100\n  profile: quick\n")
    grid = load_grid(path)
    combos = grid.expand()
    assert combos[:4] == [{"lr": 1e-4, "beta1": 0.5}, {"lr": 1e-4, "beta1": 0.6},
                          {"lr": 2e-4, "beta1": 0.5}, {"lr": 2e-4, "beta1": 0.6}]
    assert combos[4] == {"lr": 4e-4, "beta1": 0.9, "width": 64}  # the duplicate explicit one was dropped
    assert len(combos) == 5 and isinstance(combos[0]["lr"], float)  # "1e-4" is a number, not text
    assert grid.varying == ["lr", "beta1", "width"]
    assert grid.fixed == {"steps": 100, "profile": "quick"}
    assert grid.names == ["lr", "beta1", "width", "steps", "profile"]
    assert parse_grid({"combinations": [{"seed": 0}, {"seed": 1}]}).expand() == [{"seed": 0}, {"seed": 1}]
    assert grid.with_fixed(steps=5).fixed["steps"] == 5
    with pytest.raises(GridError, match="already varies"):
        grid.with_fixed(lr=1.0)


@pytest.mark.parametrize("spec, message", [
    ({"parameters": {"lr": 2e-4}}, "must be a non-empty list"),
    ({"parameters": {"lr": [1.0]}, "fixed": {"lr": 2.0}}, "both varies and is fixed"),
    ({"parameters": {"run_dir": ["x"]}}, "set by the sweep"),
    ({"fixed": {"lr": 1.0}}, "nothing to run"),
    ({"grid": {"lr": [1.0]}}, "unknown section grid"),
    ({"combinations": [[1, 2]]}, "list of mappings"),
])
def test_bad_grids_say_what_to_write(spec, message):
    with pytest.raises(GridError, match=message):
        parse_grid(spec)


def test_combination_names_are_readable_folder_names():
    assert combination_name({"dropout": 0.3, "width": 128}) == "dropout-0.3_width-128"
    assert combination_name({"lr": 2e-4, "beta1": 0.6}) == "lr-0.0002_beta1-0.6"
    assert combination_name({"norm": "spectral norm/x"}) == "norm-spectral-norm-x"
    assert len(combination_name({f"p{i}": "v" * 20 for i in range(10)})) <= 100


def test_cli_rejects_an_unknown_parameter_in_one_line(tmp_path, capsys):
    from gancourse.cli import main

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  dropout: [0.1, 0.3]\n")
    assert main(["sweep", str(notebook), str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no parameter 'dropout'" in err and "fail_on=-1" in err
    assert not (tmp_path / "out").exists()


def test_cli_collect_prints_the_table(swept, capsys):
    from gancourse.cli import main

    _, out, _ = swept
    assert main(["collect", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| a | b | fid |" in printed and "contact_sheet.png" in printed


# -- replicates: hand-made run records (no notebook runs) --------------------------------------------------------

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


def test_grid_reads_seeds_and_replicates_as_replicates():
    grid = parse_grid({"parameters": {"width": [64, 128]}, "replicates": 3})
    assert grid.expand()[:3] == [{"width": 64, "seed": 0}, {"width": 64, "seed": 1}, {"width": 64, "seed": 2}]
    assert grid.replicates == 3 and grid.settings == ["width"]
    assert parse_grid({"parameters": {"seed": [0, 1], "width": [64]}}).replicates == 2
    assert parse_grid({"parameters": {"width": [64, 128]}}).replicates == 1
    assert parse_grid({"replicates": 2}).expand() == [{"seed": 0}, {"seed": 1}]
    assert parse_grid({"combinations": [{"width": 64}], "replicates": 2}).expand() == [
        {"width": 64, "seed": 0}, {"width": 64, "seed": 1}]
    with pytest.raises(GridError, match="remove `seed`"):
        parse_grid({"parameters": {"width": [64]}, "fixed": {"seed": 1}, "replicates": 2})
    with pytest.raises(GridError, match="number of seeds"):
        parse_grid({"parameters": {"width": [64]}, "replicates": 0})


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


def test_nested_runs_give_prefixed_metrics(tmp_path):
    from gancourse.sweeps.results import final_samples, run_metrics

    run = tmp_path / "run"
    for name, fid in [("dcgan", 50.0), ("wgan-gp", 40.0)]:
        (run / name / "samples").mkdir(parents=True)
        (run / name / "metrics.json").write_text(json.dumps({"step": 10, "fid": fid}))
        (run / name / "samples" / "step_000010.png").write_bytes(b"png")
    assert run_metrics(run) == {"dcgan/step": 10, "dcgan/fid": 50.0, "wgan-gp/step": 10, "wgan-gp/fid": 40.0}
    assert final_samples(run, "wgan-gp/fid") == run / "wgan-gp" / "samples" / "step_000010.png"
    assert final_samples(run) == run / "dcgan" / "samples" / "step_000010.png"
    (run / "metrics.json").write_text(json.dumps({"fid": 1.0}))
    assert run_metrics(run) == {"fid": 1.0}  # a run of its own wins


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


# -- the Dask backend: a LocalCluster of 2 worker processes on loopback -------------------------------------------

def test_dask_backend_runs_the_sweep_isolates_the_failure_and_resumes(tmp_path):
    pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
    import psutil

    notebook = make_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "sweeps" / "tiny"
    grid = parse_grid({"parameters": {"a": [1, 2]}, "combinations": [{"a": 3}], "fixed": {"fail_on": 3}})
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = run_sweep(notebook, grid, out, jobs=2, progress=False, backend="dask")
    assert result.count("ok") == 2
    assert list(result.failed) == ["a-3"]
    assert "ValueError: combination a=3 fails on purpose" in result.failed["a-3"]
    assert list(collect(out).set_index("a")["fid"].dropna()) == pytest.approx([10.5, 20.5])
    from gancourse.sweeps.runner import _cores

    # each of the 2 workers' combinations gets half the cores
    assert json.loads((out / "a-1" / "status.json").read_text())["threads"] == str(max(1, _cores() // 2))
    # the cluster, its workers and every notebook process are gone
    assert {p.pid for p in psutil.Process().children(recursive=True)} - before == set()

    again = run_sweep(notebook, grid, out, jobs=2, progress=False, backend="dask")
    assert sorted(again.skipped) == ["a-1", "a-2"]
    assert executions(out, "a-1") == 1 and executions(out, "a-3") == 2


def test_backend_and_scheduler_are_checked(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(ParameterError, match="backend must be one of local, dask"):
        run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), tmp_path / "out", backend="ray", progress=False)
    with pytest.raises(ParameterError, match="needs the dask backend"):
        run_sweep(notebook, parse_grid({"parameters": {"a": [1]}}), tmp_path / "out", scheduler="tcp://x:1",
                  progress=False)


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_sigterm_stops_every_combination_and_records_it(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    body = ("import pathlib, time\npathlib.Path(run_dir).mkdir(parents=True, exist_ok=True)\n"
            "(pathlib.Path(run_dir) / 'started').write_text('x')\ntime.sleep(300)\n")
    notebook = make_notebook(tmp_path / "slow.ipynb", parameters="a = 1\nrun_dir = ''\n", body=body)
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  a: [1, 2, 3]\n")
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "gancourse", "sweep", str(notebook), str(grid), "--out", str(out),
                               "--jobs", "2", "--backend", backend, "--quiet"],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    while len(list(out.glob("*/run/started"))) < 2:  # two notebooks are running
        assert driver.poll() is None, driver.stdout.read().decode()
        time.sleep(0.2)
    processes = psutil.Process(driver.pid).children(recursive=True)
    driver.send_signal(signal.SIGTERM)
    driver.wait()
    statuses = {p.parent.name: json.loads(p.read_text())["status"] for p in out.glob("*/status.json")}
    assert sorted(statuses.values()) == ["interrupted", "interrupted"], statuses  # the third never started
    gone, alive = psutil.wait_procs(processes, timeout=30)
    assert alive == []  # no kernel or worker left running
    assert not (out / "sweep.lock").exists()


# -- the course's own notebooks ----------------------------------------------------------------------------------

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
# Smaller than the smoke profile, through each notebook's own parameters: every combination still executes the
# whole notebook (data, training, metrics, plots, checkpoints), only on budgets of a few steps.
TINY = {
    "01_mnist_dcgan": {"steps": 10, "eval_samples": 100},
    "02_wikiart_dcgan": {"steps": 4, "compare": False},
    "03_mode_collapse": {"steps": 4, "mnist_steps": 4, "toy_steps": 20, "cures": ["baseline"], "mode_samples": 500},
    "04_wgan_gp": {"budget_s": 1, "evaluations": 1},
    "05_quickdraw_cgan": {"steps": 10, "max_per_class": 200, "eval_per_class": 20, "categories": "apple,cat"},
    "06_monet_cyclegan": {"steps": 4, "baseline": False},
    "07_hyperparameter_sweeps": {"replicates": 2, "jobs": 2},
}
# what each notebook's sweep varies (two combinations) and the metric a sweep of it is ranked by; 07 has no seed
# of its own: its two combinations read section 4's grid from its default place and from a folder with none
VARIED = {name: {"seed": [0, 1]} for name in TINY} | {"07_hyperparameter_sweeps": {"grid_sweep": ["", "no-grid"]}}
RANKED_BY = {"01_mnist_dcgan": "fid", "02_wikiart_dcgan": "main/fid", "03_mode_collapse": "stacked/baseline/modes",
             "04_wgan_gp": "wgan-gp/fid", "05_quickdraw_cgan": "fid", "06_monet_cyclegan": "cyclegan/fid",
             "07_hyperparameter_sweeps": None}


def test_every_numbered_notebook_is_sweepable():
    from gancourse.sweeps import check_against_notebook

    numbered = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert numbered == sorted(TINY)
    for name in numbered:
        grid = parse_grid({"parameters": VARIED[name], "fixed": TINY[name]})
        defaults = check_against_notebook(grid, NOTEBOOKS / f"{name}.ipynb")
        assert defaults["run_dir"] == "" and defaults["profile"] == ""


def test_a_course_notebook_sweeps_with_seeds_on_dask_and_collects_to_mean_and_std(tmp_path, monkeypatch, capsys):
    """`gancourse sweep notebooks/01... --backend dask` with two seeds, then `gancourse collect`: the real thing."""
    pytest.importorskip("distributed", reason='the dask backend needs pip install "gancourse[cluster]"')
    from gancourse.cli import main

    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "runs"))  # nothing may land in the default run folders
    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  lr_d: [5.0e-4]\nreplicates: 2\nfixed:\n  steps: 10\n  eval_samples: 100\n")
    out = tmp_path / "sweep"
    assert main(["sweep", str(NOTEBOOKS / "01_mnist_dcgan.ipynb"), str(grid), "--out", str(out), "--jobs", "2",
                 "--backend", "dask", "--profile", "smoke", "--quiet"]) == 0
    for seed in (0, 1):
        run = out / combination_name({"lr_d": 5e-4, "seed": seed}) / "run"
        assert json.loads((run / "config.json").read_text())["seed"] == seed  # trained into the sweep's run_dir
        assert (run / "metrics.json").is_file()
    assert not (tmp_path / "runs" / "01_mnist_dcgan").exists()
    capsys.readouterr()
    assert main(["collect", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| lr_d | n | fid (mean ± std) |" in printed and "| 0.0005 | 2 | " in printed and " ± " in printed
    assert (out / "replicates.csv").is_file() and (out / "contact_sheet.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_two_combinations_of_each_numbered_notebook(tmp_path, monkeypatch, name):
    """Each numbered notebook, two combinations, smoke profile with budgets below it, two at a time."""
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "runs"))
    grid = parse_grid({"parameters": VARIED[name], "fixed": {"profile": "smoke", **TINY[name]}})
    out = tmp_path / name
    result = run_sweep(NOTEBOOKS / f"{name}.ipynb", grid, out, jobs=2, progress=False)
    assert result.failed == {} and result.count("ok") == 2, result.summary()
    df = collect(out, RANKED_BY[name] or "fid")
    assert len(df) == 2 and set(df["status"]) == {"ok"}
    if RANKED_BY[name]:
        assert df[RANKED_BY[name]].notna().all() and set(df["rank"].dropna()) <= {1, 2}
    else:  # notebook 07 trains nothing itself: its run_dir holds the sweeps it ran
        for combo in df["name"]:
            assert (out / combo / "run" / "dropout_width_2x2" / "sweep.json").is_file()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), \
        f"{name} wrote outside its run_dir: {sorted((tmp_path / 'runs').rglob('*'))[:5]}"


GRID_FILES = {  # every grid in sweeps/ and the notebook it is written for
    "fashion_dropout_width": "sweep_targets/fashion_dcgan",
    "fashion_dropout_width_seeds": "sweep_targets/fashion_dcgan",
    "fashion_eye_vs_fid_seeds": "sweep_targets/fashion_dcgan", "adam_lr_beta1": "sweep_targets/fashion_dcgan",
    "mnist_two_timescale": "01_mnist_dcgan", "wgan_gp_critic": "04_wgan_gp",
    "cyclegan_optimizer_lr": "06_monet_cyclegan",
}


@pytest.mark.parametrize("grid_name", sorted(GRID_FILES))
def test_every_grid_in_sweeps_fits_its_notebook(grid_name, tmp_path):
    path = Path(__file__).parents[2] / "sweeps" / f"{grid_name}.yaml"
    assert sorted(p.stem for p in path.parent.glob("*.yaml")) == sorted(GRID_FILES)
    notebook = NOTEBOOKS / f"{GRID_FILES[grid_name]}.ipynb"
    assert f"notebooks/{GRID_FILES[grid_name]}.ipynb" in path.read_text()  # its comment names that notebook
    plan = plan_sweep(notebook, load_grid(path), tmp_path / "out")  # every name and type checked, nothing run
    assert len(plan.combinations) == len(load_grid(path).expand()) > 1
    if grid_name.endswith("_seeds") or "replicates" in path.read_text():
        assert load_grid(path).replicates >= 2


def test_the_cyclegan_grid_is_optimiser_by_learning_rate():
    grid = load_grid(Path(__file__).parents[2] / "sweeps" / "cyclegan_optimizer_lr.yaml")
    assert grid.parameters == {"optimizer": ["adam", "rmsprop"], "lr": [1e-4, 2e-4, 4e-4]}


def test_cyclegan_optimizer_knob_builds_that_optimizer():
    import torch

    from gancourse.recipes.cyclegan import CycleGAN, CycleGANConfig

    small = dict(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=1)
    for name, kind in [("adam", torch.optim.Adam), ("rmsprop", torch.optim.RMSprop)]:
        recipe = CycleGAN(CycleGANConfig(optimizer=name, lr=4e-4, **small))
        assert all(isinstance(o, kind) and o.param_groups[0]["lr"] == 4e-4 for o in recipe.optimizers.values())
    with pytest.raises(ValueError, match="optimizer must be one of adam, rmsprop"):
        CycleGANConfig(optimizer="sgd", **small)

    import numpy as np

    from ..helpers import toy_recipe, toy_unpaired

    data = toy_unpaired()
    recipe = toy_recipe(data, optimizer="rmsprop", lr=1e-4)
    before = [p.clone() for p in recipe.G_AB.parameters()]
    scalars = recipe.step(data.stream(2, seed=0).next())  # one RMSprop step trains
    assert all(np.isfinite(v) for v in scalars.values()) and scalars["lr"] == pytest.approx(1e-4)
    assert any(not torch.equal(p, q) for p, q in zip(before, recipe.G_AB.parameters(), strict=True))


def test_heatmap_tells_a_gap_in_the_grid_from_a_failed_run(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from gancourse.sweeps import plot_heatmap

    runs = [({"dropout": 0.3, "width": 128, "seed": 0}, {"fid": 80.0}), ({"dropout": 0.3, "width": 128, "seed": 1},
            {"fid": 90.0}), ({"dropout": 0.1, "width": 256, "seed": 0}, None)]  # two explicit combinations
    fig = plot_heatmap(collect(fake_sweep(tmp_path / "s", runs, ["dropout", "width", "seed"])))
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["85 *\n± 7.1\nn=2", "failed /\nnot run", "not in\nthe grid", "not in\nthe grid"]
