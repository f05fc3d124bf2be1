"""Model-checking engines; each maps (Problem, Budget) to one Verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import z3

from otaproof.properties.formulas import SafetyTask
from otaproof.properties.trace import ReplayError, make_trace
from otaproof.properties.verdict import Budget, Unknown, Verdict, Violated

if TYPE_CHECKING:
    from otaproof.properties.engines.strengthen import Reused, Strengthening


@dataclass(frozen=True)
class Problem:
    """A safety task with the labels its traces carry."""

    task: SafetyTask
    property_id: str
    threats: tuple[str, ...]
    faults: tuple[str, ...]
    known: Strengthening | None = None  # the model's lemmas already proved inductive (shared work)
    reused: Reused | None = None  # a proof of this part in another scenario: candidate lemmas


class Deadline:
    """Wall-clock budget shared by the queries of one engine run."""

    def __init__(self, budget: Budget) -> None:
        self.start = time.monotonic()
        self.end = self.start + budget.timeout

    def remaining_ms(self) -> int:
        return max(1, int((self.end - time.monotonic()) * 1000))

    def remaining(self) -> float:
        """Seconds left (0 when expired): what the certificate checker may still spend, so a
        proof that cannot be re-checked within the budget is reported as Unknown."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def new_solver(budget: Budget, deadline: Deadline, logic: str | None = None) -> z3.Solver:
    """A Z3 solver with a fixed seed and the remaining time as its timeout."""
    s = z3.SolverFor(logic) if logic else z3.Solver()
    s.set("random_seed", budget.seed)
    s.set("timeout", deadline.remaining_ms())
    return s


def violated_or_unknown(problem: Problem, engine: str, choices: list[int], deadline: Deadline) -> Verdict:
    """Report a counterexample only after it replays in the explicit semantics."""
    try:
        trace = make_trace(problem.task.system, problem.task.bad, choices, problem.property_id,
                           problem.threats, problem.faults)
    except ReplayError as e:
        return Unknown(engine, deadline.elapsed(), f"counterexample did not replay: {e}")
    return Violated(engine, deadline.elapsed(), trace)
