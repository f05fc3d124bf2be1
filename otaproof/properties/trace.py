"""Counterexample traces: replay in the explicit semantics, and a versioned JSON form.

Schema ``otaproof.trace/1`` (documented in docs/trace-schema.md):
``{"schema", "variant", "threats", "faults", "parameters", "property", "initial_state",
   "steps": [{"step", "machine", "action", "parameters", "branch", "changes", "state"}]}``
``changes`` maps each changed variable to ``[old, new]``; ``state`` is the full state after the
step. Monitor variables (property bookkeeping) are not part of traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import Expr, ModelError
from otaproof.model.system import System

SCHEMA = "otaproof.trace/1"


class ReplayError(Exception):
    """A counterexample that does not replay in the explicit semantics (never reported)."""


@dataclass(frozen=True)
class TraceStep:
    step: int
    machine: str
    action: str
    parameters: dict[str, Any]
    branch: str
    changes: dict[str, list[Any]]
    state: dict[str, Any]
    instance: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Trace:
    variant: str
    threats: list[str]
    faults: list[str]
    parameters: dict[str, Any]
    property: str
    initial_state: dict[str, Any]
    steps: list[TraceStep]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "variant": self.variant, "threats": self.threats, "faults": self.faults,
            "parameters": self.parameters, "property": self.property, "initial_state": self.initial_state,
            "steps": [{"step": s.step, "machine": s.machine, "action": s.action, "parameters": s.parameters,
                       "branch": s.branch, "changes": s.changes, "state": s.state} for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"trace schema {data.get('schema')!r} is not {SCHEMA!r}")
        steps = [TraceStep(s["step"], s["machine"], s["action"], s["parameters"], s["branch"], s["changes"],
                           s["state"]) for s in data["steps"]]
        return cls(data["variant"], data["threats"], data["faults"], data["parameters"], data["property"],
                   data["initial_state"], steps)


def instance_index(system: System, step: TraceStep) -> int:
    """The action instance a (possibly deserialised) trace step names, by action and parameters."""
    for inst in system.instances:
        if inst.action == step.action and {k: _jsonable(v) for k, v in inst.params} == step.parameters:
            return inst.index
    raise ReplayError(f"step {step.step}: the model has no action {step.action}{step.parameters}")


def _jsonable(value: object) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _visible(system: System) -> list[int]:
    return [v.index for v in system.variables if v.owner != "monitor"]


def readable(system: System, s: State) -> dict[str, Any]:
    return {system.variables[i].name: _jsonable(system.variables[i].sort.decode(s[i])) for i in _visible(system)}


def replay(system: System, bad: Expr | None, choices: Sequence[int], interp: Interpreter | None = None
           ) -> list[State]:
    """Fire ``choices`` from the initial state; the last state must satisfy ``bad`` (if given).
    ``interp``: the system's interpreter, if the caller has one (it compiles what it runs).

    Raises ReplayError when a step is not enabled or the end state is not bad."""
    interp = interp or Interpreter(system)
    states = [interp.initial_state()]
    for n, c in enumerate(choices):
        if not 0 <= c < len(system.instances):
            raise ReplayError(f"step {n + 1}: no action instance {c}")
        try:
            states.append(interp.step(states[-1], c))
        except ModelError as e:
            raise ReplayError(f"step {n + 1}: {e}") from None
    if bad is not None and not interp.holds(bad, states[-1]):
        raise ReplayError("the final state does not violate the property")
    return states


def make_trace(system: System, bad: Expr | None, choices: Sequence[int], property_id: str,
               threats: Sequence[str], faults: Sequence[str]) -> Trace:
    """Replay ``choices`` and describe each step; raises ReplayError if it does not replay."""
    interp = Interpreter(system)
    states = replay(system, bad, choices, interp)
    steps = []
    for n, c in enumerate(choices):
        inst = system.instances[c]
        before, after = states[n], states[n + 1]
        changes = {system.variables[i].name: [_jsonable(system.variables[i].sort.decode(before[i])),
                                              _jsonable(system.variables[i].sort.decode(after[i]))]
                   for i in _visible(system) if before[i] != after[i]}
        steps.append(TraceStep(n + 1, inst.machine, inst.action, {k: _jsonable(v) for k, v in inst.params},
                               interp.branch_taken(before, c) or "?", changes, readable(system, after), c))
    return Trace(system.name, sorted(threats), sorted(faults), dict(system.parameters), property_id,
                 readable(system, states[0]), steps)
