"""The pack's re-checkable evidence: certificate files, and the two re-checks ``otaproof verify``
runs in fresh worker processes (a certificate against the model, a trace replayed on it).

Until standalone SMT-LIB obligation files exist (issue 18, ``properties/obligations.py``), a
certificate file holds the invariant the checker re-checked, as SMT-LIB text over the state
variables ``<name>@c``, with a header naming its scenario, property and part. :func:`recheck`
rebuilds that property part from the model and checks the three obligations (Init ⇒ Inv,
Inv ∧ Trans ⇒ Inv', Inv ⇒ ¬Bad) with a fresh solver over the full model, not the slice the
engine used. It is the one place to switch to the obligation files.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.slicing import constant_folded
from otaproof.model.system import System
from otaproof.properties.catalogue import get_property
from otaproof.properties.certificate import check_certificate, check_recovery_certificate
from otaproof.properties.engines import explicit
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import Reach, reach_slice
from otaproof.properties.jobs import Job, parts
from otaproof.properties.trace import ReplayError, Trace, instance_index, readable, replay
from otaproof.properties.verdict import Budget, Certificate, Proved
from otaproof.reports.evidence.findings import built_model

SMT_KINDS = ("inductive-invariant", "k-inductive", "reachable-set")  # an invariant the checker re-checks
REACH_CLOSURE_LIMIT = 200_000  # states explored from a trace's end state to re-establish stranding


@dataclass(frozen=True)
class Check:
    """The outcome of one re-check."""

    ok: bool
    reason: str
    seconds: float


def scenario_of(entry: dict[str, Any]) -> Scenario:
    """The scenario an evidence entry names (variant, threats, faults, parameters)."""
    return Scenario(entry["variant"], frozenset(entry["threats"]), frozenset(entry["faults"]),
                    Parameters(**entry["parameters"]))


def certificate_parts(cert: Certificate) -> tuple[Certificate, ...]:
    """A conjunction's parts (one per property part, in ``properties.check.parts`` order) or the certificate."""
    return cert.parts if cert.kind == "conjunction" else (cert,)


def certificate_file(key: str, part: int, kind: str) -> str:
    return f"certificates/{key}.part{part + 1}." + ("smt2" if kind in SMT_KINDS else "claim.txt")


def certificate_text(entry: dict[str, Any], part: int, total: int, cert: Certificate) -> str:
    """A certificate file: a comment header saying what it certifies and how to re-check it, then the invariant."""
    threats = ", ".join(entry["threats"]) or "none"
    faults = ", ".join(entry["faults"]) or "none"
    params = ", ".join(f"{k}={v}" for k, v in sorted(entry["parameters"].items()))
    head = [f"otaproof certificate ({cert.kind}, size {cert.size}) of {entry['property']}, part {part + 1} of {total}",
            f"design {entry['variant']}; threats {threats}; faults {faults}; parameters {params}",
            f"model lemmas in it: {', '.join(cert.lemmas) or 'none'}"]
    if cert.kind in SMT_KINDS:
        head += ["an invariant Inv over the state variables <name>@c; it certifies the property part when",
                 "Init & !Inv, Inv & Trans & !Inv' and Inv & Bad are unsatisfiable over the full model",
                 "re-check: otaproof verify <pack directory>"]
        return "".join(f"; {line}\n" for line in head) + cert.smtlib + "\n"
    head += ["a claim about recovery (REACH) that otaproof verify re-establishes on the model:"]
    return "".join(f"# {line}\n" for line in head) + cert.smtlib + "\n"


def _job(entry: dict[str, Any], part: int) -> tuple[Scenario, Job]:
    scenario = scenario_of(entry)
    jobs = parts(built_model(scenario), get_property(entry["property"]))
    if not 0 <= part < len(jobs):
        raise ValueError(f"{entry['property']} has {len(jobs)} part(s), not a part {part + 1}")
    return scenario, jobs[part]


def _body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith((";", "#")))


