"""Bad input from the command line: one line naming what to do, exit code 2, no traceback, nothing lost.

The cases the issue names run ``python -m gancourse ...`` in a subprocess, as a user would (``refused``); the
others call the same entry point in this process (``refused_here``: a subprocess costs a torch import), which
is also where a fault is injected (a read-only file system: root ignores ``chmod``) or a slow step stubbed out.
"""

from __future__ import annotations

import errno
import json
import shutil
import struct
import subprocess
import sys
import zlib
from functools import partial
from pathlib import Path

import pytest
import torch

from gancourse.cli import main
from gancourse.cli.options import parse_value
from gancourse.runs import RunDir

from ..helpers import CLI_TINY, error_line


def gancourse(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gancourse", *map(str, args)], capture_output=True, text=True)


def refused_here(capsys, *args: object) -> str:
    """``refused`` in this process: ``gancourse.cli.main`` returns 2 and printed one error line."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 2
    return error_line(capsys)


def refused(*args: object) -> str:
    """Run the command; it must exit 2 with one ``gancourse <command>: error:`` line and no traceback."""
    result = gancourse(*args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("gancourse ")]
    assert len(lines) == 1 and ": error: " in lines[0], result.stderr[-2000:]
    return lines[0]


@pytest.fixture
def trained(offline_root, tmp_path) -> Path:
    """A finished two-step run of the tiny stand-in MNIST DCGAN (config, checkpoints, exported generator)."""
    out = tmp_path / "run"
    assert main(["train", *CLI_TINY, "--steps", "2", "--out", str(out)]) == 0
    return out


def copy_of(run: Path, name: str) -> Path:
    return Path(shutil.copytree(run, run.with_name(name)))


# -- flags ---------------------------------------------------------------------------------------------------

def test_a_device_this_machine_lacks_is_one_line(offline_root, tmp_path, capsys):
    line = refused("train", *CLI_TINY, "--steps", "1", "--device", "bogus", "--out", tmp_path / "a")
    assert "unknown device 'bogus'" in line and "cpu" in line
    for device, present in (("cuda", torch.cuda.is_available()), ("mps", torch.backends.mps.is_available())):
        if not present:
            line = refused_here(capsys, "train", *CLI_TINY, "--steps", "1", "--device", device, "--out",
                                tmp_path / device)
            assert f"device {device!r} is not available" in line
    assert not (tmp_path / "a").exists()


def test_infinite_budgets_huge_seeds_and_infinite_options_are_refused(offline_root, tmp_path, capsys):
    out = tmp_path / "never"
    assert "--epochs must be a finite number" in refused("train", *CLI_TINY, "--epochs", "inf", "--out", out)
    assert "--seed must be a whole number from 0 to 2**63 - 1" in refused_here(
        capsys, "train", *CLI_TINY, "--steps", "1", "--seed", "99999999999999999999", "--out", out)
    assert "lr_d takes a finite number" in refused_here(capsys, "train", *CLI_TINY, "--steps", "1", "--set",
                                                        "lr_d=inf", "--out", out)
    assert "lr_d=nan" in refused_here(capsys, "train", *CLI_TINY, "--steps", "1", "--set", "lr_d=nan", "--out", out)
    assert not out.exists()


def test_the_spec_refuses_what_the_flags_refuse():
    from gancourse.engine.spec import RunSpec
    from gancourse.errors import UserError

    for bad in ({"epochs": float("inf")}, {"time_budget": float("nan")}, {"seed": 2**64},
                {"recipe_options": {"lr_d": float("inf")}}, {"recipe_options": {"lr_g": float("-inf")}}):
        with pytest.raises(UserError):
            RunSpec(steps=1, **bad)


def test_categories_that_name_nothing_are_refused(offline_root, tmp_path, capsys):
    base = ["train", "--dataset", "quickdraw", "--allow-stand-in", "--steps", "1", "--out", tmp_path / "qd"]
    assert "--categories ',' names no category" in refused(*base, "--categories", ",")
    assert "--categories '' names no category" in refused_here(capsys, *base, "--categories", "")
    assert "names no value between its commas" in refused_here(capsys, *base, "--data-option", "categories=,")
    assert not (tmp_path / "qd").exists()


def test_set_values_never_expand_yaml_aliases():
    bomb = "- &a\n  - lol\n  - lol\n- - *a\n  - *a"  # no comma: not split as a list of options
    assert parse_value("- &a lol\n- *a") == "- &a lol\n- *a"  # stays text for the option's own check
    assert parse_value(bomb) == bomb
    assert parse_value("2e-4") == 2e-4 and parse_value("[1]") == [1]


# -- damaged run directories ---------------------------------------------------------------------------------

@pytest.mark.parametrize("content, said", [(None, "Unterminated string"), (b"", "(empty)"),
                                           (b"[1, 2]\n", "a JSON list, not an object"),
                                           (b'{"recipe": "\xff"}', "UnicodeDecodeError")])
def test_a_damaged_config_json_is_one_line_for_train_and_sample(trained, tmp_path, capsys, content, said):
    run = copy_of(trained, "damaged")
    config = run / "config.json"
    before = config.read_bytes()
    config.write_bytes(before[:30] if content is None else content)  # None: cut short
    run_it = refused if content is None else partial(refused_here, capsys)  # the issue's repro: a subprocess
    train_line = run_it("train", *CLI_TINY, "--steps", "4", "--out", run)
    sample_line = refused_here(capsys, "sample", run, "--n", "2", "--out", tmp_path / "s.pt")
    for line in (train_line, sample_line):
        assert "config.json is damaged" in line and said in line and f"mv {run} {run}.old" in line
    assert not (tmp_path / "s.pt").exists()
    assert (run / "checkpoints" / "last.pt").read_bytes() == (trained / "checkpoints" / "last.pt").read_bytes()


def test_checkpoints_without_config_json_say_how_to_proceed(trained, capsys):
    run = copy_of(trained, "noconfig")
    (run / "config.json").unlink()
    line = refused_here(capsys, "train", *CLI_TINY, "--steps", "4", "--out", run)
    assert "holds checkpoints" in line and f"mv {run} {run}.old" in line
    assert f"gancourse train --out {run}" not in line  # not "run the command that just failed"


def test_a_folder_where_last_pt_goes_fails_before_training(trained):
    run = copy_of(trained, "folder")
    last = run / "checkpoints" / "last.pt"
    last.unlink()
    last.mkdir()
    samples = sorted((run / "samples").iterdir())
    line = refused("train", *CLI_TINY, "--steps", "4", "--out", run)
    assert "last.pt is a folder" in line and "move it aside" in line
    assert sorted((run / "samples").iterdir()) == samples  # no training step ran


def test_unreadable_history_lines_are_skipped_kept_aside_and_do_not_block_a_resume(trained):
    run = copy_of(trained, "history")
    bad = [b"\xff\xfe not utf-8", b"[1, 2]", b'"a string"', b'{"step": "two"}']
    good = [json.dumps({"step": s, "loss_d": 1.0, "loss_g": 1.0}).encode() for s in (1, 2)]
    (run / "history.jsonl").write_bytes(b"\n".join([good[0], *bad, good[1]]) + b"\n")
    result = gancourse("train", *CLI_TINY, "--steps", "4", "--out", run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped 4 line(s) that are not JSON objects" in result.stderr
    assert (run / "history.jsonl.unreadable").read_bytes() == b"".join(line + b"\n" for line in bad)
    records = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert records[:2] == [json.loads(g) for g in good] and all(isinstance(r, dict) for r in records)


def test_a_line_cut_short_by_a_kill_is_dropped_silently(tmp_path, capsys):
    run = RunDir(tmp_path / "cut").create()
    run.history_path.write_bytes(b'{"step": 1}\n{"step": 2, "los')
    assert run.read_history() == [{"step": 1}]
    run.truncate_history(5)
    assert run.history_path.read_text() == '{"step": 1}\n'
    assert not run.history_path.with_name("history.jsonl.unreadable").exists()
    assert "skipped" not in capsys.readouterr().err


def test_eval_stores_its_metrics_over_a_damaged_metrics_json(trained, monkeypatch, capsys):
    from gancourse.engine import experiment

    run = copy_of(trained, "metrics")
    (run / "metrics.json").write_text('{"fid": 3')
    # the metrics themselves are not what is tested here: a stub evaluator stands in for the judge
    monkeypatch.setattr(experiment, "make_evaluator", lambda *args, **kwargs: lambda sampler: {"fid": 1.5})
    assert main(["eval", str(run), "--n", "10"]) == 0
    assert json.loads((run / "metrics.json").read_text())["fid"] == 1.5
    assert (run / "metrics.json.damaged").read_text() == '{"fid": 3'
    assert "moved it to metrics.json.damaged" in capsys.readouterr().err


# -- sample ----------------------------------------------------------------------------------------------------

def test_sample_into_a_folder_is_one_line_and_png_folders_are_created(trained, tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert f"--out {folder} is a folder" in refused("sample", trained, "--n", "2", "--out", folder)
    assert "--png" in refused_here(capsys, "sample", trained, "--n", "2", "--out", tmp_path / "s", "--png", folder)
    assert "--seed must be" in refused_here(capsys, "sample", trained, "--seed", "99999999999999999999", "--out",
                                            tmp_path / "s")
    png = tmp_path / "new" / "deeper" / "grid.png"
    assert main(["sample", str(trained), "--n", "2", "--out", str(tmp_path / "s.pt"), "--png", str(png)]) == 0
    assert png.is_file() and torch.load(tmp_path / "s.pt", weights_only=True).shape[0] == 2


def test_sample_onto_a_read_only_file_system_is_one_line_and_leaves_nothing(trained, tmp_path, monkeypatch, capsys):
    from gancourse import files

    def read_only(*args, dir=None, **kwargs):  # noqa: A002 - mkstemp's own keyword
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)  # root ignores chmod: inject the error instead
    out = tmp_path / "ro" / "s.pt"
    assert main(["sample", str(trained), "--n", "2", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "Read-only file system" in line and "choose a folder you can write to" in line
    assert not out.exists()


# -- translate -------------------------------------------------------------------------------------------------

def huge_png(path: Path, side: int = 20000) -> Path:
    """A 74-byte PNG whose header says side x side pixels (400 megapixels by default)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def cyclegan_run(offline_root, tmp_path, monkeypatch) -> Path:
    from gancourse.engine import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "cg"
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--steps", "1", "--no-eval",
                 "--allow-stand-in", "--quiet", "--device", "cpu", "--data-option", "size=32", "--set", "ngf=4",
                 "--set", "n_blocks=1", "--set", "ndf=4", "--out", str(out)]) == 0
    return out


