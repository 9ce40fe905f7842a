"""Parsing of ``key=value`` options shared by the commands, and checks of numeric arguments."""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import UserError


def parse_value(text: str) -> Any:
    """YAML scalars (``3``, ``2e-4``, ``true``), and comma lists (``apple,cat`` -> ["apple", "cat"])."""
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    try:
        value = yaml.safe_load(text)
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
        result[key.strip().replace("-", "_")] = parse_value(value.strip())
    return result


def check_at_least(args: Any, minimums: dict[str, float]) -> None:
    """Refuse a value below its minimum in one line naming the flag: ``{"steps": 0, "n": 1}``."""
    for name, low in minimums.items():
        value = getattr(args, name)
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            meaning = " (0: the default)" if low == 0 else ""
            raise UserError(f"{flag} must be at least {low:g}{meaning}, got {value:g}")
