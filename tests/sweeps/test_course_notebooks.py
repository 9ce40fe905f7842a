"""The course's own notebooks and grids through the whole sweep path (grid, runner, backends, collect).

Not one module's tests: each numbered notebook must be sweepable, and every grid in sweeps/ must fit its notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gancourse.sweeps import (
    check_against_notebook,
    collect,
    combination_name,
    load_grid,
    parse_grid,
    plan_sweep,
    run_sweep,
)

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
