"""No import cycle in ``otaproof``, read from the source (``ast``) and counting imports under
``TYPE_CHECKING`` too: none between any two modules of the package, and in
``otaproof.properties`` none even when an import of a submodule counts as an import of its
packages (Python runs a package's ``__init__`` before any of its submodules)."""

from __future__ import annotations

import ast
from pathlib import Path

import otaproof.properties

ROOT = Path(otaproof.properties.__file__).parent
PACKAGE = "otaproof.properties"


def _modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str], *, with_packages: bool = True) -> set[str]:
    """The modules of ``known`` that ``name`` imports, with the packages they are in (unless
    ``with_packages`` is false: then only the modules its import statements name, so that
    ``from package import submodule`` names the submodule alone)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            named = {f"{base}.{a.name}" for a in node.names}
            found |= named if not with_packages and named <= known else named | {base}
    if with_packages:
        found = {".".join(m.split(".")[:k]) for m in found for k in range(1, m.count(".") + 2)}
    return (found & known) - {name}


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


def test_the_installed_package_has_no_import_cycle_between_modules() -> None:
    """Across all of ``otaproof``, no module imports (directly or through others) a module that
    imports it. Package facades (``otaproof.refimpl``, ``otaproof.model.variants``) re-export their
    submodules, so here an import names only the modules its statement names."""
    root = ROOT.parent
    modules = _modules(root, "otaproof")
    edges = {n: _imports(n, p, set(modules), with_packages=False) for n, p in modules.items()}
    assert "otaproof.model.secmp0007" in edges["otaproof.model.variants.approved"]
    assert _cycles(edges) == []
