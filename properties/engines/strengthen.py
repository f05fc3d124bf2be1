"""Houdini: the largest subset of candidate lemmas that is inductive, for strengthening proofs.

Candidates come from the model (``model/invariants.py``), projected onto a property's slice.
Those false initially are dropped; then, while some transition from a state satisfying all
remaining candidates breaks one of them, the broken ones are dropped. What remains holds in
every reachable state (it is inductive), so PDR and k-induction may assume it, and it becomes
part of their certificates, which the checker re-checks in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from model.explicit import Interpreter, compile_expr
from model.invariants import Lemma
from model.lang import Expr
from model.slicing import Slice, reads
from model.system import System
from model.symbolic import Encoder, Term
from properties.engines import Deadline


@dataclass(frozen=True)
class Strengthening:
    """The inductive lemmas of a slice (names and expressions over the slice's variables)."""

    names: tuple[str, ...]
    exprs: tuple[Expr, ...]
    _encoded: dict[tuple[int, int], tuple[list[Term], z3.BoolRef]] = field(
        default_factory=dict, compare=False, repr=False)
    _parts: tuple["Strengthening", ...] = field(default=(), compare=False, repr=False)

    def at(self, enc: Encoder, state: list[Term]) -> z3.BoolRef:
        """The conjunction over ``state``: encoded once per model (systems that differ only in
        monitor variables share it), then substituted."""
        if self._parts:  # a sum keeps each part's encoding (the shared model lemmas are encoded once)
            return z3.And([part.at(enc, state) for part in self._parts])
        if not self.exprs:
            return z3.BoolVal(True)
        width = 1 + max((i for e in self.exprs for i in reads(e)), default=-1)
        key = (id(enc.system.instances), width)
        if key not in self._encoded:
            template = enc.state("§lemma")[:width]
            self._encoded[key] = (template, z3.And(enc.exprs(self.exprs, template)))
        template, conj = self._encoded[key]
        return z3.substitute(conj, *zip(template, state[:width]))

    def __add__(self, other: "Strengthening") -> "Strengthening":
        return Strengthening(self.names + other.names, self.exprs + other.exprs, _parts=(self, other))


NONE = Strengthening((), ())


def inductive_lemmas(sliced: Slice, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0
                     ) -> Strengthening | str:
    """The largest inductive subset of the lemmas that the slice can express, or why not found."""
    projected = [(lm.name, e) for lm in lemmas if (e := sliced.project(lm.expr)) is not None]
    return inductive_subset(sliced.system, projected, deadline, seed)


def model_lemmas(system: System, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0
                 ) -> Strengthening | str:
    """The inductive subset of a whole model's lemmas, computed once and shared by every property
    (monitors add variables but never change the model's own steps, so it stays inductive)."""
    found = inductive_subset(system, [(lm.name, lm.expr) for lm in lemmas], deadline, seed)
    return shared_lemmas(lemmas, found.names) if isinstance(found, Strengthening) else found


def shared_lemmas(lemmas: tuple[Lemma, ...], names: tuple[str, ...]) -> Strengthening:
    """The model's lemmas of these names (found inductive by ``model_lemmas``, maybe in another
    process). Not encoded here: each engine process encodes what it uses (0.1 s), so a parent
    that forks engines creates no Z3 terms, and no engine's search depends on what the parent
    encoded before (Z3's term order, and so Spacer's run, would)."""
    chosen = set(names)
    kept = [lm for lm in lemmas if lm.name in chosen]
    return Strengthening(tuple(lm.name for lm in kept), tuple(lm.expr for lm in kept))


def inductive_subset(system: System, candidates: list[tuple[str, Expr]], deadline: Deadline, seed: int = 0,
                     background: Strengthening = NONE) -> Strengthening | str:
    """Houdini: the largest inductive subset of the candidates, assuming ``background`` (already
    known to be inductive) in the pre-state."""
    if not candidates:
        return NONE
    holds = [compile_expr(e) for _, e in candidates]
    init = Interpreter(system).initial_state()
    active = [k for k, f in enumerate(holds) if f(init, init, -1)]
    enc = Encoder(system)
    s, a, t = enc.state("h"), enc.action("h"), enc.state("h'")
    now = enc.exprs([e for _, e in candidates], s)
    nxt = [z3.substitute(term, *zip(s, t)) for term in now]
    solver = z3.Solver()
    solver.set("random_seed", seed)
    solver.add(enc.domain(s), background.at(enc, s), enc.trans(s, a, t))
    use = [z3.Bool(f"lemma#{k}") for k in range(len(candidates))]
    for k in range(len(candidates)):
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
    return Strengthening(tuple(candidates[k][0] for k in active), tuple(candidates[k][1] for k in active))
