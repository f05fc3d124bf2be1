"""What changes between two designs: verdicts side by side, the flips, and what holds in both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table

from otaproof.model.config import Scenario
from otaproof.properties.check import Outcome
from otaproof.properties.verdict import Budget, Violated, provenance_of

SCHEMA = "otaproof.diff/1"
STYLE = {"proved": "green", "violated": "red", "unknown": "yellow"}


@dataclass(frozen=True)
class Comparison:
    """One property's verdict in design A and in design B."""

    a: Outcome
    b: Outcome

    @property
    def change(self) -> str:
        va, vb = self.a.verdict.verdict, self.b.verdict.verdict
        if va == vb:
            return {"proved": "holds in both", "violated": "violated in both", "unknown": "unknown in both"}[va]
        if "unknown" in (va, vb):
            return "undecided in one"
        return "broken by B" if vb == "violated" else "fixed by B"


def compare(a: list[Outcome], b: list[Outcome]) -> list[Comparison]:
    return [Comparison(x, y) for x, y in zip(a, b, strict=True)]


def _verdict(o: Outcome) -> str:
    v = o.verdict
    n = len(v.trace.steps) if isinstance(v, Violated) else 0
    depth = f" ({n} step{'s' if n != 1 else ''})" if isinstance(v, Violated) else ""
    return f"[{STYLE[v.verdict]}]{v.verdict}{depth}[/]"


def diff_table(rows: list[Comparison], a: Scenario, b: Scenario) -> Table:
    table = Table(title=f"A = {a.variant}, B = {b.variant} | {a.describe().split(' | ', 1)[1]}", title_justify="left")
    for col in ("property", "A", "B", "change"):
        table.add_column(col)
    for r in rows:
        flip = r.change in ("broken by B", "fixed by B")
        table.add_row(r.a.property.id, _verdict(r.a), _verdict(r.b), f"[bold]{r.change}[/]" if flip else r.change)
    return table


def diff_document(rows: list[Comparison], a: Scenario, b: Scenario, budget: Budget) -> dict[str, Any]:
    """Plain data (deterministic except ``seconds``): both verdicts per property and the traces."""
    def side(o: Outcome) -> dict[str, Any]:
        v = o.verdict
        out: dict[str, Any] = {"verdict": v.verdict, "engine": v.engine, "provenance": provenance_of(v),
                               "seconds": round(v.seconds, 3)}
        if isinstance(v, Violated):
            out["trace"] = v.trace.to_json()
        elif v.verdict == "unknown":
            out["reason"] = v.detail
        return out

    return {"schema": SCHEMA, "a": a.variant, "b": b.variant, "threats": sorted(a.threats),
            "faults": sorted(a.faults), "parameters": a.parameters.as_dict(),
            "budget": {"timeout": budget.timeout, "depth": budget.depth, "seed": budget.seed},
            "properties": [{"property": r.a.property.id, "change": r.change, "a": side(r.a), "b": side(r.b)}
                           for r in rows]}
