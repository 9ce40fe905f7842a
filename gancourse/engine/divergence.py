"""Stopping a run whose losses or weights are no longer numbers (NaN or infinity).

An absurd learning rate makes the weights overflow within a few steps; from then on every loss is NaN,
every sample black, and a checkpoint written would replace the last good state with garbage. ``fit``
checks the losses after every step (cheap: they are Python floats already) and the weights before
anything is saved (a sample grid, a checkpoint, an evaluation, the export), and stops with one message
that says the step, what went wrong, what was kept and what to try.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from ..errors import TrainingDiverged
from ..recipes import Recipe
from ..runs import RunDir
from . import distributed


def non_finite_losses(scalars: dict[str, float]) -> list[str]:
    return [k for k, v in scalars.items() if not math.isfinite(v)]


def non_finite_parameters(module: torch.nn.Module) -> list[str]:
    """Names (``main.0.weight``) of ``module``'s parameters holding a NaN or an infinity."""
    return [name for name, p in module.named_parameters() if not torch.isfinite(p).all()]


def non_finite_weights(recipe: Recipe) -> list[str]:
    """Names (``G.main.0.weight``) of the recipe's parameters holding a NaN or an infinity."""
    return [f"{name}.{p_name}" for name, module in recipe.modules.items() for p_name in non_finite_parameters(module)]


def advice(recipe: Recipe) -> str:
    """What to try, with this recipe's own learning rates and knobs."""
    config = dataclasses.asdict(recipe.config)
    rates = {k: v for k, v in config.items() if k.startswith("lr") and isinstance(v, (int, float))}
    lower = " ".join(f"--set {k}={v / 10:.3g}" for k, v in rates.items())
    if "d_norm" in config and config["d_norm"] != "spectral":
        bound = "; or bound D's gradients: spectral norm (--set d_norm=spectral)"
    elif "clip" in config and not config.get("gp_weight"):
        bound = "; or bound the critic: a gradient penalty (--recipe wgan-gp)"
    else:
        bound = ""
    return (f"Try a lower learning rate ({', '.join(f'{k}={v:g}' for k, v in rates.items())} now; e.g. {lower})"
            f"{bound}, or clip the gradients; train into a new --out (or delete the run directory).")


def diverged(recipe: Recipe, run: RunDir, step: int, what: str) -> TrainingDiverged:
    kept = [p.name for p in (run.last_checkpoint, run.previous_checkpoint, run.generator_path) if p.is_file()]
    said = (f"{', '.join(kept)} in {run.checkpoints_dir} are left as they were (the last good state)" if kept
            else "no checkpoint had been saved yet")
    return TrainingDiverged(f"training diverged at step {step}: {what} is not finite (NaN or inf); {said}. "
                            f"{advice(recipe)}")


def stop_if_diverged(recipe: Recipe, run: RunDir, step: int, scalars: dict[str, float]) -> None:
    """Raise :class:`TrainingDiverged` if a loss is NaN/inf on any rank (every rank stops at the same step)."""
    bad = non_finite_losses(scalars)
    if distributed.any_rank(bool(bad)):
        what = ", ".join(f"{k} = {scalars[k]}" for k in bad) or "a loss on another process"
        raise diverged(recipe, run, step, what)


def stop_if_weights_diverged(recipe: Recipe, run: RunDir, step: int) -> None:
    """Raise :class:`TrainingDiverged` if a weight is NaN/inf: checked before anything is saved."""
    bad = non_finite_weights(recipe)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise diverged(recipe, run, step, f"the weight {bad[0]}{more}")
