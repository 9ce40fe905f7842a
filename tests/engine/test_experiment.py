"""A run end to end (gancourse.engine.experiment)."""

from __future__ import annotations

import pytest

from ..helpers import fit_blobs


def test_resume_checks_flip(tmp_path):
    from gancourse.engine.training import ResumeMismatch

    out = tmp_path / "flip"
    fit_blobs(out, 2)
    with pytest.raises(ResumeMismatch, match="flip"):
        fit_blobs(out, 4, flip=True)
