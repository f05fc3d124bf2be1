"""What the report pages show, in the order a reader meets it, as one plain structure that the
HTML and the Markdown templates both render (so the two say the same thing)."""

from __future__ import annotations

from typing import Any

from otaproof.properties.verdict import Proved, Violated
from otaproof.reports.evidence import msc
from otaproof.reports.evidence.certificates import ROOT, certificate_parts
from otaproof.reports.evidence.collect import Results
from otaproof.reports.evidence.document import Evidence
from otaproof.reports.evidence.findings import Cell, Finding, built_model
from otaproof.reports.evidence.scope import GLOSSARY
from otaproof.reports.evidence.summary import finding_sentence, join, plural, under

MARK = {"proved": "✔", "violated": "✘", "unknown": "?"}


def cell_link(c: Cell, ev: Evidence) -> dict[str, Any]:
    """A matrix cell: its mark, its colour class and the link to its evidence."""
    v = c.outcome.verdict
    if isinstance(v, Violated):
        f = ev.by_cell[c.key]
        return {"mark": f"✘{len(v.trace.steps)}", "cls": "violated", "href": f"#{f.anchor}",
                "title": f"{c.key}: violated, finding {f.id}"}
    if isinstance(v, Proved):
        return {"mark": "✔", "cls": "proved", "href": f"#proof-{c.anchor}", "title": f"{c.key}: proved ({v.engine})"}
    return {"mark": "?", "cls": "unknown", "href": f"#unknown-{c.anchor}", "title": f"{c.key}: unknown"}


def _matrix(ev: Evidence) -> dict[str, Any]:
    props = [p.id for p in ev.results.plan.properties]
    rows = []
    for row in ev.results.rows:
        mine = {c.prop.id: c for c in ev.cells if c.row is row}
        rows.append({"variant": row.scenario.variant, "threat_model": row.threat_model,
                     "cells": [cell_link(mine[p], ev) for p in props]})
    return {"properties": props, "rows": rows}


def _question_table(cells_: list[Cell], ev: Evidence) -> dict[str, Any]:
    designs = list(dict.fromkeys(c.variant for c in cells_))
    keys = list(dict.fromkeys((c.prop.id, c.threat_model) for c in cells_))
    index = {(c.variant, c.prop.id, c.threat_model): c for c in cells_}
    rows = [{"label": f"{pid}, {tm}", "cells": [cell_link(index[d, pid, tm], ev) if (d, pid, tm) in index
                                                 else {"mark": "", "cls": "", "href": "", "title": "not checked"}
                                                 for d in designs]} for pid, tm in keys]
    return {"designs": designs, "rows": rows}


def _finding(f: Finding, ev: Evidence) -> dict[str, Any]:
    built = built_model(f.first.row.scenario)
    prop = f.first.prop
    c = msc.chart(f.trace, msc.model_facts(built), f"{prop.id} violated: {prop.statement}")
    per_step: dict[int, list[str]] = {}
    for e in c.events:
        if e.kind in ("message", "attack", "fault", "state") and not e.text.startswith(f"{e.step}. "):
            per_step.setdefault(e.step, []).append(("state: " if e.kind == "state" else "") + e.text)
    steps = [{"n": s.step, "machine": s.machine, "action": s.action,
              "parameters": ", ".join(f"{k}={v}" for k, v in s.parameters.items()),
              "branch": s.branch if s.branch not in ("ok", "?") else "", "changes": per_step.get(s.step, [])}
             for s in f.trace.steps]
    return {"id": f.id, "anchor": f.anchor, "sentence": finding_sentence(f), "how": f.how,
            "property": {"id": prop.id, "kind": prop.kind, "statement": prop.statement, "rationale": prop.rationale},
            "variant": f.first.variant, "under": under(f.threat_models), "threat_models": f.threat_models,
            "cells": [{"key": x.key, "trace": x.trace_file} for x in f.cells],
            "svg": msc.svg(c), "mermaid": msc.mermaid(c), "steps": steps, "length": len(f.trace.steps)}


def _proof(c: Cell, ev: Evidence) -> dict[str, Any]:
    v = c.outcome.verdict
    assert isinstance(v, Proved)
    cert = v.certificate
    pieces = certificate_parts(cert)
    files = ev.results.proofs[c.key].checks
    checker = f"z3 (fresh process), {plural(len(files), 'obligation file')}" if files else \
        "not independently re-checked: " + ev.results.proofs[c.key].recheck.reason
    return {"anchor": f"proof-{c.anchor}", "key": c.key, "property": c.prop.id, "variant": c.variant,
            "threat_model": c.threat_model, "engine": v.engine, "kind": cert.kind,
            "size": " + ".join(str(p.size) for p in pieces), "unit": _unit(pieces[0].kind),
            "lemmas": len({n for p in pieces for n in p.lemmas}), "covered": bool(files),
            "folder": f"{ROOT}/{c.key}/" if files else "", "files": [p.rsplit("/", 1)[1] for p in files],
            "checker": checker}


