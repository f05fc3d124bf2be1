"""Incremental bounded model checking: minimal-depth counterexamples, never proofs."""

from __future__ import annotations

import z3

from otaproof.model.slicing import Slice, cone_of_influence
from otaproof.model.symbolic import Encoder
from otaproof.properties.engines import Deadline, Problem, new_solver, violated_or_unknown
from otaproof.properties.engines.strengthen import NONE, Strengthening
from otaproof.properties.verdict import Budget, Unknown, Verdict


def check(problem: Problem, budget: Budget) -> Verdict:
    """Unroll one step at a time; at each depth ask for a bad state under a fresh assumption."""
    deadline = Deadline(budget)
    found = find_counterexample(problem, budget, deadline)
    if isinstance(found, str):
        return Unknown("bmc", deadline.elapsed(), found)
    return report(problem, "bmc", found, deadline)


def report(problem: Problem, engine: str, choices: list[int], deadline: Deadline) -> Verdict:
    return violated_or_unknown(problem, engine, choices, deadline)


def _projected(problem: Problem, sliced: Slice) -> Strengthening:
    """The model's known inductive lemmas that the slice can express. They hold in every
    reachable state, so adding them to the unrolling removes no real path; it prunes the search."""
    if problem.known is None:
        return NONE
    pairs = [(n, e) for n, x in zip(problem.known.names, problem.known.exprs) if (e := sliced.project(x)) is not None]
    return Strengthening(tuple(n for n, _ in pairs), tuple(e for _, e in pairs))


def find_counterexample(problem: Problem, budget: Budget, deadline: Deadline) -> list[int] | str:
    """Original-system action choices of a shortest counterexample, or why none was found.

    Works on the cone-of-influence slice; the choices are mapped back to the full system.
    """
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    enc = Encoder(sliced.system)
    known = _projected(problem, sliced)
    solver = new_solver(budget, deadline)
    states = [enc.state("0")]
    actions: list[z3.BitVecRef] = []
    solver.add(enc.init(states[0]))
    for k in range(budget.depth + 1):
        if k > 0:
            a, t = enc.action(str(k - 1)), enc.state(str(k))
            solver.add(enc.trans(states[-1], a, t), known.at(enc, t))
            actions.append(a)
            states.append(t)
        goal = z3.Bool(f"bad@{k}")
        solver.add(z3.Implies(goal, enc.expr(sliced.predicate, states[k])))
        if deadline.expired():
            return f"timeout after depth {k - 1} without a counterexample"
        solver.set("timeout", deadline.remaining_ms())
        result = solver.check(goal)
        if result == z3.sat:
            model = solver.model()
            return [sliced.original_instance[enc.decode_action(model, a)] for a in actions]
        if result == z3.unknown:
            return f"no counterexample up to depth {k - 1}; solver stopped at depth {k}: {solver.reason_unknown()}"
    return f"no counterexample up to depth {budget.depth} (a bounded check, not a proof)"
