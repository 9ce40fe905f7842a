"""What happens when things go wrong (issue 19): NaN, a damaged checkpoint, a second writer, a torn history,
a configuration too large for the machine, and the command-line values that used to slip through."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.checkpoints import load_checkpoint, load_generator, save_rotating
from gancourse.cli import main
from gancourse.devices import seed_everything
from gancourse.engine import memory
from gancourse.engine.experiment import train
from gancourse.engine.run_options import recipe_defaults
from gancourse.engine.training import fit
from gancourse.errors import CheckpointDamaged, NotEnoughMemory, TrainingDiverged, UserError
from gancourse.recipes import DCGAN
from gancourse.runs import RunDir

from .helpers import blob_images

DATA = blob_images()
REPO = Path(__file__).resolve().parent.parent


def make_recipe(**options):
    seed_everything(0)
    return DCGAN(DCGAN.config_for(DATA, nz=8, g_width=8, d_width=8, **options))


def fit_blobs(out, steps, recipe=None, **kwargs):
    return fit(recipe or make_recipe(), DATA, out, steps=steps, batch_size=16, progress=False, **kwargs)


@pytest.fixture
def offline_root(tmp_path, monkeypatch) -> Path:
    """An empty data root, offline: the CLI trains on stand-ins (``--allow-stand-in``) as a new user would."""
    root = tmp_path / "empty-data"
    root.mkdir()
    monkeypatch.setenv("GANCOURSE_DATA", str(root))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    return root


TINY = ["--dataset", "mnist", "--allow-stand-in", "--limit", "64", "--batch-size", "8", "--set", "g_width=8",
        "--set", "d_width=8", "--no-eval", "--quiet"]


def error_line(capsys) -> str:
    """The error the CLI printed: exactly one line starting with ``gancourse <command>: error:``."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gancourse ")]
    assert len(lines) == 1, lines
    return lines[0]


# -- 1. defaults follow the recipe; a configuration too large is refused before it starts -------------------


def test_cyclegan_defaults_are_batch_1_and_cpu_sized_on_a_cpu():
    cpu = recipe_defaults("cyclegan", "monet2photo", torch.device("cpu"))
    assert cpu["batch_size"] == 1 and cpu["data_options"] == {"size": 128}
    assert cpu["recipe_options"] == {"ngf": 16, "n_blocks": 6, "ndf": 32}
    gpu = recipe_defaults("cyclegan", "monet2photo", torch.device("cuda"))
    assert gpu["batch_size"] == 1 and gpu["data_options"] == {"size": 256}
    assert recipe_defaults("dcgan", "mnist", torch.device("cpu"))["batch_size"] == 64


def test_the_readme_cyclegan_command_trains_at_batch_1_cpu_sized(offline_root, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "monet"
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--steps", "1", "--no-eval",
                 "--allow-stand-in", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    config = RunDir(out).read_config()
    assert config["batch_size"] == 1 and config["data_options"] == {"size": 128}
    assert config["recipe_config"]["image_size"] == 128 and config["recipe_config"]["ngf"] == 16


def test_memory_estimate_grows_with_batch_and_image_size():
    from gancourse.data import ImageSet
    from gancourse.data.unpaired import UnpairedSet
    from gancourse.recipes import build_recipe, recipe_class

    def per_image(size):
        domain = ImageSet("a", torch.randint(0, 255, (4, 3, size, size), dtype=torch.uint8))
        data = UnpairedSet("toy", domain, domain, ("a", "b"))
        config = recipe_class("cyclegan").config_for(data, ngf=4, n_blocks=1, ndf=4)
        return memory.estimate(build_recipe("cyclegan", config, torch.device("cpu")), data, 1)

    small, large = per_image(32), per_image(64)
    assert 3 < large.per_image / small.per_image < 5  # a convolutional net's activations follow the pixels
    assert large.fixed == small.fixed  # the same networks
    assert memory.MemoryEstimate(10, 5, 64).total == 645
    assert memory.MemoryEstimate(10, 5, 64).largest_batch(105) == 10


def test_estimate_leaves_the_recipe_and_the_random_state_untouched():
    recipe = make_recipe()
    before = {k: v.clone() for k, v in recipe.G.state_dict().items()}
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    memory.estimate(recipe, DATA, 64)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(v, recipe.G.state_dict()[k]) for k, v in before.items())


