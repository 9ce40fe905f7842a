"""``train``: dataset name + recipe name + budget -> a finished (or resumed) run directory.

The CLI, the notebooks and the sweeps all call this, so a run looks the same whoever started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..checkpoints import load_generator
from ..data import DatasetNotFound, ImageSet, load_dataset
from ..devices import pick_device, seed_everything
from ..errors import UserError
from ..metrics import evaluator_for
from ..metrics.conditional import ConditionalEvaluator
from ..paths import runs_root
from ..recipes import build_recipe, recipe_class
from ..runs import RunDir
from . import distributed
from .divergence import non_finite_parameters
from .memory import check_memory
from .run_options import checked_recipe_options, fill_defaults
from .sampling import GeneratorSampler
from .spec import MIN_EVAL_SAMPLES, RunSpec
from .training import Evaluator, FitResult, Hook, fit


def _recipe_config(recipe: str, data: ImageSet, options: dict[str, Any]) -> Any:
    """The recipe's config for ``data``; a value it refuses (``norm=foo``) becomes a one-line UserError."""
    try:
        return recipe_class(recipe).config_for(data, **checked_recipe_options(recipe, options))
    except UserError:
        raise
    except (ValueError, TypeError) as exc:  # the config's own checks of the user's values
        raise UserError(f"{recipe}: {exc}") from exc


def _loaded(dataset: str, allow_stand_in: bool, limit: int, options: dict[str, Any]) -> ImageSet:
    """The training split; a ValueError of a loader (its check of ``options``: ``size=100``) is a UserError."""
    try:
        return load_dataset(dataset, "train", allow_stand_in=allow_stand_in, limit=limit, **options)
    except UserError:
        raise
    except ValueError as exc:
        raise UserError(f"{dataset}: {exc}") from exc


def _built(recipe: str, config: Any, device: torch.device):
    """The recipe built from ``config``; a combination it refuses (cgan on unlabelled data) is a UserError."""
    try:
        return build_recipe(recipe, config, device)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{recipe}: {exc}") from exc


