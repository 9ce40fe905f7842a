"""Every checked exercise of the course, in one list built from the notebooks' manifest: its notebook, its
checker and the name of its reference solution; and the two ways to use the references: check them all, or
show one to a stuck student."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..notebooks import COURSE
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


def _checker(name: str) -> Callable[[Any], bool]:
    """The checker a manifest entry names (``check_fid``), from the modules that hold the checkers."""
    for module in (d, f, m, n, s):
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    raise LookupError(f"the notebooks' manifest names a checker {name!r} that no exercises module defines")


# In the order of the notebooks, as their manifest entries (gancourse/course/notebooks.py) list them.
EXERCISES: list[Exercise] = [Exercise(notebook.number, task.title, _checker(task.checker), task.solution)
                             for notebook in COURSE for task in notebook.exercises]


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
