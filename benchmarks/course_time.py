"""Where each notebook's time goes: the course's main job per notebook, its wall clock split by phase.

For each chosen notebook it runs ``gancourse course --profile quick --only NN --out <fresh folder>`` in a
subprocess (papermill, the kernel's start and the HTML export included: what ``make course`` does for that
notebook) and times it end to end. Then it reads the ``timing.json`` of every training run the notebook made
(``gancourse.engine.phase_times``: every ``fit`` keeps one) and splits the wall clock into training steps
(fetching the batches included), evaluation, sample grids and the plots drawn from them, checkpoints,
logging, and start-up/other: the rest (Python, imports, the kernel, data loading, judge training when the
caches are cold, and whatever the notebook does outside ``fit``). Overhead is everything outside the
training steps, as a share of the wall clock.

    python benchmarks/course_time.py --only 03 06             # idle
    python benchmarks/course_time.py --only 04 --both         # idle, then beside a busy neighbour: the ratio
    python benchmarks/course_time.py --cold --markdown docs/results/course_time.md

``--neighbour`` runs one busy single-threaded process (``while True: pass``) for the duration of each
notebook, as a browser beside the notebook would; ``--cold`` points ``GANCOURSE_CACHE`` (judges, feature
networks, prepared arrays) at an empty folder, as on a student's first run. ``--markdown`` updates the
table in that file (rows of the same notebook, profile, caches and load are replaced; the others kept) and
lists the invocation with the date and the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gancourse.course.runner import course_notebooks
from gancourse.engine.phase_times import read_phase_times
from gancourse.runs import TIMING_FILE

COLUMNS = ("steps", "evaluation", "samples", "checkpoints", "logging")  # the phases shown; start-up goes to other
HEADER = ("notebook", "profile", "caches", "load", "status", "wall s", "steps s", "eval s", "samples s",
          "checkpoints s", "logging s", "start-up/other s", "overhead %", "in fit %", "× idle", "measured")
KEY = 4  # notebook, profile, caches, load: what a row is a measurement of
NOT_MEASURED = "not yet measured"
PLACEHOLDERS = (("quick", "warm", "idle"), ("quick", "warm", "1 busy neighbour"), ("quick", "cold", "idle"))


@dataclass
class Measurement:
    notebook: str
    profile: str
    caches: str  # "warm" or "cold"
    load: str  # "idle" or "1 busy neighbour"
    status: str
    wall: float
    phases: dict[str, float] = field(default_factory=dict)  # summed over the notebook's training runs
    runs: int = 0
    ratio: float | None = None  # wall over the idle wall of the same invocation (with a neighbour)
    when: str = ""

    @property
    def other(self) -> float:
        """The wall clock outside every timed phase but start-up."""
        return self.wall - sum(self.phases.get(name, 0.0) for name in COLUMNS)

    @property
    def overhead(self) -> float:
        """Per cent of the wall clock outside the training steps."""
        return 100 * (self.wall - self.phases.get("steps", 0.0)) / self.wall if self.wall else 0.0

    @property
    def in_fit(self) -> float:
        """Per cent of the training runs' own time (``fit``) outside the steps: grids, checkpoints, evaluations."""
        return in_fit_overhead([self.phases.get(name, 0.0) for name in COLUMNS])

    def cells(self) -> list[str]:
        phases = [f"{self.phases.get(name, 0.0):.1f}" for name in COLUMNS]
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else ""
        return [self.notebook, self.profile, self.caches, self.load, self.status, f"{self.wall:.1f}", *phases,
                f"{self.other:.1f}", f"{self.overhead:.0f}", f"{self.in_fit:.0f}", ratio, self.when]


def in_fit_overhead(phases: list[float]) -> float:
    """Per cent of ``phases`` (seconds in COLUMNS order, the steps first) that is not the steps."""
    return 100 * (1 - phases[0] / sum(phases)) if sum(phases) else 0.0


def phase_totals(run_root: Path) -> tuple[dict[str, float], int]:
    """The phase seconds summed over every ``timing.json`` under ``run_root``, and how many runs there were.

    Runs that trained side by side (notebook 07's sweeps) are divided by how many ran at once, so that the
    phases share the wall clock: each run's span is its file's last write minus its seconds in ``fit``."""
    totals: dict[str, float] = {}
    files = sorted(run_root.rglob(TIMING_FILE)) if run_root.is_dir() else []
    spans = []
    for path in files:
        phases = read_phase_times(path)
        for name, seconds in phases.items():
            totals[name] = totals.get(name, 0.0) + seconds
        end = path.stat().st_mtime
        spans.append((end - sum(phases.values()), end))
    at_once = concurrency(spans)
    return {name: seconds / at_once for name, seconds in totals.items()}, len(files)


def concurrency(spans: list[tuple[float, float]]) -> float:
    """The mean number of spans running while any runs: their summed length over the length of their union."""
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        covered += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return max(1.0, sum(end - start for start, end in spans) / covered) if covered else 1.0


