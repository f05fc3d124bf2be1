"""The verdict document written by ``otaproof check --json`` (schema ``otaproof.verdicts/1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otaproof.model.config import Scenario
from otaproof.properties.check import Outcome
from otaproof.properties.recheck import Recheck
from otaproof.properties.verdict import Budget, Certificate, Proved, Unknown, Violated, provenance_of

SCHEMA = "otaproof.verdicts/1"


def _certificate(c: Certificate) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c.kind, "size": c.size, "checked": c.checked, "lemmas": list(c.lemmas),
                           "smtlib": c.smtlib}
    if c.base:
        out["base"] = c.base
    if c.parts:
        out["parts"] = [_certificate(part) for part in c.parts]
    return out


def _recheck(r: Recheck) -> dict[str, Any]:
    return {"status": r.status, "reason": r.reason, "bytes": r.size,
            "solvers": {s: {"verdict": r.verdict_of(s), "seconds": round(r.seconds(s), 3)} for s in r.solvers},
            "files": [f.filename for f in r.files]}


def verdicts_document(scenario: Scenario, outcomes: list[Outcome], engine: str, budget: Budget,
                      rechecks: Mapping[str, Recheck] | None = None) -> dict[str, Any]:
    """Verdicts and traces as plain data; deterministic except the ``seconds`` fields. With
    ``rechecks``, each re-checked proof says which solvers accepted its obligation files."""
    results = []
    for o in outcomes:
        v = o.verdict
        entry: dict[str, Any] = {"property": o.property.id, "statement": o.property.statement,
                                 "kind": o.property.kind, "verdict": v.verdict, "engine": v.engine,
                                 "provenance": provenance_of(v), "seconds": round(v.seconds, 3)}
        if isinstance(v, Proved):
            c = v.certificate
            entry["certificate"] = _certificate(c)
        elif isinstance(v, Violated):
            entry["depth"] = len(v.trace.steps)
            entry["trace"] = v.trace.to_json()
        elif isinstance(v, Unknown):
            entry["reason"] = v.reason
        if rechecks is not None and o.property.id in rechecks:
            entry["recheck"] = _recheck(rechecks[o.property.id])
        results.append(entry)
    return {
        "schema": SCHEMA, "variant": scenario.variant, "threats": sorted(scenario.threats),
        "faults": sorted(scenario.faults), "parameters": scenario.parameters.as_dict(), "engine": engine,
        "budget": {"timeout": budget.timeout, "rlimit": budget.rlimit, "depth": budget.depth, "seed": budget.seed},
        "results": results,
    }
