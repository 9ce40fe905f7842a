"""Rebuild a trained recipe (every network, in its trained state) from a run directory.

``checkpoints.load_generator`` gives the generator alone, which is all sampling needs; looking inside a
critic or a discriminator after training (notebook 04's gradient norms) needs the whole recipe back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..checkpoints import load_checkpoint
from ..devices import pick_device
from ..errors import MissingInput
from ..recipes import Recipe, recipe_class
from ..runs import RunDir


def restore_recipe(run_dir: str | Path | RunDir, device: str | torch.device | None = None) -> Recipe:
    """The recipe of ``run_dir`` with the networks and optimisers of its last checkpoint, in eval mode."""
    return _restored(run_dir, device)[0]


def last_checkpoint_export(run_dir: str | Path | RunDir) -> tuple[dict[str, Any], int]:
    """The generator export (as ``checkpoints/generator.pt`` holds it) of the run's last checkpoint, and that
    checkpoint's step: what a run stopped before its end, or still training, has drawn so far."""
    recipe, step = _restored(run_dir, "cpu")
    return recipe.generator_export(), step


def _restored(run_dir: str | Path | RunDir, device: str | torch.device | None) -> tuple[Recipe, int]:
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    config = run.read_config()
    if not run.last_checkpoint.is_file():
        raise MissingInput(f"{run.path} has no checkpoint yet ({run.last_checkpoint}); train it first")
    cls = recipe_class(config["recipe"])
    device = pick_device(device) if not isinstance(device, torch.device) else device
    recipe = cls(cls.Config(**config["recipe_config"]), device)
    state = load_checkpoint(run.last_checkpoint, map_location=device)
    recipe.load_state_dict(state["recipe"])
    recipe.train(False)
    return recipe, int(state.get("step", 0))