def choose_notebooks(only: list[str] | None) -> list[Path]:
    notebooks = course_notebooks()
    if not only:
        return notebooks
    chosen = [nb for nb in notebooks if any(nb.name.startswith(o) or nb.stem == o for o in only)]
    if not chosen:
        sys.exit(f"no notebook matches {only}; available: {', '.join(nb.stem for nb in notebooks)}")
    return chosen


@contextlib.contextmanager
def busy_neighbour(on: bool) -> Iterator[None]:
    """One CPU-bound single-threaded process beside the notebook while the block runs (none when not ``on``)."""
    if not on:
        yield
        return
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        neighbour.kill()
        neighbour.wait()


def measure(notebook: Path, profile: str, cold: bool, neighbour: bool, folder: Path) -> Measurement:
    """Run ``notebook`` alone through ``gancourse course`` into ``folder`` and split its wall clock."""
    env = {k: v for k, v in os.environ.items() if k != "GANCOURSE_RUNS"}  # the runs land in folder/runs
    if cold:
        env["GANCOURSE_CACHE"] = str(folder / "cache")
    command = [sys.executable, "-m", "gancourse", "course", "--profile", profile, "--only", notebook.stem,
               "--out", str(folder)]
    with busy_neighbour(neighbour):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
    status_file = folder / f"{notebook.stem}.status.json"
    status = json.loads(status_file.read_text())["status"] if status_file.is_file() else "failed"
    if done.returncode:
        status = f"failed (exit {done.returncode})"
        print(done.stderr.strip()[-2000:], file=sys.stderr)
    phases, runs = phase_totals(folder / "runs")
    return Measurement(notebook.stem, profile, "cold" if cold else "warm", "1 busy neighbour" if neighbour else "idle",
                       status, wall, phases, runs, when=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [list(HEADER), *rows]) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.rjust(w) if i >= 5 else cell.ljust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))) for row in [list(HEADER), *rows])


def machine() -> str:
    """CPU model, cores this process may use (of all), torch version, Python, threads and data settings."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    return (f"{model}, {usable} of {os.cpu_count()} cores, torch {torch_version}, Python {platform.python_version()}, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
            # where the data came from: without real files each notebook trains on its dataset's stand-in
            f"GANCOURSE_DATA={os.environ.get('GANCOURSE_DATA', 'unset')}")


# -- the markdown file: one table of rows keyed by notebook, profile, caches and load, notes written by hand, and
# the invocations --

NOTES = "## Notes"

INTRO = """# Where the course's time goes

Written by `benchmarks/course_time.py` (its docstring says how): each row is one notebook run end to end by
`gancourse course --profile PROFILE --only NN` into a fresh folder (papermill, kernel start and HTML export
included), its wall clock split by the `timing.json` every training run keeps: training steps (fetching the
batches included), evaluation inside `fit`, sample grids and the plots drawn from them, checkpoints (and the
exported generator), logging. Start-up/other is the rest: Python and kernel start, imports, data loading,
judge training with cold caches, the notebook's own evaluations and plots outside `fit`, and `fit`'s start-up.
Overhead: everything outside the training steps, as a share of the wall clock; in fit: the share of the
training runs' own time outside the steps (evaluations, grids, checkpoints, logging). Load: idle, or beside one
busy single-threaded process. Caches: warm (judges, feature networks, prepared arrays cached) or cold (an
empty `GANCOURSE_CACHE`). × idle: the wall clock over the idle run's of the same invocation (`--both`).
"""


# Each notebook's quick profile before issue 31 (2 CPU cores): measured here on 2026-12-06 where the row says so
# (03 and 06 with the settings of then), else what the README and the issue reported.
BEFORE = {
    "01_mnist_dcgan": "about 5 min: its comparison runs were on by default (README: about 10)",
    "02_wikiart_dcgan": "9 min 40 s: its comparison runs were on by default",
    "03_mode_collapse": "8 min 18 s (9 runs of 1200 steps of 64; the issue had 3 min 31 s)",
    "04_wgan_gp": "8 min 45 s (3 runs of 150 s at batch 64)",
    "05_quickdraw_cgan": "about 2 min (README)",
    "06_monet_cyclegan": "10 min 22 s: its simple GAN was on by default (header: 4 min 42 s)",
    "07_hyperparameter_sweeps": "about 10 min (10 runs of 500 steps)",
}


def before_after(rows: dict[tuple[str, ...], list[str]]) -> list[str]:
    """A table of each notebook's quick profile before and after, from the rows measured in the quick profile."""
    def wall(notebook: str, caches: str, load: str) -> str:
        cells = rows.get((notebook, "quick", caches, load))
        if not cells or cells[4] != "ok":
            return "not yet measured"
        seconds = round(float(cells[HEADER.index("wall s")]))
        ratio = cells[HEADER.index("× idle")]
        return f"{seconds // 60} min {seconds % 60} s" + (f" ({ratio}× idle)" if ratio else "")
    lines = ["## Before and after (quick profile, 2 CPU cores)", "",
             "| notebook | before | after: idle, caches warm | caches cold | one busy neighbour |",
             "|---|---|---|---|---|"]
    lines += [f"| {nb} | {before} | {wall(nb, 'warm', 'idle')} | {wall(nb, 'cold', 'idle')} | "
              f"{wall(nb, 'warm', '1 busy neighbour')} |" for nb, before in BEFORE.items()]
    return lines + [""]


