"""Notebook 06 (Monet <-> photo CycleGAN): its settings per profile, as the recipe options of its ``RunSpec``.

The budgets themselves (``PRESETS``) stay with the recipe, because ``gancourse train --recipe cyclegan``
picks its defaults from them too. This fills in the learning-rate schedule for the steps actually trained,
and the reference's value of every option that another profile changes: the spec then states the whole
setting, so ``train`` adds no device defaults to it and the run directory it names says what was trained.
"""

from __future__ import annotations

from typing import Any

from ..course.parameters import check_choice
from ..recipes.cyclegan import PRESETS, CycleGANConfig


def preset(profile: str, steps: int = 0) -> dict[str, Any]:
    """The settings of ``profile`` for ``steps`` (0: the profile's): full rate for half the steps, then decay."""
    chosen = PRESETS[check_choice("profile", profile, PRESETS)]
    steps = steps or chosen["steps"]
    reference = CycleGANConfig()
    named = sorted({name for plan in PRESETS.values() for name in plan["recipe"]})  # what some profile changes
    recipe = ({name: getattr(reference, name) for name in named} | chosen["recipe"]
              | {"constant_steps": steps // 2, "decay_steps": steps - steps // 2})
    return {**chosen, "steps": steps, "recipe": recipe}
