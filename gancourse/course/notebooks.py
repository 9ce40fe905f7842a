"""The course's notebooks, one manifest entry each: the one place that says what a notebook needs and allows.

A :class:`Notebook` holds its file, title, the datasets it reads, its lesson modules, its parameters and their
allowed values, its budgets per profile, its checked exercises, the memory of its largest full-profile run
and its README line. Profiles (``budget``, ``check_parameters``), ``gancourse doctor``, the exercises
catalogue, the course runner and the README's tables read it (a test compares the README's rows with
:func:`readme_rows`). Adding a notebook is one entry here and its .ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.memory import MemoryEstimate, estimate
from ..recipes import recipe_class
from .parameters import FLAG, LEARNING_RATE, SEED, STEPS, Choice, Range


@dataclass(frozen=True)
class Task:
    """A checked exercise: ``checker`` is its checker's name in ``gancourse.course.exercises``, ``solution``
    its reference's name in ``.solutions`` (what ``show_solution`` takes)."""

    title: str
    checker: str
    solution: str


@dataclass(frozen=True)
class LargestRun:
    """A notebook's largest training in the full profile (what config.json records of it), for the memory guard."""

    recipe: str
    batch_size: int
    config: dict[str, Any] = field(default_factory=dict)  # the recipe config's fields that are not defaults

    def estimate(self) -> MemoryEstimate:
        return estimate(self.recipe, recipe_class(self.recipe).Config(**self.config), self.batch_size)


