import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gancourse.cli
from gancourse.cli import main
from gancourse.cli.options import parse_value
from gancourse.errors import UserError

from ..helpers import HAS_MNIST, error_line


def test_parse_value_types():
    assert parse_value("3") == 3 and parse_value("2e-4") == 2e-4 and parse_value("true") is True
    assert parse_value("spectral") == "spectral" and parse_value("apple,cat") == ["apple", "cat"]


def test_help_works_for_every_command(capsys):
    from gancourse.cli import COMMANDS

    for command in [[]] + [[name] for name in COMMANDS]:
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0 and "usage" in capsys.readouterr().out


def test_only_the_chosen_command_is_loaded():
    """``gancourse --help`` and a command's start load no other command's module (nor torch for --help)."""
    code = ("import sys; from gancourse.cli import build_parser; build_parser({argv}); "
            "print(sorted(m for m in sys.modules if m.startswith('gancourse.cli.')), 'torch' in sys.modules)")
    def loaded(argv: list[str]) -> str:
        result = subprocess.run([sys.executable, "-c", code.format(argv=argv)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert loaded([]) == "[] False"
    assert loaded(["--debug", "collect", "out"]).startswith("['gancourse.cli.collect'] ")


def test_every_command_module_is_in_the_table():
    from gancourse.cli import COMMANDS

    folder = Path(gancourse.cli.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if "def register(" in p.read_text()}
    assert modules == set(COMMANDS) and all(COMMANDS.values())


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "gancourse", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "gancourse" in result.stdout


def test_bad_arguments_give_one_clear_line(capsys):
    assert main(["train", "--dataset", "mnist"]) == 2
    assert "give a training budget" in capsys.readouterr().err  # the Loop's check (it names --steps too)
    assert main(["sample", "/nonexistent/run"]) == 2
    err = capsys.readouterr().err
    assert "not a run directory" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "imagenet", "--steps", "1"])


@pytest.mark.skipif(not HAS_MNIST, reason="needs real MNIST under $GANCOURSE_DATA")
def test_train_sample_eval_and_resume_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "mnist", "--steps", "20", "--batch-size", "32", "--out", str(out), "--quiet",
            "--limit", "2000", "--eval-samples", "300", "--set", "g_width=8", "--set", "d_width=8"]
    assert main(args) == 0
    assert "fid" in capsys.readouterr().out
    assert main(args[:4] + ["30"] + args[5:]) == 0  # the same command with more steps resumes and extends
    assert [r["step"] for r in __import__("gancourse.runs").runs.RunDir(out).losses()][-1] == 30
    assert main(["sample", str(out), "--n", "50", "--out", str(tmp_path / "s.pt")]) == 0
    samples = torch.load(tmp_path / "s.pt")
    assert samples.shape == (50, 1, 28, 28) and samples.min() >= -1 and samples.max() <= 1
    assert main(["eval", str(out), "--n", "300"]) == 0
    assert "floor" in capsys.readouterr().out
    assert main(["train", "--dataset", "mnist", "--steps", "5", "--set", "bogus=1", "--out", str(tmp_path / "b")]) == 2
    assert "bogus" in capsys.readouterr().err


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
