"""The full-profile dry run: a notebook with the full profile's sizes, widths, sample counts and sections, but
every training cut to a few steps (``GANCOURSE_STEP_CAP=N``).

A student on a GPU runs the full profile; CI has no GPU. With the cap set, ``fit`` trains every run for N steps
(a time budget becomes N steps) in two sittings: to half of them, evaluated and checkpointed, then resumed from
that checkpoint to all of them. So the code paths that only the full profile reaches, resume included, run on
a CPU in minutes (``tests/course/test_full_profile.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

from ..errors import UserError

STEP_CAP = "GANCOURSE_STEP_CAP"
L = TypeVar("L")


def step_cap() -> int:
    """``$GANCOURSE_STEP_CAP`` as a number of steps; 0 when it is unset (no cap)."""
    text = os.environ.get(STEP_CAP, "").strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{STEP_CAP}={text!r} must be a whole number of steps, 1 or more (or unset: no cap)")
    return int(text)


def capped(loop: L) -> L:
    """``loop`` (a :class:`~gancourse.engine.training.Loop`) cut to the step cap, if one is set: at most that many
    steps, with a sample grid, an evaluation (where it had any) and a checkpoint at the last of them."""
    cap = step_cap()
    if not cap:
        return loop
    steps = min(loop.steps, cap) if loop.steps else cap
    return dataclasses.replace(
        loop, steps=steps, epochs=0, time_budget=0.0, log_every=min(loop.log_every, steps),
        sample_every=steps, checkpoint_every=steps, eval_every=steps if loop.eval_every else 0)


def sittings(loop: L) -> list[L]:
    """``[loop]``; under the cap, the dry run's two sittings: to half the capped steps, then resumed to all."""
    if not step_cap():
        return [loop]
    full = capped(loop)
    half = full.steps // 2
    if not half:
        return [full]
    return [dataclasses.replace(full, steps=half, log_every=min(full.log_every, half), sample_every=half,
                                checkpoint_every=half, eval_every=half if full.eval_every else 0), full]


# papermill in a process of its own: the notebook's kernel is its child, so RUSAGE_CHILDREN is the kernel's peak
_EXECUTE = """
import json, resource, sys
import papermill
papermill.execute_notebook(sys.argv[1], sys.argv[2], parameters={**json.loads(sys.argv[4]), "profile": "full"},
                           progress_bar=False, cwd=sys.argv[3])
print("peak_rss_kb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def execute_full_profile(notebook: Path, executed: Path, runs: Path, cap: int, parameters: dict | None = None,
                         **env: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``notebook`` with papermill in the full profile, every training capped at ``cap`` steps and its runs
    in ``runs``; (the finished process, the kernel's peak resident memory in GB). ``parameters``: more of the
    notebook's parameters (what it leaves off by default, such as ``compare``). ``env``: more variables."""
    variables = {**os.environ, STEP_CAP: str(cap), "GANCOURSE_RUNS": str(runs), "GANCOURSE_PROFILE": "full",
                 "GANCOURSE_HEADLESS": "1", "MPLBACKEND": "Agg", **env}
    proc = subprocess.run([sys.executable, "-c", _EXECUTE, str(notebook), str(executed), str(notebook.parent),
                           json.dumps(parameters or {})], env=variables, capture_output=True, text=True)
    peak = int(proc.stdout.split("peak_rss_kb")[-1]) / 1024**2 if "peak_rss_kb" in proc.stdout else 0.0
    return proc, peak
