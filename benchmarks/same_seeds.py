"""A variant against the baseline on the seeds both ran (shared by the benchmarks).

Runs with the same seed share the data order and the initial draw, so a seed that is hard for the baseline is
often hard for the variant too; comparing seed by seed sees through a spread between seeds that can be as large
as the effect, and a mean over different sets of seeds would compare luck.
"""

from __future__ import annotations

import statistics


def relative_kid(rows: list[dict], name: str) -> float:
    """``name``'s mean KID over its seeds, relative to the baseline's mean over those seeds."""
    base = {r["seed"]: r["kid"] for r in rows if r["variant"] == "baseline"}
    kids = {r["seed"]: r["kid"] for r in rows if r["variant"] == name and r["seed"] in base}
    return statistics.mean(kids.values()) / statistics.mean(base[s] for s in kids) - 1 if kids else float("nan")


def paired_kid(rows: list[dict], name: str) -> str:
    """``name``'s KID against the baseline's on each seed both have: seeds share the data order and draw the
    same hard or easy start, so the per-seed ratio sees through the spread between seeds."""
    base = {r["seed"]: r["kid"] for r in rows if r["variant"] == "baseline"}
    pairs = [(r["seed"], r["kid"] / base[r["seed"]] - 1) for r in rows if r["variant"] == name and r["seed"] in base]
    if not pairs:
        return f"{name} (no common seed)"
    lower = sum(change < 0 for _, change in pairs)
    return f"{name} {' / '.join(f'{change:+.0%}' for _, change in pairs)} ({lower} of {len(pairs)})"
