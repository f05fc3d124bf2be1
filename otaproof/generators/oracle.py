"""The model as a test oracle: Hypothesis drives random action sequences through a system under test.

A ``RuleBasedStateMachine`` keeps the model's explicit state beside the SUT. Its one rule picks
an action instance the model enables, fires it in the explicit semantics, performs it on the SUT
and compares the observed abstract state with the model's. Hypothesis shrinks a failure to a
minimal sequence; the failing sequence is also written as a trace and a replay test module, so
the minimal counterexample to conformance becomes a test like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from otaproof.generators.adapter import Adapter, Refused, Setup, Step, Unsupported, abstract_state, divergences
from otaproof.generators.replay import SR_ACTIONS, Divergence
from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import build
from otaproof.properties.trace import make_trace, readable

FAILURE_TEST = '''"""A conformance failure found by the model-as-oracle run, shrunk by Hypothesis: {message}"""

from otaproof.generators.replay import Replay, load_trace

from conftest import HERE


def test_oracle_failure(sut):
    """Replays the minimal failing sequence; it fails until the SUT (or the model) is fixed."""
    run = Replay(sut, load_trace(HERE / "failures" / "oracle_failure.json"))
    run.start()
{steps}
'''


def run_oracle(factory: Callable[[], Adapter], variant: str, threats: Sequence[str], faults: Sequence[str],
               parameters: Mapping[str, Any], examples: int = 40, steps: int = 20,
               failures: Path | None = None, shrink: bool = True) -> None:
    """Run ``examples`` random walks of at most ``steps`` actions; raise Divergence on the first
    disagreement between the SUT and the model (shrunk unless ``shrink`` is False, as in a
    mutation run where only failing matters), after writing it to ``failures``."""
    sc = Scenario(variant, frozenset(threats), frozenset(faults), Parameters().with_values(dict(parameters)))
    system = build(sc).system
    interp = Interpreter(system)
    params = dict(system.parameters)
    setup = Setup(variant, tuple(sorted(threats)), tuple(sorted(faults)), params)

    class ModelOracle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.sut = factory()
            self.sut.start(setup)
            self.state = interp.initial_state()
            self.choices: list[int] = []
            self._compare("the initial state")

        @rule(data=st.data())
        def act(self, data: st.DataObject) -> None:
            enabled = interp.enabled(self.state)
            if not enabled:
                return
            # choose the role, then the action, then its parameters: otherwise the many Service
            # Request instances crowd out the hub's and devices' steps and walks stay shallow
            by_role: dict[str, set[str]] = {}
            by_action: dict[str, list[int]] = {}
            for i in enabled:
                by_role.setdefault(system.instances[i].role, set()).add(system.instances[i].action)
                by_action.setdefault(system.instances[i].action, []).append(i)
            role = data.draw(st.sampled_from(sorted(by_role)), label="role")
            action = data.draw(st.sampled_from(sorted(by_role[role])), label="action")
            index = data.draw(st.sampled_from(by_action[action]), label="instance")
            inst = system.instances[index]
            step = Step(len(self.choices) + 1, inst.machine, inst.action, dict(inst.params))
            branch = interp.branch_taken(self.state, index)
            try:
                outcome = self.sut.perform(step)
            except Unsupported:  # the SUT cannot drive this action (it did nothing): neither does the model
                return
            except (Refused, AssertionError) as err:
                self.choices.append(index)
                self._fail(f"step {step.number} ({step.label()}): the SUT cannot follow the model's "
                           f"branch {branch!r}: {err}")
            self.state = interp.step(self.state, index)
            self.choices.append(index)
            if inst.action in SR_ACTIONS and outcome != branch:
                self._fail(f"step {step.number} ({step.label()}): the model's DSP answers {branch!r}, "
                           f"the SUT's {outcome!r}")
            self._compare(f"step {step.number} ({step.label()})")

        def _compare(self, where: str) -> None:
            lines = divergences(abstract_state(readable(system, self.state), params), self.sut.observe())
            if lines:
                self._fail(f"{where}: the SUT diverges from the model:\n  " + "\n  ".join(lines))

        def _fail(self, message: str) -> None:
            if failures is not None:
                _write_failure(failures, make_trace(system, None, self.choices, "oracle", sorted(threats),
                                                    sorted(faults)).to_json(), message)
            raise Divergence(message)

    run_state_machine_as_test(ModelOracle, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True, database=None,
        phases=list(Phase) if shrink else [p for p in Phase if p is not Phase.shrink],
        suppress_health_check=list(HealthCheck), print_blob=False))


def _write_failure(directory: Path, trace: dict[str, Any], message: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oracle_failure.json").write_text(json.dumps(trace, indent=1, sort_keys=True) + "\n")
    steps = "\n".join(f"    run.step({s['step']})  # {s['machine']}: {s['action']}"
                      f"({', '.join(f'{k}={v}' for k, v in s['parameters'].items())}) -> {s['branch']}"
                      for s in trace["steps"]) or "    pass"
    first = message.splitlines()[0].replace('"""', "'")
    (directory / "test_oracle_failure.py").write_text(FAILURE_TEST.format(message=first, steps=steps))
