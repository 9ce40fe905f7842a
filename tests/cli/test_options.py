"""Options of the command line checked in one line (gancourse.cli.options); train's numbers: test_train.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gancourse.cli import main
from gancourse.cli.options import check_at_least, check_seed, parse_assignments
from gancourse.engine.spec import MAX_SEED
from gancourse.errors import UserError

from ..helpers import CLI_TINY as TINY
from ..helpers import error_line


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


def test_assignments_parse_to_typed_values_and_refuse_empty_lists():
    assert parse_assignments(["lr-d=2e-4", "categories=apple,cat", "ema=true"], "--set") == {
        "lr_d": 2e-4, "categories": ["apple", "cat"], "ema": True}
    with pytest.raises(UserError, match="names no value between its commas"):
        parse_assignments(["categories=,"], "--data-option")


def test_sample_and_eval_numbers_are_refused_naming_the_flag():
    check_seed(MAX_SEED)
    with pytest.raises(UserError, match="--seed must be a whole number from 0 to 2\\*\\*63 - 1"):
        check_seed(MAX_SEED + 1)
    check_at_least(SimpleNamespace(n=2), {"n": 2})
    with pytest.raises(UserError, match="--n must be at least 2, got 1"):
        check_at_least(SimpleNamespace(n=1), {"n": 2})