@dataclass(frozen=True)
class Times:
    """The README's time line: the quick profile on 2 CPU cores, the full one on a T4 (estimated, measured)."""

    quick_cpu: str
    full_t4_estimate: str
    full_gpu_measured: str = "not measured"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the course (``numbered``) or a notebook a sweep runs (``sweep_targets/...``)."""

    file: str  # relative to notebooks/
    title: str
    datasets: tuple[tuple[str, dict[str, Any]], ...] = ()  # (name, load options) it reads; doctor checks them
    lessons: tuple[str, ...] = ()  # its modules in gancourse.lessons
    # its parameters cell's allowed values; a free-text parameter (a style, a category list) is checked where used
    parameters: dict[str, Range | Choice] = field(default_factory=dict)
    budgets: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)  # (smoke, quick, full): env.budget.<name>
    exercises: tuple[Task, ...] = ()
    largest_full_run: LargestRun | None = None
    builds: str = ""  # the README's "you build"
    measures: str = ""  # the README's "you measure"
    times: Times | None = None

    @property
    def name(self) -> str:
        """``01_mnist_dcgan``: what ``setup`` and the run folders call it."""
        return self.file.rsplit("/", 1)[-1].removesuffix(".ipynb")

    @property
    def number(self) -> str:
        """``01``; empty for a sweep target."""
        return self.name[:2] if self.numbered else ""

    @property
    def numbered(self) -> bool:
        return self.name[:2].isdigit() and "/" not in self.file


DCGAN_NORMS = Choice(("batch", "spectral", "none"))
CURES = Choice(("baseline", "minibatch std", "pack 2", "pack 4", "spectral norm D", "layer norm D", "WGAN-GP",
                "D width 16", "D width 32"), each=True)  # lessons.mode_collapse.CURES (tested)
# quick leaves out pack 4 and D width 16, which repeat the lessons of pack 2 and D width 32, to fit in 5 minutes
QUICK_CURES = tuple(cure for cure in CURES.allowed if cure not in ("pack 4", "D width 16"))

MANIFEST: tuple[Notebook, ...] = (
    Notebook(
        "01_mnist_dcgan.ipynb", "MNIST DCGAN", datasets=(("mnist", {}),),
        parameters={
            "dataset": Choice(("mnist", "fashion-mnist")), "seed": SEED, "steps": STEPS,
            "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "beta1": Range(0.0, 0.99), "batch_size": Range(8, 1024),
            "d_norm": DCGAN_NORMS, "eval_every": Range(0, 1_000_000), "eval_samples": Range(100, 10_000, default=0),
            "compare": FLAG,
        },
        budgets={"steps": (250, 3000, 12000), "evaluations": (2, 6, 12), "eval_samples": (500, 2000, 5000),
                 "ema_steps": (250, 1500, 12000)},
        exercises=(Task("non-saturating generator loss", "check_generator_loss", "generator_loss"),
                   Task("discriminator BCE loss", "check_discriminator_loss", "discriminator_loss"),
                   Task("generator for 28 px", "check_generator_module", "Generator28"),
                   Task("discriminator for 28 px", "check_discriminator_module", "Discriminator28"),
                   Task("GAN training step", "check_gan_step", "GAN"),
                   Task("FID from features", "check_fid", "fid"),
                   Task("KID from features", "check_kid", "kid")),
        largest_full_run=LargestRun("dcgan", 64, {"lr_g": 5e-4, "lr_d": 5e-4, "ema": 5000.0}),
        builds="the smallest DCGAN that works", measures="FID over training vs the real floor",
        times=Times("1 min 35 s (measured); 5 min with compare (measured)", "a few min"),
    ),
    Notebook(
        "02_wikiart_dcgan.ipynb", "WikiArt DCGAN", datasets=(("wikiart", {"style": "Impressionism"}),),
        lessons=("overfitting",),
        parameters={
            "image_size": Choice((64, 128, 256)), "d_norm": DCGAN_NORMS, "flip": FLAG, "compare": FLAG,
            "compare_size": Choice((32, 64)), "steps": STEPS, "batch_size": Range(8, 256), "width": Range(0, 128),
            "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "dropout": Range(0.0, 0.7),
            "label_smoothing": Range(0.0, 0.3), "d_gate": Range(1.0, 5.0, default=0), "r1": Range(0.0, 100.0),
            "ema": Range(0.0, 10_000_000.0), "seed": SEED, "upsample": Choice(("transposed", "nearest", "bilinear")),
        },
        budgets={  # steps, width: the parameters' 0; smoke compares at image_size to reuse its feature network
            "steps": (20, 800, 6000), "width": (16, 32, 64), "max_batch_size": (16, 256, 256),
            "eval_every": (10, 200, 1000), "eval_samples": (200, 2000, 5000), "feature_steps": (20, 300, 300),
            "compare_steps": (4, 300, 2000), "compare_at_image_size": (True, False, False),
            "min_compare_size": (0, 0, 64), "cure_steps": (10, 500, 3000), "monitor_every": (10, 50, 200),
        },
        exercises=(Task("random translation (DiffAugment)", "check_augment", "translate"),
                   Task("nearest training image", "check_nearest_neighbours", "nearest_neighbours"),
                   Task("R1 penalty", "check_r1_penalty", "r1_penalty")),
        largest_full_run=LargestRun("dcgan", 32, {"image_size": 64, "channels": 3, "nz": 100, "g_width": 64,
                                                  "d_width": 64, "d_norm": "spectral"}),
        builds="colour paintings at 64–256 px, balancing G and D", measures="FID/KID in a paintings feature space",
        times=Times("2 min 26 s (measured); 9 min 40 s with compare (measured)", "about 30 min"),
    ),
    Notebook(
        "03_mode_collapse.ipynb", "Mode collapse", datasets=(("mnist", {}), ("stacked-mnist", {})),
        lessons=("toys", "mode_collapse"),
        parameters={
            "seed": SEED, "steps": STEPS, "mnist_steps": STEPS, "toy_steps": STEPS,
            "batch_size": Range(16, 512, default=0, multiple_of=4, why=" (pack 4 splits a batch into fours)"),
            "mode_samples": Range(500, 100_000, default=0), "cures": CURES,
        },
        budgets={  # steps, batch_size: stacked MNIST per variant; cures: smoke trains three, quick seven
            "steps": (20, 1000, 6000), "batch_size": (64, 32, 64), "mnist_steps": (30, 1500, 4000),
            "toy_steps": (200, 2000, 4000), "mode_samples": (1000, 5000, 26_000), "feature_samples": (300, 2000, 5000),
            "evaluations": (2, 6, 12),
            "cures": (("baseline", "pack 2", "WGAN-GP"), QUICK_CURES, CURES.allowed),
        },
        exercises=(Task("KL divergence from uniform", "check_kl_from_uniform", "kl_from_uniform"),
                   Task("minibatch standard deviation", "check_minibatch_std", "MinibatchStd")),
        largest_full_run=LargestRun("wgan-gp", 64, {"channels": 3, "d_width": 8, "lr_g": 1e-3, "lr_d": 2e-4,
                                                    "n_critic": 2, "track_grad_norm": False}),
        builds="collapse on purpose, then cures", measures="modes covered, KL, precision/recall",
        times=Times("4 min 14 s (measured)", "about 15 min"),
    ),
    Notebook(
        "04_wgan_gp.ipynb", "WGAN and WGAN-GP", datasets=(("mnist", {}),), lessons=("critic_plots",),
        parameters={
            "dataset": Choice(("mnist", "fashion-mnist", "wikiart")), "budget_s": Range(0, 24 * 3600),
            "batch_size": Range(16, 256, default=0), "n_critic": Range(1, 10), "gp_weight": Range(0.1, 100),
            "clip": Range(0.0, 0.1), "evaluations": Range(0, 50), "seed": SEED,
        },
        budgets={  # budget_s: compute seconds per recipe; probe_s: seconds of steps timed to turn them into steps
            # batch_size 32 on a CPU: 1.6x the generator steps per second, past the ~200 a critic needs to track FID
            "budget_s": (5, 75, 900), "batch_size": (32, 32, 64), "evaluations": (2, 8, 12),
            "eval_samples": (500, 2000, 5000), "probe_s": (0, 2, 5),
        },
        exercises=(Task("gradient penalty", "check_gradient_penalty", "gradient_penalty"),
                   Task("WGAN-GP training step", "check_critic_step", "WGANGP")),
        largest_full_run=LargestRun("wgan-gp", 64),
        builds="a critic, clipping vs gradient penalty", measures="critic estimate vs FID correlation",
        times=Times("4 min 19 s (measured)", "about 50 min"),
    ),
    Notebook(
        "05_quickdraw_cgan.ipynb", "Quick Draw cGAN", datasets=(("quickdraw", {"categories": "COURSE"}),),
        lessons=("class_grids", "class_picker"),
        parameters={
            "max_per_class": Range(-1, 10_000_000), "seed": SEED, "steps": STEPS, "batch_size": Range(16, 512),
            "lr_g": LEARNING_RATE, "lr_d": LEARNING_RATE, "aux_weight": Range(0.0, 10.0),
            "frame_every": Range(0, 1_000_000), "eval_per_class": Range(0, 10_000),
        },
        budgets={  # steps, max_per_class, frame_every, eval_per_class: the parameters' 0 (or -1)
            "steps": (150, 1000, 10000), "max_per_class": (1000, 5000, 0), "frame_every": (50, 250, 500),
            "eval_per_class": (50, 300, 1000), "evaluations": (1, 4, 10),
        },
        exercises=(Task("per-class conditional accuracy", "check_per_class_accuracy", "per_class_accuracy"),
                   Task("projection discriminator's logits", "check_projection_logits", "projection_logits")),
        largest_full_run=LargestRun("cgan", 64, {"n_classes": 10}),
        builds="a conditional GAN on data larger than memory", measures="conditional accuracy per class",
        times=Times("66 s (measured)", "a few min"),
    ),
    Notebook(
        "06_monet_cyclegan.ipynb", "Monet ↔ photo CycleGAN", datasets=(("monet2photo", {}),),
        lessons=("cyclegan_presets", "translation_picker"),
        parameters={
            "generator": Choice(("resnet", "unet")), "steps": STEPS, "lambda_cycle": Range(0, 100, default=-1),
            "lambda_identity": Range(0, 1, default=-1), "curate_every": Choice((0, *range(2, 11))), "baseline": FLAG,
            "optimizer": Choice(("adam", "rmsprop")), "lr": LEARNING_RATE, "residual": Choice(("profile", True, False)),
            "seed": SEED,
        },
        budgets={"baseline_steps": (10, 1500, 5000)},  # the simple GAN of section 7; the CycleGAN's: its presets
        exercises=(Task("least-squares discriminator loss", "check_lsgan_discriminator_loss",
                        "lsgan_discriminator_loss"),
                   Task("receptive field of a PatchGAN", "check_receptive_field", "receptive_field"),
                   Task("CycleGAN generator loss", "check_cyclegan_generator_loss", "cyclegan_generator_loss"),
                   Task("image pool", "check_image_pool", "Pool")),
        largest_full_run=LargestRun("cyclegan", 1, {"domain_a": "monet", "domain_b": "photo",
                                                    "constant_steps": 5000, "decay_steps": 5000}),
        builds="unpaired translation", measures="FID of translated photos",
        times=Times("4 min 35 s (measured); 10 min 22 s with baseline (measured)", "20–30 min"),
    ),
    Notebook(
        "07_hyperparameter_sweeps.ipynb", "Hyperparameter sweeps", datasets=(("fashion-mnist", {}),),
        parameters={"jobs": Range(0, 64), "replicates": Range(2, 10, default=0)},
        budgets={"replicates": (2, 3, 3)},  # seeds per setting in section 6: the parameter's 0
        exercises=(Task("Spearman rank correlation", "check_spearman", "spearman"),),
        # trains through its sweep target: the widest generator of its grids
        largest_full_run=LargestRun("dcgan", 64, {"g_width": 128, "d_width": 64, "dropout": 0.5}),
        builds="a papermill grid scored by metrics", measures="metric ranking vs eye scores",
        times=Times("4 min 1 s (measured)", "5–10 min"),
    ),
    Notebook(  # notebook 07's sweep target: one run per combination
        "sweep_targets/fashion_dcgan.ipynb", "Fashion-MNIST DCGAN (a sweep target)",
        datasets=(("fashion-mnist", {}),),
        parameters={
            "dropout": Range(0.0, 0.9),
            "width": Range(16, 1024, multiple_of=2, why=": G's first layer has width = 2 x g_width channels"),
            "d_width": Range(8, 512), "lr": Range(1e-6, 1e-2), "beta1": Range(0.0, 0.99), "seed": Range(0, 2**31),
            "steps": Range(0, 10**7),
        },
        budgets={"steps": (10, 400, 5000), "batch_size": (64, 32, 64), "sample_every": (5, 40, 500),
                 "eval_samples": (500, 2000, 5000)},
    ),
)

NOTEBOOKS: dict[str, Notebook] = {notebook.name: notebook for notebook in MANIFEST}
COURSE: tuple[Notebook, ...] = tuple(notebook for notebook in MANIFEST if notebook.numbered)  # in order


def notebook(name: str) -> Notebook:
    """The manifest entry of ``name`` (``01_mnist_dcgan``); an unknown name says which there are."""
    if name not in NOTEBOOKS:
        raise KeyError(f"no notebook {name!r} in the manifest (gancourse/course/notebooks.py); "
                       f"there are: {', '.join(NOTEBOOKS)}")
    return NOTEBOOKS[name]


def readme_rows(repository: str) -> list[str]:
    """The README's notebook table (header and rows): title, Colab badge, what you build and measure."""
    colab = "https://colab.research.google.com/github/" + repository.removeprefix("https://github.com/")
    badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    rows = ["| # | notebook | open | you build | you measure |", "|---|---|---|---|---|"]
    rows += [f"| {nb.number} | [{nb.title}](notebooks/{nb.file}) | {badge}({colab}/blob/main/notebooks/{nb.file}) | "
             f"{nb.builds} | {nb.measures} |" for nb in COURSE]
    return rows


def readme_time_rows() -> list[str]:
    """The README's table of times per notebook (header and rows)."""
    rows = ["| notebook | quick, 2 CPU cores | full, T4 GPU (estimated) | full, measured on a GPU |",
            "|---|---|---|---|"]
    rows += [f"| {nb.number} | {nb.times.quick_cpu} | {nb.times.full_t4_estimate} | {nb.times.full_gpu_measured} |"
             for nb in COURSE if nb.times]
    return rows
