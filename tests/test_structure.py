"""The package's shape, checked: imports at the top of modules, no import circles, short functions.

Why: an import hidden in a function hides the dependency graph (and the circles it makes); a long
function is where every new feature lands. The thresholds are issue #26's targets. The module also
runs as a script (``python tests/test_structure.py``) that prints the numbers and the offenders.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gancourse"
MOST_FUNCTION_IMPORTS = 20
LONGEST_FUNCTION = 60

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Place:
    """A line of a module of the package, and what stands there."""

    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} {self.what}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package by its dotted name, parsed."""
    return {module_name(path): (path, ast.parse(path.read_text(), str(path))) for path in sorted(PACKAGE.rglob("*.py"))}


def imported_names(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package modules an import statement names (``from . import x`` names ``pkg.x`` if it is one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "gancourse"]
    if node.level == 0:
        if (node.module or "").split(".")[0] != "gancourse":
            return []
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below ``node`` with whether it sits in a function body; ``if TYPE_CHECKING`` blocks skipped."""
    for child in ast.iter_child_nodes(node):
        if _type_checking_only(child):
            continue
        yield child, in_function
        yield from _walk(child, in_function or isinstance(child, FUNCTIONS))


def package_imports(tree: dict[str, tuple[Path, ast.Module]]) -> Iterator[tuple[str, ast.AST, bool, list[str]]]:
    """Each import of a package module: (importing module, statement, inside a function, modules named)."""
    for module, (path, parsed) in tree.items():
        for node, in_function in _walk(parsed):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [name for name in imported_names(module, path, node) if name in tree]
                if names:
                    yield module, node, in_function, names


def function_level_imports() -> list[Place]:
    """Imports of package modules written inside function bodies."""
    return [Place(module, node.lineno, ast.unparse(node))
            for module, node, in_function, _ in package_imports(modules()) if in_function]


def import_circles() -> list[list[str]]:
    """Groups of modules that import each other, at module level or in functions.

    Edges into a package's ``__init__`` are left out: every submodule of a package that re-exports its
    submodules would otherwise sit in a circle with it, and what such an import really needs is the
    submodule the name comes from, which the ``__init__`` itself imports.
    """
    tree = modules()
    packages = {module for module, (path, _) in tree.items() if path.name == "__init__.py"}
    edges: dict[str, set[str]] = {module: set() for module in tree if module not in packages}
    for module, _, _, names in package_imports(tree):
        if module in edges:
            edges[module] |= {name for name in names if name in edges and name != module}
    return [sorted(group) for group in _strongly_connected(edges) if len(group) > 1]


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def function_lengths() -> list[Place]:
    """Every function of the package with its length in lines (``def`` line to last line), longest first."""
    places = []
    for module, (_, parsed) in modules().items():
        for node in ast.walk(parsed):
            if isinstance(node, FUNCTIONS):
                length = node.end_lineno - node.lineno + 1
                places.append(Place(module, node.lineno, f"{node.name} ({length} lines)"))
    return sorted(places, key=lambda place: -int(place.what.rsplit("(", 1)[1].split()[0]))


def _length(place: Place) -> int:
    return int(place.what.rsplit("(", 1)[1].split()[0])


def test_few_imports_inside_functions():
    found = function_level_imports()
    assert len(found) <= MOST_FUNCTION_IMPORTS, "\n".join(map(str, found))


def test_no_import_circles():
    assert import_circles() == []


def test_no_function_over_the_limit():
    too_long = [place for place in function_lengths() if _length(place) > LONGEST_FUNCTION]
    assert too_long == [], "\n".join(map(str, too_long))


# The checks must see what they claim to count: a module written with each fault is caught.
def test_the_checks_see_the_faults(tmp_path, monkeypatch):
    package = tmp_path / "gancourse"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import a\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n\ndef f():\n    from . import c\n" + "    x = 1\n" * 70)
    (package / "sub" / "b.py").write_text("import gancourse.a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    assert [str(place) for place in function_level_imports()] == ["gancourse.a:4 from . import c"]
    assert import_circles() == [["gancourse.a", "gancourse.sub.b"]]
    assert [_length(place) for place in function_lengths()] == [72]


if __name__ == "__main__":
    imports = function_level_imports()
    print(f"function-level package imports: {len(imports)} (at most {MOST_FUNCTION_IMPORTS})")
    for place in imports:
        print("   ", place)
    circles = import_circles()
    print(f"import circles: {len(circles)}")
    for circle in circles:
        print("    " + " <-> ".join(circle))
    longest = [place for place in function_lengths() if _length(place) > LONGEST_FUNCTION]
    print(f"functions over {LONGEST_FUNCTION} lines: {len(longest)}")
    for place in longest:
        print("   ", place)


def test_at_most_ten_top_level_modules():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__"))
    assert len(modules) <= 10, f"{len(modules)} top-level modules: {modules}"