def _proofs_said(proofs: list[dict[str, Any]]) -> str:
    """The proofs section's opening sentences, from what was re-checked."""
    covered = [p for p in proofs if p["covered"]]
    rest = [p["key"] for p in proofs if not p["covered"]]
    if not proofs:
        return "No property checked is proved."
    said = (f"{plural(len(proofs), 'proof')}. " + (
        f"For {'every one' if not rest else plural(len(covered), 'proof')}, each obligation of its certificate "
        "(Init ⇒ Inv, Inv ∧ Trans ⇒ Inv′ and Inv ⇒ P, or one-step recovery for REACH) was written as a standalone "
        "SMT-LIB 2 file over the full model with the property's monitors and solved by a fresh Z3 process before "
        "it was reported (a proof Z3 did not confirm would be shown as unknown)." if covered else ""))
    if rest:
        said += (f" Not independently re-checked: {join(rest)}, whose certificate kind (a ranking of the explicit "
                 "REACH engine) has no standalone obligations yet.")
    return said


def _unit(kind: str) -> str:
    return {"inductive-invariant": "clauses", "k-inductive": "k", "reachable-set": "states", "ranking": "states",
            "enumeration": "states", "one-step-recovery": "recovery steps"}.get(kind, "")


def _storm(results: Results) -> list[dict[str, Any]]:
    out = []
    for r in results.storms:
        peak = r.monte_carlo.peak.p999 if r.monte_carlo else r.exact.peak
        out.append({"policy": str(r.input.policy), "alerts_per_day": f"{r.exact.total:,.0f}",
                    "peak": f"{peak:,.0f}", "basis": "p99.9 over runs" if r.monte_carlo else "exact",
                    "capacity": f"{r.input.capacity:,.0f}", "over": f"{r.exact.seconds_over_capacity:,}",
                    "storm": peak > r.input.capacity})
    return out


def _change(ev: Evidence) -> dict[str, Any] | None:
    plan = ev.results.plan
    if not (plan.baseline and plan.change):
        return None
    rows = []
    for ch in ev.changes:
        a_cells = {c.prop.id: c for c in ev.cells if c.row is ch.a_row}
        b_cells = {c.prop.id: c for c in ev.cells if c.row is ch.b_row}
        for cmp in ch.comparisons:
            pid = cmp.a.property.id
            rows.append({"threat_model": ch.threat_model, "property": pid, "change": cmp.change,
                         "flip": cmp.change in ("broken by B", "fixed by B"),
                         "a": cell_link(a_cells[pid], ev), "b": cell_link(b_cells[pid], ev),
                         "why_a": ev.by_cell[a_cells[pid].key].how if a_cells[pid].key in ev.by_cell else "",
                         "why_b": ev.by_cell[b_cells[pid].key].how if b_cells[pid].key in ev.by_cell else ""})
    return {"baseline": plan.baseline, "change": plan.change, "sentences": ev.change_sentences,
            "flips": [r for r in rows if r["flip"]], "rows": rows}


def view(ev: Evidence, doc: dict[str, Any], repro: dict[str, Any], storm_svg: str,
         tests: dict[str, Any] | None = None) -> dict[str, Any]:
    """The context of both templates."""
    plan = ev.results.plan
    proofs = [_proof(c, ev) for c in ev.cells if isinstance(c.outcome.verdict, Proved)]
    title = (f"Design change assessment: {plan.change} against {plan.baseline}" if plan.change else
             f"Security evidence: {join(list(plan.variants))}")
    return {
        "title": title, "doc": doc, "headline": ev.headline,
        "designs": [{"variant": d.variant, "doc": d.doc, "sentences": d.sentences} for d in ev.designs],
        "findings_first": doc["summary"]["findings_first"], "more_findings": max(0, len(ev.findings) - 5),
        "questions": [{"id": a.question.id, "text": a.question.text, "answer": a.paragraph,
                       "table": _question_table(a.checked, ev)} for a in ev.answers],
        "matrix": _matrix(ev),
        "findings": [_finding(f, ev) for f in ev.findings],
        "proofs": proofs, "proofs_said": _proofs_said(proofs),
        "unknowns": [{"anchor": f"unknown-{c.anchor}", "key": c.key, "reason": c.outcome.verdict.detail}
                     for c in ev.cells if c.outcome.verdict.verdict == "unknown"],
        "change": _change(ev),
        "scope": ev.scope, "glossary": GLOSSARY,
        "storm": _storm(ev.results), "storm_svg": storm_svg,
        "storm_plot_policy": str(ev.results.storms[0].input.policy) if ev.results.storms else "",
        "repro": repro, "tests": tests, "mark": MARK,
    }
