"""Each notebook's parameters are declared once (its entry in course/notebooks.py) and checked in one call."""

from __future__ import annotations

from pathlib import Path

import pytest

from gancourse.course.notebook import setup
from gancourse.course.notebooks import MANIFEST, NOTEBOOKS
from gancourse.course.profiles import (
    Choice,
    ParameterError,
    Range,
    budget,
    check_parameters,
    describe_parameters,
)
from gancourse.lessons.mode_collapse import CURES
from gancourse.sweeps.grid import notebook_parameters

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"


def notebook_path(name: str) -> Path:
    return FOLDER / NOTEBOOKS[name].file


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_every_declared_parameter_is_in_its_notebook_and_its_default_passes(name):
    defaults = notebook_parameters(notebook_path(name))
    assert set(NOTEBOOKS[name].parameters) <= set(defaults)
    check_parameters(name, defaults)  # the parameters cell's own values are allowed
    assert set(describe_parameters(name)) == set(NOTEBOOKS[name].parameters)


def test_every_parameter_of_a_notebook_beyond_profile_and_run_dir_is_declared():
    """A parameter the manifest does not know would reach the notebook unchecked (a sweep's typo, a wrong type)."""
    for entry in MANIFEST:
        defaults = notebook_parameters(FOLDER / entry.file)
        free_text = {"style", "artist", "diffaugment", "categories", "grid_sweep", "replicate_sweep"}
        assert set(defaults) - {"profile", "run_dir"} - free_text <= set(entry.parameters), entry.name


@pytest.mark.parametrize(("change", "named"), [
    ({"lr_g": 1.0}, r"lr_g=1.0 is out of range; it must be in \[1e-05, 0.01\]"),
    ({"dataset": "cifar"}, "dataset='cifar' is not allowed; choose one of: 'mnist', 'fashion-mnist'"),
    ({"eval_samples": 50}, r"eval_samples=50 .*\[100, 10000\] \(or 0: the profile's\)"),
    ({"batch_size": True}, "batch_size=True"),
    ({"seed": "1"}, "seed='1'"),
])
def test_a_wrong_value_is_one_error_naming_the_parameter_and_what_it_accepts(change, named):
    values = {**notebook_parameters(notebook_path("01_mnist_dcgan")), **change}
    with pytest.raises(ParameterError, match=named):
        check_parameters("01_mnist_dcgan", values)


def test_defaults_multiples_and_lists_of_choices():
    values = notebook_parameters(notebook_path("03_mode_collapse"))
    check_parameters("03_mode_collapse", {**values, "mode_samples": 0, "cures": ["pack 2", "WGAN-GP"]})
    with pytest.raises(ParameterError, match="batch_size=30 must be a multiple of 4"):
        check_parameters("03_mode_collapse", {**values, "batch_size": 30})
    with pytest.raises(ParameterError, match="cures='unrolling' is not allowed"):
        check_parameters("03_mode_collapse", {**values, "cures": ["baseline", "unrolling"]})
    with pytest.raises(ParameterError, match="mode_samples=10 "):
        check_parameters("03_mode_collapse", {**values, "mode_samples": 10})
    with pytest.raises(ParameterError, match="does not set"):
        check_parameters("03_mode_collapse", {"seed": 0})
    assert Range(0, 1).describe() == "0 .. 1" and Choice((1, 2)).describe() == "1 | 2"


def test_the_cures_notebook_3_accepts_are_the_package_cures():
    assert NOTEBOOKS["03_mode_collapse"].parameters["cures"].allowed == tuple(CURES)


def test_a_notebooks_budgets_follow_its_profile_and_setup_checks_its_parameters():
    for entry in MANIFEST:
        for name, values in entry.budgets.items():
            assert len(values) == 3, f"{entry.name}.{name}: one value per profile (smoke, quick, full)"
            assert getattr(budget(entry.name, "quick"), name) == values[1]
    assert budget("01_mnist_dcgan", "smoke").steps < budget("01_mnist_dcgan", "full").steps
    values = notebook_parameters(notebook_path("01_mnist_dcgan"))
    env = setup("smoke", "01_mnist_dcgan", values, quiet=True)
    assert env.budget.steps == NOTEBOOKS["01_mnist_dcgan"].budgets["steps"][0] and env.notebook == "01_mnist_dcgan"
    with pytest.raises(ParameterError, match="lr_g=1.0"):
        setup("smoke", "01_mnist_dcgan", {**values, "lr_g": 1.0}, quiet=True)
    with pytest.raises(ParameterError, match="profile"):
        budget("01_mnist_dcgan", "fast")
