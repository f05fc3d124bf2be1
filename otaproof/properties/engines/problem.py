"""What an engine checks (``Problem``), and the two ways every engine ends: a counterexample
reported only after it replays, and a search that gave up reported as Unknown."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from otaproof.model.explicit import Interpreter, run
from otaproof.model.lang import FALSE, ModelError
from otaproof.properties.engines.strengthen import Reused, Strengthening
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.solver import Deadline, GaveUp
from otaproof.properties.trace import ReplayError, make_trace
from otaproof.properties.verdict import Budget, ModelSlip, Unknown, Verdict, Violated


@dataclass(frozen=True)
class Problem:
    """A safety task with the labels its traces carry."""

    task: SafetyTask
    property_id: str
    threats: tuple[str, ...]
    faults: tuple[str, ...]
    known: Strengthening | None = None  # the model's lemmas already proved inductive (shared work)
    reused: Reused | None = None  # a proof of this part in another scenario: candidate lemmas
    # the caller re-checks a proof's obligation files in a fresh Z3 process (``EngineRun``): the
    # engine then skips its own in-process check of the same three obligations
    rechecked: bool = False
    # the lemma stage may learn clauses from counterexamples to induction (generated candidates
    # only); False: it gives up at once, so that a BMC probe can look for a violation first
    generalise: bool = True


Engine = Callable[[Problem, Budget], Verdict]
Search = Callable[[Problem, Budget, Deadline], Verdict]


def engine(name: str) -> Callable[[Search], Engine]:
    """Make a search an engine: its deadline starts when it is called, and a search that gives
    up (``GaveUp``) becomes Unknown with the reason, under the engine's name."""

    def wrap(search: Search) -> Engine:
        @functools.wraps(search)
        def check(problem: Problem, budget: Budget) -> Verdict:
            deadline = Deadline(budget.timeout, budget.rlimit)
            try:
                verdict = search(problem, budget, deadline)
            except GaveUp as e:
                verdict = Unknown(name, deadline.elapsed(), e.reason, searched=e.searched)
            return dataclasses.replace(verdict, units=deadline.used)

        return check

    return wrap


def counterexample(problem: Problem, engine_name: str, choices: Sequence[int], deadline: Deadline) -> Verdict:
    """Violated with the trace of ``choices``, only if it replays in the explicit semantics
    (otherwise Unknown: the two semantics disagree, and nothing is reported). A trace to a
    modelling slip raises ``ModelSlip`` once the explicit semantics fails on that step."""
    task = problem.task
    try:
        trace = make_trace(task.system, task.bad, choices, problem.property_id, problem.threats, problem.faults)
    except ReplayError as e:
        return Unknown(engine_name, deadline.elapsed(), f"counterexample did not replay: {e}")
    if task.slip is not FALSE:
        interp = Interpreter(task.system)
        end = run(interp, choices)[-1]
        if interp.holds(task.slip, end):
            for i in range(len(task.system.instances)):
                try:
                    if interp.branch_taken(end, i) is not None:
                        interp.step(end, i)
                except ModelError as e:
                    raise ModelSlip(str(e), trace) from None
            return Unknown(engine_name, deadline.elapsed(), "the domain check flags a step that the explicit "
                                                            "semantics takes without error")
    return Violated(engine_name, deadline.elapsed(), trace)
