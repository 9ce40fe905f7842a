"""A run end to end (gancourse.engine.experiment)."""

from __future__ import annotations

import pytest

from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.recipes import DCGAN

from ..helpers import blob_images

DATA = blob_images()


def make_recipe(**options):
    seed_everything(0)
    return DCGAN(DCGAN.config_for(DATA, nz=8, g_width=8, d_width=8, **options))


def fit_blobs(out, steps, recipe=None, evaluator=None, hooks=(), **loop):
    return fit(recipe or make_recipe(), DATA, out, Loop(steps=steps, batch_size=16, **loop), evaluator=evaluator,
               hooks=hooks, progress=False)


def test_resume_checks_flip(tmp_path):
    from gancourse.engine.training import ResumeMismatch

    out = tmp_path / "flip"
    fit_blobs(out, 2)
    with pytest.raises(ResumeMismatch, match="flip"):
        fit_blobs(out, 4, flip=True)
