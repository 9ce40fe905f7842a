"""Run profiles, and each notebook's parameters and budgets as its manifest entry declares them.

``smoke``: CI, about a minute on a CPU. ``quick``: a student's CPU, minutes, results worth looking at.
``full``: a GPU, the real thing. An empty profile means ``$GANCOURSE_PROFILE``, else ``full`` on a GPU
and ``quick`` on a CPU. What a notebook accepts and spends per profile lives in :mod:`.notebooks`.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import torch

from .notebooks import notebook as manifest_entry
from .parameters import Choice, ParameterError, Range, check_choice, check_range

__all__ = ["PROFILES", "Choice", "ParameterError", "Range", "budget", "by_profile", "check_choice",
           "check_parameters", "check_range", "describe_parameters", "resolve_profile"]

PROFILES = ("smoke", "quick", "full")


def resolve_profile(profile: str = "") -> str:
    """The profile to run: the explicit one, else ``$GANCOURSE_PROFILE``, else by hardware."""
    if not profile:
        profile = os.environ.get("GANCOURSE_PROFILE", "")
    if not profile:
        profile = "full" if torch.cuda.is_available() else "quick"
    return check_choice("profile", profile, PROFILES)


def by_profile(profile: str, **values: Any) -> Any:
    """``by_profile(p, smoke=200, quick=3000, full=20000)``: the value for profile ``p``."""
    check_choice("profile", profile, PROFILES)
    if profile not in values:
        raise KeyError(f"no value given for profile {profile!r}")
    return values[profile]


def budget(notebook: str, profile: str) -> SimpleNamespace:
    """``notebook``'s budgets for ``profile`` (its manifest entry's), as attributes: ``budget(nb, p).steps``.

    A notebook reads them as ``env.budget.<name>`` (``setup(profile, notebook, globals())``), so its setup
    cell holds no numbers per profile. No notebook (``""``): no budgets.
    """
    index = PROFILES.index(check_choice("profile", profile, PROFILES))
    budgets = manifest_entry(notebook).budgets if notebook else {}
    return SimpleNamespace(**{name: values[index] for name, values in budgets.items()})


def check_parameters(notebook: str, values: dict[str, Any]) -> None:
    """Check every declared parameter of ``notebook`` in ``values`` (a notebook passes ``globals()``).

    One call per notebook: a value out of its range, or not among its choices, is a :class:`ParameterError`
    naming the parameter and what it accepts (papermill and nbmake show it by name).
    """
    for name, allowed in manifest_entry(notebook).parameters.items():
        if name not in values:
            raise ParameterError(f"notebook {notebook} declares a parameter {name} that its parameters cell "
                                 "does not set (add it there, or remove it from its entry in "
                                 "gancourse/course/notebooks.py)")
        allowed.check(name, values[name])


def describe_parameters(notebook: str) -> dict[str, str]:
    """``{name: what it accepts}`` for ``notebook``, e.g. to print beside its parameters."""
    return {name: allowed.describe() for name, allowed in manifest_entry(notebook).parameters.items()}
