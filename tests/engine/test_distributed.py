"""``fit`` under torch.distributed: 2 CPU processes with the gloo backend, as torchrun would start them.

One spawn of two ranks runs every distributed scenario (fresh runs, a resume with more steps, a resume
of a one-process run); the parent runs the one-process references and the 2 -> 1 resume.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from gancourse.checkpoints import load_checkpoint
from gancourse.data import BatchStream
from gancourse.devices import seed_everything
from gancourse.engine import distributed
from gancourse.engine.training import Loop, ResumeMismatch, fit
from gancourse.recipes import DCGAN
from gancourse.runs import RunDir

from ..helpers import HAS_MNIST, blob_images

WORLD = 2
BATCH = 16  # the global batch: 8 images per rank
SEED = 3
# d_gate 0.45 skips about two D updates in three here: every rank must take the same decisions, or they hang
OPTIONS = dict(nz=8, g_width=8, d_width=8, d_gate=0.45)
TIMEOUT_S = 120


def make_recipe() -> DCGAN:
    seed_everything(SEED)  # as experiment.train does: the same initial networks on every rank
    return DCGAN(DCGAN.config_for(blob_images(), **OPTIONS))


def train(run_dir, steps: int, recipe: DCGAN | None = None):
    loop = Loop(steps=steps, batch_size=BATCH, seed=SEED, flip=True, log_every=5, sample_every=10)
    return fit(recipe or make_recipe(), blob_images(), run_dir, loop, progress=False)


# (run directory, steps) in order, on both ranks: "resumed" stops at 20 then extends to 30 (a fresh
# recipe, state from its checkpoint only); "straight" runs 30 at once; "from_one" was started by one
# process (20 steps) and is extended here by two.
PLAN = [("resumed", 20), ("resumed", 30), ("straight", 30), ("from_one", 30)]


def _rank_main(rank: int, port: int, root: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed.init("cpu", timeout_s=TIMEOUT_S)
    try:
        steps, recipe, skipped = {}, None, {}
        for name, budget in PLAN:
            recipe = make_recipe()
            steps[name] = train(os.path.join(root, name), budget, recipe).step
            skipped[name] = recipe.extra_state["d_skipped"]
        try:  # another configuration in an existing run directory: rank 0 finds out, every rank stops
            fit(DCGAN(DCGAN.config_for(blob_images(), **OPTIONS, lr_d=1e-3)), blob_images(),
                os.path.join(root, "straight"), Loop(steps=40, batch_size=BATCH, seed=SEED, flip=True), progress=False)
            steps["mismatch"] = "not detected"
        except ResumeMismatch as exc:
            steps["mismatch"] = "lr_d" in str(exc)
        # what each rank holds after the last run: its networks (in memory) and its next noise
        # (parameters only: batch-norm running statistics stay per rank on CPU, which has no SyncBatchNorm)
        weights = {k: {n: p.detach() for n, p in m.named_parameters()} for k, m in recipe.modules.items()}
        torch.save({"steps": steps, "weights": weights, "d_skipped": skipped,
                    "noise": torch.randn(4)}, os.path.join(root, f"rank{rank}.pt"))
    finally:
        distributed.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The tests that read these runs share one pytest-xdist worker (their xdist_group; `make test` schedules with
# --dist loadgroup), so the runs are made once.
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    torch.set_num_threads(1)
    train(root / "one_process", 30)
    train(root / "from_one", 20)
    context = mp.spawn(_rank_main, args=(_free_port(), str(root)), nprocs=WORLD, join=False)
    try:
        while not context.join(timeout=TIMEOUT_S):
            pass
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    return root


def _files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


def _losses(run_dir):
    return [{k: v for k, v in r.items() if k != "time"} for r in RunDir(run_dir).losses()]


@pytest.mark.xdist_group("distributed-runs")
def test_two_processes_write_one_run_directory_from_rank_0(runs):
    straight, single = runs / "straight", runs / "one_process"
    assert _files(straight) == _files(single)  # same files, no duplicates or leftovers from rank 1
    assert [p for p in _files(straight) if p.startswith("checkpoints")] == ["checkpoints/generator.pt",
                                                                          "checkpoints/last.pt",
                                                                          "checkpoints/previous.pt"]
    steps = [r["step"] for r in RunDir(straight).losses()]
    assert steps == [5, 10, 15, 20, 25, 30]  # one history line per logged step, not one per rank
    config = RunDir(straight).read_config()
    assert config["distributed"] == {"world_size": 2, "backend": "gloo"} and config["batch_size"] == BATCH


@pytest.mark.xdist_group("distributed-runs")
def test_loss_curve_has_the_shape_of_one_process(runs):
    two, one = _losses(runs / "straight"), _losses(runs / "one_process")
    assert [r["step"] for r in two] == [r["step"] for r in one]
    for key in ("loss_d", "loss_g"):
        a, b = [r[key] for r in two], [r[key] for r in one]
        assert all(math.isfinite(v) for v in a)
        mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
        assert 0.5 < mean_a / mean_b < 2.0, f"{key}: 2 processes {a} vs 1 process {b}"


@pytest.mark.xdist_group("distributed-runs")
def test_ranks_share_the_networks_but_not_the_noise(runs):
    ranks = [torch.load(runs / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    for name, state in ranks[0]["weights"].items():
        for key, value in state.items():
            assert torch.equal(value, ranks[1]["weights"][name][key]), f"{name}.{key} differs between ranks"
    assert not torch.equal(ranks[0]["noise"], ranks[1]["noise"])  # per-rank seeds
    assert ranks[0]["d_skipped"] == ranks[1]["d_skipped"] and 0 < ranks[0]["d_skipped"]["straight"] < 30
    assert ranks[0]["steps"] == ranks[1]["steps"] == {"resumed": 30, "straight": 30, "from_one": 30,
                                                      "mismatch": True}  # a mismatch found by rank 0 stops all


@pytest.mark.xdist_group("distributed-runs")
def test_resume_under_the_same_world_size_is_bit_for_bit(runs):
    resumed = load_checkpoint(runs / "resumed/checkpoints/last.pt")
    straight = load_checkpoint(runs / "straight/checkpoints/last.pt")
    for name, state in straight["recipe"]["modules"].items():
        for key, value in state.items():
            assert torch.equal(value, resumed["recipe"]["modules"][name][key]), f"{name}.{key} differs"
    assert _losses(runs / "resumed") == _losses(runs / "straight")
    assert len(straight["ranks"]) == WORLD and straight["stream"]["pos"] % WORLD == 0


@pytest.mark.xdist_group("distributed-runs")
def test_a_one_process_run_resumes_on_two(runs):
    history = _losses(runs / "from_one")
    assert [r["step"] for r in history] == [5, 10, 15, 20, 25, 30]
    assert all(math.isfinite(r["loss_d"]) for r in history)
    assert RunDir(runs / "from_one").read_config()["distributed"]["world_size"] == 2


@pytest.mark.xdist_group("distributed-runs")
def test_a_two_process_run_resumes_on_one(runs, tmp_path):
    run_dir = tmp_path / "two_then_one"
    shutil.copytree(runs / "straight", run_dir)
    before = load_checkpoint(run_dir / "checkpoints/last.pt")
    result = train(run_dir, 40)  # no process group: the plain one-process loop
    assert result.step == 40
    history = _losses(run_dir)
    assert [r["step"] for r in history] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert all(math.isfinite(r["loss_d"]) and math.isfinite(r["loss_g"]) for r in history)
    after = load_checkpoint(run_dir / "checkpoints/last.pt")
    assert "ranks" not in after and "distributed" not in json.loads((run_dir / "config.json").read_text())
    # the data continued where the two processes left it: 30 + 10 steps of 16 rows of the same stream
    per_epoch = len(blob_images()) // BATCH
    assert (after["stream"]["epoch"], after["stream"]["pos"]) == (math.ceil(40 / per_epoch), (40 % per_epoch or
                                                                                           per_epoch) * BATCH)
    assert before["stream"]["pos"] == (30 % per_epoch or per_epoch) * BATCH


@pytest.mark.parametrize("flip", [False, True])
def test_shards_of_a_stream_together_read_the_unsharded_batch(flip):
    data = blob_images(n=100)  # not a multiple of the batch: epochs end at the same step for every world
    whole = BatchStream(data, 12, flip=flip, seed=5)
    shards = [BatchStream(data, 4, flip=flip, seed=5, shard=(r, 3)) for r in range(3)]
    for _ in range(20):  # two and a half epochs
        batch = whole.next()
        parts = [s.next() for s in shards]
        together = torch.stack([p.images for p in parts], dim=1).flatten(0, 1)  # rank r holds rows r, r+3, ...
        assert torch.equal(together, batch.images)
        assert torch.equal(torch.stack([p.labels for p in parts], dim=1).flatten(), batch.labels)
    assert whole.state_dict()["pos"] == shards[1].state_dict()["pos"]
    assert shards[0].epoch == whole.epoch == 3


def test_a_stream_position_moves_between_world_sizes():
    data = blob_images(n=100)
    whole = BatchStream(data, 12, flip=True, seed=5)
    for _ in range(5):
        whole.next()
    half = BatchStream(data, 6, flip=True, seed=5, shard=(1, 2))
    half.load_state_dict(whole.state_dict())
    assert torch.equal(half.next().images, whole.next().images[1::2])
    odd = BatchStream(data, 5, seed=5, shard=(0, 7))
    with pytest.raises(ValueError, match="cannot be split across 7"):
        odd.load_state_dict(whole.state_dict())


def test_helpers_are_no_ops_without_a_process_group():
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert distributed.mean_over_ranks({"a": 1.5}) == {"a": 1.5} and distributed.gather(3) == [3]
    assert distributed.any_rank(True) and not distributed.any_rank(False)
    assert distributed.from_main(lambda: 7) == 7 and distributed.rank_seed(11, 0) == 11
    assert len({distributed.rank_seed(11, r) for r in range(4)}) == 4
    recipe = make_recipe()
    with distributed.DistributedNetworks(recipe).active():
        assert recipe.G is recipe.modules["G"] and type(recipe.G).__name__ == "Generator"


def test_init_outside_torchrun_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        distributed.init("cpu")


@pytest.mark.skipif(not HAS_MNIST, reason="needs real MNIST under $GANCOURSE_DATA")
def test_torchrun_trains_one_run_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD),
               "-m", "gancourse", "train", "--distributed", "--dataset", "mnist", "--limit", "256", "--steps", "4",
               "--batch-size", "16", "--no-eval", "--quiet", "--out", str(out), "--set", "g_width=8",
               "--set", "d_width=8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("run directory:") == 1  # rank 0 alone reports
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["generator.pt", "last.pt", "previous.pt"]
    assert RunDir(out).read_config()["distributed"]["world_size"] == WORLD


def test_distributed_flag_without_torchrun_says_how_to_launch(capsys, monkeypatch):
    from gancourse.cli import main

    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert main(["train", "--distributed", "--dataset", "mnist", "--steps", "1"]) == 2
    assert "torchrun --nproc_per_node" in capsys.readouterr().err
