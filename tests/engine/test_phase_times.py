import json
import time

import pytest

from gancourse.engine import phase_times
from gancourse.engine.phase_times import PHASES, PhaseClock, read_phase_times
from gancourse.runs import RunDir

from ..helpers import fit_blobs


def timed_fit(out, steps, **loop):
    start = time.perf_counter()
    result = fit_blobs(out, steps, **loop)
    return result, time.perf_counter() - start


def fake_evaluator(recipe):
    time.sleep(0.05)  # a known cost, so that the evaluation phase has something to measure
    return {"fid": 1.0}


def test_every_phase_is_timed_and_the_phases_add_up_to_at_most_the_wall_clock(tmp_path):
    start = time.perf_counter()
    result = fit_blobs(tmp_path / "r", 12, sample_every=5, evaluator=fake_evaluator)
    wall = time.perf_counter() - start
    timing = result.timing
    assert set(timing) == set(PHASES) and all(v >= 0 for v in timing.values())
    assert sum(timing.values()) <= wall
    assert timing["steps"] > 0 and timing["samples"] > 0 and timing["checkpoints"] > 0 and timing["startup"] > 0
    assert timing["evaluation"] >= 0.05  # the evaluator's sleep is charged to evaluation, not to the steps
    assert sum(timing.values()) > 0.5 * wall  # fit's own time is nearly all of the call
    record = json.loads(RunDir(result.run.path).timing_path.read_text())
    assert record["step"] == 12 and record["sittings"] == 1
    assert record["phases"] == pytest.approx(timing, abs=1e-3)
    assert record["total"] == pytest.approx(sum(timing.values()), abs=1e-3)


def test_a_resumed_run_adds_its_sitting_to_the_earlier_ones(tmp_path):
    first, first_wall = timed_fit(tmp_path / "r", 10, sample_every=5)
    second, second_wall = timed_fit(tmp_path / "r", 20, sample_every=5)
    record = json.loads(RunDir(second.run.path).timing_path.read_text())
    assert record["sittings"] == 2 and record["step"] == 20
    for phase in ("startup", "steps", "samples", "checkpoints"):
        assert second.timing[phase] > first.timing[phase], phase  # both sittings did some of each
    assert sum(first.timing.values()) <= first_wall
    assert sum(second.timing.values()) <= first_wall + second_wall


def test_each_checkpoint_records_the_phase_times_up_to_it(tmp_path):
    result = fit_blobs(tmp_path / "r", 10, sample_every=5)
    path = RunDir(result.run.path).timing_path
    path.unlink()
    result = fit_blobs(tmp_path / "r", 15, sample_every=5)  # resumed: no earlier times known, this sitting's kept
    assert json.loads(path.read_text())["step"] == 15 and result.timing["steps"] > 0


def test_a_damaged_timing_file_does_not_stop_a_resume(tmp_path):
    result = fit_blobs(tmp_path / "r", 10, sample_every=5)
    RunDir(result.run.path).timing_path.write_text("{not json")
    resumed = fit_blobs(tmp_path / "r", 15, sample_every=5)
    assert resumed.step == 15 and read_phase_times(RunDir(resumed.run.path).timing_path)["steps"] > 0


def test_a_phase_inside_another_is_charged_to_the_inner_one_only(monkeypatch):
    now = iter([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 21.0])
    monkeypatch.setattr(phase_times.time, "perf_counter", lambda: next(now))
    clock = PhaseClock()  # 0: start-up begins
    with clock.phase("samples"):  # 1: start-up had 1 s
        pass  # 3: samples had 2 s
    clock.switch("steps")  # 6: start-up had 3 s more
    with clock.phase("checkpoints"):  # 10: steps had 4 s
        pass  # 15: checkpoints had 5 s
    assert clock.totals() == {"startup": 4.0, "steps": 10.0, "logging": 0.0, "samples": 2.0, "checkpoints": 5.0,
                              "evaluation": 0.0}  # 21: steps had 6 s more since the checkpoint


@pytest.mark.parametrize("text", ["", "[1, 2]", '{"phases": {"steps": "many"}}', '{"phases": 3}'])
def test_foreign_timing_files_read_as_no_time(tmp_path, text):
    path = tmp_path / "timing.json"
    path.write_text(text)
    assert read_phase_times(path) == {}
    clock = PhaseClock()
    clock.continue_from(path)
    assert clock.earlier == {} and clock.sittings == 2
