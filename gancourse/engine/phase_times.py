"""Where a run's wall clock goes: seconds per phase of ``fit``, kept in ``<run>/timing.json``.

The phases are exclusive and cover the whole of ``fit`` from the moment a ``Training`` is made:
``startup`` (data stream, resume, networks), ``steps`` (the recipe's steps, fetching each batch and the
loop's bookkeeping), ``logging`` (history and progress), ``samples`` (grids and the hooks that draw them),
``checkpoints`` (checkpoints, the exported generator, this file) and ``evaluation`` (metrics). A phase
entered inside another (the first grid during start-up) is taken out of the outer one, so the phases add
up to the wall clock. A resumed run adds its sitting to the totals of the sittings before it.

Timing costs two ``time.perf_counter()`` calls per phase entered: a few per training step.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from ..files import write_json_atomic

PHASES = ("startup", "steps", "logging", "samples", "checkpoints", "evaluation")
Method = TypeVar("Method", bound=Callable[..., Any])


def read_phase_times(path: str | Path) -> dict[str, float]:
    """The phase totals in a timing.json; an unreadable or foreign file counts as no time (timing is
    informational: it must never stop a run from resuming)."""
    return _read_record(path)[0]


def _read_record(path: str | Path) -> tuple[dict[str, float], int]:
    """A timing.json's phase totals and its sittings; ({}, 1) when it cannot be read."""
    try:
        record = json.loads(Path(path).read_text())
        phases = record.get("phases", {})
        return {name: float(phases[name]) for name in PHASES if name in phases}, int(record.get("sittings", 1))
    except (OSError, ValueError, TypeError, AttributeError):
        return {}, 1


class PhaseClock:
    """Exclusive wall-clock totals per phase: the innermost phase entered is the one that is charged."""

    def __init__(self, first: str = "startup") -> None:
        self.this_sitting: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.earlier: dict[str, float] = {}
        self.sittings = 1
        self._stack = [first]
        self._mark = time.perf_counter()

    def _charge(self) -> None:
        now = time.perf_counter()
        self.this_sitting[self._stack[-1]] += now - self._mark
        self._mark = now

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Charge the time inside the block to ``name`` (and not to the phase around it)."""
        self._charge()
        self._stack.append(name)
        try:
            yield
        finally:
            self._charge()
            self._stack.pop()

    def switch(self, name: str) -> None:
        """From now on, time outside any ``phase`` block is charged to ``name`` (start-up ends: ``steps``)."""
        self._charge()
        self._stack[0] = name

    def continue_from(self, path: str | Path) -> None:
        """Add the totals of the earlier sittings recorded at ``path`` (a resumed run)."""
        self.earlier, earlier_sittings = _read_record(path)
        self.sittings = earlier_sittings + 1

    def totals(self) -> dict[str, float]:
        """Seconds per phase so far, earlier sittings included."""
        self._charge()
        return {name: self.this_sitting[name] + self.earlier.get(name, 0.0) for name in PHASES}

    def write(self, path: str | Path, step: int) -> dict[str, float]:
        totals = self.totals()
        record: dict[str, Any] = {"phases": {k: round(v, 4) for k, v in totals.items()},
                                  "total": round(sum(totals.values()), 4), "step": step, "sittings": self.sittings}
        write_json_atomic(path, record)
        return totals


def timed(phase: str) -> Callable[[Method], Method]:
    """A method of an object with a ``clock`` (a :class:`PhaseClock`) whose time is charged to ``phase``."""
    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def timed_method(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self.clock.phase(phase):
                return method(self, *args, **kwargs)
        return cast(Method, timed_method)
    return decorate