def make_evaluator(data: ImageSet, n: int = 2000, device: str = "cpu", progress: bool = True,
                   test: ImageSet | None = None, conditional: bool = False):
    """The metric hook for ``data``, or None when no judge can be built for it (no labels, no extractor).

    ``conditional`` (a class-conditional recipe on labelled data with a test split): per-class metrics and
    the diversity alarm (``metrics.conditional``), ``n`` samples spread over the classes.
    """
    try:
        if conditional and data.num_classes and test is not None and test.labels is not None:
            return ConditionalEvaluator(data, test, n_per_class=max(50, n // data.num_classes), device=device,
                                        progress=progress)
        return evaluator_for(data, test=test, n=n, device=device, progress=progress)
    except (ValueError, NotImplementedError) as exc:
        print(f"[gancourse] no metrics for {data.name}: {exc}")
        return None


def matching_test_split(dataset: str, data: ImageSet, data_options: dict[str, Any] | None = None
                        ) -> ImageSet | None:
    """The test split loaded with the same dataset options as ``data`` (e.g. wikiart's style and size), or None.

    Without it an evaluator would load the test split with default options, which may not match.
    """
    try:
        test = load_dataset(dataset, "test", allow_stand_in=data.is_stand_in, **(data_options or {}))
    except (DatasetNotFound, ValueError, TypeError):
        return None
    return test if isinstance(test, ImageSet) and test.source == data.source else None


def train(spec: RunSpec, *, out: str | Path | None = None, hooks: Sequence[Hook] = (),
          evaluator: Evaluator | None = None, progress: bool = True, data: ImageSet | None = None,
          device: str | None = None, check_memory: bool = True) -> FitResult:
    """Train the run ``spec`` describes; the same call again resumes (or extends) it.

    ``out``: the run directory (default: ``runs/<spec.run_name()>``). ``data``: the training data already
    loaded (a notebook shows it first), else loaded as the spec says. ``evaluator``: a metric hook built
    once and shared by several runs (a comparison of variants); by default one is built for the data
    when ``spec.evaluate``. The batch size and options the spec leaves out follow the recipe
    (``run_options.recipe_defaults``: CycleGAN trains at batch size 1, CPU-sized on a CPU); the run's
    config.json records the spec as filled in. ``check_memory``: refuse a configuration whose
    estimated memory (``gancourse.engine.memory``) exceeds what the device has free, before anything is written.
    """
    spec.check_budget_given()
    torch_device = pick_device(device)
    batch_size, data_options, recipe_options = fill_defaults(
        spec.recipe, spec.dataset, torch_device, spec.batch_size, dict(spec.data_options),
        dict(spec.recipe_options), data is not None)
    spec = spec.replace(batch_size=batch_size, data_options=data_options, recipe_options=recipe_options)
    if out:
        _refuse_if_busy(Path(out))  # before loading anything
    if data is None:
        data = _loaded(spec.dataset, spec.allow_stand_in, spec.limit, spec.data_options)
    if not out:
        out = runs_root() / spec.run_name(data.source)
        _refuse_if_busy(out)
    config = _recipe_config(spec.recipe, data, spec.recipe_options)
    if check_memory and not _distributed():  # from the config alone: before the networks or the evaluator exist
        _refuse_what_does_not_fit(spec.recipe, config, batch_size, torch_device)
    if spec.evaluate and evaluator is None:
        evaluator = make_evaluator(data, spec.eval_samples, "cpu", progress,
                                   test=matching_test_split(spec.dataset, data, spec.data_options),
                                   conditional=recipe_class(spec.recipe).conditional)
    elif not spec.evaluate:
        evaluator = None
    seed_everything(spec.seed)  # before building the networks: the seed fixes their initial weights too
    model = _built(spec.recipe, config, torch_device)
    # dataset, data_options and limit stay at the top of config.json too: `gancourse eval/sample` read them
    record = {"dataset": spec.dataset, "data_options": spec.data_options, "limit": spec.limit, "spec": spec.to_json()}
    return fit(model, data, Path(out), spec.loop(batch_size), evaluator=evaluator, hooks=hooks, progress=progress,
               record=record)


def _refuse_what_does_not_fit(recipe: str, config: Any, batch_size: int, device: torch.device) -> None:
    """The memory guard; a combination the recipe refuses (cgan on unlabelled data) is a UserError, as in _built."""
    try:
        check_memory(recipe, config, batch_size, device)
    except UserError:  # NotEnoughMemory: its own line
        raise
    except (ValueError, TypeError) as exc:
        raise UserError(f"{recipe}: {exc}") from exc


def _refuse_if_busy(out: Path) -> None:
    """Another process training into ``out`` is refused here (RunDirectoryBusy), before any work."""
    if not _distributed() and (out / "config.json").is_file():
        with RunDir(out).lock():
            pass


def _distributed() -> bool:
    return distributed.is_distributed()


def load_run_data(run_dir: str | Path) -> ImageSet:
    """The training data of a finished run, loaded as its config recorded it (real or stand-in)."""
    config = RunDir(run_dir).read_config()
    stand_in = config["data"]["source"] != "real"
    return load_dataset(config["dataset"], "train", allow_stand_in=stand_in, limit=config.get("limit", 0),
                        **config.get("data_options", {}))


def evaluate_run(run_dir: str | Path, n: int = 2000, progress: bool = True) -> dict[str, float]:
    """Score a run's exported generator and store the metrics in its ``metrics.json``."""
    run = RunDir(run_dir)
    config = run.read_config()  # NotARunDirectory when it is not one
    if n < MIN_EVAL_SAMPLES:
        raise UserError(f"the number of samples must be at least {MIN_EVAL_SAMPLES}, got {n}")
    if not run.generator_path.is_file():
        raise UserError(f"{run.path} has no exported generator yet ({run.generator_path}); "
                        "finish training first (run the same train command again to resume)")
    generator = load_generator(run.generator_path)
    if non_finite_parameters(generator):
        raise UserError(f"{run.generator_path} holds NaN or infinite weights (a run that diverged); "
                        "train again with a lower learning rate")
    data = load_run_data(run.path)
    evaluator = make_evaluator(data, n, "cpu", progress,
                               test=matching_test_split(config["dataset"], data, config.get("data_options")))
    if evaluator is None:
        raise UserError(f"no metrics are defined for the data of {run.path}")
    metrics = evaluator(GeneratorSampler(generator))
    step = run.read_metrics().get("step") or (run.losses()[-1]["step"] if run.losses() else 0)
    run.write_metrics({"step": step, **metrics})
    return metrics
