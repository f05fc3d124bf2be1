"""No import cycle among the modules of ``otaproof.properties``: read from the source (``ast``),
counting imports under ``TYPE_CHECKING`` too, and counting an import of a submodule as an import
of its packages (Python runs a package's ``__init__`` before any of its submodules)."""

from __future__ import annotations

import ast
from pathlib import Path

import otaproof.properties

ROOT = Path(otaproof.properties.__file__).parent
PACKAGE = "otaproof.properties"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``name`` imports, with the packages they are in."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" for a in node.names} | {base}
    with_packages = {".".join(m.split(".")[:k]) for m in found for k in range(1, m.count(".") + 2)}
    return (with_packages & known) - {name}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                out.append(sorted([v, *component]))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_properties_package_has_no_import_cycle() -> None:
    modules = _modules()
    edges = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert f"{PACKAGE}.engines.strengthen" in edges[f"{PACKAGE}.engines.bmc"]  # the graph sees imports
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
