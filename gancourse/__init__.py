"""gancourse: the package every notebook of the GAN course imports.

Data flows one way: ``data`` (files, download or stand-in) -> ``ImageSet`` (uint8) -> batches on the
device in [-1, 1] -> a recipe's ``step`` -> ``engine`` (``fit``, the one training loop; ``train``, a run
end to end) -> a run directory that ``metrics``, ``viz`` and ``sweeps`` read.

The tree shows the layers:

- core: ``data/``, ``models/``, ``losses``, ``recipes/``, ``metrics/``
- foundation modules everything may use: ``errors``, ``cpu_threads`` (torch-free), ``devices``, ``paths``,
  ``files`` (atomic writes, one writer per folder), ``checkpoints``, ``runs`` (the run directory)
- ``engine/``: training loop, a run end to end, variants, budgets, sampling, restore, distributed
- ``viz/``: plots, widgets, latent walks
- ``course/``: notebook setup, profiles, exercises, the course runner, doctor
- ``lessons/``: one notebook's own helpers per module
- ``sweeps/``, ``cli/``; ``pretrained/``: the generators shipped with the course

The names notebooks use across lessons are importable from here (``from gancourse import RunSpec,
train, load_dataset``); they load on first use, so ``import gancourse`` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import cpu_threads

cpu_threads.prepare_environment()  # OpenMP reads its wait policy once, when torch loads: before any import of it

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # a run
    "load_dataset": "gancourse.data",
    "RunSpec": "gancourse.engine.spec",
    "train": "gancourse.engine.experiment",
    "make_evaluator": "gancourse.engine.experiment",
    "matching_test_split": "gancourse.engine.experiment",
    "fit": "gancourse.engine.training",
    "Loop": "gancourse.engine.spec",
    "run_variants": "gancourse.engine.comparisons",
    "RECIPES": "gancourse.recipes",
    # what a run leaves
    "RunDir": "gancourse.runs",
    "load_generator": "gancourse.checkpoints",
    "load_translators": "gancourse.checkpoints",
    "load_pretrained": "gancourse.pretrained",
    "load_pretrained_translators": "gancourse.pretrained",
    "SHIPPED": "gancourse.pretrained",
    "GeneratorSampler": "gancourse.engine.sampling",
    "evaluator_for": "gancourse.metrics",
    # a notebook's frame
    "setup": "gancourse.course.notebook",
    "record_headline": "gancourse.course.notebook",
    "seed_everything": "gancourse.devices",
    # pictures
    "LiveView": "gancourse.viz.plots",
    "plot_losses": "gancourse.viz.plots",
    "plot_metric": "gancourse.viz.plots",
    "plot_training": "gancourse.viz.plots",
    "sample_strip": "gancourse.viz.plots",
    "show_images": "gancourse.viz.plots",
    "show_sample_file": "gancourse.viz.plots",
    "training_gif": "gancourse.viz.plots",
    # what notebooks 01 and 02 need beyond the above
    "to_unit_range": "gancourse.data",
    "MinimaxLoss": "gancourse.losses",
    "NonSaturatingLoss": "gancourse.losses",
    "fid_from_features": "gancourse.metrics",
    "kid_from_features": "gancourse.metrics",
    "precision_recall": "gancourse.metrics",
    "feature_evaluator": "gancourse.metrics",
    "inception_status": "gancourse.metrics.inception",
    "inception_fid_of_generator": "gancourse.metrics.inception",
    "checkerboard_energy": "gancourse.metrics.artifacts",
    "sample_generator": "gancourse.engine.sampling",
    "beside_reference": "gancourse.course.exercises.compare",
    "generators_of_run": "gancourse.ema",
    "normalise_policy": "gancourse.recipes.augment",
    "DiffAugment": "gancourse.recipes.augment",
    "Generator": "gancourse.models",
    "Discriminator": "gancourse.models",
    "interpolation_strip": "gancourse.viz.latent",
    "LatentExplorer": "gancourse.viz.widgets",
    "SampleScrubber": "gancourse.viz.widgets",
    # what notebooks 03, 04 and 07 need beyond the above
    "DCGAN": "gancourse.recipes",
    "critic_gradient_norms": "gancourse.recipes.wgan",
    "equal_time_steps": "gancourse.engine.budget",
    "measure_step_rate": "gancourse.engine.budget",
    "restore_recipe": "gancourse.engine.restore",
    "plot_variants": "gancourse.engine.comparisons",
    "variants_table": "gancourse.engine.comparisons",
    "kl_from_uniform": "gancourse.metrics.scores",
    "mode_histogram": "gancourse.metrics.scores",
    "loss_tracking": "gancourse.metrics.tracking",
    "stacked_mnist_evaluator": "gancourse.metrics.stacked",
    "ParameterError": "gancourse.course.profiles",
    # what notebooks 05 and 06 need beyond the above
    "BatchStream": "gancourse.data",
    "download_command": "gancourse.data",
    "check_categories": "gancourse.data.quickdraw",
    "parse_categories": "gancourse.data.quickdraw",
    "check_range": "gancourse.course.profiles",
    "CGAN": "gancourse.recipes",
    "ConditionalEvaluator": "gancourse.metrics.conditional",
    "CycleGAN": "gancourse.recipes.cyclegan",
    "UnpairedSet": "gancourse.data.unpaired",
    "every_kth": "gancourse.data.curation",
    "plot_ranked_strip": "gancourse.data.curation",
    "rank_by_vibrancy": "gancourse.data.curation",
    "translation_evaluator": "gancourse.metrics.translation",
    "inception_fid": "gancourse.metrics.inception",
    "inception_weights": "gancourse.metrics.inception",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gancourse' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
