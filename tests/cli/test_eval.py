"""gancourse eval (gancourse.cli.eval)."""

from __future__ import annotations

from gancourse.cli import main

from ..helpers import error_line


def test_eval_of_a_missing_directory_says_it_is_not_a_run_directory(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in error_line(capsys)
    assert main(["eval", str(tmp_path / "nowhere"), "--n", "0"]) == 2
    assert "--n must be at least 2" in error_line(capsys)
