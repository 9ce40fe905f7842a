"""A run as a value: :class:`RunSpec` says what to train, on what, for how long and how it is judged.

The CLI, the notebooks, the comparisons and the sweeps all build one and hand it to ``train``. A spec
checks itself when it is made (a wrong name or value is one line naming what is allowed), names its own
run directory (:meth:`RunSpec.run_name`), travels in ``config.json`` (:meth:`RunSpec.to_json`,
:meth:`RunSpec.from_config`) and is what a resume is checked against (:func:`resume_differences`).
A variant of a run is ``spec.replace(lr_d=4e-4)``: a recipe option goes into the recipe's options.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError

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
    sample_every: int = 0  # 0: ten grids over the run
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


def _plain(value: Any) -> Any:
    """``value`` as config.json holds it (tuples become lists), so that a spec equals its round trip."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class RunSpec:
    """One training run. ``batch_size=None`` and the options left out follow the recipe's defaults."""

    dataset: str = "mnist"
    recipe: str = "dcgan"
    data_options: dict[str, Any] = field(default_factory=dict)  # load_dataset's options (size, style, ...)
    recipe_options: dict[str, Any] = field(default_factory=dict)  # fields of the recipe's Config (lr_d, ...)
    seed: int = 0
    batch_size: int | None = None
    flip: bool = False
    limit: int = 0  # only the first N training images (0: all)
    allow_stand_in: bool = False  # a generated stand-in when the real data is missing (recorded in the run)
    steps: int = 0
    epochs: float = 0
    time_budget: float = 0.0  # seconds
    evaluate: bool = True
    eval_every: int = 0  # 0: once, at the end
    eval_samples: int = 2000
    sample_every: int = 0  # 0: ten grids over the run
    checkpoint_every: int = 0  # 0: with every sample grid

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_options", _plain(dict(self.data_options or {})))
        object.__setattr__(self, "recipe_options", self._checked_recipe_options())
        self._check_dataset()
        self._check_numbers()

    def __hash__(self) -> int:  # the option dicts are not hashable themselves; their JSON text is
        return hash(json.dumps(self.to_json(), sort_keys=True))

    # ---- validation -------------------------------------------------------------------------------
    def _check_dataset(self) -> None:
        from ..data import DATASETS

        if self.dataset not in DATASETS:
            raise UserError(f"unknown dataset {self.dataset!r}; choose one of: {', '.join(sorted(DATASETS))}")
        allowed = DATASETS[self.dataset].options
        unknown = sorted(set(self.data_options) - set(allowed))
        if unknown:
            raise UserError(f"{self.dataset} has no option {', '.join(unknown)}; its options: "
                            f"{', '.join(allowed) or '(none)'}")

    def _checked_recipe_options(self) -> dict[str, Any]:
        """The recipe options checked by the recipe's own Config (names, types, values), in one line."""
        from ..recipes import RECIPES, recipe_class
        from .run_options import checked_recipe_options

        if self.recipe not in RECIPES:
            raise UserError(f"unknown recipe {self.recipe!r}; choose one of: {', '.join(sorted(RECIPES))}")
        options = checked_recipe_options(self.recipe, _plain(dict(self.recipe_options or {})))
        for name, value in options.items():  # inf passes "lr_d > 0" checks and diverges at step 1
            if isinstance(value, float) and not math.isfinite(value):
                raise UserError(f"option {name}={value!r} is not valid: {name} takes a finite number")
        try:  # the Config's own checks (loss names, ranges) before anything is loaded or written
            recipe_class(self.recipe).Config(**options)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{self.recipe}: {exc}") from exc
        return options

    def _check_numbers(self) -> None:
        for name in ("seed", "limit", "steps", "eval_every", "sample_every", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserError(f"{name} must be a whole number >= 0, got {value!r}")
        for name in ("epochs", "time_budget"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise UserError(f"{name} must be a finite number >= 0 (0: not used), got {value!r}")
        if self.seed > MAX_SEED:
            raise UserError(f"seed must be at most 2**63 - 1 = {MAX_SEED}, got {self.seed}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                                            or self.batch_size < 1):
            raise UserError(f"batch_size must be a whole number >= 1 (or None: the recipe's), got {self.batch_size!r}")
        for name in ("flip", "allow_stand_in", "evaluate"):
            if not isinstance(getattr(self, name), bool):
                raise UserError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.evaluate and (not isinstance(self.eval_samples, int) or self.eval_samples < MIN_EVAL_SAMPLES):
            raise UserError(f"eval_samples must be at least {MIN_EVAL_SAMPLES} (a covariance needs two), got "
                            f"{self.eval_samples!r}; or switch evaluation off (evaluate=False, --no-eval)")

    def check_budget_given(self) -> None:
        """Refuse a spec that cannot train (no steps, epochs or time budget): its :class:`Loop` checks that."""
        self.loop()

    def loop(self, batch_size: int | None = None):
        """The :class:`Loop` of this spec (``batch_size``: the one resolved for the
        recipe)."""
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
        return _plain(dataclasses.asdict(self))

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

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RunSpec:
        """The spec of a run directory's config.json, also one written before specs existed.

        An old config has no ``"spec"``: the spec is rebuilt from what it recorded (dataset, recipe, the
        recipe's config where it differs from the defaults, seed, batch size, flip, budget).
        """
        if "spec" in config:
            return cls.from_json(config["spec"])
        if "dataset" not in config or "recipe" not in config:
            raise UserError("this config.json records no dataset or recipe; it was not written by gancourse train "
                            "(train into another directory)")
        budget = config.get("budget", {})
        return cls(dataset=config["dataset"], recipe=config["recipe"], data_options=config.get("data_options", {}),
                   recipe_options=_options_of(config["recipe"], config.get("recipe_config") or {}),
                   seed=config.get("seed", 0), batch_size=config.get("batch_size"), flip=config.get("flip", False),
                   limit=config.get("limit", 0), allow_stand_in=config.get("data", {}).get("source", "real") != "real",
                   steps=budget.get("steps", 0), epochs=budget.get("epochs", 0),
                   time_budget=budget.get("time_budget", 0.0), evaluate=False)

    # ---- naming -----------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What makes this run this run: equal identities resume each other (see ``IDENTITY``)."""
        return {name: _plain(getattr(self, name)) for name in IDENTITY}

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


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_short(v) for v in value)
    return str(value)


def _option_names(recipe: str) -> set[str]:
    from ..recipes import recipe_class

    return {f.name for f in dataclasses.fields(recipe_class(recipe).Config)}


# Config fields the data decides (``Recipe.config_for``): not options a caller chose.
_FROM_DATA = ("image_size", "channels", "n_classes")


def _options_of(recipe: str, recipe_config: dict[str, Any]) -> dict[str, Any]:
    """The options behind an old config.json's recipe config: the fields that differ from the defaults."""
    from ..recipes import recipe_class

    defaults = {f.name: f.default for f in dataclasses.fields(recipe_class(recipe).Config)
                if f.default is not dataclasses.MISSING}
    return {k: v for k, v in recipe_config.items()
            if k in defaults and k not in _FROM_DATA and _plain(defaults[k]) != v}


def resume_differences(old: dict[str, Any], new: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """What differs between a run directory's config.json (``old``) and the run about to resume into it.

    Both are config.json dicts. Compared: the spec's identity when both have a spec (configs written
    before specs existed have none), then what the loop itself records: recipe, each field of the
    recipe's config (a field added since, at its default, is no difference), the data (real or
    stand-in, size, classes), seed, batch size and flips. One line per difference.
    """
    lines = []
    if "spec" in old and "spec" in new:
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
        old_config = {**_plain(defaults), **(old.get("recipe_config") or {})}
        new_config = _plain(new.get("recipe_config") or {})
        for key in sorted(set(old_config) | set(new_config)):
            if old_config.get(key) != new_config.get(key):
                lines.append(f"{key}: there {old_config.get(key)!r}, now {new_config.get(key)!r}")
    old_with_flip = {"flip": False, **old}  # saved before flip was recorded: those runs did not flip
    for key in ("data", "seed", "batch_size", "flip"):
        line = f"{key}: there {old_with_flip.get(key)!r}, now {_plain(new.get(key))!r}"
        if old_with_flip.get(key) != _plain(new.get(key)) and line not in lines:
            lines.append(line)
    return lines
