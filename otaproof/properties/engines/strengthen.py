"""Houdini: the largest subset of candidate lemmas that is inductive, for strengthening proofs.

Candidates come from the model (``model/invariants.py``), projected onto a property's slice.
Those false initially are dropped; then, while some transition from a state satisfying all
remaining candidates breaks one of them, the broken ones are dropped. What remains holds in
every reachable state (it is inductive), so PDR and k-induction may assume it, and it becomes
part of their certificates, which the checker re-checks in full.

Candidates may also be the clauses of a proof found for the same part in another scenario
(``Reused``: the design without the attacker, say): an attacker that cannot reach the part's
slice leaves that proof intact, and one that can only breaks some clauses.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from types import TracebackType

import z3

from otaproof.model.explicit import Interpreter, compile_expr
from otaproof.model.invariants import Lemma
from otaproof.model.lang import Expr
from otaproof.model.slicing import Slice, reads
from otaproof.model.symbolic import Encoder, Term
from otaproof.model.system import System
from otaproof.properties.certificate import TAG, parse_invariant
from otaproof.properties.pool import die_with
from otaproof.properties.solver import Deadline, GaveUp, Solver
from otaproof.properties.templates import screened


@dataclass(frozen=True)
class Strengthening:
    """The inductive lemmas of a slice: names, then expressions over the slice's variables and
    clauses reused from another proof (SMT-LIB text over ``<name>@c``), in that order."""

    names: tuple[str, ...]
    exprs: tuple[Expr, ...]
    texts: tuple[str, ...] = ()
    _encoded: dict[tuple[int, int, int], tuple[list[Term], z3.BoolRef]] = field(
        default_factory=dict, compare=False, repr=False)
    _placed: dict[tuple[int, int, int, tuple[int, ...]], z3.BoolRef] = field(
        default_factory=dict, compare=False, repr=False)
    _parts: tuple[Strengthening, ...] = field(default=(), compare=False, repr=False)

    def at(self, enc: Encoder, state: list[Term]) -> z3.BoolRef:
        """The conjunction over ``state``: encoded once per model and Z3 context (systems that
        differ only in monitor variables share it; BMC and tail search in contexts of their
        own), then substituted once per state."""
        if self._parts:  # a sum keeps each part's encoding (the shared model lemmas are encoded once)
            return z3.And([part.at(enc, state) for part in self._parts], enc.ctx)
        if not self.exprs and not self.texts:
            return z3.BoolVal(True, enc.ctx)
        width = 1 + max((i for e in self.exprs for i in reads(e)), default=-1) if not self.texts \
            else len(enc.system.variables)
        key = (id(enc.system.instances), width, id(enc.ctx))
        if key not in self._encoded:
            template = enc.state("§lemma")[:width]
            reused = [parse_invariant(enc, text, template) for text in self.texts]
            self._encoded[key] = (template, z3.And(enc.exprs(self.exprs, template) + reused))
        template, conj = self._encoded[key]
        placed = (*key, tuple(t.get_id() for t in state[:width]))  # the parts of a batch ask for the same states
        if placed not in self._placed:
            self._placed[placed] = z3.substitute(conj, *zip(template, state[:width], strict=False))
        return self._placed[placed]

    def __add__(self, other: Strengthening) -> Strengthening:
        return Strengthening(self.names + other.names, self.exprs + other.exprs, self.texts + other.texts,
                             _parts=(self, other))


@dataclass(frozen=True)
class Reused:
    """A proof of the same part in another scenario: its certificate (SMT-LIB over
    ``<name>@c``), the system whose variables it names, and a label for the lemma names."""

    source: str
    system: System
    certificate: str

    def clauses(self, enc: Encoder, state: list[Term]) -> list[z3.BoolRef]:
        """The certificate's top-level clauses that read only variables this system has with the
        same sort (so the same encoding), over ``state``."""
        here = {v.name: v for v in enc.system.variables}
        theirs = Encoder(self.system)
        symbols = theirs.state(TAG)
        shared = [(symbols[v.index], state[here[v.name].index]) for v in self.system.variables
                  if v.name in here and here[v.name].sort == v.sort]
        foreign = {str(symbols[v.index]) for v in self.system.variables
                   if v.name not in here or here[v.name].sort != v.sort}
        whole = parse_invariant(theirs, self.certificate, symbols)
        out = []
        for clause in _conjuncts(whole):
            if not foreign or not _symbol_names(clause) & foreign:
                out.append(z3.substitute(clause, *shared) if shared else clause)
        return out


def _conjuncts(e: z3.BoolRef) -> list[z3.BoolRef]:
    return [c for child in e.children() for c in _conjuncts(child)] if z3.is_and(e) else [e]


def _symbol_names(e: z3.ExprRef) -> set[str]:
    """The names of the uninterpreted constants of ``e``."""
    seen: set[int] = set()
    out: set[str] = set()
    todo = [e]
    while todo:
        x = todo.pop()
        if x.get_id() in seen:
            continue
        seen.add(x.get_id())
        if z3.is_const(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(str(x))
        todo.extend(x.children())
    return out


NONE = Strengthening((), ())


def _disjunction(terms: list[z3.BoolRef]) -> z3.BoolRef:
    """``z3.Or(terms)`` without the Python-side coercion of each term (Houdini builds thousands)."""
    ctx = terms[0].ctx
    return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), len(terms), (z3.Ast * len(terms))(*[t.as_ast() for t in terms])), ctx)


_Renaming = tuple[int, "ctypes.Array[z3.Ast]", "ctypes.Array[z3.Ast]"]  # Z3_substitute's count, from and to


def _renaming(olds: list[Term], news: list[Term]) -> _Renaming:
    """``olds`` to ``news`` as Z3_substitute takes them, built once for many terms (``z3.substitute``
    checks every pair's sorts in Python on each call: 100 of 142 s of a first stage that reused
    336 clauses of a PDR proof)."""
    n = len(olds)
    return n, (z3.Ast * n)(*[x.as_ast() for x in olds]), (z3.Ast * n)(*[x.as_ast() for x in news])


def _negated_after(term: z3.BoolRef, n: int, olds: ctypes.Array[z3.Ast], news: ctypes.Array[z3.Ast]) -> z3.BoolRef:
    """``Not(substitute(term, zip(olds, news)))`` through Z3's C API: Houdini builds tens of
    thousands, and ``z3.substitute`` checks every pair's sorts in Python each time."""
    ctx = term.ctx
    after = z3.Z3_substitute(ctx.ref(), term.as_ast(), n, olds, news)
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), after), ctx)


