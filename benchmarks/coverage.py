"""Conformance-coverage benchmark: ``otaproof generate``'s trap-property search on the approved design.

Prints, per threat model, the goals by kind and verdict, the traces found and kept after
minimisation, the seconds of the coverage search (``--states 0 --walks 0``: without the explicit
first pass, BMC alone), and, as the baseline measured in the same run,
the seconds of checking every catalogue property on the same model with the portfolio engine:
the ratio says what coverage costs next to verification.

    python benchmarks/coverage.py                                   # none, and every attacker
    python benchmarks/coverage.py --threat-model none --budget 60
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from otaproof.generators.coverage import KINDS, cover
from otaproof.generators.explore import STATES, WALKS
from otaproof.model.config import THREATS, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.check import check
from otaproof.properties.verdict import Budget

DEFAULT_MODELS = ("none", "han_mitm+old_supplier+compromised_key")


def threats_of(model: str) -> frozenset[str]:
    """``none`` or threats joined by ``+`` as a set (unknown names are refused)."""
    parts = frozenset() if model == "none" else frozenset(model.split("+"))
    unknown = parts - set(THREATS)
    if unknown:
        raise SystemExit(f"unknown threat(s) {sorted(unknown)}; known: none, {', '.join(THREATS)}")
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threat-model", action="append", help=f"default: {' and '.join(DEFAULT_MODELS)}")
    ap.add_argument("--depth", type=int, default=20, help="coverage BMC bound (default: 20)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for each coverage search (default: 120)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per engine for the baseline check")
    ap.add_argument("--states", type=int, default=STATES, help=f"explicit search's states (default: {STATES})")
    ap.add_argument("--walks", type=int, default=WALKS, help=f"explicit search's walks (default: {WALKS})")
    args = ap.parse_args()
    table = Table(title="Coverage search vs. checking every property (same model, same run)")
    for column in ("threat model", *KINDS, "covered / unreachable / unknown", "traces found → kept",
                   "coverage s", "check s", "ratio"):
        table.add_column(column, justify="right" if column not in ("threat model",) else "left")
    for model in args.threat_model or DEFAULT_MODELS:
        sc = Scenario("secmp0007", threats_of(model))
        start = time.perf_counter()
        check(sc, list(CATALOGUE), "portfolio", Budget(timeout=args.timeout))
        baseline = time.perf_counter() - start
        result = cover(build(sc), depth=args.depth, budget_seconds=args.budget, states=args.states,
                       walks=args.walks)
        per_kind = [str(sum(g.kind == k for g in result.goals)) for k in KINDS]
        table.add_row(model, *per_kind, f"{len(result.covered)} / {len(result.unreachable)} / {len(result.unknown)}",
                      f"{result.traces_found} → {len(result.traces)}", f"{result.seconds:.1f}", f"{baseline:.1f}",
                      f"×{result.seconds / baseline:.1f}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
