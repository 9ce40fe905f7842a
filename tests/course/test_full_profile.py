"""The full profile, the one a student on a GPU runs, executed here on the CPU with every training cut short.

Each numbered notebook runs with ``profile="full"``: its sizes, widths, architectures, sample counts and sections
are the full profile's, but ``GANCOURSE_STEP_CAP`` cuts every training to 2 steps, trained in two sittings (one
step, evaluated and checkpointed, then resumed for the second), so every run is evaluated, checkpointed and
resumed. The notebook's peak resident memory must stay under Colab's (about 12.7 GB) with margin, and every
run must fit a 16 GB T4 by the memory guard's estimate. Slow: ``pytest -m slow -k full_profile``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from gancourse.course.gpu_memory import LARGEST_FULL_RUN, MARGIN, T4_BYTES, bytes_needed
from gancourse.engine.dry_run import execute_full_profile
from gancourse.engine.memory import estimate
from gancourse.recipes import recipe_class
from gancourse.runs import RunDir

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# What a notebook leaves off by default and CI switches on here, through the parameters cell as papermill does:
# the comparison runs of 01 and 02 and 06's simple GAN (each doubles its notebook's time).
PARAMETERS = {"01_mnist_dcgan": {"compare": True}, "02_wikiart_dcgan": {"compare": True},
              "06_monet_cyclegan": {"baseline": True}}
RSS_LIMIT_GB = 10.0
CAP = 2

def execute_full(notebook: Path, out: Path, runs: Path, cap: int) -> float:
    """Execute ``notebook`` in the full profile with every training capped at ``cap`` steps; its peak RSS in GB."""
    proc, peak = execute_full_profile(notebook, out, runs, cap, PARAMETERS.get(notebook.stem))
    assert proc.returncode == 0, f"{notebook.name} failed in the full profile (cap {cap}):\n{proc.stderr[-4000:]}"
    return peak


def trained_runs(runs: Path) -> dict[Path, int]:
    """Every run directory under ``runs`` (sweeps' included) and the last step its history reached."""
    steps = {}
    for config in runs.rglob("config.json"):
        history = RunDir(config.parent).read_history()
        steps[config.parent] = max((r.get("step", 0) for r in history), default=0)
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_full_profile(notebook, tmp_path, record_property):
    runs = tmp_path / "runs"
    peak = execute_full(notebook, tmp_path / "executed.ipynb", runs, CAP)
    record_property("peak_rss_gb", round(peak, 2))
    trained = trained_runs(runs)
    print(f"{notebook.stem}: {len(trained)} runs, peak RSS {peak:.2f} GB")
    assert peak < RSS_LIMIT_GB, f"{notebook.stem} peaked at {peak:.1f} GB; Colab has about 12.7 GB"
    if notebook.stem.startswith("07_"):  # it reads sweeps (and runs them only when asked): no run of its own
        return
    assert trained, f"{notebook.stem} trained nothing in the full profile"
    for run, step in trained.items():
        assert step == CAP, f"{run} stopped at step {step}, not at the cap {CAP}"
        assert (run / "checkpoints" / "last.pt").is_file(), f"{run} has no checkpoint"
        config = json.loads((run / "config.json").read_text())
        assert config["dry_run"]["cap"] == CAP, f"{run} was not trained under the cap"
        steps = {e["step"] for e in RunDir(run).evaluations()}
        if steps:  # evaluated at the end of both sittings: the second resumed from the first's checkpoint
            assert {CAP // 2, CAP} <= steps, f"{run} was evaluated at {sorted(steps)}: not resumed"
    assert any(RunDir(run).evaluations() for run in trained), f"no run of {notebook.stem} was evaluated"
    check_gpu_memory(notebook.stem, trained)


def run_estimate(run: Path):
    config = json.loads((run / "config.json").read_text())
    recipe = config["recipe"]
    return estimate(recipe, recipe_class(recipe).Config(**config["recipe_config"]), config["batch_size"])


def check_gpu_memory(notebook: str, runs) -> None:
    """Every run of the full profile fits a 16 GB T4 with margin, and the doctor's row for the notebook covers it."""
    row = LARGEST_FULL_RUN[notebook].estimate()
    for run in runs:
        step = run_estimate(run)
        for amp in (False, True):
            assert bytes_needed(step, amp) <= MARGIN * T4_BYTES, f"{run.name} may not fit a T4 (amp={amp})"
        assert step.total <= row.total, (f"{run.name} needs more than {notebook}'s largest_full_run says: update "
                                         "it in gancourse/course/notebooks.py from the run's config.json")


def test_what_ci_switches_on_is_a_parameter_its_notebook_leaves_off():
    for name, parameters in PARAMETERS.items():
        notebook = load_notebook_node(str(ROOT / "notebooks" / f"{name}.ipynb"))
        cell = next(c for c in notebook.cells if "parameters" in c.metadata.tags)
        defaults: dict = {}
        exec(cell.source, defaults)
        for key, value in parameters.items():
            assert key in defaults and defaults[key] != value, (name, key)  # else CI would set nothing new
        injected = parameterize_notebook(notebook, parameters)
        index = next(i for i, c in enumerate(injected.cells) if "parameters" in c.metadata.tags)
        assert "injected-parameters" in injected.cells[index + 1].metadata.tags
        assert all(f"{key} = {value!r}" in injected.cells[index + 1].source for key, value in parameters.items())
