"""Every checked exercise of the course: its notebook, its checker and its reference solution."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Exercise:
    notebook: str
    title: str
    checker: Callable[[Any], bool]
    reference: Callable[[], Any]  # builds the answer (lazily: solutions import the recipes)


def _solutions():
    from . import solutions

    return solutions


def _catalog() -> list[Exercise]:
    from . import functions as f
    from . import networks as n
    from . import steps as s

    def ref(name: str) -> Callable[[], Any]:
        return lambda: getattr(_solutions(), name)

    return [
        Exercise("01", "non-saturating generator loss", f.check_generator_loss, ref("generator_loss")),
        Exercise("01", "discriminator BCE loss", f.check_discriminator_loss, ref("discriminator_loss")),
        Exercise("01", "generator for 28 px", n.check_generator_module, ref("Generator28")),
        Exercise("01", "discriminator for 28 px", n.check_discriminator_module, ref("Discriminator28")),
        Exercise("01", "GAN training step", s.check_gan_step, ref("GAN")),
        Exercise("02", "random translation (DiffAugment)", f.check_augment, ref("translate")),
        Exercise("02", "nearest training image", f.check_nearest_neighbours, ref("nearest_neighbours")),
        Exercise("03", "KL divergence from uniform", f.check_kl_from_uniform, ref("kl_from_uniform")),
        Exercise("03", "minibatch standard deviation", n.check_minibatch_std, ref("MinibatchStd")),
        Exercise("04", "gradient penalty", f.check_gradient_penalty, ref("gradient_penalty")),
        Exercise("04", "WGAN-GP training step", s.check_critic_step, ref("WGANGP")),
        Exercise("05", "per-class conditional accuracy", f.check_per_class_accuracy, ref("per_class_accuracy")),
        Exercise("05", "conditional generator input", f.check_label_input, ref("label_input")),
        Exercise("06", "cycle-consistency loss", f.check_cycle_loss, ref("cycle_loss")),
        Exercise("06", "CycleGAN generator loss", s.check_cyclegan_generator_loss, ref("cyclegan_generator_loss")),
        Exercise("06", "image pool", n.check_image_pool, ref("Pool")),
        Exercise("07", "Spearman rank correlation", f.check_spearman, ref("spearman")),
    ]


EXERCISES: list[Exercise] = _catalog()


def check_references(notebook: str = "", verbose: bool = False) -> dict[str, bool]:
    """Run every exercise's checker (of ``notebook``, e.g. "04", or all) against its reference solution."""
    results = {}
    for exercise in EXERCISES:
        if notebook and exercise.notebook != notebook:
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ok = exercise.checker(exercise.reference())
        results[f"{exercise.notebook} {exercise.title}"] = ok
        if verbose or not ok:
            print(out.getvalue().rstrip())
    return results
