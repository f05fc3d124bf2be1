"""Counterexamples to induction generalised into lemmas (IC3 with one frame), for any design.

When the inductive lemmas H do not make a property P inductive, Z3 gives a counterexample to
induction (CTI): a state s satisfying H, P and the lemmas learned so far whose successor breaks
P. Its *cube* (every variable at its value in s) is first lifted to the literals that force that
step (as in PDR), with a disequality ``x != y`` added for two of its variables of one enum sort
at different values (so a clause may say "x == y or ..." for every value at once), and is
unreachable if P holds, so it is blocked: the clause ¬cube is learned
once it is inductive relative to H ∧ P ∧ learned (if no sub-cube's clause is, the predecessor
that breaks it is blocked first, up to ``MAX_DEPTH`` deep). Before it is learned the cube is
generalised: a one- or two-literal sub-cube that no sampled reachable state holds if one is
relatively inductive, else the unsat core of the consecution query with each literal dropped
while the smaller clause stays relatively inductive and false initially (Bradley's IC3, with one
frame instead of a sequence). The loop ends when no CTI is left: H ∧ P ∧ learned is then
inductive, and the caller certifies it like any other proof.

Every query runs within the run's Z3 resource units (never wall-clock), and the number of
learned clauses is capped, so the same inputs give the same lemmas on any machine. The search has
a Z3 context of its own: Z3's choice among CTIs depends on every term its context has seen, so in
a process that had run other parts' first stages before (a batch, docs/model.md) it learned other
clauses, and P-SMI under ``--fault loss`` went from proved in 3 s to PDR's 27 s. A clause may
be wrong only if P is false, and then no proof is found: soundness rests on the certificate.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import z3

from otaproof.model.compiled import CompiledSystem
from otaproof.model.lang import EnumSort, any_of
from otaproof.model.symbolic import Encoder, Term
from otaproof.model.system import System
from otaproof.properties.engines.strengthen import Strengthening
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.solver import Deadline, GaveUp, Solver

MAX_CLAUSES = 400  # learned clauses per property part before the search gives up
MAX_DEPTH = 12  # predecessors blocked in a chain before the search gives up (a likely real path)
UNITS = 40_000_000  # Z3 resource units the search may spend (at most a quarter of the run's budget)
PAIR_TRIES = 64  # queries spent looking for a one- or two-literal clause before the slower drop loop
SAMPLE_STATES = 20_000  # reachable states (breadth-first): a cube holding one is never tried

_SLOT = re.compile(r"^(.*\[\d+\])\.[^.]+$")  # a channel slot's field: <channel>[k].<field>
Cube = tuple[tuple[int, int], ...]  # (variable index, code) literals, in variable order, then disequalities
# a literal (i, c) with c < 0 is the disequality v_i != v_j with j = -1 - c (two variables of one enum sort)


class Blocker:
    """One CTI-blocking search on a safety task, assuming the inductive lemmas ``helper``."""

    def __init__(self, task: SafetyTask, helper: Strengthening, seed: int, deadline: Deadline) -> None:
        self.system: System = task.system
        self.enc = Encoder(self.system, ctx=z3.Context())  # a context of its own: see the module docstring
        enc = self.enc
        self.s, self.a, self.t = enc.state("g"), enc.action("g"), enc.state("g'")
        self.init = tuple(v.init for v in self.system.variables)
        self.solver = Solver(seed, deadline, ctx=enc.ctx)
        own = Strengthening(helper.names, helper.exprs, helper.texts)  # encoded here, freed with the search
        self.solver.add(enc.domain(self.s), own.at(enc, self.s), enc.trans(self.s, self.a, self.t),
                        z3.Not(enc.expr(task.bad, self.s)))
        self.bad = task.bad
        self.bad_next = enc.expr(task.bad, self.t)
        self.lifter = Solver(seed, deadline, ctx=enc.ctx)  # which literals of a state force its step's target
        self.lifter.add(enc.domain(self.s))
        self.steps: dict[int, list[tuple[z3.BoolRef, list[Term]]]] = {}
        for inst, _, cond, new in enc.steps(self.s):
            self.steps.setdefault(inst, []).append((cond, new))
        self.learned: list[Cube] = []
        self.queries = 0
        self.reached = reachable(self.system, SAMPLE_STATES)

    # ---- queries -------------------------------------------------------------------------------
    def _literal(self, state: list[Term], lit: tuple[int, int]) -> z3.BoolRef:
        if lit[1] < 0:
            return state[lit[0]] != state[-1 - lit[1]]
        v = self.system.variables[lit[0]]
        return state[lit[0]] == self.enc.value(v, lit[1])

    def _with_disequalities(self, cube: Cube) -> Cube:
        """The cube with ``v_i != v_j`` added for two of its variables of one enum sort at
        different values: the generalisation may then keep the disequality and drop both
        values ("the record differs from the running image while a failure report is in
        flight"), a clause no value cube states for every value at once."""
        vs = self.system.variables
        values = [(i, c) for i, c in cube if c >= 0 and isinstance(vs[i].sort, EnumSort)]
        extra = [(i, -1 - j) for k, (i, c) in enumerate(values) for j, d in values[k + 1:]
                 if vs[i].sort == vs[j].sort and c != d]
        return cube + tuple(extra)

    def _check(self, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        self.queries += 1
        r = self.solver.check(*assumptions)
        if r == z3.unknown:
            raise GaveUp(f"CTI generalisation stopped after {len(self.learned)} clauses: "
                         f"{self.solver.reason_unknown()}")
        return r

    def _state(self, terms: list[Term]) -> tuple[int, ...]:
        return self.enc.decode_state(self.solver.model(), terms)

    def cti(self) -> Cube | None:
        """The lifted cube of a state satisfying every constraint whose successor is bad, or
        None (P is inductive)."""
        if self._check(self.bad_next) == z3.unsat:
            return None
        return self.lift(self._state(self.s), self._action(), None)

    def _action(self) -> int:
        return self.enc.decode_action(self.solver.model(), self.a)

    def lift(self, state: tuple[int, ...], action: int, target: Cube | None) -> Cube:
        """The literals of ``state`` that alone make instance ``action`` step into ``target``
        (the bad states if None): every state of the returned cube has that step (lifting, as
        in PDR). The whole state if the core would hold the initial state."""
        full = tuple(enumerate(state))

        def into(new: list[Term]) -> z3.BoolRef:
            if target is None:
                return self.enc.expr(self.bad, new)
            return z3.And([self._literal(new, lit) for lit in target], self.enc.ctx)

        literals = {self._literal(self.s, lit): lit for lit in full}
        self.lifter.push()
        self.lifter.add(z3.Not(z3.Or([z3.And(cond, into(new)) for cond, new in self.steps.get(action, [])],
                                     self.enc.ctx)))
        self.queries += 1
        r = self.lifter.check(*literals)
        core = {c.get_id() for c in self.lifter.z3.unsat_core()} if r == z3.unsat else None
        self.lifter.pop()
        if core is None:
            return full
        lifted = tuple(lit for term, lit in literals.items() if term.get_id() in core)
        return full if self._initial(lifted) else self._with_disequalities(lifted)

    def predecessor(self, cube: Cube, lift: bool = True) -> tuple[Cube | None, Cube]:
        """(the cube of a state outside ``cube`` with a successor in it, lifted if ``lift``, ())
        or, when ¬cube is inductive relative to the frame, (None, the literals of ``cube`` the
        unsat core needs)."""
        guard = z3.Bool(f"outside#{self.queries}", self.enc.ctx)
        self.solver.add(z3.Implies(guard, z3.Or([z3.Not(self._literal(self.s, lit)) for lit in cube])))
        after = {self._literal(self.t, lit): lit for lit in cube}
        r = self._check(guard, *after)
        if r == z3.sat:
            state = self._state(self.s)
            return (self.lift(state, self._action(), cube) if lift else tuple(enumerate(state))), ()
        core = {c.get_id() for c in self.solver.z3.unsat_core()}
        return None, tuple(lit for term, lit in after.items() if term.get_id() in core)

    # ---- blocking ------------------------------------------------------------------------------
    def _initially(self, lit: tuple[int, int]) -> bool:
        i, c = lit
        return self.init[i] != self.init[-1 - c] if c < 0 else self.init[i] == c

    def _initial(self, cube: Cube) -> bool:
        return all(self._initially(lit) for lit in cube)

    def _seen(self, cube: Cube) -> bool:
        """Some sampled reachable state lies in ``cube`` (so ¬cube is false: no query needed)."""
        hit = np.ones(len(self.reached), dtype=np.bool_)
        for i, c in cube:
            hit &= self.reached[:, i] != self.reached[:, -1 - c] if c < 0 else self.reached[:, i] == c
            if not hit.any():
                return False
        return True

    def _restore(self, small: Cube, full: Cube) -> Cube:
        """``small`` with a literal of ``full`` that the initial state breaks put back, if the
        initial state lies in ``small`` (the clause must hold initially)."""
        if not self._initial(small):
            return small
        back = next(lit for lit in full if not self._initially(lit))
        return tuple(sorted({*small, back}, key=lambda lit: (lit[1] < 0, lit)))

    def generalise(self, cube: Cube, core: Cube) -> Cube:
        """The smallest cube found whose negation is inductive relative to the frame and false
        initially: a single literal or a pair of the core's literals that no sampled state
        holds (up to ``PAIR_TRIES`` queries), else the core with one literal dropped at a time
        while the query stays unsat."""
        best = self._restore(core, cube)
        small = self._smallest(best)
        if small is not None:
            return small
        for lit in list(best):
            if len(best) == 1:
                break
            if lit not in best:  # an earlier core dropped it already
                continue
            smaller = tuple(x for x in best if x != lit)
            if self._initial(smaller) or self._seen(smaller):
                continue
            found, core_ = self.predecessor(smaller, lift=False)
            if found is None:
                best = self._restore(core_, smaller)
        return best

    def _smallest(self, cube: Cube) -> Cube | None:
        """A one- or two-literal cube of ``cube``'s literals whose negation is relatively
        inductive, false initially and true in every sampled state; None if none is found."""
        tries = 0
        singles = [(lit,) for lit in cube]
        pairs = sorted(((x, y) for k, x in enumerate(cube) for y in cube[k + 1:]),
                       key=lambda xy: self._distance(xy[0][0], xy[1][0]))
        for small in singles + pairs:
            if len(small) >= len(cube) or self._initial(small) or self._seen(small):
                continue
            if tries == PAIR_TRIES:
                return None
            tries += 1
            found, core = self.predecessor(small, lift=False)
            if found is None:
                return self._restore(core, small)
        return None

    def _distance(self, i: int, j: int) -> int:
        """How far apart two variables are in the model's structure: 0 in one channel slot (or
        a slot and its channel's length), 1 of one owner (a machine, a channel), 2 otherwise; a
        clause is first looked for among near variables (one message's fields, one machine)."""
        a, b = self.system.variables[i], self.system.variables[j]
        if a.owner != b.owner:
            return 2
        slot_a, slot_b = _SLOT.match(a.name), _SLOT.match(b.name)
        return 0 if slot_a and slot_b and slot_a.group(1) == slot_b.group(1) else 1

    def block(self, first: Cube) -> None:
        """Learn a clause excluding the cube ``first``, blocking its predecessors first;
        ``GaveUp`` if a chain of them reaches the initial state or ``MAX_DEPTH``."""
        stack: list[Cube] = [first]
        while stack:
            if len(stack) > MAX_DEPTH:
                raise GaveUp(f"CTI generalisation: a chain of {MAX_DEPTH} predecessors (the property may be violated)")
            if len(self.learned) >= MAX_CLAUSES:
                raise GaveUp(f"CTI generalisation learned {MAX_CLAUSES} clauses without a proof")
            cube = stack[-1]
            if any(set(known) <= set(cube) for known in self.learned):  # a later clause blocked it too
                stack.pop()
                continue
            if self._initial(cube):
                raise GaveUp("CTI generalisation reached the initial state (the property may be violated)")
            found, core = self.predecessor(cube)
            if found is not None:  # a smaller clause may still be inductive, else block the predecessor
                small = self._smallest(cube)
                if small is None:
                    stack.append(found)
                    continue
                learned = small
            else:
                learned = self.generalise(cube, core)
            self.learned.append(learned)
            self.solver.add(z3.Or([z3.Not(self._literal(self.s, lit)) for lit in learned]))
            stack.pop()

    def lemmas(self) -> Strengthening:
        """The learned clauses as lemmas named ``cti:<variables and values>``."""
        names, exprs = [], []
        for k, cube in enumerate(self.learned):
            if any(set(other) < set(cube) for other in self.learned[k + 1:]):  # a later, weaker cube subsumes it
                continue
            vs = self.system.variables
            names.append("cti:" + ",".join(f"{vs[i].name}!={vs[-1 - c].name}" if c < 0 else
                                           f"{vs[i].name}={vs[i].sort.decode(c)}" for i, c in cube))
            exprs.append(any_of((vs[i] == vs[-1 - c]) if c < 0 else (vs[i] != vs[i].sort.decode(c)) for i, c in cube))
        return Strengthening(tuple(names), tuple(exprs))


def reachable(system: System, limit: int) -> npt.NDArray[np.int64]:
    """Up to ``limit`` reachable states, breadth-first from the initial state (one row each)."""
    compiled = CompiledSystem(system)
    seen, _ = compiled.breadth_first(limit)
    rows = [compiled.unpack(s) for s in seen]
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(system.variables))


def block_ctis(task: SafetyTask, helper: Strengthening, seed: int, deadline: Deadline) -> Strengthening:
    """Lemmas that, with ``helper``, make the task's property inductive (the learned clauses,
    to be certified by the caller); ``GaveUp`` when the search stops without them. It may spend
    ``UNITS`` resource units (a quarter of the run's remaining ones if fewer), so the engines
    that race after the lemma stage start soon."""
    left = deadline.rlimit - deadline.used if deadline.rlimit else 4 * UNITS
    share = Deadline(deadline.remaining(), max(1, min(UNITS, left // 4)))
    try:
        blocker = Blocker(task, helper, seed, share)
        while (cube := blocker.cti()) is not None:
            blocker.block(cube)
        return blocker.lemmas()
    finally:
        deadline.spend(share.used)
