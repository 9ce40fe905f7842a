"""Grid files: which parameter values a sweep tries, and the checks done before anything runs.

A grid is a YAML file with up to four sections (at least one of ``parameters`` or ``combinations``)::

    description: dropout x width, scored by metrics   # optional, free text
    parameters:          # each name takes a list of values; the sweep runs their cartesian product
      dropout: [0.1, 0.3, 0.5]
      width: [64, 128, 256]
    combinations:        # optional: explicit combinations, run in addition to the product
      - {dropout: 0.0, width: 128}
    fixed:               # optional: the same value in every combination
      lr: 2.0e-4
      profile: quick
    replicates: 3        # optional: run every combination with seeds 0, 1, 2 (the notebook's ``seed``)

Replicates: a grid that varies ``seed`` (``parameters: {seed: [0, 1, 2]}``) or names ``replicates: N``
(the same as ``seed: [0, ..., N-1]``, added as the last axis) runs each combination of the other
parameters once per seed; ``collect`` then reports the mean and spread over seeds per combination.

Every name must be a parameter of the notebook's ``parameters`` cell; an unknown name is an error
before anything runs, and the error lists the notebook's parameters. ``run_dir`` is set by the sweep
(each combination gets its own run directory) and cannot appear in a grid. Numbers such as ``2e-4``
are read as numbers (plain YAML would read them as text).
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..course.parameters import ParameterError
from ..errors import MissingInput, UserError

RUN_DIR_PARAMETER = "run_dir"
SEED_PARAMETER = "seed"  # the parameter whose values are replicates rather than settings
SECTIONS = ("description", "parameters", "combinations", "fixed", "replicates")


class GridError(UserError):
    """A grid file that cannot be read as a sweep; the message says which entry and what to write."""


class _NumberLoader(yaml.SafeLoader):
    """A safe loader that reads ``2e-4`` as a number and refuses aliases.

    YAML 1.1 reads ``2e-4`` as a string (it wants ``2.0e-4``); a sweep over learning rates should not care.
    An alias (``*name``) repeats an anchored node: nested, a few hundred bytes expand to gigabytes (the
    "billion laughs"), and a grid never needs one.
    """

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(f"an alias (*{event.anchor}) at line {event.start_mark.line + 1}: aliases are not "
                               "allowed in a grid (nested ones expand a few bytes into gigabytes); write the values "
                               "out instead")
        return super().compose_node(parent, index)


class AliasRefused(yaml.YAMLError):
    """A YAML alias (``*name``) where aliases are not allowed."""


_NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)  # added after SafeLoader's own resolvers, so "64" stays an int and only the forms YAML missed change


@dataclass
class Grid:
    """The combinations a sweep runs: the product of ``parameters``, then ``combinations``, each with ``fixed``."""

    parameters: dict[str, list[Any]] = field(default_factory=dict)
    combinations: list[dict[str, Any]] = field(default_factory=list)
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def varying(self) -> list[str]:
        """Names that change between combinations, in file order (the product's first)."""
        names = list(self.parameters)
        for combo in self.combinations:
            names += [k for k in combo if k not in names]
        return names

    @property
    def names(self) -> list[str]:
        return self.varying + [k for k in self.fixed if k not in self.varying]

    def expand(self) -> list[dict[str, Any]]:
        """Every combination as {name: value} of its varying parameters, without duplicates, in order."""
        axes = list(self.parameters.items())
        product = [dict(zip([k for k, _ in axes], values, strict=True))
                   for values in itertools.product(*[v for _, v in axes])] if axes else []
        result: list[dict[str, Any]] = []
        for combo in product + [dict(c) for c in self.combinations]:
            if combo not in result:
                result.append(combo)
        return result

    def with_fixed(self, **values: Any) -> Grid:
        """The same grid with more (or overridden) fixed parameters, e.g. from ``--set`` on the command line."""
        clash = sorted(set(values) & set(self.varying))
        if clash:
            raise GridError(f"{', '.join(clash)} already varies in this grid; it cannot also be fixed")
        return Grid(dict(self.parameters), [dict(c) for c in self.combinations], {**self.fixed, **values},
                    self.description)

    @property
    def replicates(self) -> int:
        """Seeds per combination of the other parameters (1: no replicates, one run per setting)."""
        if SEED_PARAMETER not in self.varying:
            return 1
        seeds: dict[tuple, set] = {}
        for combo in self.expand():
            key = tuple(sorted((k, repr(v)) for k, v in combo.items() if k != SEED_PARAMETER))
            seeds.setdefault(key, set()).add(repr(combo.get(SEED_PARAMETER)))
        return max(len(s) for s in seeds.values())

    @property
    def settings(self) -> list[str]:
        """The varying parameters that are settings, not replicates: every varying one except the seed."""
        return [k for k in self.varying if k != SEED_PARAMETER]

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "parameters": self.parameters,
                "combinations": self.combinations, "fixed": self.fixed}


