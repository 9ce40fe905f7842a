"""Notebook 05's class grids (gancourse.lessons.class_grids)."""

import pytest
import torch

from gancourse.engine.training import Loop, fit
from gancourse.lessons.class_grids import ClassGridRecorder, class_grid, class_grid_gif

from ..helpers import BLOBS as DATA
from ..helpers import tiny_cgan as make


def test_class_grid_recorder_and_gif(tmp_path):
    recipe = make()
    recorder = ClassGridRecorder(DATA.class_names, per_class=3)
    result = fit(recipe, DATA, tmp_path / "run", Loop(steps=4, batch_size=32, sample_every=2, n_samples=16),
                 progress=False, hooks=[recorder])
    frames = sorted(p.name for p in (result.run.path / "class_grids").glob("*.png"))
    assert frames == ["step_000000.png", "step_000002.png", "step_000004.png"]
    assert class_grid_gif(result.run).is_file()
    grid = class_grid(recipe, 4, per_class=3, seed=1)
    assert grid.shape == (12, 1, 16, 16)
    assert torch.allclose(grid[3:6], recipe.sample_class(1, 3, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="too few"):
        ClassGridRecorder(DATA.class_names)("sample", {"images": torch.zeros(3, 1, 16, 16), "run": result.run,
                                                       "step": 0})
