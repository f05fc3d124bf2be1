"""Replay a model trace on a system under test, comparing abstract states after every step.

Generated tests call this: ``Replay(sut, trace).start()``, then ``.step(n)`` for each step (which
performs it and fails, naming the step and every diverging observation, if the SUT disagrees
with the model), then the test's own assertion on ``.observed``. ``.refused(n)`` checks the
opposite: that the SUT refuses (or does nothing for) a step the model says cannot happen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otaproof.generators.adapter import Adapter, Refused, Setup, Step, Unsupported, abstract_state, divergences

SR_ACTIONS = ("SR11_4_update_PPMID_firmware", "SR11_1_update_firmware", "SR11_3_activate_firmware",
              "SR11_2_read_firmware_version", "SR8_2_read_inventory")


class Divergence(AssertionError):
    """The SUT did something other than the model at a step (the message says what and where)."""


def load_trace(path: Path | str) -> dict[str, Any]:
    """A trace file written beside the tests (schema otaproof.trace/1)."""
    return json.loads(Path(path).read_text())


def step_of(trace: dict[str, Any], n: int) -> Step:
    """Step ``n`` (1-based) of a trace as an adapter step."""
    s = trace["steps"][n - 1]
    return Step(s["step"], s["machine"], s["action"], s["parameters"])


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
            pytest.skip(f"the system under test cannot be configured so: {err}")
        self._compare("the initial state", self.trace["initial_state"])

    def expected(self, n: int) -> dict[str, Any]:
        """The model's abstract state after step ``n`` (0: the initial state)."""
        state = self.trace["initial_state"] if n == 0 else self.trace["steps"][n - 1]["state"]
        return abstract_state(state, self.parameters)

    def step(self, n: int) -> None:
        """Perform step ``n`` on the SUT; fail with the step and the divergences if it disagrees."""
        step, recorded = step_of(self.trace, n), self.trace["steps"][n - 1]
        where = f"step {n} ({recorded['machine']}: {step.label()})"
        try:
            outcome = self.sut.perform(step)
        except Unsupported as err:
            pytest.skip(f"{where}: {err}")
        except Divergence:
            raise
        except Refused as err:
            raise Divergence(f"{where}: the model takes branch {recorded['branch']!r}, the SUT refuses: {err}") from None
        except AssertionError as err:
            raise Divergence(f"{where}: the SUT cannot follow the model: {err}") from None
        if step.action in SR_ACTIONS and outcome != recorded["branch"]:
            raise Divergence(f"{where}: the model's DSP answers {recorded['branch']!r}, the SUT's {outcome!r}")
        self.outcome = outcome
        self._compare(where, recorded["state"])

    def refused(self) -> str:
        """The trace's ``refused`` step (one the model cannot take here) must be refused by the SUT,
        leaving its abstract state as it was; returns how the SUT refused."""
        r = self.trace["refused"]
        step, n = Step(r["step"], r["machine"], r["action"], r["parameters"]), r["step"]
        before = self.sut.observe()
        try:
            outcome = self.sut.perform(step)
        except Unsupported as err:
            pytest.skip(f"step {n} ({step.label()}): {err}")
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
        changed = divergences(before, after)
        if changed:
            raise Divergence(f"step {n} ({step.label()}): refused, yet the SUT's state changed: " + "; ".join(changed))
        self.observed = after
        return how

    def _compare(self, where: str, state: dict[str, Any]) -> None:
        self.observed = self.sut.observe()
        lines = divergences(abstract_state(state, self.parameters), self.observed)
        if lines:
            raise Divergence(f"{where}: the SUT diverges from the model:\n  " + "\n  ".join(lines))
