"""Turn a sweep folder into a table, a heat-map and a contact sheet; reads only run directories.

``collect(sweep_dir)`` returns one row per combination: its varying parameters, the final metrics from
its run's ``metrics.json``, wall time and status. ``write_report(sweep_dir)`` also writes
``summary.csv``, ``summary.md``, ``heatmap_<metric>.png`` (two-parameter grids) and ``contact_sheet.png``.

Replicates (a grid that varies ``seed``): ``replicate_table(df)`` has one row per setting (the other varying
parameters) with ``n`` finished seeds and the mean and standard deviation of every metric; it ranks settings
by the mean, and calls two settings *tied* when their means differ by less than the larger of their two
standard deviations: the ranking between them could flip with the next seed. ``write_report`` then also
writes ``replicates.csv``, puts that table first in ``summary.md``, shows mean ± std in the heat-map and one
seed per setting, labelled, in the contact sheet.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import MissingInput, UserError
from ..runs import RunDir
from .grid import SEED_PARAMETER
from .results import final_samples, run_metrics
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
        metrics = {k: v for k, v in run_metrics(run.path).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        rows.append({**combo["values"], **{k: v for k, v in metrics.items() if _metric_name(k) != "step"},
                     "steps": metrics.get("step", _nested_steps(metrics)), "wall_time": status.get("wall_time"),
                     "train_time": _train_time(run), "status": status.get("status", "not run"),
                     "error": status.get("error", ""), "name": combo["name"]})
    df = pd.DataFrame(rows)
    present = sorted((c for c in df if c not in sweep["varying"]
                      and c not in ("steps", "wall_time", "train_time", "status", "error", "name")), key=_metric_order)
    df = df[[*sweep["varying"], *present, "steps", "wall_time", "train_time", "status", "error", "name"]]
    if metric in df:
        ascending = lower_is_better(metric)
        done = df["status"].eq("ok")
        df.insert(len(sweep["varying"]) + len(present), "rank",
                  df[metric].where(done).rank(ascending=ascending, method="min").astype("Int64"))
    df.attrs.update(notebook=sweep["notebook"], varying=list(sweep["varying"]), fixed=sweep.get("fixed", {}),
                    metric=metric, sweep_dir=str(sweep_dir), metrics=present)
    return df


def _metric_name(column: str) -> str:
    """``wgan-gp/fid`` -> ``fid``: a nested run's metric (see :mod:`gancourse.sweeps.results`)."""
    return column.rsplit("/", 1)[-1]


def _metric_order(column: str) -> tuple:
    run, _, name = column.rpartition("/")
    known = METRIC_ORDER.index(name) if name in METRIC_ORDER else len(METRIC_ORDER)
    return run, known, name


def _nested_steps(metrics: dict[str, Any]) -> float | None:
    steps = [v for k, v in metrics.items() if _metric_name(k) == "step"]
    return max(steps) if steps else None


def lower_is_better(metric: str) -> bool:
    return _metric_name(metric) in LOWER_IS_BETTER


def has_replicates(df: pd.DataFrame) -> bool:
    """Whether the sweep varies the seed, i.e. holds several runs of some setting."""
    return SEED_PARAMETER in (df.attrs.get("varying") or [])


def settings_of(df: pd.DataFrame) -> list[str]:
    """The varying parameters that make a setting: all but the seed."""
    return [v for v in df.attrs.get("varying") or [] if v != SEED_PARAMETER]


