"""What every checker shares: one line of verdict (PASS, FAIL with a hint, or not attempted yet), and
calling a student's code so that a bug prints a hint instead of a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

NOT_ATTEMPTED = "not attempted yet: the placeholder still raises NotImplementedError; replace it with your code"


class Attempt(Exception):
    """A student's code could not be run to the end; ``hint`` says why (``attempted`` False: a placeholder)."""

    def __init__(self, hint: str, attempted: bool = True) -> None:
        super().__init__(hint)
        self.hint, self.attempted = hint, attempted


def stuck(solution: str) -> str:
    """What a FAIL line ends with: how to see the reference answer of exercise ``solution``."""
    return f'stuck? show_solution("{solution}") prints the reference'


def report(name: str, ok: bool, hint: str = "", attempted: bool = True, solution: str = "") -> bool:
    """Print the verdict line; a FAIL names how to see the reference (``solution``: the exercise's name)."""
    if not attempted:
        print(f"NOT YET  {name}: {NOT_ATTEMPTED}")
    elif ok:
        print(f"PASS  {name}" + (f" ({hint})" if hint else ""))
    else:
        print(f"FAIL  {name}: {hint}" + (f"; {stuck(solution)}" if solution else ""))
    return ok


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args)``; a placeholder or a crash becomes an :class:`Attempt` carrying the hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise Attempt(NOT_ATTEMPTED, attempted=False) from None
    except Attempt:
        raise
    except Exception as exc:  # a student's bug should print a hint, not a traceback
        raise Attempt(f"it raised {type(exc).__name__}: {exc}") from None


def guarded(name: str, body: Callable[[], str | None], note: Callable[[], str] | None = None, *,
            solution: str) -> bool:
    """Run a checker's ``body``: it returns None (pass), a hint (fail), or raises :class:`Attempt`.

    ``solution`` is the exercise's name (the reference's name in :mod:`.solutions`), named after a FAIL.
    """
    try:
        hint = body()
    except Attempt as attempt:
        return report(name, False, attempt.hint, attempt.attempted, solution)
    if hint is None:
        return report(name, True, note() if note else "")
    return report(name, False, hint, solution=solution)


def scalar(value: Any, what: str = "the loss") -> torch.Tensor:
    """``value`` as a 0-d float64 tensor (keeping nothing of its graph), or an Attempt naming what is wrong."""
    try:
        t = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise Attempt(f"{what} should be a number (a 0-d tensor), got {type(value).__name__}") from None
    if t.numel() != 1:
        raise Attempt(f"{what} has shape {tuple(t.shape)}: return one number, the average over the batch "
                      f"(end with .mean())")
    return t.reshape(())


def close(a: Any, b: Any, tol: float = 1e-4) -> bool:
    a = torch.as_tensor(np.asarray(a.detach() if isinstance(a, torch.Tensor) else a), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(b.detach() if isinstance(b, torch.Tensor) else b), dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))
