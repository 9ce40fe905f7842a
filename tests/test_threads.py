"""CPU threads on a shared machine (gancourse.cpu_threads, gancourse.devices): the GANCOURSE_THREADS setting,
the adaptive governor's decisions from /proc/stat readings, and bf16 autocast only where the CPU has it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import cpu_levers
from gancourse import cpu_threads, devices
from gancourse.cpu_threads import (
    CpuTimes,
    ThreadGovernor,
    ThreadSetting,
    cgroup_quota,
    cores_taken,
    others_busy_cores,
    parse_threads,
    prepare_environment,
    read_cpu_times,
)
from gancourse.errors import UserError
from gancourse.recipes import RECIPES

from .helpers import CLI_TINY, blob_images, fit_blobs, toy_recipe, toy_unpaired

# -- the setting -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("auto", ThreadSetting("auto")),
    ("adaptive", ThreadSetting("adaptive")),
    ("3", ThreadSetting("fixed", 3)),
    (" Adaptive , PASSIVE", ThreadSetting("adaptive", 0, True)),
    ("1,passive", ThreadSetting("fixed", 1, True)),
])
def test_thread_settings_parse(text, expected):
    assert parse_threads(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "auto,fast", "passive", "auto,passive,passive", ",", ""])
def test_a_bad_thread_setting_says_what_is_allowed(text):
    with pytest.raises(UserError, match=r"GANCOURSE_THREADS=.* use auto, adaptive or a number"):
        parse_threads(text)


def test_unset_means_the_default_in_one_place(monkeypatch):
    monkeypatch.delenv("GANCOURSE_THREADS", raising=False)
    monkeypatch.setattr(cpu_threads, "DEFAULT_SETTING", "adaptive")
    assert parse_threads() == ThreadSetting("adaptive")
    monkeypatch.setenv("GANCOURSE_THREADS", "2")
    assert parse_threads() == ThreadSetting("fixed", 2)


def test_a_bad_thread_setting_is_one_line_from_the_cli(offline_root, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "lots")
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "gancourse", "train", *CLI_TINY, "--steps", "1", "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("gancourse ")]
    assert len(lines) == 1 and "GANCOURSE_THREADS='lots'" in lines[0], result.stderr
    assert not out.exists()


def test_passive_waiting_is_set_before_torch_unless_the_user_chose():
    env = {"GANCOURSE_THREADS": "adaptive,passive", "KMP_BLOCKTIME": "5"}
    prepare_environment(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["GOMP_SPINCOUNT"] == "0"
    assert env["KMP_BLOCKTIME"] == "5"  # the user's own choice stays
    for untouched in ({"GANCOURSE_THREADS": "adaptive"}, {}, {"GANCOURSE_THREADS": "bogus,passive"}):
        before = dict(untouched)
        prepare_environment(untouched)
        assert untouched == before  # the runtime's default policy; a bad value is reported later, not at import


def test_import_sets_the_wait_policy_in_a_fresh_process(monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "auto,passive")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    code = ("import os, gancourse, gancourse.cpu_threads as t; "
            "print(os.environ['OMP_WAIT_POLICY'], t.wait_policy_set_in_time())")
    late = "import torch; " + code
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "PASSIVE", "True"]
    assert subprocess.run([sys.executable, "-c", late], capture_output=True, text=True).stdout.split() == [
        "PASSIVE", "False"]  # torch loaded first: its OpenMP runtime never saw it


def test_a_cgroup_quota_caps_the_usable_cores(tmp_path):
    assert cgroup_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(tmp_path) == 2.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_quota(tmp_path) is None


@pytest.fixture
def fresh_threads(monkeypatch):
    """This process's thread configuration forgotten before and restored after."""
    monkeypatch.setattr(devices, "_threads", {})
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_number_is_applied_and_auto_never_raises_a_pinned_count(fresh_threads, monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "1")
    assert devices.configure_cpu_threads() == ThreadSetting("fixed", 1)
    assert torch.get_num_threads() == 1
    devices._threads.clear()
    monkeypatch.setenv("GANCOURSE_THREADS", "auto")
    devices.configure_cpu_threads()
    assert torch.get_num_threads() == 1  # pinned by a caller: kept
    monkeypatch.setattr(devices, "usable_cores", lambda: 1)
    torch.set_num_threads(2)
    devices._threads.clear()
    devices.configure_cpu_threads()
    assert torch.get_num_threads() == 1  # more threads than the quota allows: lowered


def test_the_training_loop_asks_the_governor_before_every_step(tmp_path, monkeypatch):
    # Not only at log time: beside a busy program, ten steps on too many threads can take longer than the
    # governor's reading stays fresh, and the run would stay slow for its first minute.
    calls = []
    monkeypatch.setattr("gancourse.engine.training.govern_threads", lambda: calls.append(1))
    fit_blobs(tmp_path / "run", 6, log_every=3)
    assert len(calls) == 6


