"""The working group's five questions (August 2019) and the stranding concern, answered from
computed verdicts and storm figures. Which properties and designs answer which question is data
(``QUESTIONS``); every sentence of an answer is generated from the results, none is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otaproof.properties.verdict import Violated
from otaproof.reports.matrix import Row
from otaproof.reports.storm import StormResult


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    properties: tuple[str, ...]
    threat_models: tuple[str, ...] = ("none",)
    storm: bool = False


QUESTIONS: tuple[Question, ...] = (
    Question("Q1", "How can we ensure local updates can only be carried out using firmware listed on the CPL?",
             ("P-CPL", "P-LOCAL-BANNED"), ("none", "local_physical")),
    Question("Q2", "How will the SMI be updated with the firmware version following local firmware updates?",
             ("P-SMI", "P-SMI-BOUNDED")),
    Question("Q3", "How will the information given in SR 8.2 Read Inventory be affected?", ("P-INVENTORY",)),
    Question("Q4", "Should the Communications Hub be required to store firmware information and/or forward it on?",
             ("P-HUB-TRANSIENT", "P-SMI-BOUNDED", "P-REPORT-AUTH"), ("none", "han_mitm")),
    Question("Q5", "Could the proposed daily alert from the IHD/PPMID to the CH constitute an alert storm?",
             ("P-ALERT-BUDGET",), ("none", "han_mitm"), storm=True),
    Question("Stranding", "Does banning local updates risk stranding a device after supplier churn?",
             ("P-NO-STRAND",)),
)

def _where(row: Row) -> str:
    return f"{row.scenario.variant} (threats: {row.threat_model})"


def property_findings(pid: str, rows: list[Row], models: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    """(proved in, violated in (with how), unknown in) over the rows of the given threat models."""
    proved, violated, unknown = [], [], []
    for row in rows:
        if row.threat_model not in models:
            continue
        for o in row.outcomes:
            if o.property.id != pid:
                continue
            v = o.verdict
            if isinstance(v, Violated):
                violated.append(f"{_where(row)} ({_trace_summary(v)}; evidence: {evidence_id(row, pid)})")
            elif v.verdict == "proved":
                proved.append(_where(row))
            else:
                unknown.append(_where(row))
    return proved, violated, unknown


SPELLED_OUT_STEPS = 4  # a trace this short is named step by step in an answer


def _trace_summary(v: Violated) -> str:
    """A counterexample in a few words: every step of a short one, else its length and last step."""
    steps = v.trace.steps
    if not steps:
        return "violated in the initial state"
    if len(steps) <= SPELLED_OUT_STEPS:
        named = ", ".join(f"{s.action}({', '.join(f'{k}={x}' for k, x in s.parameters.items())})" for s in steps)
        return f"{len(steps)}-step trace: {named}"
    return f"{len(steps)}-step trace ending in {steps[-1].action}"


def evidence_id(row: Row, pid: str) -> str:
    return f"traces/{row.scenario.variant}/{row.threat_model}/{pid}"


def designs_satisfying(pids: tuple[str, ...], rows: list[Row], models: tuple[str, ...]) -> list[str]:
    """Designs where every listed property is proved under every listed threat model."""
    ok: dict[str, bool] = {}
    for row in rows:
        if row.threat_model not in models:
            continue
        for o in row.outcomes:
            if o.property.id in pids:
                ok[row.scenario.variant] = ok.get(row.scenario.variant, True) and o.verdict.verdict == "proved"
    return [d for d, good in ok.items() if good]


def storm_lines(results: list[StormResult]) -> list[str]:
    lines = []
    for r in results:
        cap = r.input.capacity
        peak = r.monte_carlo.peak.p999 if r.monte_carlo else r.exact.peak
        basis = "99.9th percentile over runs" if r.monte_carlo else "exact"
        verdict = "exceeds" if peak > cap else "stays within"
        lines.append(f"{r.input.policy!s}: peak {peak:,.0f} alerts/s ({basis}) {verdict} the capacity of {cap:,.0f}/s"
                     f"; {r.exact.seconds_over_capacity:,} s of the day over capacity in the "
                     f"{'exact' if r.exact_kind == 'exact' else 'expected'} load")
    within = [str(r.input.policy) for r in results
              if (r.monte_carlo.peak.p999 if r.monte_carlo else r.exact.peak) <= r.input.capacity]
    lines.append("policies that avoid a storm at this capacity: " + (", ".join(within) or "none of those computed"))
    return lines


def answer(q: Question, rows: list[Row], storms: list[StormResult]) -> list[str]:
    """The generated answer: one line per finding."""
    lines = []
    for pid in q.properties:
        proved, violated, unknown = property_findings(pid, rows, q.threat_models)
        lines.append(f"{pid} proved in: {', '.join(proved) or 'none'}")
        lines += [f"{pid} violated in: {v}" for v in violated]
        if unknown:
            lines.append(f"{pid} undecided (unknown) in: {', '.join(unknown)}")
    if q.properties:
        good = designs_satisfying(q.properties, rows, q.threat_models)
        lines.append(f"designs satisfying {' and '.join(q.properties)} under threat models "
                     f"{', '.join(q.threat_models)}: {', '.join(good) or 'none of those checked'}")
    if q.storm:
        lines += storm_lines(storms)
    return lines


def questions_document(rows: list[Row], storms: list[StormResult], answers: dict[str, list[str]]) -> dict[str, Any]:
    traces = {evidence_id(row, o.property.id): o.verdict.trace.to_json() for row in rows for o in row.outcomes
              if isinstance(o.verdict, Violated)}
    return {"schema": "otaproof.questions/1",
            "questions": [{"id": q.id, "text": q.text, "properties": list(q.properties),
                           "threat_models": list(q.threat_models), "answer": answers[q.id]} for q in QUESTIONS],
            "storm": [{"policy": str(r.input.policy), "capacity": r.input.capacity, "exact_peak": r.exact.peak,
                       "p999_peak": r.monte_carlo.peak.p999 if r.monte_carlo else None,
                       "seconds_over_capacity": r.exact.seconds_over_capacity} for r in storms],
            "traces": traces}
