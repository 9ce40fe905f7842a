"""Options of the command line checked in one line (gancourse.cli.options)."""

from __future__ import annotations

import pytest

from gancourse.cli import main

from ..helpers import CLI_TINY as TINY
from ..helpers import error_line


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
