"""Counterexamples to bounded responses, found tail first.

A violation of a bounded response ends with a quiet run: after its last step that restarts the
count (``Restart``), only steps that do not, from a state where the count is 0 and the inductive
lemmas hold. The engine first finds such a run from any such state to a bad state (only the
system's own steps: short and cheap to search), then asks BMC for a prefix from the initial
state that the run's steps, replayed as they are, drive to a bad state. When no prefix exists
within the bound, that run is excluded and the next one tried. Plain BMC must search the whole
trace at once, which is out of reach when the attacker's set-up and the quiet run are long
(30 steps on ``geo-local-daily-alert`` under ``han_mitm``). Every trace is replayed before it is
reported; the engine never proves anything, and its traces need not be of minimal depth.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from otaproof.model.lang import Expr
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder, Term
from otaproof.properties.engines import Deadline, Problem, new_solver, violated_or_unknown
from otaproof.properties.engines.strengthen import inductive_lemmas
from otaproof.properties.verdict import Budget, Unknown, Verdict

RUNS_TRIED = 64  # quiet runs whose start no prefix reaches before the engine gives up


def check(problem: Problem, budget: Budget) -> Verdict:
    """Search quiet runs up to ``budget.depth`` steps, and prefixes up to ``budget.depth`` steps."""
    deadline = Deadline(budget)
    if problem.task.restart is None:
        return Unknown("tail", 0.0, "only bounded responses end with a quiet run")
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    restart = problem.task.restart.on(sliced)
    helper = inductive_lemmas(sliced, problem.task.lemmas, deadline, budget.seed)
    if isinstance(helper, str):
        return Unknown("tail", deadline.elapsed(), helper)
    enc = Encoder(sliced.system)

    def quiet(a: z3.BitVecRef) -> z3.BoolRef:
        return z3.And([a != i for i in sorted(restart.steps)])

    def bad(state: list[Term]) -> z3.BoolRef:
        return enc.expr(sliced.predicate, state)

    runs = new_solver(budget, deadline)  # quiet runs from H ∧ counts = 0, one step longer at a time
    start = enc.state("r0")
    run_states, run_actions = [start], []
    runs.add(helper.at(enc, start), enc.domain(start), *[start[c.index] == 0 for c in restart.counts])
    for tried in range(RUNS_TRIED):
        while True:
            runs.set("timeout", deadline.remaining_ms())
            answer = runs.check(bad(run_states[-1]))
            if answer != z3.unsat or len(run_actions) >= budget.depth:
                break
            a, t = enc.action(f"r{len(run_actions)}"), enc.state(f"r{len(run_actions) + 1}")
            runs.add(enc.trans(run_states[-1], a, t), helper.at(enc, t), quiet(a))
            run_actions.append(a)
            run_states.append(t)
        if answer == z3.unknown:
            return Unknown("tail", deadline.elapsed(), f"solver stopped after {tried} quiet runs: {runs.reason_unknown()}")
        if answer == z3.unsat:
            return Unknown("tail", deadline.elapsed(), f"no quiet run to a bad state within {budget.depth} steps "
                           f"is left ({tried} had no prefix within {budget.depth} steps)")
        model = runs.model()
        run = [enc.decode_action(model, a) for a in run_actions]
        prefix = _prefix(enc, sliced.predicate, run, helper.at, budget, deadline)
        if isinstance(prefix, str):
            return Unknown("tail", deadline.elapsed(), prefix)
        if prefix is not None:
            choices = [sliced.original_instance[i] for i in prefix + run]
            return violated_or_unknown(problem, "tail", choices, deadline)
        runs.add(z3.Or([a != i for a, i in zip(run_actions, run)]))
    return Unknown("tail", deadline.elapsed(), f"no prefix reaches the start of {RUNS_TRIED} quiet runs")


def _prefix(enc: Encoder, bad_expr: Expr, run: list[int], lemmas: Callable[[Encoder, list[Term]], z3.BoolRef],
            budget: Budget, deadline: Deadline) -> list[int] | str | None:
    """The shortest sequence of steps from the initial state after which ``run`` is enabled step
    by step and ends in a bad state; None if there is none within ``budget.depth`` steps."""
    solver = new_solver(budget, deadline)
    states, actions = [enc.state("p0")], []
    solver.add(enc.init(states[0]))
    for length in range(budget.depth + 1):
        if length:
            a, t = enc.action(f"p{length - 1}"), enc.state(f"p{length}")
            solver.add(enc.trans(states[-1], a, t), lemmas(enc, t))
            actions.append(a)
            states.append(t)
        solver.push()
        now = states[-1]
        for n, step in enumerate(run):
            after = enc.state(f"p{length}+{n}")
            solver.add(enc.trans(now, z3.BitVecVal(step, enc.action_width), after))
            now = after
        solver.add(enc.expr(bad_expr, now))
        solver.set("timeout", deadline.remaining_ms())
        answer = solver.check()
        if answer == z3.sat:
            model = solver.model()
            return [enc.decode_action(model, a) for a in actions]
        solver.pop()
        if answer == z3.unknown:
            return f"solver stopped searching a prefix at length {length}: {solver.reason_unknown()}"
    return None
