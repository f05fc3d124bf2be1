"""``otaproof generate --json``: what a generation run produced, as plain data (schema
``otaproof.generate/1``): the suite's size per module, the coverage table per criterion and
scenario with the goals not covered, every undecided cell or goal, and how the run went (time per
phase, wall time, the machine's load). ``results/coverage.json`` is such a document; the README's
conformance figures are rendered from it (``reports.readme``)."""

from __future__ import annotations

from typing import Any

from otaproof.generators.coverage import criterion_rows
from otaproof.generators.suite import SuitePlan, SuiteSummary, scenario_key

SCHEMA = "otaproof.generate/1"


def generate_document(plan: SuitePlan, summary: SuiteSummary, settings: dict[str, Any],
                      run: dict[str, Any]) -> dict[str, Any]:
    """The run as JSON-ready data: deterministic for the same inputs and seed except ``run`` and the
    ``seconds`` figures (``settings``: the arguments that decide the suite, recorded as given)."""
    conformance = summary.tests - len(plan.reproductions) - len(plan.guards) - len(plan.oracle) - len(plan.edges)
    return {
        "schema": SCHEMA,
        "settings": settings,
        "suite": {"tests": summary.tests, "trace_files": summary.traces, "reproductions": len(plan.reproductions),
                  "guards": len(plan.guards), "conformance": conformance, "wire_edges": len(plan.edges),
                  "oracle_runs": len(plan.oracle),
                  "unguarded": len(plan.unguarded), "modules": summary.modules},
        "coverage": [{"scenario": scenario_key(sc), "depth": r.depth, "traces_found": r.traces_found,
                      "traces_kept": len(r.traces), "seconds": round(r.seconds, 1),
                      "criteria": [{"criterion": k, "goals": n, "covered": c, "unreachable": d, "unknown": u}
                                   for k, n, c, d, u in criterion_rows(r)],
                      "unreachable": list(r.unreachable), "unknown": list(r.unknown)}
                     for sc, r in plan.coverage],
        "undecided": list(plan.undecided),
        "phases": {name: round(seconds, 1) for name, seconds in plan.phases.items()},
        "run": run,
    }


__all__ = ["SCHEMA", "generate_document"]
