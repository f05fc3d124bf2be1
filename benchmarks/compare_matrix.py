"""Compare a matrix JSON (schema otaproof.matrix/1) with the README verdict table of an earlier
commit: every cell's verdict and, for violations, the trace depth. Used to show that a refactoring
changed no verdict (issue 15's check); exit 0 when all cells agree, 1 naming each that differs.

    python benchmarks/compare_matrix.py m.json --readme-at 10834d8^
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def readme_cells(revision: str) -> dict[tuple[str, str, str], str]:
    """(variant, threats, property ID) -> '✔' | '✘n' | '?' from the README table at ``revision``."""
    text = subprocess.run(["git", "show", f"{revision}:README.md"], check=True, capture_output=True,
                          text=True).stdout
    cells: dict[tuple[str, str, str], str] = {}
    header: list[str] = []
    for line in text.splitlines():
        if line.startswith("| variant | threats |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif header and line.startswith("| ") and not line.startswith("|---"):
            row = [c.strip() for c in line.strip("|").split("|")]
            if len(row) != len(header):
                header = []
                continue
            for name, value in zip(header[2:], row[2:], strict=True):
                cells[(row[0], row[1], f"P-{name}")] = value
        elif header and not line.startswith("|"):
            header = []
    return cells


def json_cells(path: Path) -> dict[tuple[str, str, str], str]:
    """The same key -> symbol map from a matrix JSON document."""
    cells = {}
    for e in json.loads(path.read_text())["entries"]:
        threats = "+".join(e["threats"]) or "none"
        symbol = {"proved": "✔", "unknown": "?"}.get(e["verdict"], f"✘{e.get('depth', '')}")
        cells[(e["variant"], threats, e["property"])] = symbol
    return cells


def main() -> int:
    """Print the comparison and return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("matrix", type=Path)
    ap.add_argument("--readme-at", default="HEAD", help="git revision whose README table is the baseline")
    args = ap.parse_args()
    before, after = readme_cells(args.readme_at), json_cells(args.matrix)
    common = sorted(before.keys() & after.keys())
    differ = [k for k in common if before[k] != after[k]]
    print(f"{len(common)} cells compared ({len(before)} in README@{args.readme_at}, {len(after)} in "
          f"{args.matrix}); {len(differ)} differ")
    for k in differ:
        print(f"  {k[0]} / {k[1]} / {k[2]}: {before[k]} -> {after[k]}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