def recheck(entry: dict[str, Any], part: int, kind: str, text: str, timeout: float, seed: int) -> Check:
    """Re-check one certificate file against the model, in this (fresh) process."""
    start = time.monotonic()
    try:
        scenario, job = _job(entry, part)
    except (ValueError, KeyError, TypeError) as e:
        return Check(False, f"cannot rebuild the property part: {e}", time.monotonic() - start)
    if kind in SMT_KINDS:
        if not isinstance(job, Problem):
            return Check(False, f"a {kind} certificate for a REACH property", time.monotonic() - start)
        r = check_certificate(job.task, _body(text), timeout=timeout, seed=seed)
        return Check(r.ok, r.reason + " (full model)" if r.ok else r.reason, time.monotonic() - start)
    if not isinstance(job, list):
        return Check(False, f"a {kind} certificate for a safety property", time.monotonic() - start)
    system = built_model(scenario).system
    if kind == "one-step-recovery":
        folded = constant_folded(system)
        for formula in job:
            sl = reach_slice(folded, formula)
            r = check_recovery_certificate(sl.slice.system, sl.target, sl.legitimate, timeout=timeout, seed=seed)
            if not r.ok:
                return Check(False, f"{formula.subject}: {r.reason}", time.monotonic() - start)
        return Check(True, "every state off each target has a legitimate step into it", time.monotonic() - start)
    if kind == "ranking":  # no file to check: the state graph is explored again and its ranking re-checked
        v = explicit.check_reach(system, job, entry["property"], tuple(sorted(scenario.threats)),
                                 tuple(sorted(scenario.faults)), Budget(timeout=timeout, seed=seed))
        ok = isinstance(v, Proved)
        return Check(ok, "re-derived: every reachable state has a legitimate path to each target" if ok else
                     f"not re-derived: {v.detail}", time.monotonic() - start)
    return Check(False, f"unknown certificate kind {kind!r}", time.monotonic() - start)


def replay_trace(entry: dict[str, Any], data: dict[str, Any]) -> Check:
    """Replay a trace file on the model: every step enabled, every recorded state the model's,
    and the property violated at the end (for REACH: no legitimate path from the end state
    reaches the target)."""
    start = time.monotonic()
    try:
        trace = Trace.from_json(data)
        scenario = scenario_of(entry)
        if (trace.variant, sorted(trace.threats), sorted(trace.faults), trace.property) != \
                (scenario.variant, sorted(scenario.threats), sorted(scenario.faults), entry["property"]):
            return Check(False, "the trace names another design, threat model or property than its cell",
                         time.monotonic() - start)
        built = built_model(scenario)
        choices = [instance_index(built.system, s) for s in trace.steps]
        states = replay(built.system, None, choices)
    except (ReplayError, ValueError, KeyError, TypeError) as e:
        return Check(False, f"does not replay: {e}", time.monotonic() - start)
    recorded = [trace.initial_state, *(s.state for s in trace.steps)]
    for n, (state, want) in enumerate(zip(states, recorded, strict=True)):
        got = readable(built.system, state)
        if got != want:
            return Check(False, f"state after step {n} differs from the model's", time.monotonic() - start)
    jobs = parts(built, get_property(entry["property"]))
    for job in jobs:
        if isinstance(job, list):
            why = _stranded(built.system, job, states[-1])
            return Check(why is None, why or "replayed; the end state is stranded", time.monotonic() - start)
        try:
            replay(job.task.system, job.task.bad, choices)
            return Check(True, f"replayed {len(choices)} steps; the property is violated at the end",
                         time.monotonic() - start)
        except ReplayError:
            continue
    return Check(False, "replays, but the end state does not violate the property", time.monotonic() - start)


def _stranded(system: System, formulas: list[Reach], end: State) -> str | None:
    """None when, for some formula, no legitimate path from ``end`` reaches its target; else why not."""
    folded = constant_folded(system)
    for formula in formulas:
        part = reach_slice(folded, formula)
        sliced = part.slice
        root = [0] * len(sliced.system.variables)
        for original, var in sliced.kept_variables.items():
            root[var.index] = end[original]
        interp = Interpreter(sliced.system)
        seen, queue, among = {tuple(root)}, deque([tuple(root)]), sorted(part.legitimate)
        reached = False
        while queue and not reached and len(seen) <= REACH_CLOSURE_LIMIT:
            s = queue.popleft()
            if interp.holds(part.target, s):
                reached = True
                break
            for _, t in interp.successors(s, among):
                if t not in seen:
                    seen.add(t)
                    queue.append(t)
        if not reached and not queue:
            return None
    return "the end state is not stranded (every target stays reachable) or its closure is too large"
