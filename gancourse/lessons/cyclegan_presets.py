"""Notebook 06 (Monet <-> photo CycleGAN): its budgets per profile and the names of its run directories.

The budgets themselves (``PRESETS``) stay with the recipe, because ``gancourse train --recipe cyclegan``
picks its defaults from them too; this module fills in notebook 06's learning-rate schedule and names its
runs, so that a rerun, another setting's comparison and ``benchmarks/cyclegan_cpu.py`` find the same run.
"""

from __future__ import annotations

from typing import Any

from ..course.profiles import check_choice
from ..recipes.cyclegan import PRESETS, CycleGANConfig

NOTEBOOK = "06_monet_cyclegan"  # notebook 06's runs live in runs/<NOTEBOOK>/; the CPU benchmark reuses them


def run_name(config: CycleGANConfig, size: int, steps: int, curate_every: int = 0, seed: int = 0) -> str:
    """The run directory name notebook 06 gives a setting, so that a rerun, another setting's comparison and
    ``benchmarks/cyclegan_cpu.py`` find (and resume or reuse) the same run.

    The recipe's choices beyond the reference (``upsample``, ``diffaugment``, ``residual``, ``d_norm``, ``ema``)
    are named only when they differ from it, so a run made before a preset adopted them keeps its name and is
    never resumed with networks it was not trained with."""
    c, resnet = config, config.generator == "resnet"  # the unet ignores upsample and residual
    name = (f"cyclegan-{c.generator}-{size}px-{steps}steps-cycle{c.lambda_cycle:g}-id{c.lambda_identity:g}"
            f"-curate{curate_every}-seed{seed}")
    if c.upsample != "transposed" and resnet:
        name += f"-{c.upsample}"
    if c.diffaugment:
        name += "-da-" + c.diffaugment.replace(",", "-")
    if c.residual and resnet:
        name += "-residual"
    if c.d_norm and c.d_norm != c.norm:
        name += f"-d-{c.d_norm}"
    if c.ema:
        name += f"-ema{c.ema:g}"
    return name


def preset(profile: str) -> dict[str, Any]:
    """The settings of ``profile`` with the schedule filled in: full rate for half the steps, then decay."""
    chosen = PRESETS[check_choice("profile", profile, PRESETS)]
    steps = chosen["steps"]
    recipe = {"constant_steps": steps // 2, "decay_steps": steps - steps // 2, **chosen["recipe"]}
    return {**chosen, "recipe": recipe}