def inductive_lemmas(sliced: Slice, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0,
                     reused: Reused | None = None) -> Strengthening:
    """The largest inductive subset of the lemmas that the slice can express (and of the reused
    proof's clauses); ``GaveUp`` if Houdini stopped."""
    projected = [(lm.name, e) for lm in lemmas if (e := sliced.project(lm.expr)) is not None]
    return inductive_subset(sliced.system, projected, deadline, seed, reused=reused)


def model_lemmas(system: System, lemmas: tuple[Lemma, ...], deadline: Deadline, seed: int = 0,
                 processes: int = 1) -> Strengthening:
    """The inductive subset of a whole model's lemmas, computed once and shared by every property
    (monitors add variables but never change the model's own steps, so it stays inductive);
    ``GaveUp`` if Houdini stopped. ``processes`` > 1 splits the steps between forked processes.
    Candidates a sample of reachable states refutes are left out first (``templates.screened``)."""
    candidates = [(lm.name, lm.expr) for lm in screened(system, lemmas, seed)]
    found = inductive_subset(system, candidates, deadline, seed, processes=processes)
    return shared_lemmas(lemmas, found.names)


def shared_lemmas(lemmas: tuple[Lemma, ...], names: tuple[str, ...]) -> Strengthening:
    """The model's lemmas of these names (found inductive by ``model_lemmas``, maybe in another
    process). Not encoded here: each engine process encodes what it uses (0.1 s), so a parent
    that forks engines creates no Z3 terms, and no engine's search depends on what the parent
    encoded before (Z3's term order, and so Spacer's run, would)."""
    chosen = set(names)
    kept = [lm for lm in lemmas if lm.name in chosen]
    return Strengthening(tuple(lm.name for lm in kept), tuple(lm.expr for lm in kept))


