"""CPU threads on a shared machine: how many cores are ours, and how many threads torch should use on them.

With 2 cores, 2 OpenMP threads and one busy neighbour, every parallel region waits for the thread that shares
its core with the neighbour, so training slows ~3x. ``GANCOURSE_THREADS`` says what to do:

- ``auto``: one thread per usable core (CPU affinity and cgroup quota), fixed for the whole process;
- ``adaptive``: start there, and let a :class:`ThreadGovernor` (asked before each training step) drop to the
  cores other processes leave free, and go back up when they free them;
- a number: that many threads, fixed;
- ``,passive`` after any of these (``auto,passive``): OpenMP threads sleep instead of spinning while they wait.

This module imports no torch: ``gancourse/__init__`` calls :func:`prepare_environment` before torch loads,
because the OpenMP runtime reads its wait policy once, when it starts. ``gancourse.devices`` applies the rest.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

SETTING_VARIABLE = "GANCOURSE_THREADS"
# The one place the default lives. "adaptive": a student's laptop always has a browser beside the notebook, and
# fixed threads there make training ~3x slower. The price: a thread count changes float summation order, so a
# run whose threads changed is not reproducible from its seed; "auto" or a number keeps runs bit for bit
# (docs/performance.md, "CPU threads"; the tests pin "auto").
DEFAULT_SETTING = "adaptive"
MODES = ("auto", "adaptive")

# Read when the OpenMP runtime starts: GNU libgomp (torch's Linux wheels) and Intel's libiomp.
_environment_at_start = dict(os.environ)  # what the user set before this package ran
PASSIVE_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0", "KMP_BLOCKTIME": "0"}


@dataclass(frozen=True)
class ThreadSetting:
    """A parsed ``GANCOURSE_THREADS``: ``mode`` auto | adaptive | fixed, ``threads`` (fixed only), ``passive``."""

    mode: str
    threads: int = 0
    passive: bool = False


def parse_threads(text: str | None = None) -> ThreadSetting:
    """``text`` (default: ``$GANCOURSE_THREADS``, else :data:`DEFAULT_SETTING`) as a :class:`ThreadSetting`;
    anything else is a :class:`~gancourse.errors.UserError` that lists what is allowed."""
    if text is None:
        text = os.environ.get(SETTING_VARIABLE) or DEFAULT_SETTING
    words = [w.strip().lower() for w in text.split(",")]
    passive = words[1:] == ["passive"]
    mode = words[0]
    if (len(words) > 1 and not passive) or not mode:
        raise UserError(_bad(text))
    if mode in MODES:
        return ThreadSetting(mode, 0, passive)
    if mode.isdigit() and int(mode) >= 1:
        return ThreadSetting("fixed", int(mode), passive)
    raise UserError(_bad(text))


def _bad(text: str) -> str:
    return (f"{SETTING_VARIABLE}={text!r} is not a thread setting: use auto, adaptive or a number of threads "
            f"(1 or more), optionally followed by ',passive' (e.g. {SETTING_VARIABLE}=adaptive)")


def prepare_environment(environ: MutableMapping[str, str] = os.environ) -> None:
    """Before torch loads: the OpenMP wait policy ``GANCOURSE_THREADS`` asks for (``,passive``), where the user
    has not set that variable already. A bad setting is left for :func:`parse_threads` to report later, where
    the caller can show it as one line (an import cannot)."""
    try:
        setting = parse_threads(environ.get(SETTING_VARIABLE) or DEFAULT_SETTING)
    except UserError:
        return
    if setting.passive:
        _torch_first.append("torch" in sys.modules)
        for name, value in PASSIVE_ENVIRONMENT.items():
            environ.setdefault(name, value)


_torch_first: list[bool] = []  # per prepare_environment call: was torch already loaded (too late for OpenMP)?


def wait_policy_set_in_time() -> bool:
    """Whether a passive wait policy reached the OpenMP runtime: set by :func:`prepare_environment` before torch
    loaded, or by the user in the environment (``OMP_WAIT_POLICY=PASSIVE``)."""
    set_by_user = _environment_at_start.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
    return set_by_user or _torch_first[:1] == [False]


_blas: list = []  # the threadpoolctl controller, made on first use (it lists the BLAS libraries loaded by then)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's and SciPy's BLAS (OpenBLAS in their wheels) compute on the calling thread inside this block.

    For small matrices (the metrics' few hundred features) a second pool of spinning threads beside torch's
    OpenMP threads only makes the two pools wait on each other: an evaluation's FIDs took ten times longer
    with two BLAS threads than with one on 2 cores, idle or not (docs/performance.md, "CPU threads").
    """
    if not _blas:
        from threadpoolctl import ThreadpoolController  # after NumPy and SciPy have loaded their BLAS
        _blas.append(ThreadpoolController())
    with _blas[0].limit(limits=1, user_api="blas"):
        yield


