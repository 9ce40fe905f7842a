"""What a notebook parameter accepts (:class:`Range`, :class:`Choice`) and the one error a wrong value raises.

The vocabulary of the notebooks' manifest (:mod:`.notebooks`): each notebook declares its parameters with
these, and a wrong value stops the notebook in its setup cell with a line naming what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import UserError

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