BY_STEP_FROM = 100  # candidates from which Houdini asks step by step rather than over Trans
STEPS_BETWEEN_EXCHANGES = 16  # steps each process asks between two exchanges of what they dropped


def inductive_subset(system: System, candidates: list[tuple[str, Expr]], deadline: Deadline, seed: int = 0,
                     background: Strengthening = NONE, reused: Reused | None = None,
                     processes: int = 1, at_once: bool = False) -> Strengthening:
    """Houdini: the largest inductive subset of the candidates (and of the ``reused`` proof's
    clauses), assuming ``background`` (already known to be inductive) in the pre-state;
    ``GaveUp`` if the solver stopped first. The largest inductive subset is unique, so how the
    queries are organised (``_Houdini``, ``processes``) changes the time taken, not what is kept.
    ``at_once``: over the whole transition relation whatever the count (a property's own lemmas,
    whose monitors every step writes: 139 of them on geo-local-daily-alert under han_mitm took
    1.0 s at once and 5.3 s step by step)."""
    if not candidates and reused is None:
        return NONE
    if processes > 1 and reused is None and len(candidates) >= BY_STEP_FROM:
        with _Peers(processes, lambda: _Houdini(system, candidates, deadline, seed, background, None),
                    deadline) as peers:
            search = peers.search
            active = search.by_step(peers)
    else:
        search = _Houdini(system, candidates, deadline, seed, background, reused)
        active = search.by_step() if len(search.now) >= BY_STEP_FROM and not at_once else search.whole()
    return _kept(search, candidates, active, reused)


def inductive_subset_and_step(system: System, candidates: list[tuple[str, Expr]], deadline: Deadline, seed: int,
                              background: Strengthening, bad: Expr) -> tuple[Strengthening, bool]:
    """``inductive_subset`` over the whole transition relation, then, on the same solver, whether
    the kept candidates with ``background`` make ``¬bad`` inductive: the lemma stage's two
    questions with one encoding of Trans and one solver (a fresh one with the row's lemmas cost
    about 0.1 s per proof of the default check)."""
    search = _Houdini(system, candidates, deadline, seed, background, None)
    active = search.whole()
    return _kept(search, candidates, active, None), search.keeps(bad)


def _kept(search: _Houdini, candidates: list[tuple[str, Expr]], active: list[int], reused: Reused | None
          ) -> Strengthening:
    """The candidates (and reused clauses) a search kept, as a Strengthening."""
    exprs = [k for k in active if k < len(candidates)]
    kept = [k - len(candidates) for k in active if k >= len(candidates)]
    tagged = search.enc.state(TAG)
    return Strengthening(tuple(candidates[k][0] for k in exprs) + tuple(f"{reused.source}#{k}" for k in kept if reused),
                         tuple(candidates[k][1] for k in exprs),
                         tuple(z3.substitute(search.clauses[k], *zip(search.s, tagged, strict=True)).sexpr()
                               for k in kept))


