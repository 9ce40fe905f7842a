"""Run profiles and parameter checks for notebooks (papermill) and the CLI.

``smoke``: CI, about a minute on a CPU. ``quick``: a student's CPU, minutes, results worth looking at.
``full``: a GPU, the real thing. An empty profile means ``$GANCOURSE_PROFILE``, else ``full`` on a GPU
and ``quick`` on a CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

from ..errors import UserError

PROFILES = ("smoke", "quick", "full")
T = TypeVar("T")


class ParameterError(UserError):
    """A notebook or CLI parameter has a value it does not accept; the message lists what it accepts."""


def check_choice(name: str, value: T, allowed: Iterable[T]) -> T:
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(f"parameter {name}={value!r} is not allowed; choose one of: "
                             f"{', '.join(repr(a) for a in allowed)}")
    return value


def check_range(name: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ParameterError(f"parameter {name}={value!r} is out of range; it must be in [{low}, {high}]")
    return value


def resolve_profile(profile: str = "") -> str:
    """The profile to run: the explicit one, else ``$GANCOURSE_PROFILE``, else by hardware."""
    if not profile:
        profile = os.environ.get("GANCOURSE_PROFILE", "")
    if not profile:
        import torch

        profile = "full" if torch.cuda.is_available() else "quick"
    return check_choice("profile", profile, PROFILES)


def by_profile(profile: str, **values: Any) -> Any:
    """``by_profile(p, smoke=200, quick=3000, full=20000)``: the value for profile ``p``."""
    check_choice("profile", profile, PROFILES)
    if profile not in values:
        raise KeyError(f"no value given for profile {profile!r}")
    return values[profile]


# ---- notebook parameters: each notebook's allowed values, declared once -------------------------------------------

@dataclass(frozen=True)
class Range:
    """A number in [low, high]; ``default`` (0, or -1) is also allowed and means "the profile's value"."""

    low: float
    high: float
    default: float | None = None
    multiple_of: int = 0
    why: str = ""  # why a multiple is needed, said in the error

    def check(self, name: str, value: Any) -> None:
        if self.default is not None and value == self.default and not isinstance(value, bool):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            also = f" (or {self.default!r}: the profile's)" if self.default is not None else ""
            raise ParameterError(f"parameter {name}={value!r} is out of range; it must be in "
                                 f"[{self.low}, {self.high}]{also}")
        if self.multiple_of and value % self.multiple_of:
            raise ParameterError(f"parameter {name}={value!r} must be a multiple of {self.multiple_of}{self.why}")

    def describe(self) -> str:
        extra = f", or {self.default!r}: the profile's" if self.default is not None else ""
        return f"{self.low} .. {self.high}{extra}" + (f", a multiple of {self.multiple_of}" if self.multiple_of else "")


@dataclass(frozen=True)
class Choice:
    """One of ``allowed``; ``each=True``: a list whose every item is one of them (an empty list too)."""

    allowed: tuple
    each: bool = False

    def check(self, name: str, value: Any) -> None:
        for item in (value if self.each else [value]):
            check_choice(name, item, self.allowed)

    def describe(self) -> str:
        return ("a list of " if self.each else "") + " | ".join(repr(a) for a in self.allowed)


SEED = Range(0, 2**31 - 1)
STEPS = Range(0, 1_000_000)  # 0: the profile's
LEARNING_RATE = Range(1e-5, 1e-2)
FLAG = Choice((True, False))

# What each notebook's parameters cell accepts: the one place these ranges are written down (the
# parameters cell says them in words). check_parameters raises a ParameterError that papermill shows by name.
NOTEBOOK_PARAMETERS: dict[str, dict[str, Range | Choice]] = {
    "01_mnist_dcgan": {
        "dataset": Choice(("mnist", "fashion-mnist")), "seed": SEED, "steps": STEPS,
        "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "beta1": Range(0.0, 0.99), "batch_size": Range(8, 1024),
        "d_norm": Choice(("batch", "spectral", "none")),
        "eval_every": Range(0, 1_000_000), "eval_samples": Range(100, 10_000, default=0), "compare": FLAG,
    },
    "02_wikiart_dcgan": {
        "image_size": Choice((64, 128, 256)), "d_norm": Choice(("batch", "spectral", "none")), "flip": FLAG,
        "compare": FLAG, "compare_size": Choice((32, 64)), "steps": STEPS, "batch_size": Range(8, 256),
        "width": Range(0, 128), "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "dropout": Range(0.0, 0.7),
        "label_smoothing": Range(0.0, 0.3), "d_gate": Range(1.0, 5.0, default=0), "r1": Range(0.0, 100.0),
        "ema": Range(0.0, 10_000_000.0),
    },
    "03_mode_collapse": {
        "seed": SEED, "steps": STEPS, "mnist_steps": STEPS, "toy_steps": STEPS,
        "batch_size": Range(16, 512, multiple_of=4, why=" (pack 4 splits a batch into fours)"),
        "mode_samples": Range(500, 100_000, default=0),
        "cures": Choice(("baseline", "minibatch std", "pack 2", "pack 4", "spectral norm D", "layer norm D",
                         "WGAN-GP", "D width 16", "D width 32"), each=True),  # mode_collapse.CURES (tested)
    },
    "04_wgan_gp": {
        "dataset": Choice(("mnist", "fashion-mnist", "wikiart")), "budget_s": Range(0, 24 * 3600),
        "batch_size": Range(16, 256), "n_critic": Range(1, 10), "gp_weight": Range(0.1, 100),
        "clip": Range(0.0, 0.1), "evaluations": Range(0, 50),
    },
    "05_quickdraw_cgan": {
        "max_per_class": Range(-1, 10_000_000), "seed": SEED, "steps": STEPS, "batch_size": Range(16, 512),
        "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "aux_weight": Range(0.0, 10.0),
        "frame_every": Range(0, 1_000_000), "eval_per_class": Range(0, 10_000),
    },
    "06_monet_cyclegan": {
        "generator": Choice(("resnet", "unet")), "steps": STEPS, "lambda_cycle": Range(0, 100, default=-1),
        "lambda_identity": Range(0, 1, default=-1), "curate_every": Choice((0, *range(2, 11))), "baseline": FLAG,
        "optimizer": Choice(("adam", "rmsprop")), "lr": LEARNING_RATE,
        "residual": Choice(("profile", True, False)),
    },
    "07_hyperparameter_sweeps": {"jobs": Range(0, 64), "replicates": Range(2, 10)},
    "fashion_dcgan": {
        "dropout": Range(0.0, 0.9),
        "width": Range(16, 1024, multiple_of=2, why=": G's first layer has width = 2 x g_width channels"),
        "d_width": Range(8, 512), "lr": Range(1e-6, 1e-2), "beta1": Range(0.0, 0.99), "seed": Range(0, 2**31),
        "steps": Range(0, 10**7),
    },
}


# Each notebook's budgets that are not parameters, as (smoke, quick, full): the notebook reads them as
# ``env.budget.<name>`` (``setup(profile, notebook, globals())``), so its setup cell holds no numbers per profile.
NOTEBOOK_BUDGETS: dict[str, dict[str, tuple[Any, Any, Any]]] = {
    "01_mnist_dcgan": {
        "steps": (250, 3000, 12000), "evaluations": (2, 6, 12), "eval_samples": (500, 2000, 5000),
        "ema_steps": (250, 1500, 12000),
    },
    "02_wikiart_dcgan": {  # steps, width: the parameters' 0; smoke compares at image_size to reuse its feature network
        "steps": (20, 800, 6000), "width": (16, 32, 64), "max_batch_size": (16, 256, 256),
        "eval_every": (10, 200, 1000), "eval_samples": (200, 2000, 5000), "feature_steps": (20, 300, 300),
        "compare_steps": (4, 300, 2000), "compare_at_image_size": (True, False, False), "min_compare_size": (0, 0, 64),
        "cure_steps": (10, 500, 3000), "monitor_every": (10, 50, 200),
    },
    "03_mode_collapse": {  # steps: stacked MNIST per variant; cures: the smoke profile trains three of them
        "steps": (20, 1200, 6000), "mnist_steps": (30, 1500, 4000), "toy_steps": (200, 2000, 4000),
        "mode_samples": (1000, 10_000, 26_000), "feature_samples": (300, 2000, 5000), "evaluations": (2, 6, 12),
        "cures": (("baseline", "pack 2", "WGAN-GP"), NOTEBOOK_PARAMETERS["03_mode_collapse"]["cures"].allowed,
                  NOTEBOOK_PARAMETERS["03_mode_collapse"]["cures"].allowed),
    },
    "04_wgan_gp": {  # budget_s: compute seconds per recipe; probe_steps: steps timed to convert seconds to steps
        "budget_s": (5, 150, 900), "evaluations": (2, 8, 12), "eval_samples": (500, 2000, 5000),
        "probe_steps": (1, 3, 10),
    },
    "05_quickdraw_cgan": {  # steps, max_per_class, frame_every, eval_per_class: the parameters' 0 (or -1)
        "steps": (150, 1000, 10000), "max_per_class": (1000, 5000, 0), "frame_every": (50, 250, 500),
        "eval_per_class": (50, 300, 1000), "evaluations": (1, 4, 10),
    },
    "06_monet_cyclegan": {  # the CycleGAN's own budgets are its presets (gancourse.lessons.cyclegan_presets)
        "baseline_steps": (10, 1500, 5000),  # the simple GAN of section 7
    },
    "fashion_dcgan": {  # notebook 07's sweep target: one run per combination
        "steps": (10, 500, 5000), "sample_every": (5, 50, 500), "eval_samples": (500, 2000, 5000),
    },
}


def budget(notebook: str, profile: str) -> SimpleNamespace:
    """``notebook``'s budgets for ``profile`` (``NOTEBOOK_BUDGETS``), as attributes: ``budget(nb, p).steps``."""
    index = PROFILES.index(check_choice("profile", profile, PROFILES))
    return SimpleNamespace(**{name: values[index] for name, values in NOTEBOOK_BUDGETS.get(notebook, {}).items()})


def check_parameters(notebook: str, values: dict[str, Any]) -> None:
    """Check every declared parameter of ``notebook`` in ``values`` (a notebook passes ``globals()``).

    One call per notebook: a value out of its range, or not among its choices, is a :class:`ParameterError`
    naming the parameter and what it accepts (papermill and nbmake show it by name).
    """
    for name, allowed in NOTEBOOK_PARAMETERS[notebook].items():
        if name not in values:
            raise ParameterError(f"notebook {notebook} declares a parameter {name} that its parameters cell "
                                 "does not set (add it there, or remove it from profiles.NOTEBOOK_PARAMETERS)")
        allowed.check(name, values[name])


def describe_parameters(notebook: str) -> dict[str, str]:
    """``{name: what it accepts}`` for ``notebook``, e.g. to print beside its parameters."""
    return {name: allowed.describe() for name, allowed in NOTEBOOK_PARAMETERS[notebook].items()}