def test_translate_refuses_a_decompression_bomb_from_its_header(cyclegan_run, tmp_path, capsys):
    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("RGB", (40, 40), (200, 0, 0)).save(small)
    out = tmp_path / "t"
    line = refused("translate", cyclegan_run, small, huge_png(tmp_path / "huge.png"), "--out", out)
    assert "huge.png is 400 megapixels" in line and "resize it first" in line
    assert not out.exists()  # every input is checked before the first is translated
    line = refused_here(capsys, "translate", cyclegan_run, huge_png(tmp_path / "mid.png", 10000), "--out", out)
    assert "10000 x 10000 px = 100 megapixels" in line


def test_translate_with_a_dcgan_generator_is_one_line(cyclegan_run, trained, tmp_path, capsys):
    shutil.copy(trained / "checkpoints" / "generator.pt", cyclegan_run / "checkpoints" / "generator.pt")
    (tmp_path / "in").mkdir()
    from PIL import Image

    Image.new("RGB", (40, 40)).save(tmp_path / "in" / "x.png")
    line = refused("translate", cyclegan_run, tmp_path / "in", "--out", tmp_path / "t")
    assert "not a CycleGAN export" in line and "--recipe cyclegan" in line
    assert "is a 'dcgan' run; translate needs a cyclegan run" in refused_here(capsys, "translate", trained,
                                                                                 tmp_path / "in")
