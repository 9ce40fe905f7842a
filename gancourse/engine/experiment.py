"""``train``: dataset name + recipe name + budget -> a finished (or resumed) run directory.

The CLI, the notebooks and the sweeps all call this, so a run looks the same whoever started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..data import DatasetNotFound, ImageSet, load_dataset
from ..devices import pick_device, seed_everything
from ..errors import UserError
from ..paths import runs_root
from ..recipes import build_recipe, recipe_class
from ..runs import RunDir
from .run_options import checked_recipe_options, fill_defaults
from .training import Evaluator, FitResult, Hook, check_budget, fit

MIN_EVAL_SAMPLES = 2  # a covariance (FID) needs two samples at least


def default_run_dir(dataset: str, recipe: str, seed: int) -> Path:
    return runs_root() / f"{dataset}-{recipe}-seed{seed}"


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
                   test: ImageSet | None = None):
    """The metric hook for ``data``, or None when no judge can be built for it (no labels, no extractor)."""
    from ..metrics import evaluator_for

    try:
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


def train(dataset: str = "mnist", recipe: str = "dcgan", out: str | Path | None = None, *, steps: int = 0,
          epochs: float = 0, time_budget: float = 0.0, batch_size: int | None = None, seed: int = 0,
          device: str | None = None, allow_stand_in: bool = False, limit: int = 0,
          data_options: dict[str, Any] | None = None, data: ImageSet | None = None, flip: bool = False,
          evaluate: bool = True, eval_every: int = 0, eval_samples: int = 2000, sample_every: int = 0,
          checkpoint_every: int = 0, hooks: Sequence[Hook] = (), progress: bool = True,
          evaluator: Evaluator | None = None, check_memory: bool = True, **recipe_options: Any) -> FitResult:
    """Train ``recipe`` on ``dataset``; the same call again resumes (or extends) the run in ``out``.

    ``recipe_options`` go to the recipe's config (``recipe_class(recipe).Config``), checked by name.
    ``evaluator``: a metric hook built once and shared by several runs (a comparison of variants);
    by default one is built for ``data``.

    ``batch_size`` and the options left out follow the recipe (``run_options.recipe_defaults``: CycleGAN trains at
    batch size 1, CPU-sized on a CPU). ``check_memory``: refuse a configuration whose estimated memory
    (``gancourse.engine.memory``) exceeds what the device has free, before anything is written.
    """
    check_budget(steps=steps, epochs=epochs, time_budget=time_budget, limit=limit, eval_every=eval_every,
                 sample_every=sample_every, checkpoint_every=checkpoint_every)
    if evaluate and evaluator is None and eval_samples < MIN_EVAL_SAMPLES:
        raise UserError(f"eval_samples must be at least {MIN_EVAL_SAMPLES} (a covariance needs two), got "
                        f"{eval_samples}; or switch evaluation off (--no-eval)")
    out = Path(out) if out else default_run_dir(dataset, recipe, seed)
    if not _distributed() and (out / "config.json").is_file():  # a busy run is refused before loading anything
        with RunDir(out).lock():
            pass
    torch_device = pick_device(device)
    batch_size, data_options, recipe_options = fill_defaults(
        recipe, dataset, torch_device, batch_size, dict(data_options or {}), recipe_options, data is not None)
    if batch_size < 1:
        raise UserError(f"batch_size must be at least 1, got {batch_size}")
    if data is None:
        data = _loaded(dataset, allow_stand_in, limit, data_options)
    config = _recipe_config(recipe, data, recipe_options)
    if evaluate and evaluator is None:
        evaluator = make_evaluator(data, eval_samples, "cpu", progress,
                                   test=matching_test_split(dataset, data, data_options))
    elif not evaluate:
        evaluator = None
    seed_everything(seed)  # before building the networks: the seed fixes their initial weights too
    model = _built(recipe, config, torch_device)
    if check_memory and not _distributed():
        from .memory import check_memory as refuse_what_does_not_fit

        refuse_what_does_not_fit(model, data, batch_size)
    return fit(model, data, out, steps=steps, epochs=epochs, time_budget=time_budget, batch_size=batch_size,
               seed=seed, flip=flip, evaluator=evaluator, eval_every=eval_every, sample_every=sample_every,
               checkpoint_every=checkpoint_every, hooks=hooks, progress=progress,
               extra_config={"dataset": dataset, "data_options": data_options, "limit": limit})


def _distributed() -> bool:
    from . import distributed

    return distributed.is_distributed()


def load_run_data(run_dir: str | Path) -> ImageSet:
    """The training data of a finished run, loaded as its config recorded it (real or stand-in)."""
    config = RunDir(run_dir).read_config()
    stand_in = config["data"]["source"] != "real"
    return load_dataset(config["dataset"], "train", allow_stand_in=stand_in, limit=config.get("limit", 0),
                        **config.get("data_options", {}))


def evaluate_run(run_dir: str | Path, n: int = 2000, progress: bool = True) -> dict[str, float]:
    """Score a run's exported generator and store the metrics in its ``metrics.json``."""
    from ..checkpoints import load_generator
    from .sampling import GeneratorSampler

    run = RunDir(run_dir)
    config = run.read_config()  # NotARunDirectory when it is not one
    if n < MIN_EVAL_SAMPLES:
        raise UserError(f"the number of samples must be at least {MIN_EVAL_SAMPLES}, got {n}")
    if not run.generator_path.is_file():
        raise UserError(f"{run.path} has no exported generator yet ({run.generator_path}); "
                        "finish training first (run the same train command again to resume)")
    generator = load_generator(run.generator_path)
    if not all(torch.isfinite(p).all() for p in generator.parameters()):
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
