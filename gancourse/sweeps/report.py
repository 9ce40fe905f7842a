"""Turn a sweep folder into a table, a heat-map and a contact sheet; reads only run directories.

``collect(sweep_dir)`` returns one row per combination: its varying parameters, the final metrics from
its run's ``metrics.json``, wall time and status. ``write_report(sweep_dir)`` also writes
``summary.csv``, ``summary.md``, ``heatmap_<metric>.png`` (two-parameter grids) and ``contact_sheet.png``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import MissingInput, UserError
from ..runs import RunDir
from .runner import SWEEP_FILE

# The order metrics appear in; any other key of metrics.json follows them.
METRIC_ORDER = ("fid", "fid_floor", "kid", "kid_floor", "precision", "recall", "modes", "kl_uniform")
LOWER_IS_BETTER = {"fid", "kid", "kl_uniform", "wall_time", "train_time"}
_FLOORS = {"fid_floor", "kid_floor"}


def read_sweep(sweep_dir: str | Path) -> dict[str, Any]:
    path = Path(sweep_dir) / SWEEP_FILE
    if not path.is_file():
        raise MissingInput(f"{sweep_dir} is not a sweep folder (no {SWEEP_FILE}); "
                           "make one with `gancourse sweep NOTEBOOK GRID.yaml --out FOLDER`")
    return json.loads(path.read_text())


def _train_time(run: RunDir) -> float | None:
    times = [r["time"] for r in run.losses() if "time" in r]
    return float(times[-1]) if times else None


def collect(sweep_dir: str | Path, metric: str = "fid") -> pd.DataFrame:
    """One row per combination: parameters, final metrics, wall time (s), training time (s), status.

    ``rank`` orders the finished combinations by ``metric`` (1 = best). ``df.attrs`` holds the sweep's
    notebook, varying and fixed parameters.
    """
    sweep_dir = Path(sweep_dir)
    sweep = read_sweep(sweep_dir)
    rows = []
    for combo in sweep["combinations"]:
        folder = sweep_dir / combo["name"]
        status = json.loads((folder / "status.json").read_text()) if (folder / "status.json").is_file() else {}
        run = RunDir(folder / "run")
        metrics = {k: v for k, v in run.read_metrics().items() if isinstance(v, (int, float))}
        rows.append({**combo["values"], **{k: v for k, v in metrics.items() if k != "step"},
                     "steps": metrics.get("step"), "wall_time": status.get("wall_time"),
                     "train_time": _train_time(run), "status": status.get("status", "not run"),
                     "error": status.get("error", ""), "name": combo["name"]})
    df = pd.DataFrame(rows)
    present = [m for m in METRIC_ORDER if m in df] + sorted(
        c for c in df if c not in METRIC_ORDER and c not in sweep["varying"]
        and c not in ("steps", "wall_time", "train_time", "status", "error", "name"))
    df = df[[*sweep["varying"], *present, "steps", "wall_time", "train_time", "status", "error", "name"]]
    if metric in df:
        ascending = metric in LOWER_IS_BETTER
        done = df["status"].eq("ok")
        df.insert(len(sweep["varying"]) + len(present), "rank",
                  df[metric].where(done).rank(ascending=ascending, method="min").astype("Int64"))
    df.attrs.update(notebook=sweep["notebook"], varying=list(sweep["varying"]), fixed=sweep.get("fixed", {}),
                    metric=metric, sweep_dir=str(sweep_dir))
    return df


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A GitHub Markdown table (pandas' ``to_markdown`` needs an extra package)."""
    columns = columns or [c for c in df.columns if c != "name" and not (c == "error" and not df[c].astype(bool).any())]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for _, row in df.iterrows()]
    return "\n".join(lines) + "\n"


def heatmap_axes(df: pd.DataFrame) -> list[str]:
    """The varying parameters a heat-map can show: all but the seed, which it averages over."""
    return [v for v in df.attrs.get("varying") or [] if v != "seed"]


