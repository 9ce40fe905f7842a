"""``train``: dataset name + recipe name + budget -> a finished (or resumed) run directory.

The CLI, the notebooks and the sweeps all call this, so a run looks the same whoever started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import DatasetNotFound, ImageSet, load_dataset
from .devices import pick_device, seed_everything
from .paths import runs_root
from .recipes import build_recipe, recipe_class
from .training import Evaluator, FitResult, Hook, fit


def default_run_dir(dataset: str, recipe: str, seed: int) -> Path:
    return runs_root() / f"{dataset}-{recipe}-seed{seed}"


def make_evaluator(data: ImageSet, n: int = 2000, device: str = "cpu", progress: bool = True,
                   test: ImageSet | None = None, conditional: bool = False):
    """The metric hook for ``data``, or None when no judge can be built for it (no labels, no extractor).

    ``conditional`` (a class-conditional recipe on labelled data with a test split): per-class metrics and
    the diversity alarm (``metrics.conditional``), ``n`` samples spread over the classes.
    """
    from .metrics import evaluator_for

    try:
        if conditional and data.num_classes and test is not None and test.labels is not None:
            from .metrics.conditional import ConditionalEvaluator

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


def train(dataset: str = "mnist", recipe: str = "dcgan", out: str | Path | None = None, *, steps: int = 0,
          epochs: float = 0, time_budget: float = 0.0, batch_size: int = 64, seed: int = 0,
          device: str | None = None, allow_stand_in: bool = False, limit: int = 0,
          data_options: dict[str, Any] | None = None, data: ImageSet | None = None, flip: bool = False,
          evaluate: bool = True, eval_every: int = 0, eval_samples: int = 2000, sample_every: int = 0,
          checkpoint_every: int = 0, hooks: Sequence[Hook] = (), progress: bool = True,
          evaluator: Evaluator | None = None, **recipe_options: Any) -> FitResult:
    """Train ``recipe`` on ``dataset``; the same call again resumes (or extends) the run in ``out``.

    ``recipe_options`` go to the recipe's config (``recipe_class(recipe).Config``), checked by name.
    ``evaluator``: a metric hook built once and shared by several runs (a comparison of variants);
    by default one is built for ``data``.
    """
    torch_device = pick_device(device)
    if data is None:
        data = load_dataset(dataset, "train", allow_stand_in=allow_stand_in, limit=limit, **(data_options or {}))
    cls = recipe_class(recipe)
    config = cls.config_for(data, **recipe_options)
    if evaluate and evaluator is None:
        evaluator = make_evaluator(data, eval_samples, "cpu", progress,
                                   test=matching_test_split(dataset, data, data_options), conditional=cls.conditional)
    elif not evaluate:
        evaluator = None
    seed_everything(seed)  # before building the networks: the seed fixes their initial weights too
    model = build_recipe(recipe, config, torch_device)
    out = Path(out) if out else default_run_dir(dataset, recipe, seed)
    return fit(model, data, out, steps=steps, epochs=epochs, time_budget=time_budget, batch_size=batch_size,
               seed=seed, flip=flip, evaluator=evaluator, eval_every=eval_every, sample_every=sample_every,
               checkpoint_every=checkpoint_every, hooks=hooks, progress=progress,
               extra_config={"dataset": dataset, "data_options": data_options or {}, "limit": limit})


def load_run_data(run_dir: str | Path) -> ImageSet:
    """The training data of a finished run, loaded as its config recorded it (real or stand-in)."""
    from .runs import RunDir

    config = RunDir(run_dir).read_config()
    stand_in = config["data"]["source"] != "real"
    return load_dataset(config["dataset"], "train", allow_stand_in=stand_in, limit=config.get("limit", 0),
                        **config.get("data_options", {}))


def evaluate_run(run_dir: str | Path, n: int = 2000, progress: bool = True) -> dict[str, float]:
    """Score a run's exported generator and store the metrics in its ``metrics.json``."""
    from .checkpoints import load_generator
    from .runs import RunDir
    from .sampling import GeneratorSampler

    run = RunDir(run_dir)
    if not run.generator_path.is_file():
        raise FileNotFoundError(f"{run.path} has no exported generator yet ({run.generator_path}); "
                                "finish training first (run the same train command again to resume)")
    data = load_run_data(run.path)
    config = run.read_config()
    evaluator = make_evaluator(data, n, "cpu", progress,
                               test=matching_test_split(config["dataset"], data, config.get("data_options")))
    if evaluator is None:
        raise ValueError(f"no metrics are defined for the data of {run.path}")
    metrics = evaluator(GeneratorSampler(load_generator(run.generator_path)))
    step = run.read_metrics().get("step") or (run.losses()[-1]["step"] if run.losses() else 0)
    run.write_metrics({"step": step, **metrics})
    return metrics