# -- the governor's decisions ----------------------------------------------------------------------------------

STAT = """cpu  900 0 300 5000 0 0 0 0 0 0
cpu0 100 0 50 1000 10 0 0 0 0 0
cpu1 200 5 50 900 0 0 5 0 0 0
cpu2 999 0 0 0 0 0 0 0 0 0
intr 12345
"""


def test_cpu_times_sum_only_our_cores():
    times = read_cpu_times({0, 1}, STAT)
    assert times == CpuTimes(busy=150 + 260, total=1160 + 1160)


def test_others_busy_cores_leave_out_our_own_cpu_time():
    before, after = CpuTimes(0, 0), CpuTimes(busy=300, total=400)  # 2 cores, 2 s at 100 ticks/s: 3 cores-s busy
    assert others_busy_cores(before, after, own_seconds=2.0, n_cores=2, ticks_per_second=100) == pytest.approx(0.5)
    assert others_busy_cores(before, after, own_seconds=4.0, n_cores=2, ticks_per_second=100) == 0.0
    assert others_busy_cores(after, after, own_seconds=0.0, n_cores=2, ticks_per_second=100) is None


@pytest.mark.parametrize(("others", "taken", "expected"), [
    (0.0, 0, 0), (0.35, 0, 0), (0.45, 0, 1), (0.7, 0, 1), (1.0, 1, 1), (0.35, 1, 1), (1.35, 1, 1), (0.25, 1, 0),
    (1.5, 0, 1),  # never all the cores: at least one thread stays ours
])
def test_cores_taken_has_a_dead_band(others, taken, expected):
    assert cores_taken(others, taken, n_cores=2) == expected


def test_cores_taken_on_more_cores():
    assert cores_taken(2.5, 0, n_cores=8) == 3
    assert cores_taken(1.2, 3, n_cores=8) == 1
    assert cores_taken(2.8, 3, n_cores=8) == 3


class FakeMachine:
    """Two cores, a wall clock, our CPU time and /proc/stat, advanced by hand: ``run(seconds, ours, others)``."""

    def __init__(self) -> None:
        self.now, self.own, self.busy, self.total = 0.0, 0.0, 0, 0
        self.threads = 2

    def run(self, seconds: float, ours: float, others: float) -> None:
        """``seconds`` pass with ``ours`` cores of our CPU time and ``others`` cores of everyone else's."""
        self.now += seconds
        self.own += ours * seconds
        self.busy += round((ours + others) * seconds * 100)
        self.total += round(2 * seconds * 100)

    def governor(self, ceiling: int = 2) -> ThreadGovernor:
        return ThreadGovernor(ceiling, self.set_threads, lambda: self.threads, cores={0, 1}, interval=2.0,
                              read_stat=lambda cores: CpuTimes(self.busy, self.total),
                              own_clock=lambda: self.own, wall=lambda: self.now, ticks_per_second=100)

    def set_threads(self, n: int) -> None:
        self.threads = n


def test_a_busy_neighbour_takes_a_thread_and_gives_it_back():
    machine = FakeMachine()
    governor = machine.governor()
    machine.run(3, ours=2.0, others=0.0)
    assert governor.tick() is None and machine.threads == 2  # idle: all cores
    machine.run(3, ours=1.4, others=0.6)  # a neighbour wins 0.6 of a core from our spinning threads
    assert governor.tick() == 1 and machine.threads == 1
    for _ in range(5):  # it keeps its core: no flapping
        machine.run(3, ours=1.0, others=1.0)
        assert governor.tick() is None and machine.threads == 1
    machine.run(3, ours=1.0, others=0.35)  # in the dead band: stay
    assert governor.tick() is None
    machine.run(3, ours=1.0, others=0.05)  # gone: the core comes back
    assert governor.tick() == 2 and machine.threads == 2


def test_the_governor_rereads_only_after_its_interval():
    machine = FakeMachine()
    governor = machine.governor()
    machine.run(1, ours=1.0, others=1.0)
    assert governor.tick() is None and machine.threads == 2  # 1 s: too early to judge
    machine.run(1.5, ours=1.0, others=1.0)
    assert governor.tick() == 1  # 2.5 s of readings: reacts


def test_the_governor_skips_a_reading_over_a_long_pause():
    machine = FakeMachine()
    governor = machine.governor()
    machine.run(60, ours=0.0, others=1.0)  # an evaluation elsewhere, a minute long
    assert governor.tick() is None and machine.threads == 2
    machine.run(3, ours=1.4, others=0.6)
    assert governor.tick() == 1


