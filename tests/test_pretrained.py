"""gancourse.pretrained: a run's generator exported in half precision with its SHA-256, loaded back by name
(checked first), and taken by the command line wherever a run is (``pretrained:NAME``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancourse import pretrained
from gancourse.checkpoints import load_checkpoint, load_generator
from gancourse.cli import main
from gancourse.engine.sampling import sample_generator
from gancourse.engine.training import Loop, fit
from gancourse.errors import CheckpointDamaged, MissingInput, UserError
from gancourse.runs import RunDir

from .helpers import CLI_TINY, error_line, toy_recipe, toy_unpaired


@pytest.fixture
def tiny_run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *CLI_TINY, "--steps", "3", "--out", str(out)]) == 0
    return RunDir(out)


def ship(monkeypatch, tmp_path, name: str, run_generator, image_size: int = 28) -> pretrained.Pretrained:
    """Export ``run_generator`` into a stand-in for the package's folder and list it in SHIPPED."""
    folder = tmp_path / "shipped"
    folder.mkdir(exist_ok=True)
    _, sha256 = pretrained.export_half_precision(load_checkpoint(run_generator), folder / f"{name}.pt")
    entry = pretrained.Pretrained(name, f"{name}.pt", sha256, image_size, what="a test generator",
                                  compute="seconds", command="gancourse train ...")
    monkeypatch.setattr(pretrained, "FOLDER", folder)
    monkeypatch.setitem(pretrained.SHIPPED, name, entry)
    return entry


