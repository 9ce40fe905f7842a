"""Run profiles and parameter checks for notebooks (papermill) and the CLI.

``smoke``: CI, about a minute on a CPU. ``quick``: a student's CPU, minutes, results worth looking at.
``full``: a GPU, the real thing. An empty profile means ``$GANCOURSE_PROFILE``, else ``full`` on a GPU
and ``quick`` on a CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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