def test_the_governor_respects_a_ceiling_and_a_caller_who_pins_threads():
    machine = FakeMachine()
    machine.threads = 1
    governor = machine.governor(ceiling=1)  # a caller pinned one thread before training
    machine.run(3, ours=1.0, others=0.0)
    assert governor.tick() is None and machine.threads == 1
    machine = FakeMachine()
    governor = machine.governor()
    machine.threads = 1  # pinned during training by someone else
    machine.run(3, ours=1.0, others=0.0)
    assert governor.tick() is None and machine.threads == 1 and not governor.active


def test_a_restarted_reading_judges_only_the_load_since_then():
    machine = FakeMachine()
    governor = machine.governor()
    machine.run(60, ours=2.0, others=0.0)  # a long idle stretch that would dilute a short busy one
    governor.restart()
    machine.run(0.5, ours=1.0, others=1.0)  # half a second beside a neighbour
    assert governor.tick() is None  # the governor's own 2 s have not passed
    assert governor.tick(interval=0.0) == 1 and machine.threads == 1


def test_settle_threads_lets_a_probe_time_the_threads_training_will_use(fresh_threads, monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "auto")
    calls = []
    devices.settle_threads(lambda: calls.append(1), seconds=10.0)
    assert calls == [1]  # not adaptive: one warm-up step, nothing settled
    devices._threads.clear()
    monkeypatch.setenv("GANCOURSE_THREADS", "adaptive")
    monkeypatch.setattr(devices.Path, "is_file", lambda self: True)  # /proc/stat, also off Linux
    machine = FakeMachine()
    devices.configure_cpu_threads()
    devices._threads["governor"] = governor = machine.governor()

    def busy_step():  # a step beside a neighbour: 0.1 s, one core ours, one theirs
        machine.run(0.1, ours=1.0, others=1.0)
        calls.append(2)

    clock = iter(range(100))
    monkeypatch.setattr(devices.time, "monotonic", lambda: next(clock) * 0.1)
    devices.settle_threads(busy_step, seconds=0.35)
    assert calls.count(2) == 4 and machine.threads == 1 and governor.threads == 1  # steps until 0.35 s, then 1


def test_govern_threads_does_nothing_unless_adaptive(fresh_threads, monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "auto")
    assert devices.govern_threads() is None and "governor" not in devices._threads
    devices._threads.clear()
    monkeypatch.setenv("GANCOURSE_THREADS", "adaptive")
    assert devices.govern_threads() is None  # the first call takes the first reading
    assert isinstance(devices._threads["governor"], ThreadGovernor)


# -- bf16 on the CPU -------------------------------------------------------------------------------------------

def test_bf16_support_follows_the_cpu_flags():
    assert devices.cpu_bf16_supported({"avx512f", "avx512_bf16"})
    assert devices.cpu_bf16_supported({"amx_bf16", "amx_tile"})
    assert not devices.cpu_bf16_supported({"avx2", "avx512f"})


def _matmul_dtype() -> torch.dtype:
    with devices.autocast(torch.device("cpu")):
        return (torch.ones(4, 4) @ torch.ones(4, 4)).dtype


def test_cpu_autocast_is_on_where_the_cpu_has_bf16_and_falls_back_to_fp32_elsewhere(monkeypatch):
    monkeypatch.setenv("GANCOURSE_CPU_BF16", "1")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"sse4_2", "avx2"})
    assert _matmul_dtype() == torch.float32
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert _matmul_dtype() == torch.bfloat16
    monkeypatch.setenv("GANCOURSE_CPU_BF16", "0")
    assert _matmul_dtype() == torch.float32  # fp32 when asked for
    monkeypatch.delenv("GANCOURSE_CPU_BF16")
    assert _matmul_dtype() == torch.bfloat16  # on by default where the CPU has it
    monkeypatch.setenv("GANCOURSE_CPU_BF16", "yes")
    with pytest.raises(UserError, match="GANCOURSE_CPU_BF16='yes'"):
        _matmul_dtype()


def test_on_a_bf16_cpu_only_the_recipes_measured_with_it_train_in_bf16(monkeypatch):
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    monkeypatch.delenv("GANCOURSE_CPU_BF16", raising=False)
    recipes = {name: RECIPES[name](RECIPES[name].config_for(blob_images(size=32, channels=3)))
               for name in ("dcgan", "wgan-gp", "wgan", "cgan")} | {"cyclegan": toy_recipe(toy_unpaired())}

    def step_dtype(recipe) -> torch.dtype:
        with recipe.autocast():
            return (torch.ones(4, 4) @ torch.ones(4, 4)).dtype

    assert {name: step_dtype(r) for name, r in recipes.items()} == {
        "dcgan": torch.bfloat16, "wgan-gp": torch.bfloat16,  # measured faster and no worse (docs/performance.md)
        "wgan": torch.float32, "cgan": torch.float32, "cyclegan": torch.float32}
    monkeypatch.setenv("GANCOURSE_CPU_BF16", "0")
    assert step_dtype(recipes["dcgan"]) == torch.float32


