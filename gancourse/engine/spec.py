"""A run as a value: :class:`RunSpec` says what to train, on what, for how long and how it is judged.

The CLI, the notebooks, the comparisons and the sweeps all build one and hand it to ``train``. A spec is
the one place a run is checked: each field carries its help text, least value and choices (its
``metadata``), the spec checks itself from them when it is made (a wrong name or value is one line naming
what is allowed), and ``gancourse train`` generates its flags from the same fields
(:mod:`gancourse.cli.train`). A spec names its own run directory (:meth:`RunSpec.run_name`), travels in
``config.json`` (:meth:`RunSpec.to_json`; :mod:`gancourse.engine.config_schema` reads older files) and is
what a resume is checked against (:func:`resume_differences`).
A variant of a run is ``spec.replace(lr_d=4e-4)``: a recipe option goes into the recipe's options.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from ..data import DATASETS
from ..errors import UserError
from ..recipes import RECIPES, recipe_class
from .run_options import checked_recipe_options

MIN_EVAL_SAMPLES = 2  # a covariance (FID) needs two samples at least
MAX_SEED = 2**63 - 1  # torch and NumPy take seeds up to a signed 64-bit integer (with room for offsets)

# What makes two runs the same run: a resume must find the same values there. The budget, the
# evaluation and the cadence of samples and checkpoints may change between the two calls (a larger
# ``steps`` extends a finished run).
IDENTITY = ("dataset", "recipe", "data_options", "recipe_options", "seed", "batch_size", "flip", "limit")


@dataclass(frozen=True)
class Loop:
    """How long ``fit`` trains and how often it logs, samples, checkpoints and evaluates.

    The budget part of a run: ``RunSpec.loop()`` makes one from a spec; a notebook exercise that trains its
    own recipe builds one.
    """

    steps: int = 0
    epochs: float = 0
    time_budget: float = 0.0  # seconds
    batch_size: int = 64
    seed: int = 0
    flip: bool = False
    sample_every: int = 0  # 0: ten grids over a run of known length (every 100 steps, at most one per 5 s, on time)
    checkpoint_every: int = 0  # 0: with every sample grid
    eval_every: int = 0  # 0: once, at the end (when there is an evaluator)
    log_every: int = 10
    n_samples: int = 64

    def __post_init__(self) -> None:
        for name in ("steps", "epochs", "time_budget", "sample_every", "checkpoint_every", "eval_every"):
            value = getattr(self, name)  # a negative would mean 'never' or 'always'
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise UserError(f"{name} must be a number >= 0 (0: the default), got {value!r}")
        if not (self.steps or self.epochs or self.time_budget):
            raise UserError("give a training budget: steps, epochs or time_budget (seconds) above 0 "
                            "(CLI: --steps N, --epochs E or --time-budget SECONDS)")
        if self.batch_size < 1 or self.log_every < 1 or self.n_samples < 1:
            raise UserError(f"batch_size, log_every and n_samples must be >= 1, got {self.batch_size}, "
                            f"{self.log_every}, {self.n_samples}")


class BadValue(UserError):
    """A value a spec field refuses: ``name`` is the field, ``problem`` what is wrong with the value.

    The message reads ``"<name> <problem>"``; the CLI says the same with the flag its user typed.
    """

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name, self.problem = name, problem

    def __reduce__(self) -> tuple:  # pickled back whole (a sweep's worker process sends its errors home)
        return type(self), (self.name, self.problem)


def _knob(default: Any, help: str, *, flag: str | None = None, minimum: float | None = None,
         maximum: float | None = None, why: str = "", choices: tuple[str, ...] | None = None,
         metavar: str | None = None, **more: Any) -> Any:
    """A spec field with what checks it and what ``--help`` says of it, in its ``metadata``.

    ``flag``: the CLI's flag for it (none: the CLI sets it otherwise); ``minimum``/``maximum``: the values
    allowed; ``why``: said with a value below the minimum; ``choices``: the names allowed.
    """
    given = {"help": help, "flag": flag, "minimum": minimum, "maximum": maximum, "why": why, "choices": choices,
             "metavar": metavar, **more}
    metadata = {k: v for k, v in given.items() if v not in (None, "")}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


def plain(value: Any) -> Any:
    """``value`` as config.json holds it (tuples become lists), so that a spec equals its round trip."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class RunSpec:
    """One training run. ``batch_size=None`` and the options left out follow the recipe's defaults."""

    dataset: str = _knob("mnist", "the dataset to train on", flag="--dataset", choices=tuple(sorted(DATASETS)))
    recipe: str = _knob("dcgan", "the GAN recipe", flag="--recipe", choices=tuple(sorted(RECIPES)))
    data_options: dict[str, Any] = _knob({}, "load_dataset's options (size, style, ...): --data-option KEY=VALUE")
    recipe_options: dict[str, Any] = _knob({}, "fields of the recipe's Config (lr_d, ...): --set KEY=VALUE")
    seed: int = _knob(0, "the random seed (weights, noise, data order)", flag="--seed", minimum=0, maximum=MAX_SEED,
                     maximum_text=f"2**63 - 1 = {MAX_SEED}")
    batch_size: int | None = _knob(None, "images per step (default: the recipe's: 64, CycleGAN 1)",
                                  flag="--batch-size", minimum=1)
    flip: bool = _knob(False, "random horizontal flips", flag="--flip")
    limit: int = _knob(0, "use only the first N training images (0: all)", flag="--limit", minimum=0)
    allow_stand_in: bool = _knob(False, "train on a generated stand-in when the real data is missing (offline; "
                                "recorded in the run)", flag="--allow-stand-in")
    steps: int = _knob(0, "number of training steps", flag="--steps", minimum=0)
    epochs: float = _knob(0.0, "or a number of epochs", flag="--epochs", minimum=0)
    time_budget: float = _knob(0.0, "or a wall-clock budget in seconds", flag="--time-budget", minimum=0,
                              metavar="SECONDS")
    evaluate: bool = _knob(True, "skip metrics", flag="--no-eval")
    eval_every: int = _knob(0, "evaluate metrics every N steps (0: once, at the end)", flag="--eval-every", minimum=0)
    eval_samples: int = _knob(2000, "generated (and real) images per evaluation", flag="--eval-samples",
                             minimum=MIN_EVAL_SAMPLES, checked_if="evaluate",
                             why="a covariance needs two; or switch evaluation off: evaluate=False, --no-eval")
    sample_every: int = _knob(0, "save a sample grid every N steps (0: ten grids over the run)", flag="--sample-every",
                             minimum=0)
    checkpoint_every: int = _knob(0, "save a checkpoint every N steps (0: with every sample grid)",
                                 flag="--checkpoint-every", minimum=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_options", plain(dict(self.data_options or {})))
        object.__setattr__(self, "recipe_options", self._checked_recipe_options())
        self._check_dataset()
        for f in dataclasses.fields(self):
            _check_value(f.name, getattr(self, f.name), _TYPES[f.name], f.metadata, self)

    def __hash__(self) -> int:  # the option dicts are not hashable themselves; their JSON text is
        return hash(json.dumps(self.to_json(), sort_keys=True))

    # ---- validation -------------------------------------------------------------------------------
    def _check_dataset(self) -> None:
        if self.dataset not in DATASETS:
            raise UserError(f"unknown dataset {self.dataset!r}; choose one of: {', '.join(sorted(DATASETS))}")
        allowed = DATASETS[self.dataset].options
        unknown = sorted(set(self.data_options) - set(allowed))
        if unknown:
            raise UserError(f"{self.dataset} has no option {', '.join(unknown)}; its options: "
                            f"{', '.join(allowed) or '(none)'}")

    def _checked_recipe_options(self) -> dict[str, Any]:
        """The recipe options checked by the recipe's own Config (names, types, values), in one line."""
        if self.recipe not in RECIPES:
            raise UserError(f"unknown recipe {self.recipe!r}; choose one of: {', '.join(sorted(RECIPES))}")
        options = checked_recipe_options(self.recipe, plain(dict(self.recipe_options or {})))
        for name, value in options.items():  # inf passes "lr_d > 0" checks and diverges at step 1
            if isinstance(value, float) and not math.isfinite(value):
                raise UserError(f"option {name}={value!r} is not valid: {name} takes a finite number")
        try:  # the Config's own checks (loss names, ranges) before anything is loaded or written
            recipe_class(self.recipe).Config(**options)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{self.recipe}: {exc}") from exc
        return options

    def check_budget_given(self) -> None:
        """Refuse a spec that cannot train (no steps, epochs or time budget): its :class:`Loop` checks that."""
        self.loop()

    def loop(self, batch_size: int | None = None) -> Loop:
        """The :class:`Loop` of this spec (``batch_size``: the one resolved for the recipe)."""
        return Loop(steps=self.steps, epochs=self.epochs, time_budget=self.time_budget,
                    batch_size=batch_size or self.batch_size or 64, seed=self.seed, flip=self.flip,
                    sample_every=self.sample_every, checkpoint_every=self.checkpoint_every,
                    eval_every=self.eval_every if self.evaluate else 0)

    # ---- variants ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> RunSpec:
        """A copy with ``changes``: a spec field by name, anything else an option of the (new) recipe.

        ``spec.replace(lr_d=4e-4)`` sets a recipe option; ``spec.replace(recipe="wgan-gp", n_critic=5)``
        changes the recipe and keeps only the options the new recipe has.
        """
        names = {f.name for f in dataclasses.fields(self)}
        fields = {k: v for k, v in changes.items() if k in names}
        options = {k: v for k, v in changes.items() if k not in names}
        recipe = fields.get("recipe", self.recipe)
        kept = dict(fields.get("recipe_options", self.recipe_options))
        if recipe != self.recipe and "recipe_options" not in fields:
            kept = {k: v for k, v in kept.items() if k in _option_names(recipe)}
        return dataclasses.replace(self, **{**fields, "recipe_options": {**kept, **options}})

    # ---- config.json ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The spec as config.json holds it (under ``"spec"``)."""
        return plain(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, value: dict[str, Any] | str) -> RunSpec:
        """The spec back from :meth:`to_json` (a dict, or its JSON text); unknown keys are refused by name."""
        value = json.loads(value) if isinstance(value, str) else value
        if not isinstance(value, dict):
            raise UserError(f"a run spec is a JSON object of its fields, got {type(value).__name__}: {value!r:.60}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise UserError(f"a run spec has no field {', '.join(unknown)}; its fields: {', '.join(sorted(names))}")
        return cls(**value)

    # ---- naming -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What makes this run this run: equal identities resume each other (see ``IDENTITY``)."""
        return {name: plain(getattr(self, name)) for name in IDENTITY}

    def run_name(self, source: str = "real") -> str:
        """A directory name: readable (dataset, recipe, options, seed) and unique (a hash of the identity).

        ``steps`` is not part of it, so a larger budget extends the same run. ``source``: a run on a
        generated stand-in gets its own name, so it never meets the real data's run.
        """
        identity = self.identity()
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
        options = {**self.data_options, **self.recipe_options}
        parts = [f"{k}{_short(v)}" for k, v in sorted(options.items())]
        if self.batch_size is not None:
            parts.append(f"bs{self.batch_size}")
        parts += ["flip"] * self.flip + [f"limit{self.limit}"] * bool(self.limit)
        readable, left = f"{self.dataset}-{self.recipe}", 0
        for part in parts:  # the short ones while they fit; the hash stands for the rest (a list of 40 classes)
            if len(readable) + len(part) < 90:
                readable += f"-{part}"
            else:
                left += 1
        readable += f"-and{left}more" if left else ""
        stand_in = "" if source == "real" else "-standin"
        return re.sub(r"[^A-Za-z0-9._+=-]", "_", f"{readable}{stand_in}-seed{self.seed}-{digest}")


_TYPES = typing.get_type_hints(RunSpec)  # the fields' types, which say how a value is checked


def _check_value(name: str, value: Any, kind: Any, metadata: Any, spec: RunSpec) -> None:
    """Refuse ``value`` for field ``name`` (of type ``kind``) unless its metadata allows it: a :class:`BadValue`."""
    if kind is bool and not isinstance(value, bool):
        raise BadValue(name, f"must be True or False, got {value!r}")
    condition = metadata.get("checked_if")  # eval_samples matters only when the run evaluates
    if "minimum" not in metadata or (condition and not getattr(spec, condition)):
        return
    if value is None and type(None) in typing.get_args(kind):  # None: the recipe's default
        return
    whole = int in (kind, *typing.get_args(kind))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        raise BadValue(name, f"must be a whole number, got {value!r}" if whole else
                       f"must be a finite number, got {value!r}")
    if not math.isfinite(value):
        raise BadValue(name, f"must be a finite number, got {value!r}")
    low, high = metadata["minimum"], metadata.get("maximum", math.inf)
    if "maximum" in metadata and not low <= value <= high:
        raise BadValue(name, f"must be a whole number from {low} to {metadata['maximum_text']}, got {value!r}")
    if value < low:
        why = f" ({metadata['why']})" if "why" in metadata else ""
        raise BadValue(name, f"must be at least {low}{why}, got {value!r}")


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_short(v) for v in value)
    return str(value)


def _option_names(recipe: str) -> set[str]:
    return {f.name for f in dataclasses.fields(recipe_class(recipe).Config)}


def resume_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between a run directory's config.json (``old``) and the run about to resume into it.

    Both are config.json dicts of the current schema (:func:`gancourse.engine.config_schema.migrate`).
    Compared: the spec's identity when both runs have a spec (``fit`` called directly records none),
    then what the loop itself records: recipe, each field of the recipe's config, the data (real or
    stand-in, size, classes), seed, batch size and flips. One line per difference.
    """
    lines = []
    if old.get("spec") and new.get("spec"):
        there, here = RunSpec.from_json(old["spec"]).identity(), RunSpec.from_json(new["spec"]).identity()
        for key in IDENTITY:
            if key in ("recipe_options", "data_options"):
                continue  # compared field by field below (recipe_config) or through the data's description
            if there[key] != here[key]:
                lines.append(f"{key}: there {there[key]!r}, now {here[key]!r}")
        old_data, new_data = there["data_options"], here["data_options"]
        for key in sorted(set(old_data) | set(new_data)):
            if old_data.get(key) != new_data.get(key):
                lines.append(f"data option {key}: there {old_data.get(key)!r}, now {new_data.get(key)!r}")
    if old.get("recipe") != new.get("recipe"):
        lines.append(f"recipe: there {old.get('recipe')!r}, now {new.get('recipe')!r}")
    else:
        old_config, new_config = old.get("recipe_config") or {}, plain(new.get("recipe_config") or {})
        for key in sorted(set(old_config) | set(new_config)):
            if old_config.get(key) != new_config.get(key):
                lines.append(f"{key}: there {old_config.get(key)!r}, now {new_config.get(key)!r}")
    for key in ("data", "seed", "batch_size", "flip"):
        line = f"{key}: there {old.get(key)!r}, now {plain(new.get(key))!r}"
        if old.get(key) != plain(new.get(key)) and line not in lines:
            lines.append(line)
    return lines
