"""Houdini: the largest subset of candidate lemmas that is inductive, for strengthening proofs.

Candidates come from the model (``model/invariants.py``), projected onto a property's slice.
Those false initially are dropped; then, while some transition from a state satisfying all
remaining candidates breaks one of them, the broken ones are dropped. What remains holds in
every reachable state (it is inductive), so PDR and k-induction may assume it, and it becomes
part of their certificates, which the checker re-checks in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from model.explicit import Interpreter
from model.invariants import Lemma
from model.lang import Expr
from model.slicing import Slice
from model.symbolic import Encoder, Term
from properties.engines import Deadline


@dataclass(frozen=True)
class Strengthening:
    """The inductive lemmas of a slice (names and expressions over the slice's variables)."""

    names: tuple[str, ...]
    exprs: tuple[Expr, ...]

    def at(self, enc: Encoder, state: list[Term]) -> z3.BoolRef:
        return z3.And([enc.expr(e, state) for e in self.exprs]) if self.exprs else z3.BoolVal(True)


NONE = Strengthening((), ())


def inductive_lemmas(sliced: Slice, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0
                     ) -> Strengthening | str:
    """The largest inductive subset of the lemmas that the slice can express, or why not found."""
    projected = [(lm.name, e) for lm in lemmas if (e := sliced.project(lm.expr)) is not None]
    if not projected:
        return NONE
    system = sliced.system
    interp = Interpreter(system)
    init = interp.initial_state()
    active = [k for k, (_, e) in enumerate(projected) if interp.holds(e, init)]
    enc = Encoder(system)
    s, a, t = enc.state("h"), enc.action("h"), enc.state("h'")
    now = [enc.expr(e, s) for _, e in projected]
    nxt = [enc.expr(e, t) for _, e in projected]
    solver = z3.Solver()
    solver.set("random_seed", seed)
    solver.add(enc.domain(s), enc.trans(s, a, t))
    use = [z3.Bool(f"lemma#{k}") for k in range(len(projected))]
    for k in range(len(projected)):
        solver.add(z3.Implies(use[k], now[k]))
    rounds = 0
    while active:
        rounds += 1
        broken = z3.Bool(f"broken#{rounds}")
        solver.add(z3.Implies(broken, z3.Or([z3.Not(nxt[k]) for k in active])))
        solver.set("timeout", deadline.remaining_ms())
        r = solver.check(*[use[k] for k in active], broken)
        if r == z3.unsat:
            break
        if r != z3.sat:
            return f"Houdini stopped after {rounds} rounds: {solver.reason_unknown()}"
        model = solver.model()
        active = [k for k in active if not z3.is_false(model.eval(nxt[k], model_completion=True))]
    return Strengthening(tuple(projected[k][0] for k in active), tuple(projected[k][1] for k in active))
