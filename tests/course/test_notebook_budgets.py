"""Every budget a notebook reads (``env.budget.<name>``, or ``B.<name>`` after ``B = env.budget``) is declared
in its manifest entry for every profile, so no profile reaches a missing attribute halfway through a run
(tests/course/test_notebooks.py checks that each notebook reads exactly what its entry declares)."""

from __future__ import annotations

import pytest

from gancourse.course import notebooks
from gancourse.course.notebooks import MANIFEST, LargestRun, Notebook
from gancourse.course.parameters import Range
from gancourse.course.profiles import PROFILES, budget, check_parameters, describe_parameters


@pytest.mark.parametrize("entry", MANIFEST, ids=[e.name for e in MANIFEST])
def test_every_budget_has_one_value_per_profile(entry):
    for profile in PROFILES:
        assert set(vars(budget(entry.name, profile))) == set(entry.budgets)
    for name, values in entry.budgets.items():
        assert len(values) == len(PROFILES), f"{entry.name}.{name}: one value per profile {PROFILES}"
        assert [getattr(budget(entry.name, p), name) for p in PROFILES] == list(values)


def test_the_quickdraw_budgets_grow_with_the_profile():
    smoke, quick, full = (budget("05_quickdraw_cgan", p) for p in ("smoke", "quick", "full"))
    assert smoke.steps < quick.steps < full.steps and smoke.eval_per_class < quick.eval_per_class
    assert full.max_per_class == 0  # every drawing there is


def test_a_new_notebook_is_one_entry(monkeypatch):
    """What profiles, setup and the doctor read comes from the entry alone."""
    entry = Notebook("08_new.ipynb", "New", datasets=(("mnist", {}),), parameters={"steps": Range(0, 10)},
                     budgets={"steps": (1, 2, 3)}, largest_full_run=LargestRun("dcgan", 8))
    monkeypatch.setitem(notebooks.NOTEBOOKS, entry.name, entry)
    assert budget("08_new", "quick").steps == 2 and entry.number == "08" and entry.numbered
    check_parameters("08_new", {"steps": 5})
    assert describe_parameters("08_new") == {"steps": "0 .. 10"}
    assert budget("", "full").__dict__ == {}  # setup without a notebook: no budgets
