"""Replay a model trace on a system under test, comparing abstract states after every step.

Generated tests call this: ``Replay(sut, load_trace(path)).start()``, then ``.step(n)`` for each
step (which performs it and fails, naming the step and every diverging observation, if the SUT
disagrees with the model), then the test's own assertion on ``.observed``. ``.refused(n)`` checks
the opposite: that the SUT refuses (or does nothing for) a step the model says cannot happen.

A trace file is checked against the model before it is used (``load_trace``): a corrupt or
truncated file, an action the model does not have, or a recorded state the model does not reach
fails the test with the file's name, so a tampered suite cannot pass. Only what the adapter
declares it cannot drive (``Adapter.unsupported``) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

from otaproof.generators.adapter import Adapter, Refused, Setup, Step, Unsupported, abstract_state, divergences
from otaproof.generators.duis import OBSERVATION as DUIS_REQUESTS
from otaproof.generators.duis import requests_after
from otaproof.generators.edges import EDGES
from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.lang import ModelError
from otaproof.model.system import System
from otaproof.model.variants import build
from otaproof.properties.trace import SCHEMA, ReplayError, Trace, TraceStep, instance_index, readable

SR_ACTIONS = ("SR11_4_update_PPMID_firmware", "SR11_1_update_firmware", "SR11_3_activate_firmware",
              "SR11_2_read_firmware_version", "SR8_2_read_inventory")


class Divergence(AssertionError):
    """The SUT did something other than the model at a step (the message says what and where)."""


class BadTrace(Exception):
    """A trace file that is not a trace of the model (corrupt, truncated, tampered, or stale)."""


def load_trace(path: Path | str) -> dict[str, Any]:
    """A trace file written beside the tests (schema otaproof.trace/1), checked against the model;
    a file that is not a faithful trace fails the calling test, naming the file."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        check_trace(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, BadTrace) as e:
        pytest.fail(f"{file}: not a valid trace: {e}", pytrace=False)
    return data  # type: ignore[no-any-return]


@lru_cache(maxsize=16)
def _system(variant: str, threats: tuple[str, ...], faults: tuple[str, ...], parameters: str) -> System:
    values = json.loads(parameters)
    scenario = Scenario(variant, frozenset(threats), frozenset(faults), Parameters().with_values(values))
    return build(scenario).system


