"""The certificate checker: a small, separate re-check of every proof before it is reported.

A certificate is an invariant ``Inv`` given as SMT-LIB text over the variables ``<name>@c``.
It is accepted only if Z3 shows all three obligations unsatisfiable with a fresh solver:
``Init ∧ ¬Inv``, ``Inv ∧ Trans ∧ ¬Inv'`` and ``Inv ∧ Bad``. Anything else (sat, unknown,
timeout, unparsable text) rejects it, and the engine's verdict becomes Unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from otaproof.model.lang import Expr
from otaproof.model.symbolic import Encoder, Term
from otaproof.model.system import System
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.solver import Deadline, Solver

TAG = "c"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str
    seconds: float


def certificate_text(inv: z3.BoolRef) -> str:
    """SMT-LIB text of an invariant built over ``Encoder.state(TAG)`` variables."""
    return str(inv.sexpr())


def parse_invariant(enc: Encoder, text: str, state: list[Term]) -> z3.BoolRef:
    """Read certificate text with its ``<name>@c`` symbols bound to the given state terms."""
    decls = {f"{v.name}@{TAG}": state[v.index] for v in enc.system.variables}
    parsed = z3.parse_smt2_string(f"(assert {text})", decls=decls)
    return z3.And(list(parsed)) if len(parsed) != 1 else parsed[0]


def check_certificate(task: SafetyTask, text: str, timeout: float = 60.0, seed: int = 0) -> CheckResult:
    """Re-check ``Init ⇒ Inv``, ``Inv ∧ Trans ⇒ Inv'`` and ``Inv ⇒ ¬Bad`` independently."""
    deadline = Deadline(timeout)
    enc = Encoder(task.system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    try:
        inv_s = parse_invariant(enc, text, s)
        inv_t = parse_invariant(enc, text, t)
    except z3.Z3Exception as e:
        return CheckResult(False, f"certificate does not parse: {e}", deadline.elapsed())
    obligations = (
        ("Init => Inv", z3.And(enc.init(s), z3.Not(inv_s))),
        ("Inv & Trans => Inv'", z3.And(inv_s, enc.domain(s), enc.trans(s, a, t), z3.Not(inv_t))),
        ("Inv => P", z3.And(inv_s, enc.domain(s), enc.expr(task.bad, s))),
    )
    for name, query in obligations:
        if deadline.expired():
            return CheckResult(False, f"obligation {name} undecided: out of time", deadline.elapsed())
        solver = Solver(seed, deadline)
        solver.add(query)
        r = solver.check()
        if r == z3.sat:
            return CheckResult(False, f"obligation {name} fails", deadline.elapsed())
        if r != z3.unsat:
            return CheckResult(False, f"obligation {name} undecided: {solver.reason_unknown()}", deadline.elapsed())
    return CheckResult(True, "all three obligations hold", deadline.elapsed())


def check_recovery_certificate(system: System, target: Expr, legitimate: frozenset[int], timeout: float = 60.0,
                               seed: int = 0) -> CheckResult:
    """Re-check a one-step recovery claim with the monolithic transition relation: no
    type-correct state off ``target`` has every legitimate step (some instance, some successor)
    miss the target. The successor is universally quantified, so this does not rely on the
    per-branch step encoding the engine used."""
    deadline = Deadline(timeout)
    enc = Encoder(system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    legit = z3.Or([a == i for i in sorted(legitimate)]) if legitimate else z3.BoolVal(False)
    no_step_recovers = z3.ForAll([a, *t], z3.Implies(z3.And(legit, enc.trans(s, a, t)), z3.Not(enc.expr(target, t))))
    solver = Solver(seed, deadline)
    solver.add(enc.domain(s), z3.Not(enc.expr(target, s)), no_step_recovers)
    r = solver.check()
    if r == z3.unsat:
        return CheckResult(True, "every state off the target has a legitimate step into it", deadline.elapsed())
    if r == z3.sat:
        return CheckResult(False, "a state off the target has no legitimate step into it", deadline.elapsed())
    return CheckResult(False, f"undecided: {solver.reason_unknown()}", deadline.elapsed())
