"""Hyperparameter sweeps: a grid file, a notebook, papermill; then one table and two pictures.

    from gancourse.sweeps import load_grid, run_sweep, write_report
    result = run_sweep("notebooks/sweep_targets/fashion_dcgan.ipynb",
                       load_grid("sweeps/fashion_dropout_width.yaml"), "runs/sweeps/fashion_dropout_width")
    print(result.summary())
    df, paths = write_report("runs/sweeps/fashion_dropout_width")   # summary.csv/.md, heat-map, contact sheet

The command line does the same: ``gancourse sweep NOTEBOOK GRID.yaml --out DIR [--jobs N]`` and
``gancourse collect DIR``. Every numbered course notebook can be driven this way.

Replicates: a grid that varies ``seed`` or says ``replicates: 3`` runs each setting once per seed;
``replicate_table(collect(DIR))`` gives mean ± std and n per setting, the rank by the mean and ties.
Backends: ``run_sweep(..., backend="dask")`` (``--backend dask``) runs the same worker processes on a
Dask ``LocalCluster``, or on a cluster with ``scheduler="tcp://HOST:8786"`` (``--scheduler``).

A notebook a sweep can drive (the convention, also in sweeps/README.md):

* it has a cell tagged ``parameters`` holding plain literals (papermill injects a cell after it);
* one of them is ``run_dir = ""``: empty means the notebook's own default run directory, and otherwise
  the notebook trains into exactly that folder (``gancourse.train(spec, out=run_dir)``: a combination is a spec), so
  its ``metrics.json``, ``samples/`` and checkpoints land where the sweep looks, and a rerun resumes;
* it takes ``profile = ""`` like every course notebook; the sweep records the profile it resolved.

The grid format is described in :mod:`gancourse.sweeps.grid`.
"""

from typing import Any

from .grid import (
    RUN_DIR_PARAMETER,
    SEED_PARAMETER,
    Grid,
    GridError,
    check_against_notebook,
    load_grid,
    notebook_parameters,
    parse_grid,
)
from .processes import default_jobs
from .runner import BACKENDS, Combination, SweepPlan, SweepResult, combination_name, plan_sweep, run_sweep

# Imported on first use: collecting needs pandas and matplotlib, and ``files`` torch (through the notebook
# helpers); the worker process that every combination starts needs none of them.
_LAZY = {"collect": "report", "contact_sheet": "report", "markdown_table": "report", "plot_heatmap": "report",
         "read_sweep": "report", "write_report": "report", "replicate_table": "report",
         "replicate_markdown": "report", "course_file": "files", "target_notebook": "files"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKENDS", "RUN_DIR_PARAMETER", "SEED_PARAMETER", "Combination", "Grid", "GridError", "SweepPlan",
           "SweepResult", "check_against_notebook", "collect", "combination_name", "contact_sheet", "course_file",
           "default_jobs", "load_grid", "markdown_table", "notebook_parameters", "parse_grid", "plan_sweep",
           "plot_heatmap", "read_sweep", "replicate_markdown", "replicate_table", "run_sweep", "target_notebook",
           "write_report"]
