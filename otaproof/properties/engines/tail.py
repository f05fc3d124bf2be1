"""Counterexamples to bounded responses, found tail first.

A violation of a bounded response ends with a quiet run: after its last step that restarts the
count (``Restart``), only steps that do not, from a state where the count is 0 and the inductive
lemmas hold. The engine first finds such a run from any such state to a bad state (only the
system's own steps: short and cheap to search), then asks BMC for a prefix from the initial
state that the run's steps, replayed as they are, drive to a bad state. When no prefix exists
within the bound, that run is excluded and the next one tried. Plain BMC must search the whole
trace at once, which is out of reach when the attacker's set-up and the quiet run are long
(27-30 steps on ``geo-local-daily-alert`` under ``han_mitm``). Every trace is replayed before it is
reported; the engine never proves anything, and its traces need not be of minimal depth. Like
BMC, it searches in a Z3 context of its own, so its trace does not depend on what the worker
solved before (the portfolio keeps it when BMC cannot re-derive a trace that deep), and on
Z3's SAT-based QF_BV solver, as BMC (on that cell 13 s of engine time instead of about 45 s).
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from otaproof.model.lang import Expr
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder, Term
from otaproof.properties.engines.bmc import lifted, printed_lemmas
from otaproof.properties.engines.pdr import slice_lemmas
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.smtlib import parsed_step
from otaproof.properties.solver import Deadline, GaveUp, Solver, Unrolling
from otaproof.properties.verdict import Budget, Unknown, Verdict

RUNS_TRIED = 64  # quiet runs whose start no prefix reaches before the engine gives up


@engine("tail")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """Search quiet runs up to ``budget.depth`` steps, and prefixes up to ``budget.depth`` steps."""
    if problem.task.restart is None:
        return Unknown("tail", 0.0, "only bounded responses end with a quiet run")
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    restart = problem.task.restart.on(sliced)
    helper = slice_lemmas(problem, sliced, deadline, budget.seed)
    # as BMC: a context of its own (the trace must not depend on the worker's history), the step parsed
    enc = Encoder(sliced.system, ctx=z3.Context(), model_step=parsed_step)

    def quiet(a: z3.BitVecRef) -> z3.BoolRef:
        return z3.And([a != i for i in sorted(restart.steps)], enc.ctx)

    def bad(state: list[Term]) -> z3.BoolRef:
        return enc.expr(sliced.predicate, state)

    lemmas = printed_lemmas(enc, helper)

    # quiet runs from H ∧ counts = 0, one step longer at a time
    runs = Unrolling(enc, Solver(budget.seed, deadline, logic="QF_BV", ctx=enc.ctx), "r")
    start = runs.last
    runs.solver.add(lemmas(start), enc.domain(start), *[start[c.index] == 0 for c in restart.counts])
    for tried in range(RUNS_TRIED):
        while True:
            answer = runs.solver.check(bad(runs.last))
            if answer != z3.unsat or len(runs) >= budget.depth:
                break
            a, _ = runs.step(lemmas)
            runs.solver.add(quiet(a))
        if answer == z3.unknown:
            raise GaveUp(f"solver stopped after {tried} quiet runs: {runs.solver.reason_unknown()}")
        if answer == z3.unsat:
            raise GaveUp(f"no quiet run to a bad state within {budget.depth} steps "
                         f"is left ({tried} had no prefix within {budget.depth} steps)")
        run = runs.choices(runs.solver.model())
        prefix = _prefix(enc, sliced.predicate, run, lemmas, budget, deadline)
        if prefix is not None:
            return counterexample(problem, "tail", lifted(problem, sliced, prefix + run), deadline)
        runs.solver.add(z3.Or([a != i for a, i in zip(runs.actions, run, strict=True)], enc.ctx))
    raise GaveUp(f"no prefix reaches the start of {RUNS_TRIED} quiet runs")


def _prefix(enc: Encoder, bad_expr: Expr, run: list[int], lemmas: Callable[[list[Term]], z3.BoolRef],
            budget: Budget, deadline: Deadline) -> list[int] | None:
    """The shortest sequence of steps from the initial state after which ``run`` is enabled step
    by step and ends in a bad state; None if there is none within ``budget.depth`` steps."""
    path = Unrolling(enc, Solver(budget.seed, deadline, logic="QF_BV", ctx=enc.ctx), "p")
    path.solver.add(enc.init(path.last))
    start = now = enc.state("q0")  # the run over states of its own, encoded once for every length
    for n, step in enumerate(run):
        after = enc.state(f"q{n + 1}")
        path.solver.add(enc.trans(now, z3.BitVecVal(step, enc.action_width, enc.ctx), after))
        now = after
    path.solver.add(enc.expr(bad_expr, now))
    for length in range(budget.depth + 1):
        if length:
            path.step(lemmas)
        joined = z3.Bool(f"prefix length {length}", enc.ctx)  # the run starts where this prefix ends
        path.solver.add(z3.Implies(joined, z3.And([q == p for q, p in zip(start, path.last, strict=True)], enc.ctx)))
        answer = path.solver.check(joined)
        if answer == z3.sat:
            return path.choices(path.solver.model())
        if answer == z3.unknown:
            raise GaveUp(f"solver stopped searching a prefix at length {length}: {path.solver.reason_unknown()}")
        path.solver.add(z3.Not(joined))
    return None
