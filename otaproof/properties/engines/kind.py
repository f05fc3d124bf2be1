"""k-induction with simple-path constraints, on the cone-of-influence slice.

Base case: BMC finds no bad state within k steps. Step case: no simple path of k+1 good states
ends in a bad one; every state of the path satisfies the model's inductive lemmas H (Houdini),
which excludes most unreachable starting points. The certificate is the 1-inductive
strengthening ``H(s) ∧ Inv_k(s)``: s is good and no path of fewer than k steps through H-states
from s reaches a bad state (a quantified formula when k > 1); it holds for simple-path
k-induction too, because a non-simple path can always be shortened.
"""

from __future__ import annotations

import z3

from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder, Term
from otaproof.properties.certificate import TAG, certificate_text, check_certificate
from otaproof.properties.engines import Deadline, Problem, bmc, new_solver
from otaproof.properties.engines.strengthen import NONE, Strengthening, inductive_lemmas
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.verdict import Budget, Certificate, Proved, Unknown, Verdict


def _distinct(a: list[Term], b: list[Term]) -> z3.BoolRef:
    return z3.Or([x != y for x, y in zip(a, b)])


def k_invariant(enc: Encoder, bad_expr, k: int, helper: Strengthening = NONE) -> z3.BoolRef:  # type: ignore[no-untyped-def]
    """H ∧ Inv_k over ``<name>@c``: the inductive lemmas H hold, and the state is good now and
    after every path of up to k-1 further steps through states satisfying H."""
    s0 = enc.state(TAG)
    good = z3.And(helper.at(enc, s0), z3.Not(enc.expr(bad_expr, s0)))
    if k <= 1:
        return good
    path = [s0]
    bound: list[Term] = []
    for i in range(1, k):
        a, t = enc.action(f"q{i}"), enc.state(f"q{i}")
        bound += [a, *t]
        path.append(t)
    body: z3.BoolRef = z3.Not(enc.expr(bad_expr, path[-1]))
    for i in range(k - 1, 0, -1):
        a = bound[(i - 1) * (len(path[0]) + 1)]
        step = z3.And(enc.domain(path[i]), helper.at(enc, path[i]),
                      enc.trans(path[i - 1], a, path[i]))  # type: ignore[arg-type]
        body = z3.Implies(step, z3.And(z3.Not(enc.expr(bad_expr, path[i])), body))
    return z3.And(good, z3.ForAll(bound, body))


def check(problem: Problem, budget: Budget) -> Verdict:
    deadline = Deadline(budget)
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    task = SafetyTask(sliced.system, sliced.predicate)
    helper = inductive_lemmas(sliced, problem.task.lemmas, deadline, budget.seed)
    if isinstance(helper, str):
        return Unknown("kind", deadline.elapsed(), helper)
    enc = Encoder(task.system)
    base = new_solver(budget, deadline)
    base_path, base_actions = [enc.state("b0")], []
    base.add(enc.init(base_path[0]))
    step = new_solver(budget, deadline)
    path = [enc.state("k0")]
    step.add(enc.domain(path[0]), helper.at(enc, path[0]))
    step.add(z3.Not(enc.expr(task.bad, path[0])))
    for k in range(1, budget.depth + 1):
        # base case: no bad state at depth k-1 from Init
        goal_b = z3.Bool(f"bad@b{k - 1}")
        base.add(z3.Implies(goal_b, enc.expr(task.bad, base_path[-1])))
        base.set("timeout", deadline.remaining_ms())
        rb = base.check(goal_b)
        if rb == z3.sat:  # re-derive with BMC so every engine reports the same canonical trace
            found = bmc.find_counterexample(problem, Budget(budget.timeout, k - 1, budget.seed), deadline)
            if isinstance(found, str):
                return Unknown("kind", deadline.elapsed(), f"base case failed at depth {k - 1} but BMC: {found}")
            return bmc.report(problem, "kind", found, deadline)
        if rb == z3.unknown:
            return Unknown("kind", deadline.elapsed(), f"base case at k={k}: {base.reason_unknown()}")
        ab, tb = enc.action(f"b{k - 1}"), enc.state(f"b{k}")
        base.add(enc.trans(base_path[-1], ab, tb))
        base_actions.append(ab)
        base_path.append(tb)
        # step case: a simple path of k good states cannot be followed by a bad one
        a, t = enc.action(f"k{k - 1}"), enc.state(f"k{k}")
        step.add(enc.trans(path[-1], a, t), helper.at(enc, t))
        step.add(*[_distinct(p, t) for p in path])
        path.append(t)
        goal = z3.Bool(f"bad@k{k}")
        step.add(z3.Implies(goal, enc.expr(task.bad, t)))
        step.set("timeout", deadline.remaining_ms())
        r = step.check(goal)
        if r == z3.unsat:
            return _proved(task, enc, k, helper, budget, deadline)
        if r == z3.unknown:
            return Unknown("kind", deadline.elapsed(), f"step case at k={k}: {step.reason_unknown()}")
        step.add(z3.Not(enc.expr(task.bad, t)))
    return Unknown("kind", deadline.elapsed(), f"not k-inductive up to k={budget.depth}")


def _proved(task: SafetyTask, enc: Encoder, k: int, helper: Strengthening, budget: Budget,
            deadline: Deadline) -> Verdict:
    text = certificate_text(k_invariant(enc, task.bad, k, helper))
    checked = check_certificate(task, text, timeout=deadline.remaining(), seed=budget.seed)
    if not checked.ok:
        return Unknown("kind", deadline.elapsed(), f"k-induction succeeded at k={k} but the checker "
                                                    f"did not accept Inv_k: {checked.reason}")
    return Proved("kind", deadline.elapsed(), Certificate("k-inductive", text, k, True, checked.seconds, helper.names))
