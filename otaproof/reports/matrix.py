"""The verdict matrix: variant × threat model × property, as a table and as data."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from otaproof.model.config import Scenario
from otaproof.properties.check import Outcome
from otaproof.properties.verdict import RUN, Budget, Violated, provenance_of

SCHEMA = "otaproof.matrix/1"
MARK = {"proved": "[green]✔[/]", "violated": "[red]✘{depth}[/]", "unknown": "[yellow]?[/]"}


@dataclass(frozen=True)
class Row:
    """The verdicts of every property for one design under one threat model."""

    scenario: Scenario
    outcomes: list[Outcome]

    @property
    def threat_model(self) -> str:
        return "+".join(sorted(self.scenario.threats)) or "none"


def cell(o: Outcome) -> str:
    v = o.verdict
    mark = MARK[v.verdict].format(depth=len(v.trace.steps) if isinstance(v, Violated) else "")
    return mark if provenance_of(v) == RUN else mark + "ᶜ"


def matrix_table(rows: list[Row]) -> Table:
    """Rows: design and threat model; columns: properties; ✔ proved, ✘n violated at depth n, ? unknown."""
    props = [o.property.id for o in rows[0].outcomes] if rows else []
    table = Table(title="Verdict matrix (✔ proved, ✘n violated by an n-step trace, ? unknown; ᶜ a cached "
                        "certificate or trace, re-checked on this model)",
                  title_justify="left")
    table.add_column("variant")
    table.add_column("threat model")
    for pid in props:
        table.add_column(pid.removeprefix("P-"), justify="center")
    for row in rows:
        table.add_row(row.scenario.variant, row.threat_model, *[cell(o) for o in row.outcomes])
    return table


def run_facts(started: float, wall_seconds: float, load_average: tuple[float, float, float]) -> dict[str, Any]:
    """How a run went (the part of a document that is not deterministic): when, how long, on how
    many cores, and how busy the machine was when it started (``os.getloadavg()``)."""
    return {"date": time.strftime("%Y-%m-%d", time.gmtime(started)), "wall_seconds": round(wall_seconds, 1),
            "cpus": os.cpu_count() or 1, "load_average": [round(x, 2) for x in load_average]}


def matrix_document(rows: list[Row], engine: str, budget: Budget, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plain data (deterministic except ``seconds`` and ``run``): one entry per design, threat model, property."""
    entries = []
    for row in rows:
        for o in row.outcomes:
            v = o.verdict
            entry: dict[str, Any] = {"variant": row.scenario.variant, "threats": sorted(row.scenario.threats),
                                     "faults": sorted(row.scenario.faults), "property": o.property.id,
                                     "verdict": v.verdict, "engine": v.engine, "provenance": provenance_of(v),
                                     "seconds": round(v.seconds, 3),
                                     "z3_units": v.units}
            if isinstance(v, Violated):
                entry["depth"] = len(v.trace.steps)
                entry["trace"] = v.trace.to_json()
            elif v.verdict == "unknown":
                entry["reason"] = v.detail
            entries.append(entry)
    return {"schema": SCHEMA, "engine": engine,
            "budget": {"timeout": budget.timeout, "rlimit": budget.rlimit, "depth": budget.depth, "seed": budget.seed},
            "parameters": rows[0].scenario.parameters.as_dict() if rows else {}, "entries": entries,
            **({"run": run} if run else {})}
