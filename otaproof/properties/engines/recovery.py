"""Symbolic REACH proof by one-step recovery: every state that is not at the target has a
legitimate step into it. Then AG EF target holds whatever the attacker or the environment did
before, with no state graph at all (the local-update designs: an installer can always load the
newest listed image). The claim is re-checked by the certificate checker with an independent
encoding (the monolithic transition relation, quantified over the successor)."""

from __future__ import annotations

import z3

from otaproof.model.slicing import constant_folded
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.properties.certificate import TAG, check_recovery_certificate
from otaproof.properties.formulas import Reach, reach_slice
from otaproof.properties.solver import Deadline, Solver
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Unknown, Verdict


def check(system: System, formulas: list[Reach], budget: Budget) -> Verdict:
    """Proved if, for every formula, every type-correct state off the target has a legitimate
    step into the target (an over-approximation of the reachable states, so sound); otherwise
    Unknown (the explicit engine decides)."""
    deadline = Deadline(budget.timeout)
    folded = constant_folded(system)
    rules = 0
    for formula in formulas:
        part = reach_slice(folded, formula)
        sliced, legit, target = part.slice, part.legitimate, part.target
        enc = Encoder(sliced.system)
        s = enc.state(TAG)
        into_target = [z3.And(cond, enc.expr(target, new)) for inst, _, cond, new in enc.steps(s) if inst in legit]
        solver = Solver(budget.seed, deadline)
        solver.add(enc.domain(s), z3.Not(enc.expr(target, s)), *[z3.Not(r) for r in into_target])
        answer = solver.check()
        if answer != z3.unsat:
            why = "a state off the target has no legitimate step into it" if answer == z3.sat else \
                f"solver: {solver.reason_unknown()}"
            return Unknown("recovery", deadline.elapsed(), f"{formula.subject}: one-step recovery fails ({why})")
        checked = check_recovery_certificate(sliced.system, target, legit, timeout=deadline.remaining(),
                                             seed=budget.seed)
        if not checked.ok:
            return Unknown("recovery", deadline.elapsed(), f"{formula.subject}: recovery certificate rejected: "
                                                           f"{checked.reason}")
        rules += len(into_target)
    return Proved("recovery", deadline.elapsed(),
                  Certificate(CertificateKind.ONE_STEP_RECOVERY, f"every type-correct state off the target of each of "
                              f"{len(formulas)} formula(s) has one of {rules} legitimate steps into it",
                              rules, True, 0.0))