class _Houdini:
    """One Houdini run: the candidates (expressions, then reused clauses) as assumption literals
    of one incremental solver, those true initially active, and two ways to drop the rest."""

    def __init__(self, system: System, candidates: list[tuple[str, Expr]], deadline: Deadline, seed: int,
                 background: Strengthening, reused: Reused | None) -> None:
        enc = self.enc = Encoder(system)
        s = self.s = enc.state("h")
        self.clauses = reused.clauses(enc, s) if reused is not None else []
        self.exprs = [e for _, e in candidates]
        self.holds = [compile_expr(e) for e in self.exprs]
        init = Interpreter(system).initial_state()
        initially = [(s[v.index], enc.value(v, v.init)) for v in system.variables]
        self.active = [k for k, f in enumerate(self.holds) if f(init, init, -1)] + \
            [len(self.holds) + k for k, c in enumerate(self.clauses)
             if z3.is_true(z3.simplify(z3.substitute(c, *initially)))]
        self.now = enc.exprs(self.exprs, s) + self.clauses
        self.solver = Solver(seed, deadline)
        self.solver.add(enc.domain(s), background.at(enc, s))
        self.use = [z3.Bool(f"lemma#{k}") for k in range(len(self.now))]
        for k in range(len(self.now)):
            self.solver.add(z3.Implies(self.use[k], self.now[k]))
        self.queries = 0
        self.after: list[Term] | None = None  # the post-state, once ``whole`` asserted Trans

    def holds_after(self, k: int, after: tuple[int, ...], model: z3.ModelRef, renaming: _Renaming) -> bool:
        """Whether candidate ``k`` holds in the successor ``after`` (the post-state of ``renaming``
        under ``model``)."""
        if k < len(self.holds):
            return bool(self.holds[k](after, after, -1))
        ctx = self.now[k].ctx
        after_step = z3.BoolRef(z3.Z3_substitute(ctx.ref(), self.now[k].as_ast(), *renaming), ctx)
        return bool(z3.is_true(model.eval(after_step, model_completion=True)))

    def ask(self, broken: z3.BoolRef) -> z3.ModelRef | None:
        """A model of the active candidates and ``broken`` (under a fresh literal), or None."""
        self.queries += 1
        query = z3.Bool(f"broken#{self.queries}")
        self.solver.add(z3.Implies(query, broken))
        r = self.solver.check(*[self.use[k] for k in self.active], query)
        if r == z3.unsat:
            return None
        if r != z3.sat:
            raise GaveUp(f"Houdini stopped after {self.queries} queries: {self.solver.reason_unknown()}")
        return self.solver.model()

    def drop(self, candidates: list[int], after: tuple[int, ...], model: z3.ModelRef, new: list[Term]) -> None:
        """Drop those of ``candidates`` false in the successor; a successor that breaks one
        symbolically but none explicitly is a disagreement of the semantics: stop, never loop."""
        renaming = _renaming(self.s, new) if self.clauses else _renaming([], [])  # only reused clauses need it
        dropped = {k for k in candidates if not self.holds_after(k, after, model, renaming)}
        if not dropped:
            raise GaveUp("Houdini stopped: a successor breaks a candidate symbolically but not explicitly")
        self.active = [k for k in self.active if k not in dropped]

    def whole(self) -> list[int]:
        """Ask the transition relation at once whether any active candidate breaks (best for a
        few candidates, such as a property's own lemmas about monitors every step writes)."""
        enc, s = self.enc, self.s
        a, t = enc.action("h"), enc.state("h'")
        self.solver.add(enc.trans(s, a, t))
        self.after = t
        renaming = _renaming(s, t)
        broken = [_negated_after(term, *renaming) for term in self.now]
        while self.active and (model := self.ask(_disjunction([broken[k] for k in self.active]))) is not None:
            self.drop(self.active, enc.decode_state(model, t), model, t)
        return self.active

    def keeps(self, bad: Expr) -> bool:
        """After ``whole``: whether no step from a state where the active candidates hold and
        ``bad`` does not leads to a state where ``bad`` does (False also if the solver stops)."""
        assert self.after is not None, "whole() asserts the transition relation first"
        try:
            return self.ask(z3.And(z3.Not(self.enc.expr(bad, self.s)), self.enc.expr(bad, self.after))) is None
        except GaveUp:
            return False

    def by_step(self, peers: _Peers | None = None) -> list[int]:
        """Ask one step (an instance's branch) at a time, only about the candidates that read a
        variable it writes (the others hold after it as before), in a fixed order, until a
        whole pass drops nothing: thousands of candidates, small queries. With ``peers``, this
        process asks only its share of the steps, and after every ``STEPS_BETWEEN_EXCHANGES``
        steps each, every process drops what any of them dropped (each drop is sound, so they
        end at the same set)."""
        s = self.s
        steps = [(cond, new, {i for i in range(len(s)) if new[i] is not s[i]}) for _, _, cond, new in self.enc.steps(s)]
        renaming = [_renaming([s[i] for i in sorted(w)], [new[i] for i in sorted(w)]) for _, new, w in steps]
        position = {str(term): i for i, term in enumerate(s)}
        read = [reads(e) for e in self.exprs] + \
            [{position[n] for n in _symbol_names(c) if n in position} for c in self.clauses]
        broken_by: dict[tuple[int, int], z3.BoolRef] = {}  # (step, candidate) -> the step breaks the candidate
        width = len(steps) if peers is None else STEPS_BETWEEN_EXCHANGES * peers.count
        blocks = [range(b, min(b + width, len(steps))) for b in range(0, len(steps), width)]
        changed = True
        while changed:
            changed = False
            for block in blocks:
                before = set(self.active)
                for j in block:
                    if peers is not None and j % peers.count != peers.index:
                        continue
                    cond, new, writes = steps[j]
                    while relevant := [k for k in self.active if read[k] & writes]:
                        for k in relevant:
                            if (j, k) not in broken_by:
                                broken_by[j, k] = _negated_after(self.now[k], *renaming[j])
                        model = self.ask(z3.And(cond, _disjunction([broken_by[j, k] for k in relevant])))
                        if model is None:
                            break
                        self.drop(relevant, self.enc.decode_state(model, new), model, new)
                        changed = True
                if peers is not None:
                    gone = peers.exchange(before - set(self.active))
                    self.active = [k for k in self.active if k not in gone]
                    changed |= bool(gone)
        return self.active