def read_markdown(path: Path) -> tuple[dict[tuple[str, ...], list[str]], list[str]]:
    """The table's rows by key, and the invocation lines, of a file this script wrote (none if absent)."""
    rows: dict[tuple[str, ...], list[str]] = {}
    invocations: list[str] = []
    if not path.is_file():
        return rows, invocations
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == len(HEADER) - 1 and re.match(r"\d\d_", cells[0]):
            cells.insert(HEADER.index("in fit %"), _in_fit_cell(cells))  # a row written before that column
        if line.startswith("|") and len(cells) == len(HEADER) and re.match(r"\d\d_", cells[0]):
            rows[tuple(cells[:KEY])] = cells
        elif line.startswith("- ") and "`" in line:
            invocations.append(line)
    return rows, invocations


def _in_fit_cell(cells: list[str]) -> str:
    first = HEADER.index("steps s")
    try:
        return f"{in_fit_overhead([float(c) for c in cells[first:first + len(COLUMNS)]]):.0f}"
    except ValueError:  # a row not yet measured
        return ""


def placeholder_rows(notebooks: list[Path]) -> dict[tuple[str, ...], list[str]]:
    rows = {}
    for nb in notebooks:
        for profile, caches, load in PLACEHOLDERS:
            rows[(nb.stem, profile, caches, load)] = [nb.stem, profile, caches, load, NOT_MEASURED,
                                                      *[""] * (len(HEADER) - KEY - 1)]
    return rows


def row_order(key: tuple[str, ...]) -> tuple:
    """Notebook, profile, then warm before cold and idle before a neighbour."""
    notebook, profile, caches, load = key
    return notebook, profile, caches != "warm", load != "idle", caches, load


def read_notes(path: Path) -> list[str]:
    """The lines of the file's ``## Notes`` section (written by hand, kept by every rewrite), heading included."""
    lines = path.read_text().splitlines() if path.is_file() else []
    if NOTES not in lines:
        return []
    start = lines.index(NOTES)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def write_markdown(path: Path, measured: list[Measurement], invocation: str | None) -> None:
    """Replace the rows of ``measured`` in ``path``'s table (keeping the others and the notes) and add
    ``invocation``."""
    rows, invocations = read_markdown(path)
    notes = read_notes(path)
    rows = {**placeholder_rows(course_notebooks()), **rows}
    for m in measured:
        cells = m.cells()
        rows[tuple(cells[:KEY])] = cells
    if invocation:
        invocations.append(invocation)
    lines = [INTRO, "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows.items(), key=lambda kv: row_order(kv[0]))]
    lines += ["", *before_after(rows), *notes, "## Invocations", ""] + (invocations or ["(none yet)"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, metavar="NN", help="notebooks (default: all seven)")
    parser.add_argument("--profile", default="quick", help="the course profile (default: quick)")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--neighbour", action="store_true", help="beside one busy single-threaded process")
    load.add_argument("--both", action="store_true", help="idle, then beside the neighbour; prints the ratio")
    parser.add_argument("--cold", action="store_true", help="with an empty cache folder (GANCOURSE_CACHE)")
    parser.add_argument("--markdown", type=Path, default=None, help="update this file's table")
    parser.add_argument("--keep", type=Path, default=None, help="keep the executed notebooks and runs here")
    args = parser.parse_args(argv)

    loads = [False, True] if args.both else [args.neighbour]
    measured: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="course_time-") as scratch:
        base = args.keep or Path(scratch)
        for notebook in choose_notebooks(args.only):
            idle = None
            for neighbour in loads:
                folder = base / f"{notebook.stem}-{'neighbour' if neighbour else 'idle'}"
                m = measure(notebook, args.profile, args.cold, neighbour, folder)
                if neighbour and idle is not None:
                    m.ratio = m.wall / idle.wall
                idle = idle if neighbour else m
                measured.append(m)
                print(text_table([m.cells()]).splitlines()[-1], flush=True)
    print()
    print(text_table([m.cells() for m in measured]))
    parallel = [m.notebook for m in measured if m.other < 0]
    if parallel:
        print(f"\n{', '.join(parallel)}: the runs' phases add up to more than the wall clock (runs in parallel)")
    if args.markdown:
        command = shlex.join(["python", "benchmarks/course_time.py", *(argv if argv is not None else sys.argv[1:])])
        write_markdown(args.markdown, measured,
                       f"- {datetime.datetime.now():%Y-%m-%d %H:%M}: `{command}` on {machine()}")
        print(f"\nwrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
