"""The evidence as data: ``evidence.json`` (schema ``otaproof.evidence/2``, docs/evidence.md), the
trace and obligation files, and the timings kept apart so that everything else is reproducible
byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otaproof.model.config import FAULTS, THREATS
from otaproof.model.variants import get_variant
from otaproof.properties.verdict import Proved, Unknown, Violated
from otaproof.reports.evidence.certificates import certificate_parts, proof_entry
from otaproof.reports.evidence.collect import Results
from otaproof.reports.evidence.findings import Cell, Finding, cells, findings
from otaproof.reports.evidence.scope import Scope, scope
from otaproof.reports.evidence.summary import (
    Answer,
    Change,
    DesignSummary,
    answer,
    change_sentences,
    changes,
    design_summary,
    finding_sentence,
    headline,
)
from otaproof.reports.questions import QUESTIONS

SCHEMA = "otaproof.evidence/2"  # 2: certificates are obligation files (.smt2.gz)
FIRST_FINDINGS = 5  # findings named on the summary page


@dataclass
class Evidence:
    """Everything the pack shows, computed once from the results."""

    results: Results
    cells: list[Cell]
    findings: list[Finding]
    by_cell: dict[str, Finding]
    headline: str
    designs: list[DesignSummary]
    answers: list[Answer]
    changes: list[Change]
    change_sentences: list[str]
    scope: Scope


def assemble(results: Results) -> Evidence:
    plan = results.plan
    all_cells = cells(results.rows)
    pairs: list[Change] = []
    flipped: set[str] = set()
    if plan.baseline and plan.change:
        pairs = changes(results.rows, plan.baseline, plan.change)
        for ch in pairs:
            for cmp in ch.comparisons:
                if cmp.change in ("broken by B", "fixed by B"):
                    side = plan.change if cmp.change == "broken by B" else plan.baseline
                    flipped.add(f"{side}/{ch.threat_model}/{cmp.a.property.id}")
    found = findings(all_cells, plan.change or plan.variants[0], frozenset(flipped))
    by_cell = {c.key: f for f in found for c in f.cells}
    unchecked = frozenset(k for k, p in results.proofs.items() if not p.files)
    designs = [design_summary(v, all_cells, by_cell, unchecked) for v in plan.variants]
    answers = [answer(q, all_cells, by_cell, results.storms) for q in QUESTIONS]
    said = change_sentences(pairs, plan.baseline, plan.change, by_cell) if plan.baseline and plan.change else []
    faults = sorted({f for sc in plan.scenarios for f in sc.faults})
    return Evidence(results, all_cells, found, by_cell, headline(all_cells, found, list(plan.variants),
                                                                  list(plan.threat_models)),
                    designs, answers, pairs, said, scope(list(plan.threat_models), faults))


def cell_entry(c: Cell, ev: Evidence) -> dict[str, Any]:
    """One verdict and where its evidence is in the pack."""
    sc, v = c.row.scenario, c.outcome.verdict
    entry: dict[str, Any] = {"key": c.key, "variant": c.variant, "threat_model": c.threat_model,
                             "threats": sorted(sc.threats), "faults": sorted(sc.faults),
                             "parameters": sc.parameters.as_dict(), "property": c.prop.id,
                             "verdict": v.verdict, "engine": v.engine}
    if isinstance(v, Proved):
        cert = v.certificate
        pieces = certificate_parts(cert)
        entry["certificate"] = {"kind": cert.kind, "size": cert.size, "lemmas": len(cert.lemmas),
                                "parts": [{"kind": p.kind, "size": p.size, "lemmas": len(p.lemmas)} for p in pieces],
                                **proof_entry(ev.results.proofs[c.key])}
    elif isinstance(v, Violated):
        entry["depth"] = len(v.trace.steps)
        entry["trace"] = c.trace_file
        entry["finding"] = ev.by_cell[c.key].id
    elif isinstance(v, Unknown):
        entry["reason"] = v.reason
    return entry


def evidence_document(ev: Evidence) -> dict[str, Any]:
    """``evidence.json``: deterministic for the same inputs and seeds (no times, no paths)."""
    plan = ev.results.plan
    budget = plan.budget
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": "design-change" if plan.change else "matrix",
        "plan": {"variants": list(plan.variants), "threat_models": list(plan.threat_models),
                 "faults": sorted({f for sc in plan.scenarios for f in sc.faults}),
                 "parameters": plan.scenarios[0].parameters.as_dict() if plan.scenarios else {},
                 "properties": [p.id for p in plan.properties],
                 "budget": {"timeout": budget.timeout, "depth": budget.depth, "seed": budget.seed},
                 "storm": {"policies": list(plan.storm_policies), "runs": plan.storm_runs, "seed": budget.seed},
                 "baseline": plan.baseline, "change": plan.change},
        "designs": [{"variant": d.variant, "doc": d.doc, "source": get_variant(d.variant).source,
                     "summary": d.sentences} for d in ev.designs],
        "threat_models": [{"name": tm, "threats": [] if tm == "none" else tm.split("+"),
                           "capabilities": [THREATS[t] for t in ([] if tm == "none" else tm.split("+"))]}
                          for tm in plan.threat_models],
        "faults": [{"name": f, "description": FAULTS[f]} for f in sorted({f for sc in plan.scenarios
                                                                           for f in sc.faults})],
        "properties": [{"id": p.id, "kind": p.kind, "statement": p.statement, "rationale": p.rationale}
                       for p in plan.properties],
        "summary": {"headline": ev.headline,
                    "findings_first": [finding_sentence(f) for f in ev.findings[:FIRST_FINDINGS]]},
        "questions": [{"id": a.question.id, "text": a.question.text, "properties": list(a.question.properties),
                       "threat_models": list(a.question.threat_models), "answer": a.paragraph,
                       "cells": [c.key for c in a.checked]} for a in ev.answers],
        "cells": [cell_entry(c, ev) for c in ev.cells],
        "findings": [{"id": f.id, "variant": f.first.variant, "property": f.first.prop.id,
                      "threat_models": f.threat_models, "cells": [c.key for c in f.cells],
                      "steps": len(f.trace.steps), "how": f.how, "sentence": finding_sentence(f),
                      "trace": f.first.trace_file} for f in ev.findings],
        "storm": [{"policy": str(r.input.policy), "hubs": r.input.hubs, "devices_per_hub": r.input.devices_per_hub,
                   "capacity": r.input.capacity, "alerts_per_day": round(r.exact.total, 3),
                   "exact_peak": round(r.exact.peak, 3),
                   "p999_peak": round(r.monte_carlo.peak.p999, 3) if r.monte_carlo else None,
                   "seconds_over_capacity": r.exact.seconds_over_capacity,
                   "kind": r.exact_kind} for r in ev.results.storms],
        "scope": {"abstractions": [list(a) for a in ev.scope.abstractions],
                  "abstractions_source": ev.scope.abstractions_source,
                  "out_of_scope": list(ev.scope.out_of_scope)},
        "change": None,
    }
    if plan.baseline and plan.change:
        doc["change"] = {"baseline": plan.baseline, "change": plan.change, "sentences": ev.change_sentences,
                         "rows": [{"threat_model": ch.threat_model, "property": cmp.a.property.id,
                                   "change": cmp.change, "baseline": cmp.a.verdict.verdict,
                                   "changed": cmp.b.verdict.verdict}
                                  for ch in ev.changes for cmp in ch.comparisons]}
    return doc


def trace_files(ev: Evidence) -> dict[str, dict[str, Any]]:
    """``traces/<design>/<threat model>/<property>.json`` in the trace schema (otaproof.trace/1)."""
    out = {}
    for c in ev.cells:
        v = c.outcome.verdict
        if isinstance(v, Violated) and c.trace_file is not None:
            out[c.trace_file] = v.trace.to_json()
    return out


def certificate_files(ev: Evidence) -> dict[str, bytes]:
    """Each proof's obligation files (gzip), in cell order (see ``certificates``)."""
    return {path: data for c in ev.cells if isinstance(c.outcome.verdict, Proved)
            for path, data in ev.results.proofs[c.key].files.items()}


