"""The version of config.json, and the one migration that turns any config.json gancourse wrote into it.

A run directory outlives the code that wrote it: a student resumes a run trained with an older
gancourse. Instead of every reader knowing every older layout, readers call :func:`read_config` and see
the current schema only; :func:`migrate` is the single place that knows the history.

Schema 1 (written with ``"schema": 1``): ``spec`` is the run's :class:`~gancourse.engine.spec.RunSpec`
(``null`` for a run ``fit`` trained directly, without a spec); ``recipe_config`` holds every field of the
recipe's Config; ``flip`` is recorded. Older files (no ``"schema"``) were written before specs existed
(their spec is rebuilt from what they recorded), before ``flip`` was recorded (those runs did not flip),
or before a recipe's Config had a field it has now (the run trained with that field at its default).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import UserError
from ..recipes import RECIPES
from ..runs import RunDir
from .run_options import FROM_DATA
from .spec import RunSpec, plain

SCHEMA = 1


def read_config(run: RunDir) -> dict[str, Any]:
    """``run``'s config.json in the current schema (a missing or damaged file: one line, from RunDir)."""
    return migrate(run.read_config())


def migrate(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (any config.json gancourse wrote) in the current schema; ``config`` itself is not changed."""
    if "recipe" not in config:
        raise UserError("this config.json records no recipe; it was not written by gancourse (train into another "
                        "directory)")
    version = config.get("schema", 0)
    if not isinstance(version, int) or version > SCHEMA:
        raise UserError(f"this config.json has schema {version!r}, newer than this gancourse reads ({SCHEMA}); "
                        "upgrade gancourse (pip install -U gancourse)")
    config = {"flip": False, **config}  # saved before flip was recorded: those runs did not flip
    if config["recipe"] in RECIPES:  # a Config field added since: the run trained with its default
        config["recipe_config"] = {**_defaults(config["recipe"]), **(config.get("recipe_config") or {})}
    if "spec" not in config:
        config["spec"] = _rebuilt_spec(config)
    return {**config, "schema": SCHEMA}


def _defaults(recipe: str) -> dict[str, Any]:
    """The recipe's Config fields at their defaults, as config.json holds them."""
    missing = dataclasses.MISSING
    return plain({f.name: f.default if f.default_factory is missing else f.default_factory()
                  for f in dataclasses.fields(RECIPES[recipe].Config)
                  if f.default is not missing or f.default_factory is not missing})


def _rebuilt_spec(config: dict[str, Any]) -> dict[str, Any] | None:
    """The spec of a config.json written before specs existed, from what it recorded (dataset, recipe, the
    recipe options that differ from the defaults, seed, batch size, flip, limit, budget); None for a run of
    ``fit`` alone (no dataset recorded)."""
    if "dataset" not in config:
        return None
    defaults, budget = _defaults(config["recipe"]), config.get("budget", {})
    options = {k: v for k, v in (config.get("recipe_config") or {}).items()
               if k in defaults and k not in FROM_DATA and defaults[k] != v}
    return RunSpec(dataset=config["dataset"], recipe=config["recipe"], data_options=config.get("data_options", {}),
                   recipe_options=options, seed=config.get("seed", 0), batch_size=config.get("batch_size"),
                   flip=config["flip"], limit=config.get("limit", 0),
                   allow_stand_in=config.get("data", {}).get("source", "real") != "real",
                   steps=budget.get("steps", 0), epochs=budget.get("epochs", 0),
                   time_budget=budget.get("time_budget", 0.0), evaluate=False).to_json()
