"""Trace replay for ``otaproof verify``: a counterexample of the pack is re-run on the model
rebuilt from its cell (every step enabled, every recorded state the model's, the property
violated at the end; for REACH, no legitimate path from the end state reaches the target)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from otaproof.model.explicit import Interpreter, State
from otaproof.model.slicing import constant_folded
from otaproof.model.system import System
from otaproof.properties.catalogue import get_property
from otaproof.properties.formulas import Reach, reach_slice
from otaproof.properties.jobs import parts
from otaproof.properties.trace import ReplayError, Trace, instance_index, readable, replay
from otaproof.reports.evidence.certificates import scenario_of
from otaproof.reports.evidence.findings import built_model

REACH_CLOSURE_LIMIT = 200_000  # states explored from a trace's end state to re-establish stranding


@dataclass(frozen=True)
class Check:
    """The outcome of one replay."""

    ok: bool
    reason: str
    seconds: float


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