def timings(results: Results, phases: dict[str, float]) -> dict[str, Any]:
    """``timings.json``: every wall-clock figure, the one file that differs between two builds:
    the build's phases, each storm policy, and per cell its engine's time and each obligation
    file's solver time and resource units (``from`` says whether the worker that found the proof
    printed and solved the files, or the pack did)."""
    per_cell = {}
    for c in cells(results.rows):
        v = c.outcome.verdict
        item: dict[str, Any] = {"engine": v.engine, "seconds": round(v.seconds, 3)}
        proof = results.proofs.get(c.key)
        if isinstance(v, Proved) and proof is not None and proof.recheck.files:
            item["recheck"] = {f.filename.split("/", 1)[1]: {r.solver: {"seconds": round(r.seconds, 3),
                                                                      "resources": r.resources} for r in f.runs}
                               for f in proof.recheck.files}
            item["from"] = "worker" if proof.shipped else "pack"
        per_cell[c.key] = item
    shipped = sum(len(p.files) for p in results.proofs.values() if p.shipped)
    return {"schema": "otaproof.evidence-timings/2",
            "build": {k: round(s, 3) for k, s in phases.items()},
            "obligation_files": {"from_workers": shipped,
                                 "printed_by_the_pack": sum(len(p.files) for p in results.proofs.values()) - shipped},
            "storm": {str(r.input.policy): round(r.seconds, 3) for r in results.storms},
            "cells": per_cell}