def replicate_table(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """One row per setting: ``n`` finished seeds, ``<m>_mean`` and ``<m>_std`` of every metric, rank by the mean.

    ``std`` is the sample standard deviation (n - 1), NaN for a single seed. ``tied_with`` lists the ranks of
    the settings whose mean differs from this one's by less than the larger of the two stds; ``rank_label``
    writes a run of settings each tied with the one above as one shared place (``1, =2, =2, 4``). Settings with
    no finished seed get ``n`` 0 and no rank. ``df`` is :func:`collect`'s table (``df.attrs`` as it sets them).
    """
    metric = metric or df.attrs.get("metric", "fid")
    settings = settings_of(df)
    metrics = [m for m in df.attrs.get("metrics") or [] if m in df]
    ok = df[df["status"].eq("ok")]
    # records, not iterrows: a row of mixed types would turn every int (width 128) into a float
    keys = df[settings].drop_duplicates().to_dict("records") if settings else [{}]
    rows = []
    for key in keys:
        mask = pd.Series(True, index=ok.index)
        for name in settings:
            mask &= ok[name].eq(key[name])
        runs = ok[mask]
        row = {name: key[name] for name in settings}
        row["n"] = len(runs)
        row["seeds"] = ", ".join(str(s) for s in sorted(runs[SEED_PARAMETER])) if SEED_PARAMETER in runs else ""
        for m in [*metrics, "wall_time"]:
            values = pd.to_numeric(runs[m], errors="coerce").dropna() if m in runs else pd.Series(dtype=float)
            row[f"{m}_mean"] = values.mean() if len(values) else math.nan
            spread = values.std(ddof=1) if len(values) > 1 else math.nan
            # equal values (a floor measured once per data set) give rounding noise, not a spread
            row[f"{m}_std"] = 0.0 if spread < 1e-9 * max(1.0, abs(row[f"{m}_mean"])) else spread
        rows.append(row)
    table = pd.DataFrame(rows)
    mean, std = f"{metric}_mean", f"{metric}_std"
    if mean in table and table[mean].notna().any():
        table["rank"] = table[mean].rank(ascending=lower_is_better(metric), method="min").astype("Int64")
        table = table.sort_values(["rank", *settings], na_position="last").reset_index(drop=True)
        table["tied_with"] = [_ties(table, i, mean, std) for i in range(len(table))]
        table["rank_label"] = _rank_labels(table)
    table.attrs.update(df.attrs, settings=settings, metric=metric)
    return table


def is_tie(mean_a: float, std_a: float, mean_b: float, std_b: float) -> bool:
    """Whether two settings cannot be told apart: their means differ by less than the larger spread.

    Without a spread (one seed each) nothing can be called a tie, nor a win: a single run says nothing about
    chance, and the table's ``n`` says so.
    """
    spreads = [s for s in (std_a, std_b) if s is not None and not math.isnan(s)]
    if not spreads or any(math.isnan(m) for m in (mean_a, mean_b)):
        return False
    return abs(mean_a - mean_b) < max(spreads)


def _ties(table: pd.DataFrame, i: int, mean: str, std: str) -> str:
    row = table.iloc[i]
    if pd.isna(row.get("rank")):
        return ""
    tied = [int(other["rank"]) for j, other in table.iterrows()
            if j != i and not pd.isna(other.get("rank"))
            and is_tie(row[mean], row[std], other[mean], other[std])]
    return ", ".join(str(r) for r in sorted(tied))


def _rank_labels(table: pd.DataFrame) -> list[str]:
    """Shared places: a setting tied with the one ranked just above it takes that one's place, and every setting
    of such a run of ties is written ``=k`` (``1, =2, =2, 4``)."""
    labels, places, shared = [], [], []
    for i in range(len(table)):
        rank = table.iloc[i]["rank"]
        if pd.isna(rank):
            places.append(None)
            shared.append(False)
            continue
        tied = {int(r) for r in table.iloc[i]["tied_with"].split(", ") if r}
        above = int(table.iloc[i - 1]["rank"]) if i and places[i - 1] is not None else None
        if above is not None and above in tied:
            places.append(places[i - 1])
            shared[i - 1] = True
            shared.append(True)
        else:
            places.append(int(rank))
            shared.append(False)
    for place, is_shared in zip(places, shared, strict=True):
        labels.append("" if place is None else f"={place}" if is_shared else str(place))
    return labels


def mean_std_text(mean: float, std: float, digits: int = 3) -> str:
    """``87.1 ± 15.3``; the mean alone for one seed, empty when nothing finished."""
    if mean is None or math.isnan(mean):
        return ""
    return f"{mean:.{digits}g} ± {std:.{digits}g}" if std is not None and not math.isnan(std) else f"{mean:.{digits}g}"


def replicate_markdown(table: pd.DataFrame, metrics: list[str] | None = None) -> str:
    """The replicate table as Markdown: settings, n, mean ± std per metric, rank (``=2``: a shared place)."""
    settings = table.attrs.get("settings", [])
    metrics = metrics or [m for m in table.attrs.get("metrics") or [] if f"{m}_mean" in table]
    view = pd.DataFrame({name: table[name] for name in settings})
    view["n"] = table["n"]
    for m in [*metrics, "wall_time"]:
        if f"{m}_mean" in table:
            view[f"{m} (mean ± std)"] = [mean_std_text(a, b) for a, b in zip(table[f"{m}_mean"], table[f"{m}_std"],
                                                                              strict=True)]
    if "rank_label" in table:
        view[f"rank by {table.attrs.get('metric')}"] = table["rank_label"]
        view["within spread of"] = table["tied_with"]
    return markdown_table(view, list(view.columns))


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
    """The varying parameters a heat-map can show: all but the seed, over which it averages."""
    return settings_of(df)


def _cell_text(value: float, best: bool, in_grid: bool, spread: tuple[float, float] | None) -> str:
    """What a heat-map cell says: its value (``*`` for the best), with ``spread`` (std, seeds) ± std and n."""
    if not in_grid:  # a grid of explicit combinations leaves gaps
        return "not in\nthe grid"
    if not math.isfinite(value):
        return "failed /\nnot run"
    text = f"{value:.3g}" + (" *" if best else "")
    if spread is None:
        return text
    sd, n = spread
    return text + (f"\n± {sd:.2g}" if math.isfinite(sd) else "") + f"\nn={int(n) if math.isfinite(n) else 0}"


def plot_heatmap(df: pd.DataFrame, metric: str = "fid", rows: str | None = None, cols: str | None = None, ax=None):
    """``metric`` over a two-parameter grid (``rows`` x ``cols``): the mean where a cell holds several seeds,
    written as mean ± std with the number of seeds, so that a difference can be read against the spread."""
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
                        f"{', '.join(df.attrs.get('metrics') or []) or 'none (did any run finish?)'}")
    ok = df[df["status"].eq("ok")]
    index, columns = sorted(df[rows].unique()), sorted(df[cols].unique())
    table, spread, count = (ok.pivot_table(index=rows, columns=cols, values=metric, aggfunc=how)
                            .reindex(index=index, columns=columns) for how in ("mean", "std", "count"))
    in_grid = set(zip(df[rows], df[cols], strict=True))
    replicated = has_replicates(df)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.9 * len(table.columns) + 2.5, 1.2 * len(table.index) + 1.8))
    lower = lower_is_better(metric)
    values = table.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis_r" if lower else "viridis")
    finite = values[np.isfinite(values)]
    best = (finite.min() if lower else finite.max()) if finite.size else None
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = _cell_text(v, v == best, (index[i], columns[j]) in in_grid,
                              (spread.iloc[i, j], count.iloc[i, j]) if replicated else None)
            colour = "black" if np.isfinite(v) else "red" if (index[i], columns[j]) in in_grid else "grey"
            ax.text(j, i, text, ha="center", va="center", color=colour,
                    fontsize=9 if replicated else 10,
                    bbox=dict(facecolor="white", alpha=0.6, lw=0) if np.isfinite(v) else None)
    ax.set_xticks(range(len(table.columns)), [_cell(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [_cell(i) for i in table.index])
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    floor_column = f"{metric}_floor" if _metric_name(metric) == "fid" else None
    floor = ok[floor_column].mean() if floor_column in ok and len(ok) else None
    floor_text = f"; real-vs-real floor {floor:.3g}" if floor is not None and not math.isnan(floor) else ""
    over = "mean ± std over seeds, " if replicated else ""
    ax.set_title(f"{metric} ({over}{'lower' if lower else 'higher'} is better, * = best){floor_text}", fontsize=10)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.figure.tight_layout()
    return ax.figure


def one_seed_per_setting(df: pd.DataFrame) -> pd.DataFrame:
    """For a sweep with replicates: one row per setting, its lowest finished seed (else its lowest seed)."""
    if not has_replicates(df):
        return df
    settings = settings_of(df)
    ordered = df.assign(_done=~df["status"].eq("ok")).sort_values(["_done", SEED_PARAMETER], kind="stable")
    picked = ordered.drop_duplicates(settings) if settings else ordered.head(1)
    return picked.drop(columns="_done").loc[sorted(picked.index)]


def contact_sheet(df: pd.DataFrame, metric: str = "fid", tile: float = 2.6):
    """The final sample grid of every combination, labelled with its parameters and ``metric``.

    Two-parameter grids are laid out as the heat-map is (rows x columns); other sweeps fill a square. With
    replicates each setting shows one seed (labelled), and its metric as mean ± std over the seeds.
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    sweep_dir = Path(df.attrs["sweep_dir"])
    replicated = has_replicates(df)
    summary = replicate_table(df, metric) if replicated else None
    shown = one_seed_per_setting(df)
    varying = settings_of(df)
    two = len(varying) == 2 and len(shown) == shown[varying].drop_duplicates().shape[0]
    if two:
        row_values, col_values = sorted(shown[varying[0]].unique()), sorted(shown[varying[1]].unique())
        n_rows, n_cols = len(row_values), len(col_values)
        place = {i: (row_values.index(r[varying[0]]), col_values.index(r[varying[1]])) for i, r in shown.iterrows()}
    else:
        n_cols = math.ceil(math.sqrt(len(shown)))
        n_rows = math.ceil(len(shown) / n_cols)
        place = {index: divmod(k, n_cols) for k, index in enumerate(shown.index)}
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(tile * n_cols, (tile + 0.6) * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for index, row in shown.iterrows():
        ax = axes[place[index]]
        label = ", ".join(f"{k}={_cell(row[k])}" for k in varying) or "defaults"
        if replicated:
            label += f"\nshown: seed {_cell(row[SEED_PARAMETER])}"
        path = final_samples(sweep_dir / row["name"] / "run", metric)
        if path is not None:
            ax.imshow(Image.open(path), interpolation="nearest")
        if row["status"] == "ok" and metric in row and not pd.isna(row[metric]):
            if replicated:
                stats = summary
                for k in varying:
                    stats = stats[stats[k] == row[k]]
                stats = stats.iloc[0]
                score = f"{mean_std_text(stats[f'{metric}_mean'], stats[f'{metric}_std'])} (n={stats['n']}" \
                        f"{', #' + stats['rank_label'] if stats.get('rank_label') else ''})"
            else:
                rank = f" (#{row['rank']})" if "rank" in row and not pd.isna(row["rank"]) else ""
                score = f"{row[metric]:.3g}{rank}"
            ax.set_title(f"{label}\n{metric.upper()} {score}", fontsize=8 if replicated else 9)
        else:
            ax.set_title(f"{label}\n{row['status']}", fontsize=9, color="red")
            if row.get("error"):
                ax.text(0.5, 0.5, str(row["error"])[:80], ha="center", va="center", wrap=True, fontsize=7,
                        color="red", transform=ax.transAxes)
    what = "one seed of each setting" if replicated else "final samples of each combination"
    fig.suptitle(f"{sweep_dir.name}:\n{what} (same noise in every tile)", fontsize=10)
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
    body = markdown_table(df)
    if has_replicates(df):
        table = replicate_table(df, metric)
        paths["replicates"] = sweep_dir / "replicates.csv"
        table.drop(columns=["rank_label"], errors="ignore").to_csv(paths["replicates"], index=False)
        body = (f"## Mean ± std over seeds, by setting\n\nRank by the mean {metric}; `=k`: a shared place, each "
                f"within the spread of the one ranked above it (means closer than the larger std), so their "
                f"order could flip with another seed.\n\n{replicate_markdown(table)}\n## Every run\n\n"
                f"{markdown_table(df.drop(columns='rank', errors='ignore'))}")
    paths["markdown"].write_text(header + body)
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