def test_a_configuration_larger_than_free_memory_is_refused_before_it_starts(tmp_path, monkeypatch, capsys):
    recipe = make_recipe()
    needed = memory.estimate(recipe, DATA, 64)
    monkeypatch.setattr(memory, "available_bytes", lambda device: needed.total // 2)
    out = tmp_path / "big"
    with pytest.raises(NotEnoughMemory, match=r"--batch-size \(at most \d+ fits\)"):
        train("blobs", "dcgan", out, data=DATA, steps=5, batch_size=64, evaluate=False, progress=False,
              nz=8, g_width=8, d_width=8)
    assert not out.exists()  # refused before anything was written
    fits = needed.largest_batch(needed.total // 2)
    assert 0 < fits < 64
    train("blobs", "dcgan", out, data=DATA, steps=2, batch_size=fits, evaluate=False, progress=False,
          nz=8, g_width=8, d_width=8)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1)
    with pytest.raises(NotEnoughMemory, match="size"):  # not even one image: the size is what to change
        train("blobs", "dcgan", tmp_path / "b2", data=DATA, steps=5, batch_size=1, evaluate=False, progress=False)


def test_the_cli_refuses_too_large_a_batch_in_one_line(offline_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1024)
    assert main(["train", *TINY, "--steps", "3", "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "GB free" in line and "size" in line


def test_available_memory_is_a_positive_number_on_this_machine():
    free = memory.available_bytes("cpu")
    assert free is None or free > 0


# -- 2. NaN stops training; the last good checkpoint and generator stay ---------------------------------------


def poison_at(recipe, bad_step: int):
    """Make the weights of G infinite during step ``bad_step`` (as an absurd learning rate does)."""
    original, calls = recipe.step, {"n": 0}

    def step(batch):
        calls["n"] += 1
        scalars = original(batch)
        if calls["n"] == bad_step:
            with torch.no_grad():
                next(recipe.G.parameters()).fill_(float("inf"))
        return scalars

    recipe.step = step


def test_a_run_that_diverges_keeps_its_last_good_checkpoint_and_generator(tmp_path):
    out = tmp_path / "run"
    fit_blobs(out, 10, checkpoint_every=5)
    run = RunDir(out)
    generator_before = run.generator_path.read_bytes()
    recipe = make_recipe()
    poison_at(recipe, 3)  # the resumed run's third step: step 13; the next checkpoint is due at 15
    with pytest.raises(TrainingDiverged) as info:
        fit_blobs(out, 30, recipe=recipe, checkpoint_every=5, sample_every=1)
    message = str(info.value)
    assert "step 14" in message and "loss" in message and "learning rate" in message and "clip" in message
    assert load_checkpoint(run.last_checkpoint)["step"] == 10
    assert load_checkpoint(run.previous_checkpoint)["step"] == 5
    assert run.generator_path.read_bytes() == generator_before
    assert all(torch.isfinite(p).all() for p in load_generator(run.generator_path).parameters())
    names = [p.name for p in run.sample_paths()]
    assert "step_000012.png" in names and "step_000013.png" not in names  # no grid of infinite weights


def test_a_weight_gone_bad_between_checks_is_never_saved(tmp_path):
    recipe = make_recipe()
    poison_at(recipe, 5)  # the weights turn at step 5, a checkpoint is due at once
    with pytest.raises(TrainingDiverged, match="step 5: the weight G"):
        fit_blobs(tmp_path / "w", 20, recipe=recipe, checkpoint_every=5)
    assert not RunDir(tmp_path / "w").last_checkpoint.exists()
    assert not RunDir(tmp_path / "w").generator_path.exists()


def test_an_absurd_learning_rate_stops_the_cli_with_one_line_and_exit_2(offline_root, tmp_path, capsys):
    out = tmp_path / "nan"
    code = main(["train", *TINY, "--steps", "60", "--set", "lr_d=1e30", "--set", "lr_g=1e30", "--out", str(out)])
    assert code == 2
    line = error_line(capsys)
    assert "diverged at step" in line and "lower learning rate" in line and "lr_d=1e+30" in line
    run = RunDir(out)
    assert not run.generator_path.exists()
    for path in (run.last_checkpoint, run.previous_checkpoint):
        if path.exists():  # whatever was saved before the divergence is finite
            state = load_checkpoint(path)["recipe"]["modules"]["G"]
            assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def nan_run(tmp_path) -> RunDir:
    """A finished run whose exported generator holds NaN (as runs before this fix could end)."""
    out = tmp_path / "nanrun"
    fit_blobs(out, 2)
    run = RunDir(out)
    export = load_checkpoint(run.generator_path)
    export["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                            for k, v in export["state_dict"].items()}
    torch.save(export, run.generator_path)
    return run


def test_sample_refuses_a_generator_that_draws_nan(tmp_path, capsys):
    run = nan_run(tmp_path)
    out = tmp_path / "s.pt"
    assert main(["sample", str(run.path), "--n", "4", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "NaN" in captured.err and "[-1, 1]" not in captured.out and not out.exists()


def test_sample_prints_the_range_it_wrote(tmp_path, capsys):
    out = tmp_path / "run"
    fit_blobs(out, 2)
    assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.pt")]) == 0
    images = torch.load(tmp_path / "s.pt")
    assert f"[{images.min().item():.2f}, {images.max().item():.2f}]" in capsys.readouterr().out


def test_evaluating_a_nan_generator_says_so_instead_of_a_scipy_error(tmp_path):
    from gancourse.engine.experiment import evaluate_run

    with pytest.raises(UserError, match="NaN"):
        evaluate_run(nan_run(tmp_path).path, n=10, progress=False)


def test_each_checkpoint_keeps_the_one_before_it(tmp_path):
    path, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    save_rotating({"step": 1}, path, previous)
    assert not previous.exists()
    save_rotating({"step": 2}, path, previous)
    save_rotating({"step": 3}, path, previous)
    assert load_checkpoint(path)["step"] == 3 and load_checkpoint(previous)["step"] == 2
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def test_a_failed_write_leaves_both_checkpoints_as_they_were(tmp_path, monkeypatch):
    path, previous = tmp_path / "last.pt", tmp_path / "previous.pt"
    save_rotating({"step": 1}, path, previous)
    save_rotating({"step": 2}, path, previous)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError):
        save_rotating({"step": 3}, path, previous)
    assert load_checkpoint(path)["step"] == 2 and load_checkpoint(previous)["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def test_a_full_disk_is_one_line_that_says_the_run_resumes(tmp_path, monkeypatch, capsys):
    import gancourse.cli.sample as sample_command

    def disk_full(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x.pt"))

    monkeypatch.setattr(sample_command, "run", disk_full)
    assert main(["sample", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert "No space left on device" in line and "x.pt" in line and "resume" in line


# -- 3. history: truncated to the checkpoint on resume, a torn line tolerated ---------------------------------


def test_a_restart_before_the_first_checkpoint_does_not_duplicate_history(tmp_path):
    out = tmp_path / "early"
    run = RunDir(out).create()
    for step in range(10, 70, 10):  # killed at step 60, the first checkpoint due at 200
        run.append_history({"step": step, "loss_d": 1.0})
    fit_blobs(out, 30, checkpoint_every=200)
    assert [r["step"] for r in RunDir(out).losses()] == [10, 20, 30]


def test_a_torn_last_line_is_skipped_by_the_reader_and_cut_on_resume(tmp_path):
    out = tmp_path / "torn"
    fit_blobs(out, 20, checkpoint_every=20)
    run = RunDir(out)
    with open(run.history_path, "a") as f:
        f.write('{"step": 30, "loss_d": 0.')  # a kill in the middle of a line
    assert [r["step"] for r in run.losses()] == [10, 20]
    fit_blobs(out, 40, checkpoint_every=20)
    assert [r["step"] for r in run.losses()] == [10, 20, 30, 40]
    assert all(json.loads(line) for line in run.history_path.read_text().splitlines())


def test_the_reader_keeps_every_good_record_around_a_bad_line(tmp_path):
    run = RunDir(tmp_path / "h").create()
    lines = [json.dumps({"step": s}) for s in range(1, 13)]
    lines.insert(2, '{"step": 99, "lo')
    run.history_path.write_text("\n".join(lines) + "\n")
    assert len(run.losses()) == 12


# -- 4. one writer per run directory ------------------------------------------------------------------------


def wait_for(condition, what: str, patience: float = 300.0) -> None:
    deadline = time.monotonic() + patience  # a guard against hanging forever, not a performance limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_a_second_train_into_the_same_run_is_refused_and_a_killed_writer_frees_it(offline_root, tmp_path,
                                                                                   capsys):
    out = tmp_path / "shared-run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "gancourse", "train", *TINY, "--time-budget", "600",
                              "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        lock = RunDir(out).lock_path
        wait_for(lambda: lock.is_file() and f"process {first.pid}" in lock.read_text() or first.poll() is not None,
                 "the first process to take the lock")
        assert first.poll() is None, first.stderr.read().decode()
        wait_for(lambda: RunDir(out).config_path.is_file(), "the first process to write its config")
        capsys.readouterr()
        assert main(["train", *TINY, "--steps", "5", "--out", str(out)]) == 2  # this test's process: the second
        line = error_line(capsys)
        assert f"process {first.pid}" in line and "another directory" in line
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        first.stderr.close()
    with RunDir(out).lock():  # the kernel released the killed writer's lock
        pass
    assert main(["train", *TINY, "--steps", "3", "--out", str(out)]) == 0


def test_the_lock_is_released_when_training_fails(tmp_path):
    recipe = make_recipe()
    poison_at(recipe, 2)
    with pytest.raises(TrainingDiverged):
        fit_blobs(tmp_path / "x", 10, recipe=recipe)
    with RunDir(tmp_path / "x").lock():
        pass


# -- 5. a damaged last.pt: one line, the file, the two choices; stale temporaries cleaned ----------------------


def damage(path: Path, how: str, run: RunDir) -> None:
    good = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "half":
        path.write_bytes(good[: len(good) // 2])
    elif how == "generator":
        path.write_bytes(run.generator_path.read_bytes())


@pytest.mark.parametrize("how", ["empty", "random", "half", "generator"])
def test_a_damaged_checkpoint_without_a_good_previous_one_is_one_line_with_the_choices(tmp_path, capsys, how):
    out = tmp_path / "run"
    fit_blobs(out, 4)
    run = RunDir(out)
    run.previous_checkpoint.unlink()
    damage(run.last_checkpoint, how, run)
    with pytest.raises(CheckpointDamaged) as info:
        fit_blobs(out, 8)
    message = str(info.value)
    assert str(run.last_checkpoint) in message and "damaged" in message
    assert "restore" in message and f"delete {out}" in message


def test_the_cli_names_the_damaged_checkpoint_in_one_line(offline_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    run = RunDir(out)
    run.previous_checkpoint.unlink()
    damage(run.last_checkpoint, "empty", run)
    capsys.readouterr()
    assert main(["train", *TINY, "--steps", "4", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "last.pt is damaged" in line and "delete" in line


def test_a_damaged_last_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    out = tmp_path / "run"
    fit_blobs(out, 10, checkpoint_every=5)
    run = RunDir(out)
    damage(run.last_checkpoint, "half", run)
    result = fit_blobs(out, 12, checkpoint_every=5)
    assert result.step == 12
    assert "resuming from" in capsys.readouterr().err
    assert (run.checkpoints_dir / "last.pt.damaged").is_file()
    assert [r["step"] for r in run.losses()] == [10]  # 5..10 trained again from step 5, logged once
    assert load_checkpoint(run.last_checkpoint)["step"] == 12


def test_stale_temporary_files_are_cleaned_on_the_next_start(tmp_path):
    out = tmp_path / "run"
    fit_blobs(out, 4)
    run = RunDir(out)
    for i in range(3):
        (run.checkpoints_dir / f".last.pt.{i}abc.tmp").write_bytes(b"x" * 100)
    (run.path / ".config.json.x1.tmp").write_text("{")
    fit_blobs(out, 6)
    assert not list(run.checkpoints_dir.glob(".*.tmp")) and not list(run.path.glob(".*.tmp"))


def test_load_generator_names_a_damaged_export(tmp_path):
    path = tmp_path / "generator.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointDamaged, match="generator.pt is damaged"):
        load_generator(path)


# -- 6. command-line values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("extra, flag", [
    (["--steps", "-5"], "--steps"),
    (["--steps", "5", "--time-budget", "-1"], "--time-budget"),
    (["--steps", "5", "--limit", "-1"], "--limit"),
    (["--steps", "5", "--sample-every", "-1"], "--sample-every"),
    (["--steps", "5", "--eval-every", "-3"], "--eval-every"),
    (["--steps", "5", "--batch-size", "0"], "--batch-size"),
    (["--epochs", "-1"], "--epochs"),
    (["--steps", "5", "--eval-samples", "0"], "--eval-samples"),
])
def test_meaningless_numbers_are_refused_in_one_line(tmp_path, capsys, extra, flag):
    out = tmp_path / "r"
    assert main(["train", "--dataset", "mnist", "--out", str(out), *extra]) == 2
    line = error_line(capsys)
    assert flag in line and "at least" in line and "fit()" not in line
    assert not out.exists()


def test_fit_refuses_negative_budgets_without_naming_itself(tmp_path):
    with pytest.raises(UserError, match="steps must be a number >= 0"):
        fit_blobs(tmp_path / "n", -5)
    with pytest.raises(UserError, match="give a training budget") as info:
        fit(make_recipe(), DATA, tmp_path / "n", epochs=0, progress=False)
    assert "fit()" not in str(info.value)


@pytest.mark.parametrize("assignment, expected", [
    ("lr_d", "--set takes KEY=VALUE, got 'lr_d'"),
    ("lr_d=abc", "lr_d takes a number"),
    ("g_width=2.5", "g_width takes a whole number"),
    ("bogus=1", "dcgan has no option bogus"),
    ("d_norm=fancy", "dcgan:"),
])
def test_bad_recipe_options_are_one_clear_line(offline_root, tmp_path, capsys, assignment, expected):
    assert main(["train", *TINY, "--steps", "2", "--set", assignment, "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert expected in line and "'<='" not in line


def test_eval_of_a_missing_directory_says_it_is_not_a_run_directory(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in error_line(capsys)
    assert main(["eval", str(tmp_path / "nowhere"), "--n", "0"]) == 2
    assert "--n must be at least 2" in error_line(capsys)


def test_resume_checks_flip(tmp_path):
    from gancourse.engine.training import ResumeMismatch

    out = tmp_path / "flip"
    fit_blobs(out, 2)
    with pytest.raises(ResumeMismatch, match="flip"):
        fit_blobs(out, 4, flip=True)


def test_translate_gives_inputs_with_the_same_name_distinct_outputs():
    from gancourse.cli.translate import output_names

    paths = [Path("a/x.jpg"), Path("b/x.jpg"), Path("c/y.png"), Path("a/x.png")]
    names = output_names(paths, "photo2monet")
    assert len(set(names)) == 4 and names[2] == "y_photo2monet.png"
    assert names[0] == "a-x_photo2monet.png" and names[1] == "b-x_photo2monet.png"


def test_translate_writes_one_output_per_input_of_the_same_name(offline_root, tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "cg"
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--steps", "1", "--no-eval",
                 "--allow-stand-in", "--quiet", "--device", "cpu", "--data-option", "size=32", "--set", "ngf=4",
                 "--set", "n_blocks=1", "--set", "ndf=4", "--out", str(out)]) == 0
    inputs = []
    for folder, colour in (("one", (200, 0, 0)), ("two", (0, 0, 200))):
        (tmp_path / folder).mkdir()
        inputs.append(tmp_path / folder / "photo.png")
        Image.new("RGB", (40, 40), colour).save(inputs[-1])
    assert main(["translate", str(out), *map(str, inputs), "--out", str(tmp_path / "t")]) == 0
    assert len(list((tmp_path / "t").glob("*.png"))) == 2


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY garbage" * 10, "truncated"])
def test_a_damaged_quickdraw_file_is_named(tmp_path, content):
    from gancourse.data.quickdraw import open_category

    path = tmp_path / "cat.npy"
    if content == "truncated":
        np.save(path, np.zeros((50, 784), np.uint8))
        path.write_bytes(path.read_bytes()[:2000])
    else:
        path.write_bytes(content)
    with pytest.raises(UserError) as info:
        open_category(path)
    assert str(path) in str(info.value) and "categories=cat" in str(info.value)


def test_a_damaged_idx_file_names_the_real_download_command(tmp_path):
    from gancourse.data.idx import read_idx

    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") * 3 + b"\x00" * 20))
    with pytest.raises(UserError) as info:
        read_idx(path)
    assert "gancourse download fashion-mnist" in str(info.value) and "<dataset>" not in str(info.value)


def test_download_quickdraw_without_categories_fetches_the_course_ones(tmp_path, monkeypatch):
    """The README's `gancourse download quickdraw` works as written: no categories = notebook 05's ten."""
    from gancourse.data import quickdraw

    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    asked = []
    monkeypatch.setattr(quickdraw, "fetch_npy_rows", lambda url, path, rows, progress=True: asked.append((url, rows)))
    assert main(["download", "quickdraw", "--root", str(tmp_path)]) == 0
    names = [url.rsplit("/", 1)[-1].removesuffix(".npy") for url, _ in asked]
    assert names == list(quickdraw.STAND_IN_CATEGORIES)
    assert {rows for _, rows in asked} == {quickdraw.TEST_PER_CLASS + quickdraw.COURSE_MAX_PER_CLASS}


def test_the_course_puts_its_runs_under_its_own_folder(tmp_path, monkeypatch):
    import papermill

    from gancourse.course.runner import run_course

    seen = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: seen.append(os.environ["GANCOURSE_RUNS"]))
    monkeypatch.delenv("GANCOURSE_RUNS")
    for name in ("GANCOURSE_COURSE_DIR", "GANCOURSE_COURSE_NOTEBOOK"):  # run_course sets them: restore after
        monkeypatch.setenv(name, "")
    notebook = tmp_path / "01_x.ipynb"
    notebook.write_text("{}")
    run_course(tmp_path / "course", "smoke", [notebook], html_export=False)
    assert seen == [str((tmp_path / "course" / "runs").resolve())]
    assert "GANCOURSE_RUNS" not in os.environ  # set for the course only
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "elsewhere"))
    run_course(tmp_path / "course2", "smoke", [notebook], html_export=False)
    assert seen[-1] == str(tmp_path / "elsewhere")


# -- 7. user errors are one line; bugs keep their traceback ---------------------------------------------------


def test_a_bug_keeps_its_traceback_and_a_user_error_does_not(tmp_path, monkeypatch, capsys):
    import gancourse.cli.sample as sample_command

    def bug(args):
        raise KeyError("internal")

    monkeypatch.setattr(sample_command, "run", bug)
    with pytest.raises(KeyError):
        main(["sample", str(tmp_path)])

    def mistake(args):
        raise UserError("do this instead")

    monkeypatch.setattr(sample_command, "run", mistake)
    assert main(["sample", str(tmp_path)]) == 2
    assert error_line(capsys) == "gancourse sample: error: do this instead"
    with pytest.raises(UserError):
        main(["--debug", "sample", str(tmp_path)])


# -- 8. the tests' environment ----------------------------------------------------------------------------------


def test_every_test_starts_offline_in_its_own_runs_folder(tmp_path):
    assert os.environ["GANCOURSE_OFFLINE"] == "1" and os.environ["GANCOURSE_PROFILE"] == "smoke"
    assert Path(os.environ["GANCOURSE_RUNS"]) == tmp_path / "runs"
    assert not {"GANCOURSE_DEVICE", "GANCOURSE_NET_TIMEOUT", "GANCOURSE_COURSE_DIR"} & set(os.environ)


def test_the_local_server_fixture_switches_the_network_back_on(http_server):
    assert "GANCOURSE_OFFLINE" not in os.environ
    assert math.isfinite(1.0)


def test_evaluation_during_training_never_sees_nan_weights(tmp_path):
    seen = []
    recipe = make_recipe()
    poison_at(recipe, 4)  # weights turn during step 4, an evaluation is due right after it
    with pytest.raises(TrainingDiverged, match="step 4: the weight"):
        fit_blobs(tmp_path / "e", 10, recipe=recipe, eval_every=4, evaluator=lambda r: seen.append(1) or {"x": 1.0})
    assert seen == []


def test_wgan_gp_at_an_absurd_learning_rate_stops_before_saving_anything(tmp_path):
    from gancourse.recipes import build_recipe, recipe_class

    seed_everything(0)
    config = recipe_class("wgan-gp").config_for(DATA, nz=8, g_width=8, d_width=8, lr_d=1e6, lr_g=1e6)
    with pytest.raises(TrainingDiverged, match="loss_d = nan") as info:
        fit_blobs(tmp_path / "wgp", 60, recipe=build_recipe("wgan-gp", config, "cpu"))
    assert "lr_d=1e+06 now" in str(info.value) and "no checkpoint had been saved yet" in str(info.value)
    assert not list((tmp_path / "wgp" / "checkpoints").iterdir())