def check_trace(data: Any) -> None:
    """Raise BadTrace unless ``data`` replays step by step in the model it names: every action
    exists with its parameters, takes the recorded branch and reaches the recorded state; a guard
    trace's ``refused`` step exists and is not enabled at the end."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadTrace(f"schema is not {SCHEMA!r}")
    try:
        trace = Trace.from_json(data)
        system = _system(trace.variant, tuple(trace.threats), tuple(trace.faults),
                         json.dumps(trace.parameters, sort_keys=True))
    except (KeyError, TypeError, ValueError, ModelError) as e:
        raise BadTrace(f"{type(e).__name__}: {e}") from None
    interp = Interpreter(system)
    state = interp.initial_state()
    if readable(system, state) != trace.initial_state:
        raise BadTrace("the initial state is not the model's")
    for step in trace.steps:
        where = f"step {step.step} ({step.action})"
        try:
            index = instance_index(system, step)
            branch = interp.branch_taken(state, index)
            state = interp.step(state, index)
        except (ReplayError, ModelError) as e:
            raise BadTrace(f"{where}: {e}") from None
        if branch != step.branch or readable(system, state) != step.state:
            raise BadTrace(f"{where}: the model does not take this step as recorded")
    if "refused" in data:  # a step of another design that this one must not take
        r = data["refused"]
        try:
            refused = TraceStep(r["step"], r["machine"], r["action"], r["parameters"], "", {}, {})
        except (KeyError, TypeError) as e:
            raise BadTrace(f"refused step: {type(e).__name__}: {e}") from None
        try:
            index = instance_index(system, refused)
        except ReplayError:
            return  # this design has no such action at all: refusing it is what the test checks
        if index in interp.enabled(state):
            raise BadTrace(f"refused step {refused.step} ({refused.action}): the model can take it")


def step_of(trace: dict[str, Any], n: int) -> Step:
    """Step ``n`` (1-based) of a trace as an adapter step."""
    s = trace["steps"][n - 1]
    return Step(s["step"], s["machine"], s["action"], s["parameters"])


def _declared(sut: Adapter, key: str, err: Unsupported) -> NoReturn:
    """Skip for what the adapter declares it cannot drive; fail for anything else it gives up on."""
    declared: Mapping[str, str] = getattr(sut, "unsupported", {})
    if key in declared:
        pytest.skip(f"the system under test declares it cannot drive {key}: {declared[key]}")
    pytest.fail(f"the adapter cannot drive {key} ({err}), which it does not declare in its `unsupported` "
                "mapping: an undeclared gap fails the test", pytrace=False)


class Replay:
    """One trace being replayed on one SUT."""

    def __init__(self, sut: Adapter, trace: dict[str, Any]) -> None:
        self.sut, self.trace = sut, trace
        self.parameters = trace["parameters"]
        self.observed: dict[str, Any] = {}
        self.outcome: str | None = None

    def start(self, variant: str | None = None) -> None:
        """Configure the SUT as the trace's variant (or ``variant``) and check the initial state."""
        setup = Setup(variant or self.trace["variant"], tuple(self.trace["threats"]), tuple(self.trace["faults"]),
                      self.trace["parameters"])
        try:
            self.sut.start(setup)
        except Unsupported as err:
            missing = [f"variant:{setup.variant}", *(f"threat:{t}" for t in setup.threats),
                       *(f"fault:{f}" for f in setup.faults)]
            declared: Mapping[str, str] = getattr(self.sut, "unsupported", {})
            _declared(self.sut, next((k for k in missing if k in declared), missing[0]), err)
        self._compare("the initial state", 0)

    def expected(self, n: int) -> dict[str, Any]:
        """The model's abstract state after step ``n`` (0: the initial state), with the DUIS
        requests the steps imply when the SUT reports them (an optional observation)."""
        state = self.trace["initial_state"] if n == 0 else self.trace["steps"][n - 1]["state"]
        out = abstract_state(state, self.parameters)
        if DUIS_REQUESTS in self.observed:
            out[DUIS_REQUESTS] = requests_after(self.trace, n)
        return out

    def step(self, n: int) -> None:
        """Perform step ``n`` on the SUT; fail with the step and the divergences if it disagrees."""
        step, recorded = step_of(self.trace, n), self.trace["steps"][n - 1]
        where = f"step {n} ({recorded['machine']}: {step.label()})"
        try:
            outcome = self.sut.perform(step)
        except Unsupported as err:
            _declared(self.sut, f"action:{step.action}", err)
        except Divergence:
            raise
        except Refused as err:
            raise Divergence(f"{where}: the model takes branch {recorded['branch']!r}, "
                             f"the SUT refuses: {err}") from None
        except AssertionError as err:
            raise Divergence(f"{where}: the SUT cannot follow the model: {err}") from None
        if step.action in SR_ACTIONS and outcome != recorded["branch"]:
            raise Divergence(f"{where}: the model's DSP answers {recorded['branch']!r}, the SUT's {outcome!r}")
        self.outcome = outcome
        self._compare(where, n)

    def refused(self) -> str:
        """The trace's ``refused`` step (one the model cannot take here) must be refused by the SUT,
        leaving its abstract state as it was; returns how the SUT refused."""
        r = self.trace["refused"]
        step, n = Step(r["step"], r["machine"], r["action"], r["parameters"]), r["step"]
        before = self.sut.observe()
        try:
            outcome = self.sut.perform(step)
        except Unsupported as err:
            _declared(self.sut, f"action:{step.action}", err)
        except Refused as err:
            how = str(err)
        except AssertionError as err:  # the message the step needs never came: nothing happens
            how = f"nothing to act on: {err}"
        else:
            if outcome is not None and outcome.startswith("rejected"):
                how = f"the DSP answers {outcome}"
            else:
                raise Divergence(f"step {n} ({step.label()}): the model refuses it, the SUT performs it"
                                 + (f" (outcome {outcome!r})" if outcome else ""))
        after = self.sut.observe()
        before.pop(DUIS_REQUESTS, None)  # a refused request is still a request made (and rejected)
        changed = divergences(before, after)
        if changed:
            raise Divergence(f"step {n} ({step.label()}): refused, yet the SUT's state changed: " + "; ".join(changed))
        self.observed = after
        return how

    def edge(self, name: str) -> None:
        """After the trace's steps, send the wire-edge frame ``name`` (``generators.edges``); fail
        unless the SUT answers as the edge says and its state changes only as the edge says."""
        case = EDGES[name]
        where = f"edge {name} ({case.kind} from {case.sender})"
        send = getattr(self.sut, "send_frame", None)
        try:
            if send is None:
                raise Unsupported("the adapter has no send_frame")
            answers = send(case.sender, case.kind, case.fields)
        except Unsupported as err:
            _declared(self.sut, f"frame:{case.kind}", err)
        got = [(kind, fields.get("status")) for kind, fields in answers]
        want = [] if case.answer is None else [(case.answer, case.status)]
        if got != want:
            shown = ", ".join(f"{k} (status {s})" if s is not None else k for k, s in got) or "nothing"
            raise Divergence(f"{where}: {case.rule}; the SUT answers {shown}")
        self._compare(where, len(self.trace["steps"]), case.changes)

    def _compare(self, where: str, n: int, changes: Mapping[str, Any] | None = None) -> None:
        try:
            self.observed = self.sut.observe()
        except AssertionError as err:  # the adapter saw the SUT do something no model state shows
            raise Divergence(f"{where}: {err}") from None
        lines = divergences({**self.expected(n), **(changes or {})}, self.observed)
        if lines:
            raise Divergence(f"{where}: the SUT diverges from the model:\n  " + "\n  ".join(lines))
