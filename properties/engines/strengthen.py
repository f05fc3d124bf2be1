"""Houdini: the largest subset of candidate lemmas that is inductive, for strengthening proofs.

Candidates come from the model (``model/invariants.py``), projected onto a property's slice.
Those false initially or along a few seeded random runs are dropped; then, while some transition from a state satisfying all
remaining candidates breaks one of them, the broken ones are dropped. What remains holds in
every reachable state (it is inductive), so PDR and k-induction may assume it, and it becomes
part of their certificates, which the checker re-checks in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import random

import z3

from model.explicit import Interpreter, compile_expr
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
    _encoded: dict[int, tuple[list[Term], z3.BoolRef]] = field(default_factory=dict, compare=False, repr=False)

    def at(self, enc: Encoder, state: list[Term]) -> z3.BoolRef:
        """The conjunction over ``state``: encoded once per system, then substituted."""
        if not self.exprs:
            return z3.BoolVal(True)
        key = id(enc.system)
        if key not in self._encoded:
            template = enc.state("§lemma")
            self._encoded[key] = (template, z3.And([enc.expr(e, template) for e in self.exprs]))
        template, conj = self._encoded[key]
        return z3.substitute(conj, *zip(template, state))


NONE = Strengthening((), ())
SAMPLE_WALKS, SAMPLE_DEPTH = 16, 24


def _survivors(interp: Interpreter, holds: list, rng: random.Random, walks: int = SAMPLE_WALKS,  # type: ignore[type-arg]
               depth: int = SAMPLE_DEPTH) -> list[int]:
    """Indices of the lemmas true in the initial state and along a few seeded random runs: a cheap
    filter, so that Houdini's solver rounds are spent on the lemmas that might be inductive."""
    init = interp.initial_state()
    active = [k for k, f in enumerate(holds) if f(init, init, -1)]
    for _ in range(walks):
        state = init
        for _ in range(depth):
            successors = list(interp.successors(state))
            if not successors:
                break
            state = rng.choice(successors)[1]
            active = [k for k in active if holds[k](state, state, -1)]
    return active


def inductive_lemmas(sliced: Slice, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0
                     ) -> Strengthening | str:
    """The largest inductive subset of the lemmas that the slice can express, or why not found."""
    projected = [(lm.name, e) for lm in lemmas if (e := sliced.project(lm.expr)) is not None]
    if not projected:
        return NONE
    system = sliced.system
    holds = [compile_expr(e) for _, e in projected]
    active = _survivors(Interpreter(system), holds, random.Random(seed))
    enc = Encoder(system)
    s, a, t = enc.state("h"), enc.action("h"), enc.state("h'")
    now = [enc.expr(e, s) for _, e in projected]
    nxt = [z3.substitute(term, *zip(s, t)) for term in now]
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
        after = enc.decode_state(solver.model(), t)
        active = [k for k in active if holds[k](after, after, -1)]
    return Strengthening(tuple(projected[k][0] for k in active), tuple(projected[k][1] for k in active))
