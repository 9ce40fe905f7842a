"""benchmarks/course_time.py: reading a notebook's run folder, the table it writes, the neighbour it starts."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import course_time
from benchmarks.course_time import (
    Measurement,
    busy_neighbour,
    concurrency,
    phase_totals,
    read_markdown,
    write_markdown,
)
from gancourse.runs import RunDir


def fake_run(folder, ended_at: float | None = None, **phases):
    """A run folder whose timing.json holds ``phases``, last written at ``ended_at`` (seconds since the epoch)."""
    folder.mkdir(parents=True)
    path = RunDir(folder).timing_path
    path.write_text(json.dumps({"phases": phases, "total": sum(phases.values()), "step": 10}))
    if ended_at is not None:
        os.utime(path, (ended_at, ended_at))


def test_phase_totals_sum_every_run_of_the_notebook_and_skip_damaged_files(tmp_path):
    fake_run(tmp_path / "03_mode_collapse" / "quick-a", ended_at=1000.0, steps=10.0, samples=1.0, checkpoints=0.5,
             startup=2.0)
    fake_run(tmp_path / "03_mode_collapse" / "quick-b" / "nested", ended_at=1010.0, steps=5.0, evaluation=3.0)
    (tmp_path / "broken").mkdir()
    RunDir(tmp_path / "broken").timing_path.write_text("{cut sh")
    totals, runs = phase_totals(tmp_path)
    assert totals == {"steps": 15.0, "samples": 1.0, "checkpoints": 0.5, "startup": 2.0, "evaluation": 3.0}
    assert runs == 3
    assert phase_totals(tmp_path / "missing") == ({}, 0)


def test_runs_that_trained_side_by_side_share_the_wall_clock(tmp_path):
    # two runs of 10 s each over the same 10 s (a sweep's two jobs), then one alone: 30 s of runs in 20 s
    fake_run(tmp_path / "a", ended_at=1010.0, steps=8.0, evaluation=2.0)
    fake_run(tmp_path / "b", ended_at=1010.0, steps=8.0, evaluation=2.0)
    fake_run(tmp_path / "c", ended_at=1020.0, steps=8.0, evaluation=2.0)
    totals, runs = phase_totals(tmp_path)
    assert runs == 3 and totals == pytest.approx({"steps": 16.0, "evaluation": 4.0})
    assert concurrency([(0.0, 10.0), (5.0, 15.0)]) == pytest.approx(20 / 15)
    assert concurrency([(0.0, 10.0), (20.0, 30.0)]) == 1.0  # one after the other: nothing shared
    assert concurrency([]) == 1.0


def test_the_split_puts_start_up_and_the_unmeasured_rest_into_other():
    m = Measurement("03_mode_collapse", "quick", "warm", "idle", "ok", wall=100.0,
                    phases={"steps": 60.0, "evaluation": 10.0, "samples": 5.0, "checkpoints": 4.0, "logging": 1.0,
                            "startup": 3.0})
    assert m.other == pytest.approx(20.0)  # 100 - (60 + 10 + 5 + 4 + 1); fit's start-up is part of it
    assert m.overhead == pytest.approx(40.0)
    assert m.in_fit == pytest.approx(25.0)  # (10 + 5 + 4 + 1) of the 80 s inside fit
    cells = m.cells()
    assert cells[:6] == ["03_mode_collapse", "quick", "warm", "idle", "ok", "100.0"]
    assert cells[6:14] == ["60.0", "10.0", "5.0", "4.0", "1.0", "20.0", "40", "25"]


def test_the_markdown_table_keeps_other_rows_and_replaces_the_measured_ones(tmp_path):
    path = tmp_path / "course_time.md"
    write_markdown(path, [], None)
    rows, invocations = read_markdown(path)
    assert len(rows) == 7 * 3 and invocations == []
    assert all(cells[4] == "not yet measured" for cells in rows.values())

    first = Measurement("03_mode_collapse", "quick", "warm", "idle", "ok", 50.0, {"steps": 40.0}, when="d1")
    write_markdown(path, [first], "- d1: `python benchmarks/course_time.py --only 03` on a machine")
    second = Measurement("06_monet_cyclegan", "smoke", "warm", "1 busy neighbour", "ok", 30.0, {"steps": 20.0},
                         ratio=1.5, when="d2")
    write_markdown(path, [second], "- d2: `python benchmarks/course_time.py --only 06 --both` on a machine")
    rows, invocations = read_markdown(path)
    assert rows[("03_mode_collapse", "quick", "warm", "idle")] == first.cells()
    assert rows[("06_monet_cyclegan", "smoke", "warm", "1 busy neighbour")][14] == "1.50"
    assert rows[("04_wgan_gp", "quick", "warm", "idle")][4] == "not yet measured"
    assert len(rows) == 7 * 3 + 1 and len(invocations) == 2

    first_again = Measurement("03_mode_collapse", "quick", "warm", "idle", "ok", 45.0, {"steps": 40.0}, when="d3")
    write_markdown(path, [first_again], None)
    assert read_markdown(path)[0][("03_mode_collapse", "quick", "warm", "idle")][5] == "45.0"


def test_notes_written_by_hand_survive_the_next_measurement(tmp_path):
    path = tmp_path / "course_time.md"
    write_markdown(path, [], "- d1: `python benchmarks/course_time.py` on a machine")
    text = path.read_text()
    notes = "## Notes\n\nThe 05 rows were measured twice.\n\n"
    path.write_text(text.replace("## Invocations", notes + "## Invocations"))
    measured = Measurement("05_quickdraw_cgan", "quick", "warm", "idle", "ok", 66.0, {"steps": 46.0})
    write_markdown(path, [measured], "- d2: `python benchmarks/course_time.py --only 05` on a machine")
    text = path.read_text()
    assert text.count("The 05 rows were measured twice.") == 1 and text.index("## Notes") < text.index("## Invoc")
    assert read_markdown(path)[0][("05_quickdraw_cgan", "quick", "warm", "idle")][5] == "66.0"
    assert len(read_markdown(path)[1]) == 2


def test_the_before_and_after_table_reads_the_quick_rows(tmp_path):
    path = tmp_path / "course_time.md"
    idle = Measurement("04_wgan_gp", "quick", "warm", "idle", "ok", 239.5, {"steps": 200.0})
    busy = Measurement("04_wgan_gp", "quick", "warm", "1 busy neighbour", "ok", 400.0, {"steps": 350.0}, ratio=1.67)
    write_markdown(path, [idle, busy], None)
    (line,) = [row for row in path.read_text().splitlines() if row.startswith("| 04_wgan_gp | 8 min 45 s")]
    assert "| 4 min 0 s | not yet measured | 6 min 40 s (1.67× idle) |" in line


def test_rows_written_before_the_in_fit_column_are_read_with_it(tmp_path):
    path = tmp_path / "course_time.md"
    old = ("| 01_mnist_dcgan | quick | warm | idle | ok | 166.0 | 135.4 | 6.0 | 0.4 | 0.3 | 0.1 | 23.8 | 18 |  | "
           "2026-12-06 21:20 |")
    unmeasured = "| 02_wikiart_dcgan | quick | warm | idle | not yet measured |  |  |  |  |  |  |  |  |  |  |"
    path.write_text("\n".join(["# title", "", old, unmeasured, ""]))
    rows, _ = read_markdown(path)
    assert rows[("01_mnist_dcgan", "quick", "warm", "idle")][13:] == ["5", "", "2026-12-06 21:20"]
    assert rows[("02_wikiart_dcgan", "quick", "warm", "idle")][13] == ""


def test_measure_runs_the_course_for_one_notebook_and_reads_its_runs(tmp_path, monkeypatch):
    seen = {}

    def fake_course(command, env, **_):
        seen["command"], seen["env"] = command, env
        out = tmp_path / "out"
        (out / "03_mode_collapse.status.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "03_mode_collapse.status.json").write_text(json.dumps({"status": "ok"}))
        fake_run(out / "runs" / "03_mode_collapse" / "quick-x", steps=2.0, checkpoints=0.25)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(course_time.subprocess, "run", fake_course)
    monkeypatch.setenv("GANCOURSE_RUNS", "/somewhere/else")
    notebook = course_time.choose_notebooks(["03"])[0]
    m = course_time.measure(notebook, "quick", cold=True, neighbour=False, folder=tmp_path / "out")
    assert seen["command"][-7:] == ["course", "--profile", "quick", "--only", "03_mode_collapse", "--out",
                                    str(tmp_path / "out")]
    assert "GANCOURSE_RUNS" not in seen["env"]  # the runs must land in the folder the benchmark reads
    assert seen["env"]["GANCOURSE_CACHE"] == str(tmp_path / "out" / "cache")
    assert (m.status, m.caches, m.load, m.runs) == ("ok", "cold", "idle", 1)
    assert m.phases == {"steps": 2.0, "checkpoints": 0.25} and m.wall > 0


def test_the_busy_neighbour_runs_during_the_block_and_is_gone_after(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(course_time.subprocess, "Popen", recording_popen)
    with busy_neighbour(True):
        (neighbour,) = started
        assert neighbour.poll() is None and neighbour.args[0] == sys.executable
    assert neighbour.poll() is not None
    with busy_neighbour(False):
        assert len(started) == 1
