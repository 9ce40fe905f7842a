"""What a run gets for the options its caller left out, and the checks of the options given.

Defaults follow the recipe (``Recipe.defaults_for``; CycleGAN: batch size 1, CPU-sized networks on a CPU).
A recipe option is checked by name and by the type of its default before the recipe sees it, so
``--set lr_d=abc`` is one line that names the option instead of a comparison error from inside the config.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import torch

from ..errors import UnknownOption, UserError
from ..recipes import recipe_class

# Config fields the data decides (``Recipe.config_for``): not options a caller chooses.
FROM_DATA = ("image_size", "channels", "n_classes")


def recipe_defaults(recipe: str, dataset: str, device: torch.device) -> dict[str, Any]:
    """What a run gets for the settings its caller left out: batch size, dataset and recipe options (the
    recipe's own ``defaults_for``)."""
    return recipe_class(recipe).defaults_for(device, dataset)


def fill_defaults(recipe: str, dataset: str, device: torch.device, batch_size: int | None,
                   data_options: dict[str, Any], recipe_options: dict[str, Any], data_given: bool
                   ) -> tuple[int, dict[str, Any], dict[str, Any]]:
    defaults = recipe_defaults(recipe, dataset, device)
    filled_data = {} if data_given else {k: v for k, v in defaults["data_options"].items() if k not in data_options}
    filled_recipe = {k: v for k, v in defaults["recipe_options"].items() if k not in recipe_options}
    if filled_data or filled_recipe:
        batch = {"batch_size": defaults["batch_size"]} if batch_size is None else {}
        said = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in {**batch, **filled_data, **filled_recipe}.items())
        print(f"[gancourse] {recipe} on {dataset} ({device.type}) fills in the settings left out with its defaults: "
              f"{said} (change them with --batch-size, --set KEY=VALUE or --data-option KEY=VALUE)", file=sys.stderr)
    return (defaults["batch_size"] if batch_size is None else batch_size, {**filled_data, **data_options},
            {**filled_recipe, **recipe_options})


def _checked_value(name: str, value: Any, default: Any) -> Any:
    """``value`` for a config field whose default is ``default``, converted (2 -> 2.0) or refused in one line."""
    kind = type(default)
    if default is None or default is dataclasses.MISSING or kind in (tuple, list, dict):
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        wanted = "true or false"
    elif kind in (int, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if kind is float:
                return float(value)
            if float(value).is_integer():
                return int(value)
            wanted = "a whole number"
        else:
            wanted = "a number"
    elif kind is str:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return ",".join(value)  # a command line's "color,translation" arrives as a list: the text it was
        wanted = "a word"
    else:
        return value
    raise UserError(f"option {name}={value!r} is not valid: {name} takes {wanted} (default {default!r})")


def checked_recipe_options(recipe: str, options: dict[str, Any]) -> dict[str, Any]:
    """The recipe options with unknown names and values of the wrong type refused, naming the option."""
    cls = recipe_class(recipe)
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise UnknownOption(f"{recipe} has no option {', '.join(unknown)}; its options: {', '.join(sorted(fields))}")
    return {k: _checked_value(k, v, fields[k].default) for k, v in options.items()}


def describe_options(recipe: str) -> str:
    """The recipe's options as ``--set`` takes them: one line each, name=default and its help (Config metadata)."""
    every = dataclasses.fields(recipe_class(recipe).Config)
    fields = [f for f in every if f.name not in FROM_DATA]
    shown = [f"{f.name}={_default_text(f)}" for f in fields]
    width = max(map(len, shown))
    lines = [f"  {text:<{width}}  {f.metadata.get('help', '')}".rstrip() for text, f in zip(shown, fields, strict=True)]
    from_data = ", ".join(f.name for f in every if f.name in FROM_DATA)
    return f"{recipe} options (--set KEY=VALUE; {from_data} follow the data):\n" + "\n".join(lines)


def _default_text(f: dataclasses.Field) -> str:
    """A Config field's default as ``--set`` takes it (true/false, a list with commas, "" for no text)."""
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, (list, tuple)):
        return ",".join(map(str, default))
    return '""' if default == "" else str(default)
