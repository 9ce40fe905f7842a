"""Notebook 06 (Monet <-> photo CycleGAN): its budgets per profile and the names of its run directories.

The budgets themselves (``PRESETS``) stay with the recipe, because ``gancourse train --recipe cyclegan``
picks its defaults from them too; this module fills in notebook 06's learning-rate schedule and names its
runs, so that a rerun, another setting's comparison and ``benchmarks/cyclegan_cpu.py`` find the same run.
"""

from __future__ import annotations

from typing import Any

from ..course.profiles import check_choice
from ..recipes.cyclegan import PRESETS

NOTEBOOK = "06_monet_cyclegan"  # notebook 06's runs live in runs/<NOTEBOOK>/; the CPU benchmark reuses them


def run_name(generator: str, size: int, steps: int, lambda_cycle: float = 10.0, lambda_identity: float = 0.5,
             curate_every: int = 0, seed: int = 0, *, upsample: str = "transposed", diffaugment: str = "",
             residual: bool = False) -> str:
    """The run directory name notebook 06 gives a setting, so that a rerun, another setting's comparison and
    ``benchmarks/cyclegan_cpu.py`` find (and resume or reuse) the same run.

    ``upsample``, ``diffaugment`` and ``residual`` (the recipe's) are named only when they differ from the
    reference, so a run made before a preset adopted them is never resumed with networks it was not trained with."""
    name = (f"cyclegan-{generator}-{size}px-{steps}steps-cycle{lambda_cycle:g}-id{lambda_identity:g}"
            f"-curate{curate_every}-seed{seed}")
    if upsample != "transposed" and generator == "resnet":  # the unet ignores it
        name += f"-{upsample}"
    if residual and generator == "resnet":
        name += "-residual"
    if diffaugment:
        name += "-da-" + diffaugment.replace(",", "-")
    return name


def preset(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` with the schedule filled in: full rate for half the steps, then decay."""
    chosen = PRESETS[check_choice("profile", profile, PRESETS)]
    steps = chosen["steps"]
    recipe = {"constant_steps": steps // 2, "decay_steps": steps - steps // 2, **chosen["recipe"]}
    return {**chosen, "recipe": recipe}

