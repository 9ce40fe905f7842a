"""The catalogue of exercises: every checker passes its reference, says NOT YET on a placeholder, is called
from its notebook, and after a FAIL names how to see the reference (show_solution)."""

import inspect
import json
from pathlib import Path

import pytest
import torch.nn.functional as F

from gancourse.cli import main
from gancourse.course import exercises
from gancourse.course.exercises import catalog, solutions
from gancourse.course.notebooks import COURSE
from gancourse.losses import NonSaturatingLoss, gradient_penalty
from gancourse.metrics import fid_from_features, kl_from_uniform
from gancourse.models.dcgan import MinibatchStdDev
from gancourse.recipes.cyclegan import ImagePool

from ..helpers import verdict


def test_every_exercise_passes_its_reference_solution(capsys):
    results = exercises.check_references()
    assert results and all(results.values()), results
    assert len(results) >= 14
    assert {name.split()[0] for name in results} == {"01", "02", "03", "04", "05", "06", "07"}


def test_cli_lists_and_checks_the_references(capsys):
    assert main(["exercises"]) == 0
    listing = verdict(capsys)
    assert "check_gan_step" in listing and "show_solution" in listing
    for exercise in exercises.EXERCISES:  # each line names the checker and the name show_solution takes
        assert any(line.split()[-2:] == [exercise.checker.__name__, exercise.name] for line in listing.splitlines())
    assert main(["exercises", "--check-reference", "--notebook", "07"]) == 0
    assert "1 of 1 reference solutions pass" in verdict(capsys)
    assert main(["exercises", "--notebook", "8"]) == 2
    assert "--notebook must be one of" in capsys.readouterr().err


def test_package_implementations_pass_too(capsys):
    assert exercises.check_generator_loss(NonSaturatingLoss().generator)
    assert exercises.check_discriminator_loss(NonSaturatingLoss().discriminator)
    assert exercises.check_gradient_penalty(gradient_penalty)
    assert exercises.check_kl_from_uniform(kl_from_uniform)
    assert exercises.check_fid(fid_from_features)
    assert exercises.check_minibatch_std(MinibatchStdDev)
    assert exercises.check_image_pool(ImagePool)
    assert verdict(capsys).count("PASS") == 7


def test_placeholders_say_not_attempted_and_crashes_fail_politely(capsys):
    def todo(*args):
        raise NotImplementedError

    class TodoStep(exercises.GANExercise):
        def step(self, batch):
            raise NotImplementedError

    for checker in [c.checker for c in exercises.EXERCISES]:
        assert not checker(todo)
    assert not exercises.check_gan_step(TodoStep)
    out = verdict(capsys)
    assert out.count("NOT YET") == len(exercises.EXERCISES) + 1 and "FAIL" not in out and "Traceback" not in out
    assert not exercises.check_fid(lambda a, b: 1 / 0)
    assert "ZeroDivisionError" in verdict(capsys)


def test_every_checker_is_called_from_its_notebook_on_a_placeholder():
    """The committed notebooks keep the stubs (students write them) and call each catalog checker."""
    notebooks = {p.name[:2]: p for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb")}
    for exercise in exercises.EXERCISES:
        cells = json.loads(notebooks[exercise.notebook].read_text())["cells"]
        call = f"{exercise.checker.__name__}("
        calls = [c for c in cells if c["cell_type"] == "code" and call in "".join(c["source"])]
        assert calls, f"notebook {exercise.notebook} never calls {exercise.checker.__name__}"
        assert all("raise NotImplementedError" in "".join(c["source"]) for c in calls), exercise.title


def test_the_catalog_is_the_manifests_exercises_in_the_order_of_the_notebooks():
    listed = [(entry.number, task.title, task.checker, task.solution) for entry in COURSE for task in entry.exercises]
    assert [(e.notebook, e.title, e.checker.__name__, e.name) for e in exercises.EXERCISES] == listed
    with pytest.raises(LookupError, match="'check_typo' that no exercises module defines"):
        catalog._checker("check_typo")


def test_the_catalog_is_one_list_with_unique_names_that_are_the_solutions():
    names = [e.name for e in exercises.EXERCISES]
    assert len(names) == len(set(names))
    assert all(callable(getattr(solutions, name)) for name in names)
    assert len({e.checker for e in exercises.EXERCISES}) == len(names)
    retired = {"check_label_input", "check_cycle_loss"}  # replaced in 05 and 06 by the projection head, LSGAN, RF
    assert not retired & {e.checker.__name__ for e in exercises.EXERCISES}
    for checker in ("check_kid", "check_fid", "check_r1_penalty", "check_projection_logits",
                    "check_lsgan_discriminator_loss", "check_receptive_field"):
        assert checker in exercises.__all__ and checker in {e.checker.__name__ for e in exercises.EXERCISES}


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=[e.name for e in exercises.EXERCISES])
def test_show_solution_prints_the_reference_source_with_a_header(capsys, exercise):
    exercises.show_solution(exercise.name)
    out = verdict(capsys)
    first, rest = out.split("\n", 1)
    assert first.startswith(f"# The reference solution of notebook {exercise.notebook}'s exercise")
    assert exercise.title in first and f"solutions.{exercise.name}" in first
    assert inspect.getsource(exercise.reference()).strip() in rest


def test_show_solution_shows_what_a_reference_leans_on(capsys):
    exercises.show_solution("GAN")  # its step calls the scaffold's plain_gan_step: the student needs that code
    out = verdict(capsys)
    assert "def plain_gan_step" in out and "loss_d.backward()" in out
    exercises.show_solution("Pool")  # the package's ImagePool is the answer
    out = verdict(capsys)
    assert "class ImagePool" in out and "def query" in out


def test_show_solution_of_an_unknown_name_lists_the_names(capsys):
    exercises.show_solution("generator-loss")
    out = verdict(capsys)
    assert "No exercise is called 'generator-loss'" in out and "Traceback" not in out
    assert all(f'"{e.name}"' in out for e in exercises.EXERCISES)


def test_every_fail_says_how_to_see_the_reference_and_pass_or_not_yet_do_not(capsys):
    def broken(*args, **kwargs):
        raise ValueError("a bug in the student's code")

    def todo(*args, **kwargs):
        raise NotImplementedError

    for exercise in exercises.EXERCISES:
        assert not exercise.checker(broken)
        out = verdict(capsys)
        assert out.startswith("FAIL") and "ValueError" in out, out
        assert out.rstrip().endswith(f'stuck? show_solution("{exercise.name}") prints the reference'), out
        assert not exercise.checker(todo)
        assert "show_solution" not in verdict(capsys)
        assert exercise.checker(exercise.reference())
        assert "show_solution" not in verdict(capsys)


def test_a_named_mistake_also_points_at_the_reference(capsys):
    assert not exercises.check_generator_loss(lambda f: -F.softplus(f).mean())
    line = verdict(capsys).strip()
    assert "minimax" in line and line.endswith('stuck? show_solution("generator_loss") prints the reference')