class _Peers:
    """Processes sharing one step-by-step Houdini run: this one (``index`` 0) and ``count - 1``
    forked ones, each with its own solver, asking every ``count``-th step. After every block of
    steps all of them drop the union of what each dropped, so every process starts a block with
    the same candidates, and the run ends when a pass drops nothing anywhere. Which steps a
    process asks is fixed, so the queries, and the resource units they use, do not depend on
    timing."""

    def __init__(self, count: int, make: Callable[[], _Houdini], deadline: Deadline) -> None:
        self.count, self.make, self.deadline = count, make, deadline
        self.index = 0
        self.links: list[Connection] = []  # this process: one per forked peer; a forked peer: to this one
        self.pids: list[int] = []
        self.reported = deadline.used  # resource units already accounted for

    def __enter__(self) -> _Peers:
        parent = os.getpid()
        for index in range(1, self.count):  # forked before this process creates any Z3 term
            mine, theirs = Pipe()
            pid = os.fork()
            if pid == 0:
                mine.close()
                self._serve(index, theirs, parent)
            theirs.close()
            self.links.append(mine)
            self.pids.append(pid)
        self.search = self.make()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for pid in self.pids:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for link in self.links:
            link.close()

    def _serve(self, index: int, link: Connection, parent: int) -> None:
        """A forked peer's body: its share of the steps; a stop is reported, never a result."""
        die_with(parent)
        for other in self.links:  # the pipes to the peers forked before this one
            other.close()
        self.index, self.links = index, [link]
        try:
            self.make().by_step(self)
        except GaveUp as e:
            link.send(("stopped", str(e)))
        except Exception as e:  # reported as a stop: the row's engines then work without lemmas
            link.send(("stopped", f"Houdini peer {index} failed: {type(e).__name__}: {e}"))
        finally:
            os._exit(0)

    def exchange(self, dropped: set[int]) -> set[int]:
        """The candidates dropped in this block of steps by any process (``dropped``: by this one). A
        forked peer sends its own and its resource units and waits; this process adds them up,
        stops if the run's resources are spent, and sends the union back."""
        spent, self.reported = self.deadline.used - self.reported, self.deadline.used
        if self.index:
            self.links[0].send(("dropped", dropped, spent))
            try:
                gone: set[int] = self.links[0].recv()
            except EOFError:  # the run ended without this peer
                os._exit(0)
            return gone
        gone = set(dropped)
        for link in self.links:
            try:
                message = link.recv()
            except EOFError:
                raise GaveUp("Houdini stopped: a peer process ended unexpectedly") from None
            if message[0] != "dropped":
                raise GaveUp(message[1])
            gone |= message[1]
            self.deadline.spend(message[2])
        if self.deadline.out_of_resources():
            raise GaveUp(f"Houdini stopped: {self.deadline.why()}")
        for link in self.links:
            link.send(gone)
        return gone
