"""Parsing of ``key=value`` options shared by the commands."""

from __future__ import annotations

import argparse
from typing import Any

import yaml


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
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{flag} takes key=value, got {item!r}")
        result[key.strip().replace("-", "_")] = parse_value(value.strip())
    return result
