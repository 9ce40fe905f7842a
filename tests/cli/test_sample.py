"""gancourse sample (gancourse.cli.sample)."""

from __future__ import annotations

import torch

from gancourse.cli import main

from ..helpers import fit_blobs
from ..run_fixtures import nan_run


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
