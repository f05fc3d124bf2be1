"""k-induction with simple-path constraints, on the cone-of-influence slice.

Base case: BMC finds no bad state within k steps. Step case: no simple path of k+1 good states
ends in a bad one; every state of the path satisfies the model's inductive lemmas H (Houdini),
which excludes most unreachable starting points. The certificate is the 1-inductive
strengthening ``H(s) ∧ Inv_k(s)``: s is good and no path of fewer than k steps through H-states
from s reaches a bad state (a quantified formula when k > 1); it holds for simple-path
k-induction too, because a non-simple path can always be shortened.
"""

from __future__ import annotations

import dataclasses

import z3

from otaproof.model.lang import Expr
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder, Term
from otaproof.properties.certificate import TAG, certificate_text, engine_check
from otaproof.properties.engines import bmc
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.engines.strengthen import NONE, Strengthening, inductive_lemmas
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.solver import Deadline, GaveUp, Solver, Unrolling
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Verdict


def _distinct(a: list[Term], b: list[Term]) -> z3.BoolRef:
    return z3.Or([x != y for x, y in zip(a, b, strict=True)])


def k_invariant(enc: Encoder, bad_expr: Expr, k: int, helper: Strengthening = NONE) -> z3.BoolRef:
    """H ∧ Inv_k over ``<name>@c``: the inductive lemmas H hold, and the state is good now and
    after every path of up to k-1 further steps through states satisfying H."""
    s0 = enc.state(TAG)
    good = z3.And(helper.at(enc, s0), z3.Not(enc.expr(bad_expr, s0)))
    if k <= 1:
        return good
    path = [s0]
    actions: list[z3.BitVecRef] = []
    bound: list[Term] = []
    for i in range(1, k):
        a, t = enc.action(f"q{i}"), enc.state(f"q{i}")
        bound += [a, *t]
        actions.append(a)
        path.append(t)
    body: z3.BoolRef = z3.Not(enc.expr(bad_expr, path[-1]))
    for i in range(k - 1, 0, -1):
        step = z3.And(enc.domain(path[i]), helper.at(enc, path[i]), enc.trans(path[i - 1], actions[i - 1], path[i]))
        body = z3.Implies(step, z3.And(z3.Not(enc.expr(bad_expr, path[i])), body))
    return z3.And(good, z3.ForAll(bound, body))


@engine("kind")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """Base and step case side by side, one k at a time (two solvers, two unrollings)."""
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    task = SafetyTask(sliced.system, sliced.predicate)
    helper = inductive_lemmas(sliced, problem.task.lemmas, deadline, budget.seed)
    enc = Encoder(task.system)
    base = Unrolling(enc, Solver(budget.seed, deadline), "b")
    base.solver.add(enc.init(base.last))
    step = Unrolling(enc, Solver(budget.seed, deadline), "k")
    step.solver.add(enc.domain(step.last), helper.at(enc, step.last))
    step.solver.add(z3.Not(enc.expr(task.bad, step.last)))
    for k in range(1, budget.depth + 1):
        # base case: no bad state at depth k-1 from Init
        goal_b = z3.Bool(f"bad@b{k - 1}")
        base.solver.add(z3.Implies(goal_b, enc.expr(task.bad, base.last)))
        rb = base.solver.check(goal_b)
        if rb == z3.sat:  # re-derive with BMC so every engine reports the same canonical trace
            try:
                found = bmc.find_counterexample(problem, dataclasses.replace(budget, depth=k - 1), deadline)
            except GaveUp as e:
                raise GaveUp(f"base case failed at depth {k - 1} but BMC: {e.reason}") from None
            return counterexample(problem, "kind", found, deadline)
        if rb == z3.unknown:
            raise GaveUp(f"base case at k={k}: {base.solver.reason_unknown()}")
        base.step()
        # step case: a simple path of k good states cannot be followed by a bad one
        before = list(step.states)
        _, t = step.step(lambda t: helper.at(enc, t))
        step.solver.add(*[_distinct(p, t) for p in before])
        goal = z3.Bool(f"bad@k{k}")
        step.solver.add(z3.Implies(goal, enc.expr(task.bad, t)))
        r = step.solver.check(goal)
        if r == z3.unsat:
            return _proved(task, enc, k, helper, budget, deadline, problem.rechecked)
        if r == z3.unknown:
            raise GaveUp(f"step case at k={k}: {step.solver.reason_unknown()}")
        step.solver.add(z3.Not(enc.expr(task.bad, t)))
    raise GaveUp(f"not k-inductive up to k={budget.depth}")


def _proved(task: SafetyTask, enc: Encoder, k: int, helper: Strengthening, budget: Budget,
            deadline: Deadline, rechecked: bool) -> Verdict:
    text = certificate_text(k_invariant(enc, task.bad, k, helper))
    checked = engine_check(task, text, budget, deadline, rechecked)
    return Proved("kind", deadline.elapsed(),
                  Certificate(CertificateKind.K_INDUCTIVE, text, k, checked.ok, checked.seconds, helper.names))
