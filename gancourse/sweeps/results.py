"""What a combination's run directory holds: its final metrics and samples, for one run or several.

A notebook that trains one run writes ``metrics.json`` and ``samples/`` into ``run_dir`` itself. A notebook
that trains several (04: one per recipe, 06: the CycleGAN and a DCGAN baseline) uses ``run_dir`` as their
parent folder, one run directory each; their metrics are then named ``<run>/<metric>``, e.g.
``wgan-gp/fid`` or ``stacked/pack-2/modes``, so that ``gancourse collect --metric wgan-gp/fid`` ranks by one of them.

Light on purpose: the worker process of every combination imports it, and it needs neither torch nor pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..runs import RunDir

SEPARATOR = "/"  # between a nested run's name and its metric


def nested_runs(run_dir: str | Path) -> dict[str, RunDir]:
    """The run directories below ``run_dir`` that wrote metrics, by their relative path (``stacked/pack-2``)."""
    root = Path(run_dir)
    if not root.is_dir():
        return {}
    found = {}
    for metrics in sorted(root.rglob(RunDir(root).metrics_path.name)):
        if metrics.parent != root:
            found[metrics.parent.relative_to(root).as_posix()] = RunDir(metrics.parent)
    return found


def run_metrics(run_dir: str | Path) -> dict[str, Any]:
    """The final metrics of a combination: ``run_dir``'s own ``metrics.json``, else those of the runs below it,
    each metric prefixed by its run's path (``wgan-gp/fid``)."""
    own = RunDir(run_dir).read_metrics()
    if own:
        return own
    return {f"{name}{SEPARATOR}{key}": value for name, run in nested_runs(run_dir).items()
            for key, value in run.read_metrics().items()}


def final_samples(run_dir: str | Path, metric: str = "") -> Path | None:
    """The last sample grid of the run that ``metric`` belongs to (``wgan-gp/fid`` -> the ``wgan-gp`` run), else of
    ``run_dir`` itself, else of the first run below it that saved samples."""
    root = Path(run_dir)
    candidates = []
    if SEPARATOR in metric:
        candidates.append(RunDir(root / metric.rsplit(SEPARATOR, 1)[0]))
    candidates += [RunDir(root), *nested_runs(root).values()]
    for run in candidates:
        paths = run.sample_paths()
        if paths:
            return paths[-1]
    return None
