"""The full-profile dry run: a notebook with the full profile's sizes, widths, sample counts and sections, but
every training cut to a few steps (``GANCOURSE_STEP_CAP=N``).

A student on a GPU runs the full profile; CI has no GPU. With the cap set, ``fit`` trains every run for N steps
(a time budget becomes N steps) in two sittings: to half of them, evaluated and checkpointed, then resumed from
that checkpoint to all of them. So the code paths that only the full profile reaches, resume included, run on
a CPU in minutes (``tests/course/test_full_profile.py``).
"""

from __future__ import annotations

import dataclasses
import os
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