def plot_heatmap(df: pd.DataFrame, metric: str = "fid", rows: str | None = None, cols: str | None = None, ax=None):
    """``metric`` over a two-parameter grid (``rows`` x ``cols``), the mean where a cell holds several runs (seeds)."""
    import matplotlib.pyplot as plt
    import numpy as np

    axes = heatmap_axes(df)
    rows = rows or (axes[0] if axes else None)
    cols = cols or (axes[1] if len(axes) > 1 else None)
    if rows is None or cols is None:
        raise UserError(f"a heat-map needs two parameters besides the seed; this sweep varies "
                         f"{df.attrs.get('varying') or 'nothing'}")
    if metric not in df:
        raise UserError(f"no {metric!r} in this sweep's metrics; available: "
                         f"{', '.join(c for c in df.columns if c in METRIC_ORDER) or 'none (did any run finish?)'}")
    ok = df[df["status"].eq("ok")]
    table = ok.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean")
    table = table.reindex(index=sorted(df[rows].unique()), columns=sorted(df[cols].unique()))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * len(table.columns) + 2.5, 1.1 * len(table.index) + 1.8))
    lower = metric in LOWER_IS_BETTER
    values = table.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis_r" if lower else "viridis")
    finite = values[np.isfinite(values)]
    best = (finite.min() if lower else finite.max()) if finite.size else None
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "failed /\nnot run" if not np.isfinite(v) else f"{v:.3g}" + (" *" if v == best else "")
            ax.text(j, i, text, ha="center", va="center", color="black" if np.isfinite(v) else "red",
                    fontsize=10, bbox=dict(facecolor="white", alpha=0.6, lw=0) if np.isfinite(v) else None)
    ax.set_xticks(range(len(table.columns)), [_cell(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [_cell(i) for i in table.index])
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    floor = ok["fid_floor"].mean() if metric == "fid" and "fid_floor" in ok and len(ok) else None
    floor_text = f"; real-vs-real floor {floor:.3g}" if floor is not None and not math.isnan(floor) else ""
    ax.set_title(f"{metric} ({'lower' if lower else 'higher'} is better, * = best){floor_text}")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.figure.tight_layout()
    return ax.figure


def _final_samples(folder: Path) -> Path | None:
    paths = RunDir(folder / "run").sample_paths()
    return paths[-1] if paths else None


def contact_sheet(df: pd.DataFrame, metric: str = "fid", tile: float = 2.6):
    """The final sample grid of every combination, labelled with its parameters and ``metric``.

    Two-parameter grids are laid out as the heat-map is (rows x columns); other sweeps fill a square.
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    sweep_dir = Path(df.attrs["sweep_dir"])
    varying = df.attrs.get("varying") or []
    two = len(varying) == 2 and len(df) == df[varying].drop_duplicates().shape[0]
    if two:
        row_values, col_values = sorted(df[varying[0]].unique()), sorted(df[varying[1]].unique())
        n_rows, n_cols = len(row_values), len(col_values)
        place = {r.name: (row_values.index(r[varying[0]]), col_values.index(r[varying[1]])) for _, r in df.iterrows()}
    else:
        n_cols = math.ceil(math.sqrt(len(df)))
        n_rows = math.ceil(len(df) / n_cols)
        place = {index: divmod(k, n_cols) for k, index in enumerate(df.index)}
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(tile * n_cols, (tile + 0.5) * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for index, row in df.iterrows():
        ax = axes[place[index]]
        label = ", ".join(f"{k}={_cell(row[k])}" for k in varying)
        path = _final_samples(sweep_dir / row["name"])
        if path is not None:
            ax.imshow(Image.open(path), interpolation="nearest")
        if row["status"] == "ok" and metric in row and not pd.isna(row[metric]):
            rank = f" (#{row['rank']})" if "rank" in row and not pd.isna(row["rank"]) else ""
            ax.set_title(f"{label}\n{metric.upper()} {row[metric]:.3g}{rank}", fontsize=9)
        else:
            ax.set_title(f"{label}\n{row['status']}", fontsize=9, color="red")
            if row.get("error"):
                ax.text(0.5, 0.5, str(row["error"])[:80], ha="center", va="center", wrap=True, fontsize=7,
                        color="red", transform=ax.transAxes)
    fig.suptitle(f"{sweep_dir.name}: final samples of each combination (same noise in every tile)", fontsize=11)
    fig.tight_layout()
    return fig


def write_report(sweep_dir: str | Path, metric: str = "fid") -> tuple[pd.DataFrame, dict[str, Path]]:
    """``collect`` and write summary.csv, summary.md, the heat-map (two-parameter grids) and the contact sheet."""
    import matplotlib.pyplot as plt

    sweep_dir = Path(sweep_dir)
    df = collect(sweep_dir, metric)
    paths = {"csv": sweep_dir / "summary.csv", "markdown": sweep_dir / "summary.md"}
    df.drop(columns=["name"]).to_csv(paths["csv"], index=False)
    fixed = df.attrs["fixed"]
    header = (f"# Sweep {sweep_dir.name}\n\nNotebook: `{df.attrs['notebook']}`  \n"
              f"Fixed: {', '.join(f'{k}={v!r}' for k, v in fixed.items()) or 'nothing'}  \n"
              f"Wall time: seconds per combination (notebook execution, all attempts); "
              f"rank: by {metric} among finished runs.\n\n")
    paths["markdown"].write_text(header + markdown_table(df))
    finished = df["status"].eq("ok") & (df[metric].notna() if metric in df else False)
    if len(heatmap_axes(df)) == 2 and finished.any():
        fig = plot_heatmap(df, metric)
        paths["heatmap"] = sweep_dir / f"heatmap_{metric}.png"
        fig.savefig(paths["heatmap"], dpi=110)
        plt.close(fig)
    fig = contact_sheet(df, metric)
    paths["contact_sheet"] = sweep_dir / "contact_sheet.png"
    fig.savefig(paths["contact_sheet"], dpi=110)
    plt.close(fig)
    return df, paths