def test_the_mnist_benchmarks_bf16_trainings_step_under_autocast_and_the_others_do_not(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))  # as the script runs
    mnist_budget = importlib.import_module("mnist_budget")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    monkeypatch.delenv("GANCOURSE_CPU_BF16", raising=False)
    with mnist_budget.bf16_steps("sn+b32+bf16"):
        assert _matmul_dtype() == torch.bfloat16
    with mnist_budget.bf16_steps("sn+b32"):
        assert _matmul_dtype() == torch.float32
    assert "GANCOURSE_CPU_BF16" not in os.environ  # the caller's environment as it was
    assert mnist_budget.cost_twin("sn+b32+bf16") == "sn+b32+bf16"  # bf16 changes the cost: measured, not shared
    assert mnist_budget.training_options("sn+bf16") == mnist_budget.training_options("sn")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: {"avx2"})
    with pytest.raises(SystemExit, match="AVX512_BF16 or AMX"), mnist_budget.bf16_steps("bf16"):
        pass


# -- benchmarks/cpu_levers.py: its bookkeeping (its timings are the lead's to take, alone on the machine) ------

def test_each_lever_setting_gets_only_its_own_environment(monkeypatch):
    monkeypatch.setenv("GANCOURSE_THREADS", "1")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for lever in cpu_levers.LEVERS:
        chosen = cpu_levers.settings(lever, cores=2)
        assert len({s["name"] for s in chosen}) == len(chosen) >= 2
        for setting in chosen:
            env = cpu_levers.child_environment(setting, cores=2)
            assert env["OMP_NUM_THREADS"] == "2"
            assert env.get("OMP_WAIT_POLICY") is None  # the parent's choice does not leak into a setting
            assert {k: env[k] for k in setting["env"]} == setting["env"]
            assert parse_threads(env["GANCOURSE_THREADS"])  # every setting is a valid GANCOURSE_THREADS


def test_the_table_rows_line_up_and_count_compile_time_in_the_budget():
    setting = cpu_levers.settings("compile", cores=2)[1]
    eager = {"rates": [10.0, 12.0, 11.0], "warmup_s": 0.5, "warmup_steps": 3, "threads_at_end": 2}
    compiled = {"rates": [20.0, 22.0, 21.0], "warmup_s": 50.0, "warmup_steps": 3, "threads_at_end": 2}
    cells = cpu_levers.row("dcgan", "compile", setting, "idle", compiled, eager, budget=60.0).split(" | ")
    assert cells[4:9] == ["21.00", "20.00-22.00", "1.91x", "50.0", "213"]  # 3 + (60 - 50) * 21
    still_compiling = {**compiled, "warmup_s": 120.0}
    assert cpu_levers.row("dcgan", "compile", setting, "idle", still_compiling, eager, 60.0).split(" | ")[8] == "2"
    skipped = cpu_levers.row("wgan-gp", "compile", setting, "idle", {"skipped": "failed: x"}, eager, 60.0)
    assert skipped.count("|") == cpu_levers.row("dcgan", "compile", setting, "idle", compiled, eager, 60.0).count("|")


def test_giving_a_core_up_is_said_once_with_how_to_keep_runs_exact(fresh_threads, monkeypatch, capsys):
    monkeypatch.setenv("GANCOURSE_THREADS", "adaptive")
    monkeypatch.setattr(devices.Path, "is_file", lambda self: True)  # /proc/stat, also off Linux

    class Decisions:
        ceiling, answers = 2, [1, None, 2, 1]

        def tick(self):
            return self.answers.pop(0)

    devices.configure_cpu_threads()
    devices._threads["governor"] = Decisions()
    assert [devices.govern_threads() for _ in range(4)] == [1, None, 2, 1]
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and "training on 1 thread" in said[0] and "GANCOURSE_THREADS=auto" in said[0]


def test_the_metrics_compute_on_one_blas_thread_and_give_the_pool_back(monkeypatch):
    from threadpoolctl import threadpool_info

    from gancourse.metrics import scores

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen = []
    real_sqrtm = scores.linalg.sqrtm
    monkeypatch.setattr(scores.linalg, "sqrtm", lambda m: (seen.append(blas_threads()), real_sqrtm(m))[1])
    before = blas_threads()
    a, b = torch.randn(200, 8), torch.randn(200, 8)
    assert scores.fid_from_features(a, b) > 0
    assert seen == [{1}]
    assert blas_threads() == before  # the caller's own NumPy work keeps its pool
    wide = scores.SMALL_FEATURES + 1  # Inception-sized features are worth the pool
    scores.fid_from_features(torch.randn(wide + 50, wide), torch.randn(wide + 50, wide))
    assert seen[-1] == before
    with cpu_threads.one_blas_thread():
        assert blas_threads() == {1}
    assert blas_threads() == before