def affinity_cores() -> int:
    """The cores this process may be scheduled on (its CPU affinity; all of them where there is none)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (containers)."""
    cores = affinity_cores()
    quota = cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Cores' worth of CPU time the cgroup allows (``cpu.max`` of cgroup v2, ``cfs_quota_us`` of v1); None: no cap."""
    try:
        v2 = root / "cpu.max"
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1 = root / "cpu" / "cpu.cfs_quota_us"
        if v1.is_file():
            quota_us = int(v1.read_text())
            period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None  # unreadable or odd: no cap rather than a guess
    return None


# -- the adaptive governor --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CpuTimes:
    """Clock ticks summed over a set of cores since boot: ``busy`` (any process, steal included) and ``total``."""

    busy: int
    total: int


def read_cpu_times(cores: set[int], stat_text: str | None = None) -> CpuTimes:
    """``cores``' lines of /proc/stat (``stat_text``: its text, for tests) as :class:`CpuTimes`."""
    if stat_text is None:
        stat_text = Path("/proc/stat").read_text()
    busy = total = 0
    for line in stat_text.splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cores:
            continue
        ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal (guest is in user)
        total += sum(ticks)
        busy += sum(ticks) - ticks[3] - ticks[4]
    return CpuTimes(busy, total)


def others_busy_cores(before: CpuTimes, after: CpuTimes, own_seconds: float, n_cores: int,
                      ticks_per_second: float) -> float | None:
    """How many of our ``n_cores`` other processes kept busy between two readings: all busy time less our own
    (``own_seconds`` of CPU time, every thread of ours), in cores. None: too short an interval to tell."""
    total = after.total - before.total
    if total <= 0:
        return None
    others = after.busy - before.busy - own_seconds * ticks_per_second
    return max(0.0, others) / (total / n_cores)


# Hysteresis: give a core up once others keep 0.4 of it busy (a spinning OpenMP thread leaves a neighbour about
# half a core), take it back only when they use under 0.3 of it; between the two nothing changes.
GIVE_UP_AT, TAKE_BACK_BELOW = 0.4, 0.3


def cores_taken(others: float, taken: int, n_cores: int) -> int:
    """Whole cores to leave to other processes, given that they keep ``others`` cores busy and we left them
    ``taken`` until now (the dead band between the two thresholds stops flapping)."""
    if others >= taken + GIVE_UP_AT:
        taken = math.floor(others + 1 - GIVE_UP_AT)
    elif others < taken - 1 + TAKE_BACK_BELOW:
        taken = max(0, math.ceil(others - TAKE_BACK_BELOW))
    return max(0, min(taken, n_cores - 1))


class ThreadGovernor:
    """Sets the intra-op threads to the cores other processes leave free, re-read every ``interval`` seconds.

    ``tick()`` is cheap and may be called as often as wanted (the training loop calls it before every step). It
    stands down for good when someone else changes the thread count (``get_threads`` differs from what it
    set): a caller that pins threads owns them. ``ceiling``: most threads it ever uses.
    """

    def __init__(self, ceiling: int, set_threads: Callable[[int], None], get_threads: Callable[[], int], *,
                 cores: set[int] | None = None, interval: float = 2.0, stale_after: float = 20.0,
                 read_stat: Callable[[set[int]], CpuTimes] = read_cpu_times,
                 own_clock: Callable[[], float] = time.process_time, wall: Callable[[], float] = time.monotonic,
                 ticks_per_second: float | None = None) -> None:
        self.cores = cores if cores is not None else set(os.sched_getaffinity(0))
        self.ceiling = max(1, min(ceiling, len(self.cores)))
        self.set_threads, self.get_threads = set_threads, get_threads
        self.interval, self.stale_after = interval, stale_after
        self.read_stat, self.own_clock, self.wall = read_stat, own_clock, wall
        self.ticks = ticks_per_second or os.sysconf("SC_CLK_TCK")
        self.taken, self.threads, self.active = 0, get_threads(), True
        self._reading = self._read()

    def _read(self) -> tuple[float, float, CpuTimes]:
        return self.wall(), self.own_clock(), self.read_stat(self.cores)

    def restart(self) -> None:
        """Start a fresh reading of the load now (the next ``tick`` judges only what happens from here)."""
        self._reading = self._read()

    def tick(self, interval: float | None = None) -> int | None:
        """Re-read the load when ``interval`` (default: the governor's) has passed; the new thread count when
        it changed, else None."""
        if not self.active:
            return None
        if self.get_threads() != self.threads:
            self.active = False  # pinned by someone else: theirs to decide from now on
            return None
        wall, own, times = self._reading
        if self.wall() - wall < (self.interval if interval is None else interval):
            return None
        self._reading = now = self._read()
        if now[0] - wall > self.stale_after:
            return None  # a long pause (an evaluation, a plot): start a fresh reading rather than average over it
        others = others_busy_cores(times, now[2], now[1] - own, len(self.cores), self.ticks)
        if others is None:
            return None
        self.taken = cores_taken(others, self.taken, len(self.cores))
        wanted = max(1, min(self.ceiling, len(self.cores) - self.taken))
        if wanted == self.threads:
            return None
        self.set_threads(wanted)
        self.threads = wanted
        return wanted