def test_export_writes_half_precision_and_prints_the_files_sha256(tiny_run, tmp_path, capsys):
    out = tmp_path / "tiny.pt"
    assert main(["export", str(tiny_run.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"sha256 {pretrained.file_sha256(out)}" in printed and "half precision" in printed
    assert f'"tiny": Pretrained("tiny", "tiny.pt", "{pretrained.file_sha256(out)}", 28,' in printed
    state = load_checkpoint(out)["state_dict"]
    original = load_checkpoint(tiny_run.generator_path)["state_dict"]
    assert state.keys() == original.keys()
    for key, value in state.items():
        assert value.dtype == (torch.float16 if original[key].is_floating_point() else original[key].dtype), key
    assert out.stat().st_size < 0.7 * tiny_run.generator_path.stat().st_size


def test_a_shipped_generator_loads_in_float32_and_draws_what_the_run_drew(tiny_run, tmp_path, monkeypatch):
    ship(monkeypatch, tmp_path, "tiny", tiny_run.generator_path)
    shipped = pretrained.load_pretrained("tiny")
    assert all(p.dtype == torch.float32 for p in shipped.parameters()) and not shipped.training
    drawn = sample_generator(shipped, 16, seed=3)
    original = sample_generator(load_generator(tiny_run.generator_path), 16, seed=3)
    assert (drawn - original).abs().max() < 2e-2  # float16 weights: the same pictures, to 1/100 of the range
    assert pretrained.load_pretrained("pretrained:tiny") is not None  # the command line's spelling works too


def test_sample_takes_a_shipped_generator_by_name(tiny_run, tmp_path, monkeypatch):
    ship(monkeypatch, tmp_path, "tiny", tiny_run.generator_path)
    out = tmp_path / "s.pt"
    assert main(["sample", "pretrained:tiny", "--n", "10", "--out", str(out), "--png", str(tmp_path / "g.png")]) == 0
    assert torch.load(out, weights_only=True).shape == (10, 1, 28, 28)


def test_a_changed_file_is_refused_before_it_is_read(tiny_run, tmp_path, monkeypatch, capsys):
    entry = ship(monkeypatch, tmp_path, "tiny", tiny_run.generator_path)
    data = bytearray(entry.path.read_bytes())
    data[len(data) // 2] ^= 1
    entry.path.write_bytes(bytes(data))
    with pytest.raises(CheckpointDamaged, match="is not the file that was shipped"):
        pretrained.load_pretrained("tiny")
    assert main(["sample", "pretrained:tiny", "--out", str(tmp_path / "s.pt")]) == 2
    assert "reinstall the course package" in error_line(capsys)
    assert not (tmp_path / "s.pt").exists()


def test_an_unknown_or_missing_generator_is_one_line_naming_the_shipped_ones(tiny_run, tmp_path, monkeypatch, capsys):
    entry = ship(monkeypatch, tmp_path, "tiny", tiny_run.generator_path)
    assert main(["sample", "pretrained:nope", "--out", str(tmp_path / "s.pt")]) == 2
    assert "no generator named 'nope'" in (line := error_line(capsys)) and "tiny" in line
    entry.path.unlink()
    with pytest.raises(MissingInput, match="reinstall"):
        pretrained.load_pretrained("tiny")


@pytest.mark.parametrize("value, refusal", [(1e6, "beyond float16"), (float("nan"), "NaN or infinite")])
def test_weights_beyond_half_precision_are_refused(tiny_run, tmp_path, value, refusal):
    export = load_checkpoint(tiny_run.generator_path)
    name = next(k for k, v in export["state_dict"].items() if v.is_floating_point())
    export["state_dict"][name] = export["state_dict"][name] * 0 + value
    with pytest.raises(UserError, match=refusal):
        pretrained.export_half_precision(export, tmp_path / "half.pt")
    assert not (tmp_path / "half.pt").exists()


def test_a_run_stopped_before_its_end_is_exported_from_its_last_checkpoint(tiny_run, tmp_path, capsys):
    finished = load_checkpoint(tiny_run.generator_path)["state_dict"]
    tiny_run.generator_path.unlink()  # what a long training stopped by a signal has: checkpoints, no generator.pt
    out = tmp_path / "partial.pt"
    assert main(["export", str(tiny_run.path), "--out", str(out)]) == 0
    assert "from the last checkpoint (step 3)" in capsys.readouterr().out
    exported = load_checkpoint(out)["state_dict"]
    for key, value in finished.items():  # the checkpoint of the last step holds the weights generator.pt held
        assert torch.equal(exported[key], value.half() if value.is_floating_point() else value), key


def test_export_of_a_run_without_checkpoints_is_one_line(tmp_path, capsys):
    run = RunDir(tmp_path / "run").create()
    run.write_config({"recipe": "dcgan", "dataset": "mnist"})
    assert main(["export", str(run.path), "--out", str(tmp_path / "g.pt")]) == 2
    assert "no checkpoint yet; train it first" in error_line(capsys)
    assert not (tmp_path / "g.pt").exists()


def test_translate_takes_a_shipped_cyclegan_and_refuses_another_generator(tiny_run, tmp_path, monkeypatch, capsys):
    data = toy_unpaired()
    result = fit(toy_recipe(data), data, tmp_path / "cyclegan", Loop(steps=2, batch_size=2), progress=False)
    ship(monkeypatch, tmp_path, "toy-monet", result.run.generator_path, image_size=32)
    assert set(pretrained.load_pretrained_translators("toy-monet")) == {"photo2art", "art2photo"}
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((50, 70, 3), 90, np.uint8)).save(photo)
    assert main(["translate", "pretrained:toy-monet", str(photo), "--out", str(tmp_path / "out")]) == 0
    with Image.open(tmp_path / "out" / "photo_photo2art.png") as image:
        assert image.size == (32, 32)  # the size it was trained at
    ship(monkeypatch, tmp_path, "tiny", tiny_run.generator_path)
    assert main(["translate", "pretrained:tiny", str(photo), "--out", str(tmp_path / "out")]) == 2
    assert "pretrained:tiny is a dcgan generator, not a CycleGAN's translators" in error_line(capsys)


def test_nothing_is_listed_that_is_not_in_the_package():
    for entry in pretrained.SHIPPED.values():
        assert entry.path.is_file(), entry.path
        assert pretrained.file_sha256(entry.path) == entry.sha256, entry.name
        assert entry.path.stat().st_size <= 10 * 1024**2, entry.name  # at most ~10 MB each in the repository


def test_the_readmes_commands_on_shipped_generators_run(tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [line.split("#")[0].split()[1:] for line in readme.splitlines()
                if line.startswith(("gancourse sample pretrained:", "gancourse translate pretrained:"))]
    assert {c[0] for c in commands} == {"sample", "translate"}, "the README shows how to use each kind"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()  # the photos the README's translate command reads
    for i, colour in enumerate(("darkgreen", "skyblue")):
        Image.new("RGB", (160, 120), colour).save(tmp_path / "photos" / f"photo{i}.jpg")
    for command in commands:
        assert command[1].removeprefix(pretrained.PREFIX) in pretrained.SHIPPED, command
        assert main(command) == 0, command
    assert len(list((tmp_path / "monets").glob("*.png"))) == 2
