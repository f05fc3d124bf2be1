"""refimpl must stay independent of the model so that generated tests compare two things."""

from __future__ import annotations

import ast
from pathlib import Path

import refimpl

FORBIDDEN = {"model", "properties", "generators", "otaproof", "reports"}


def test_refimpl_imports_nothing_from_the_model_side() -> None:
    root = Path(refimpl.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [(path.name, n) for n in names if n.split(".")[0] in FORBIDDEN]
    assert found == []


def test_modules_stay_small() -> None:
    root = Path(refimpl.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in root.glob("*.py")}
    assert max(sizes.values()) <= 600, sizes
