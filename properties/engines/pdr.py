"""PDR/IC3 through Z3's Spacer (Constrained Horn Clauses over the cone-of-influence slice).

Safe: Spacer's solution for ``Inv`` is the certificate; it is re-checked before reporting.
Unsafe: Spacer's answer is not a trace, so BMC re-derives a shortest counterexample.
"""

from __future__ import annotations

import z3

from model.lang import BoolSort
from model.slicing import cone_of_influence
from model.symbolic import Encoder
from properties.certificate import TAG, certificate_text, check_certificate
from properties.engines import Deadline, Problem, bmc
from properties.formulas import SafetyTask
from properties.verdict import Budget, Certificate, Proved, Unknown, Verdict


def solve_invariant(task: SafetyTask, budget: Budget, deadline: Deadline) -> z3.BoolRef | str | None:
    """An inductive invariant over ``<name>@c`` (safe), None (unsafe), or why Spacer gave up."""
    enc = Encoder(task.system)
    sorts = [z3.BoolSort() if isinstance(v.sort, BoolSort) else z3.BitVecSort(v.sort.width)
             for v in task.system.variables]
    inv = z3.Function("Inv", *sorts, z3.BoolSort())
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    fp = z3.Fixedpoint()
    fp.set("engine", "spacer")
    fp.set("spacer.random_seed", budget.seed)
    fp.set("timeout", deadline.remaining_ms())
    fp.register_relation(inv)
    fp.declare_var(*s, a, *t)
    fp.rule(inv(*s), enc.init(s))
    fp.rule(inv(*t), [inv(*s), enc.trans(s, a, t)])
    try:
        result = fp.query(z3.And(inv(*s), enc.expr(task.bad, s)))
    except z3.Z3Exception as e:  # Spacer reports its timeout as an exception ("canceled")
        return f"Spacer stopped: {e}"
    if result == z3.sat:
        return None
    if result != z3.unsat:
        return f"Spacer gave up: {fp.reason_unknown()}"
    answer = fp.get_answer()  # ForAll(args, Inv(args) == body), body over de Bruijn indices
    body = answer.body().arg(1) if z3.is_quantifier(answer) else answer
    return z3.substitute_vars(body, *reversed(enc.state(TAG)))


def check(problem: Problem, budget: Budget) -> Verdict:
    deadline = Deadline(budget)
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    task = SafetyTask(sliced.system, sliced.predicate)
    solved = solve_invariant(task, budget, deadline)
    if isinstance(solved, str):
        return Unknown("pdr", deadline.elapsed(), solved)
    if solved is None:
        found = bmc.find_counterexample(problem, budget, deadline)
        if isinstance(found, str):
            return Unknown("pdr", deadline.elapsed(), f"Spacer reports a violation; BMC found no trace: {found}")
        return bmc.report(problem, "pdr", found, deadline)
    text = certificate_text(solved)
    checked = check_certificate(task, text, timeout=max(1.0, budget.timeout), seed=budget.seed)
    if not checked.ok:
        return Unknown("pdr", deadline.elapsed(), f"certificate rejected by the checker: {checked.reason}")
    size = len(solved.children()) if z3.is_and(solved) else 1
    return Proved("pdr", deadline.elapsed(), Certificate("inductive-invariant", text, size, True, checked.seconds))
