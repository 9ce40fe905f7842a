"""Every checked exercise of the course, in one list: its notebook, its checker and the name of its reference
solution; and the two ways to use the references: check them all, or show one to a stuck student."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import discriminators as d
from . import functions as f
from . import measures as m
from . import networks as n
from . import scaffold, solutions
from . import steps as s


@dataclass(frozen=True)
class Exercise:
    notebook: str
    title: str
    checker: Callable[[Any], bool]
    name: str  # the reference solution's attribute name in .solutions, and show_solution's argument

    def reference(self) -> Any:
        return getattr(solutions, self.name)


EXERCISES: list[Exercise] = [
    Exercise("01", "non-saturating generator loss", f.check_generator_loss, "generator_loss"),
    Exercise("01", "discriminator BCE loss", f.check_discriminator_loss, "discriminator_loss"),
    Exercise("01", "generator for 28 px", n.check_generator_module, "Generator28"),
    Exercise("01", "discriminator for 28 px", n.check_discriminator_module, "Discriminator28"),
    Exercise("01", "GAN training step", s.check_gan_step, "GAN"),
    Exercise("01", "FID from features", m.check_fid, "fid"),
    Exercise("01", "KID from features", m.check_kid, "kid"),
    Exercise("02", "random translation (DiffAugment)", f.check_augment, "translate"),
    Exercise("02", "nearest training image", m.check_nearest_neighbours, "nearest_neighbours"),
    Exercise("02", "R1 penalty", d.check_r1_penalty, "r1_penalty"),
    Exercise("03", "KL divergence from uniform", m.check_kl_from_uniform, "kl_from_uniform"),
    Exercise("03", "minibatch standard deviation", n.check_minibatch_std, "MinibatchStd"),
    Exercise("04", "gradient penalty", f.check_gradient_penalty, "gradient_penalty"),
    Exercise("04", "WGAN-GP training step", s.check_critic_step, "WGANGP"),
    Exercise("05", "per-class conditional accuracy", m.check_per_class_accuracy, "per_class_accuracy"),
    Exercise("05", "projection discriminator's logits", d.check_projection_logits, "projection_logits"),
    Exercise("06", "least-squares discriminator loss", d.check_lsgan_discriminator_loss, "lsgan_discriminator_loss"),
    Exercise("06", "receptive field of a PatchGAN", d.check_receptive_field, "receptive_field"),
    Exercise("06", "CycleGAN generator loss", s.check_cyclegan_generator_loss, "cyclegan_generator_loss"),
    Exercise("06", "image pool", n.check_image_pool, "Pool"),
    Exercise("07", "Spearman rank correlation", m.check_spearman, "spearman"),
]


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


def _leans_on(reference: Any) -> list[Any]:
    """What a reference's source does not show by itself: the package step it calls (``plain_gan_step``), or
    the package class it only renames (``Pool`` is the package's ``ImagePool``)."""
    helpers = [getattr(scaffold, name) for name in re.findall(r"\b(plain_\w+)\(", inspect.getsource(reference))]
    if isinstance(reference, type) and all(k.startswith("__") for k in vars(reference)):
        helpers += [base for base in reference.__bases__ if base is not object]
    return helpers


def show_solution(name: str) -> None:
    """Print the reference solution of exercise ``name`` (e.g. "generator_loss"), for a student who is stuck.

    An unknown name prints the list of names instead (no traceback): the names are the ones the checkers'
    FAIL lines give, and ``gancourse exercises`` lists them.
    """
    exercise = next((e for e in EXERCISES if e.name == name), None)
    if exercise is None:
        names = ", ".join(f'"{e.name}"' for e in EXERCISES)
        print(f"No exercise is called {name!r}. The names: {names}.")
        return
    reference = exercise.reference()
    print(f"# The reference solution of notebook {exercise.notebook}'s exercise \"{exercise.title}\" "
          f"(gancourse.course.exercises.solutions.{name}):\n")
    print(inspect.getsource(reference).rstrip())
    for helper in _leans_on(reference):
        print(f"\n# ... which uses {helper.__module__}.{helper.__qualname__}:\n")
        print(inspect.getsource(helper).rstrip())
