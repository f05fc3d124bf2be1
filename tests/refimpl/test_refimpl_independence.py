"""refimpl must stay independent of the model so that generated tests compare two things."""

from __future__ import annotations

import ast
from pathlib import Path

import otaproof.refimpl


def _forbidden(module: str) -> bool:
    """Anything of otaproof outside its refimpl subpackage (the model side and the CLI)."""
    parts = module.split(".")
    return parts[0] == "otaproof" and parts[1:2] != ["refimpl"]


def test_refimpl_imports_nothing_from_the_model_side() -> None:
    root = Path(otaproof.refimpl.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                found.append((path.name, "." * node.level + (node.module or "")))
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            found += [(path.name, n) for n in names if _forbidden(n)]
    assert found == []


def test_modules_stay_small() -> None:
    root = Path(otaproof.refimpl.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in root.glob("*.py")}
    assert max(sizes.values()) <= 600, sizes
