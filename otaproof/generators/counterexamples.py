"""Counterexamples become test cases: a reproduction on the violating design and a guard on the
approved one (the same attack, refused at the step the model predicts).

The guard is computed, not guessed: the violating trace's steps are fired one by one in the
explicit semantics of the approved design (same threat and fault model). The first step that the
approved design cannot take, or takes with another outcome, is where it stops the attack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.trace import ReplayError, Trace, instance_index, make_trace

APPROVED = "secmp0007"


@dataclass(frozen=True)
class Reproduction:
    """A property's counterexample on one design, to be replayed as it is."""

    property_id: str
    scenario: Scenario
    trace: Trace


@dataclass(frozen=True)
class Guard:
    """The approved design's answer to a reproduction's attack.

    ``prefix`` is the approved design's trace of the steps before the guard step; the guard step
    is either refused outright (``refused`` set: the approved design has no such enabled action)
    or taken with another outcome (``prefix``'s last step, ``refused`` None)."""

    reproduction: Reproduction
    prefix: Trace
    step: int
    refused: dict[str, Any] | None
    approved_branch: str | None
    attack_branch: str


def guard_for(rep: Reproduction, approved: BuiltModel | None = None) -> Guard | None:
    """Where the approved design stops ``rep``'s attack; None if it does not (it is violated too)."""
    sc = rep.scenario
    approved = approved or build(Scenario(APPROVED, sc.threats, sc.faults, sc.parameters))
    system, interp = approved.system, Interpreter(approved.system)
    state, choices = interp.initial_state(), list[int]()
    for s in rep.trace.steps:
        try:
            index: int | None = instance_index(system, s)
        except ReplayError:
            index = None
        if index is None or index not in interp.enabled(state):
            prefix = _trace(approved, choices, rep)
            refused = {"step": s.step, "machine": s.machine, "action": s.action, "parameters": s.parameters,
                       "branch": s.branch}
            return Guard(rep, prefix, s.step, refused, None, s.branch)
        branch = interp.branch_taken(state, index)
        choices.append(index)
        state = interp.step(state, index)
        if branch != s.branch:
            return Guard(rep, _trace(approved, choices, rep), s.step, None, branch, s.branch)
    return None  # the approved design follows the attack step for step


def _trace(approved: BuiltModel, choices: list[int], rep: Reproduction) -> Trace:
    sc = rep.scenario
    return make_trace(approved.system, None, choices, rep.property_id, sorted(sc.threats), sorted(sc.faults))