def parse_grid(spec: dict[str, Any], source: str = "grid") -> Grid:
    """A :class:`Grid` from the mapping a grid file holds (see the module docstring for the format)."""
    if not isinstance(spec, dict):
        raise GridError(f"{source}: a grid is a mapping with sections {', '.join(SECTIONS)}; got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(SECTIONS))
    if unknown:
        raise GridError(f"{source}: unknown section {', '.join(unknown)}; a grid has {', '.join(SECTIONS)}. "
                        "Parameters go under `parameters:` (lists of values) or `fixed:` (one value).")
    parameters = spec.get("parameters") or {}
    combinations = spec.get("combinations") or []
    fixed = spec.get("fixed") or {}
    if not isinstance(parameters, dict):
        raise GridError(f"{source}: `parameters` maps each name to a list of values, e.g. `dropout: [0.1, 0.3]`")
    for name, values in parameters.items():
        if not isinstance(values, list) or not values:
            raise GridError(f"{source}: parameters.{name} must be a non-empty list of values, got {values!r}; "
                            f"a single value belongs under `fixed:`")
    if not isinstance(combinations, list) or not all(isinstance(c, dict) and c for c in combinations):
        raise GridError(f"{source}: `combinations` is a list of mappings, e.g. `- {{dropout: 0.3, width: 128}}`")
    if not isinstance(fixed, dict):
        raise GridError(f"{source}: `fixed` maps each name to one value, e.g. `lr: 2.0e-4`")
    replicates = spec.get("replicates")
    if replicates is not None:
        if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
            raise GridError(f"{source}: `replicates` is a number of seeds, 1 or more (e.g. `replicates: 3` runs "
                            f"seeds 0, 1, 2), got {replicates!r}")
        if SEED_PARAMETER in parameters or SEED_PARAMETER in fixed or any(SEED_PARAMETER in c for c in combinations):
            raise GridError(f"{source}: `replicates: {replicates}` sets `{SEED_PARAMETER}` to 0..{replicates - 1}; "
                            f"remove `{SEED_PARAMETER}` from the other sections, or drop `replicates`")
        seeds = list(range(replicates))
        if parameters or not combinations:  # the seed becomes the product's last (fastest) axis
            parameters = {**parameters, SEED_PARAMETER: seeds}
        combinations = [{**c, SEED_PARAMETER: s} for c in combinations for s in seeds]
    if not parameters and not combinations:
        raise GridError(f"{source}: nothing to run; give `parameters:` (lists of values) and/or `combinations:`")
    varying = set(parameters) | {k for c in combinations for k in c}
    clash = sorted(varying & set(fixed))
    if clash:
        raise GridError(f"{source}: {', '.join(clash)} both varies and is fixed; keep it in one section")
    if RUN_DIR_PARAMETER in varying | set(fixed):
        raise GridError(f"{source}: `{RUN_DIR_PARAMETER}` is set by the sweep (one run directory per "
                        "combination); remove it from the grid")
    return Grid({k: list(v) for k, v in parameters.items()}, [dict(c) for c in combinations], dict(fixed),
                str(spec.get("description") or ""))


def load_grid(path: str | Path) -> Grid:
    """Read a grid YAML file."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"no grid file at {path}; see sweeps/README.md for the format")
    try:
        spec = yaml.load(path.read_bytes(), Loader=_NumberLoader)  # noqa: S506 - a SafeLoader subclass
    except AliasRefused as exc:
        raise GridError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:  # its message spans lines (a caret under the column): one line here
        raise GridError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    return parse_grid(spec or {}, str(path))


def parameters_cell(notebook: str | Path) -> str:
    """The source of the notebook's cell tagged ``parameters`` (papermill's convention)."""
    import nbformat

    notebook = Path(notebook)
    if not notebook.is_file():
        raise MissingInput(f"no notebook at {notebook}")
    try:
        cells = nbformat.read(notebook, as_version=4).cells
    except (ValueError, TypeError, AttributeError, KeyError, nbformat.ValidationError) as exc:
        # not JSON (NotJSONError, a ValueError), not UTF-8, or JSON that is not a notebook
        raise ParameterError(f"{notebook} is not a Jupyter notebook ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:120]}); give the .ipynb file to run") from None
    for cell in cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell.source
    raise ParameterError(f"{notebook} has no cell tagged `parameters`, so papermill cannot set anything in it; "
                         "tag the cell that holds its parameters (see sweeps/README.md)")


def notebook_parameters(notebook: str | Path) -> dict[str, Any]:
    """The notebook's parameters as {name: default value} (the source text where it is not a literal).

    Read with Python's own parser rather than ``papermill.inspect_notebook``, whose line pattern skips
    assignments with quotes in their comment (papermill still injects them; it only cannot list them).
    """
    # IPython lines (%magic, !shell) are not Python; blank them so line numbers stay right
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                       for line in parameters_cell(notebook).splitlines())
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"the parameters cell of {notebook} is not valid Python: {exc}") from exc
    defaults: dict[str, Any] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) and node.value is not None else []
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    defaults[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    defaults[target.id] = ast.get_source_segment(source, node.value)
    return defaults


def _compatible(value: Any, default: Any) -> bool:
    """Whether ``value`` can replace ``default`` (an int where a float is expected is fine)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, int):
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(default, str):
        return isinstance(value, str)
    return True  # lists, None, expressions: the notebook's own checks decide


def check_against_notebook(grid: Grid, notebook: str | Path) -> dict[str, Any]:
    """Raise :class:`ParameterError` unless every grid name is a notebook parameter of a fitting type.

    Returns the notebook's parameters with their defaults.
    """
    defaults = notebook_parameters(notebook)
    listing = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
    if RUN_DIR_PARAMETER not in defaults:
        raise ParameterError(f"{notebook} has no `{RUN_DIR_PARAMETER}` parameter, so its runs cannot be kept apart; "
                             f"add `{RUN_DIR_PARAMETER} = \"\"` to its parameters cell and train into it "
                             f"(see sweeps/README.md). Its parameters: {listing}")
    unknown = [k for k in grid.names if k not in defaults]
    if unknown:
        raise ParameterError(f"{notebook} has no parameter {', '.join(map(repr, unknown))}; "
                             f"its parameters cell defines: {listing}")
    for combo in grid.expand():
        for name, value in {**grid.fixed, **combo}.items():
            if not _compatible(value, defaults[name]):
                raise ParameterError(f"{name}={value!r} does not fit {notebook}'s parameter {name}="
                                     f"{defaults[name]!r} ({type(defaults[name]).__name__} expected)")
    return defaults
