"""Parsing of ``key=value`` options shared by the commands, and the checks of ``sample``'s and ``eval``'s numbers.

``gancourse train``'s numbers are checked by the run's spec (:mod:`gancourse.cli.train`), not here.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..engine.spec import MAX_SEED
from ..errors import UserError


class _ValueLoader(yaml.SafeLoader):
    """A safe loader without aliases: ``*name`` would repeat a node, and nested repeats explode in size."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not expanded in option values")
        return super().compose_node(parent, index)


def parse_value(text: str) -> Any:
    """YAML scalars (``3``, ``2e-4``, ``true``), and comma lists (``apple,cat`` -> ["apple", "cat"]).

    Text that is not plain YAML (an alias ``*a``, a stray bracket) stays text, for the option's own check.
    """
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    try:
        value = yaml.load(text, Loader=_ValueLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return text
    # YAML reads "2e-4" as a string (it wants "2.0e-4"); numbers should be numbers.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_assignments(items: list[str] | None, flag: str) -> dict[str, Any]:
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} takes KEY=VALUE, got {item!r} (e.g. {flag} {key.strip() or 'lr_d'}=2e-4)")
        parsed = parse_value(value.strip())
        if parsed == [] and "," in value:  # "categories=," would silently mean "the default ones"
            raise UserError(f"{flag} {item!r} names no value between its commas; give at least one "
                            f"(e.g. {flag} {key.strip()}=apple,cat)")
        result[key.strip().replace("-", "_")] = parsed
    return result


def check_seed(seed: int) -> None:
    """Refuse a seed torch cannot take (it wants a 64-bit integer) in one line, before any work."""
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed must be a whole number from 0 to 2**63 - 1 = {MAX_SEED}, got {seed}")


def check_at_least(args: Any, minimums: dict[str, float]) -> None:
    """Refuse a value below its minimum in one line naming the flag: ``{"steps": 0, "n": 1}``."""
    for name, low in minimums.items():
        value = getattr(args, name)
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            meaning = " (0: the default)" if low == 0 else ""
            raise UserError(f"{flag} must be at least {low:g}{meaning}, got {value:g}")
