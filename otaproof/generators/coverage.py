"""Conformance-coverage goals of a model, and a small set of replayed traces that covers them.

Goals (derived from the built model, never listed by hand):

* ``action:<A>``: action ``A`` fires (every action with a grounded instance, any role);
* ``branch:<A>/<b>``: ``A`` takes its branch ``b`` (every branch of every action with two or
  more branches; parameters collapsed; a single-branch action's branch is its action goal);
* ``outcome:<K>/<o>``: the DSP receives a message of kind ``K`` carrying outcome code ``o`` on a
  hub-to-DSP (``wan_up``) queue. The (kind, outcome) pairs are those some action's send can put
  on such a queue, found by a fixpoint over the model's channels (``message_pairs``); messages
  that carry no outcome (the field left at its initial value) give no goal;
* ``boundary:<P>/<name>``: property ``P``'s edge case ``name`` happens (``properties.boundaries``:
  the step where P's protecting check decides in the case a missing or off-by-one check gets
  wrong, e.g. an image whose CPL entry was removed, a counter equal to the last accepted one).

Method (trap properties, as in model-based testing): goal ``g`` has an event ``E_g`` over a step
(pre-state and action); its trap property is ``StepInvariant(~E_g)``, and a counterexample to it
is a trace that covers ``g``.

1. Dead goals first: the model's candidate lemmas plus ``goal_lemmas`` (each goal's step never
   enabled, ...) go through Houdini once; a goal whose "never" candidate survives is certified
   unreachable by the "lemmas" engine (``properties.check.run_engine``), all in one proof.
2. One incremental BMC unrolling (``model.symbolic.Encoder`` on the cone of influence of all
   remaining goals, pruned by the inductive lemmas, QF_BV solver) serves every round: at depth k
   the solver is asked for a path whose last step hits some still-uncovered goal; each answer is
   replayed in the explicit semantics, every goal it covers is marked, and the question is asked
   again; when no uncovered goal can be hit at step k, the path grows by one step. The depth never
   goes back: a goal no path of length <= k hits is not hit within k steps by a longer one either,
   so every trace is a shortest one for the goals it was found for. This stops at the first depth
   that covers nothing new (the shallow goals are done).
3. Each goal left gets an unrolling of its own cone (much smaller than the union of all cones:
   measured 23 s against 48 s for the default model's deep goals), from the depth already
   searched to the bound. A goal with no trace within the bound goes to PDR (``run_engine``
   engine "pdr"), on a forked worker while the search goes on, then on both processes.
   "Unreachable" always carries a certificate the engine's checker re-checked; a goal neither
   covered nor proved is "unknown".
4. A greedy set cover keeps a small subset of the traces that still covers every covered goal;
   each kept trace is replayed once more by ``properties.trace.make_trace``.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import assert_never, cast

import z3
from rich.table import Table

from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.invariants import Lemma
from otaproof.model.lang import (
    ARITHMETIC,
    COMPARISONS,
    TRUE,
    And,
    Arith,
    Cmp,
    Const,
    Expr,
    Fired,
    Ite,
    Lookup,
    Member,
    Next,
    Not,
    Or,
    Select,
    SetUpdate,
    Sort,
    Var,
    all_of,
    any_of,
    implies,
    select_index,
)
from otaproof.model.slicing import cone_of_influence, reads
from otaproof.model.symbolic import Encoder
from otaproof.model.system import Channel, Instance, System
from otaproof.model.variants import BuiltModel
from otaproof.properties.boundaries import boundaries
from otaproof.properties.catalogue import Property
from otaproof.properties.check import run_engine
from otaproof.properties.engines.strengthen import NONE, Strengthening, model_lemmas
from otaproof.properties.formulas import StepInvariant
from otaproof.properties.pool import ENDED, ForkPool, Report
from otaproof.properties.solver import Deadline, GaveUp, Solver, Unrolling
from otaproof.properties.trace import ReplayError, Trace, make_trace, replay
from otaproof.properties.verdict import Budget, Proved

KINDS = ("action", "branch", "outcome", "boundary")
SEED = 0
LEMMA_SECONDS = 15.0   # at most this per cheap lemma proof of trap properties


@dataclass(frozen=True)
class Goal:
    """A test goal: something a conformance test suite should exercise at least once."""

    id: str             # stable and readable: action:A, branch:A/b, outcome:K/o
    kind: str           # action | branch | outcome
    action: str         # the action that covers it (outcome goals: the DSP receive action(s), |-joined)
    branch: str | None  # the branch (branch goals), else None
    text: str           # one sentence for a report


@dataclass(frozen=True)
class CoveringTrace:
    """A replayed trace and every goal it covers (so a suite can say why each test is there)."""

    trace: Trace
    goals: tuple[str, ...]


@dataclass(frozen=True)
class CoverageResult:
    """Which goals a minimised set of traces covers, which are proved dead, which are undecided."""

    goals: tuple[Goal, ...]
    traces: tuple[CoveringTrace, ...]  # minimised
    covered: dict[str, int]            # goal id -> index into traces
    unreachable: tuple[str, ...]       # proved unreachable (certificate re-checked)
    unknown: tuple[str, ...]
    seconds: float
    traces_found: int = 0              # traces found before minimisation
    depth: int = 0                     # the BMC bound used


# ---- goals -------------------------------------------------------------------------------------


def coverage_goals(bm: BuiltModel) -> list[Goal]:
    """Every action, branch, DSP-received outcome code and property boundary of the model (what a
    conformance suite must exercise), in a fixed order."""
    return [g for g, _ in _goals_with_events(bm)]


def _branch_names(insts: list[Instance]) -> list[str]:
    names: list[str] = []
    for inst in insts:
        names += [b.name for b in inst.branches if b.name not in names]
    return names


def _goals_with_events(bm: BuiltModel) -> list[tuple[Goal, Expr]]:
    """The goals, each with its event (a step predicate over pre-state and action), sorted."""
    s = bm.system
    out: list[tuple[Goal, Expr]] = []
    for name in s.actions:
        insts = s.instances_of(name)
        if not insts:
            continue
        out.append((Goal(f"action:{name}", "action", name, None, f"{name} fires"), s.fired(name)))
        names = _branch_names(insts)
        if len(names) < 2:
            continue
        for br in names:
            having = [i for i in insts if any(b.name == br for b in i.branches)]
            event = s.took(name, [br]) if len(having) == len(insts) else \
                any_of(s.took(name, [br], **dict(i.params)) for i in having)
            out.append((Goal(f"branch:{name}/{br}", "branch", name, br, f"{name} takes its branch {br}"), event))
    out += _outcome_goals(bm)
    out += [(Goal(f"boundary:{b.property}/{b.name}", "boundary", "|".join(b.actions), None,
                  f"{b.property} boundary: {b.text}"), b.event) for b in boundaries(bm)]
    rank = {k: n for n, k in enumerate(KINDS)}
    out.sort(key=lambda ge: (rank[ge[0].kind], ge[0].id))
    return out


def _outcome_goals(bm: BuiltModel) -> list[tuple[Goal, Expr]]:
    """One goal per (kind, outcome) pair a send can put on a hub-to-DSP queue: the DSP receives it."""
    pairs = message_pairs(bm.system, _outcome_channels(bm))
    per_pair: dict[tuple[str, str], list[tuple[Channel, list[Instance]]]] = {}
    for ch in bm.model.wan_up.values():
        ksort, osort = ch.fields["kind"], ch.fields["outcome"]
        for k, o in sorted(pairs[ch.name]):
            if o == ch.slots[0]["outcome"].init:
                continue  # the outcome field was left unset: this kind carries no outcome code
            receivers = _receivers(bm.system, ch, k, o)
            if receivers:
                per_pair.setdefault((str(ksort.decode(k)), str(osort.decode(o))), []).append((ch, receivers))
    out = []
    for (kind, code), where in sorted(per_pair.items()):
        actions = "|".join(sorted({i.action for _, insts in where for i in insts}))
        event = any_of(Fired(f"{actions} of {ch.name}", frozenset(i.index for i in insts))
                       & (ch.head("kind") == kind) & (ch.head("outcome") == code) for ch, insts in where)
        text = f"the DSP receives {kind} with outcome {code} ({actions})"
        out.append((Goal(f"outcome:{kind}/{code}", "outcome", actions, None, text), event))
    return out


def _outcome_channels(bm: BuiltModel) -> list[Channel]:
    """The queues whose messages carry a kind and an outcome code."""
    return [ch for ch in bm.model.b.channels.values() if {"kind", "outcome"} <= ch.fields.keys()]


def _receivers(system: System, ch: Channel, kind: int, code: int) -> list[Instance]:
    """Instances of the channel's destination that take a message off it and may be enabled when
    its head is (kind, code)."""
    env = {ch.length.index: frozenset(range(1, ch.capacity + 1)),
           ch.slots[0]["kind"].index: frozenset({kind}), ch.slots[0]["outcome"].index: frozenset({code})}
    out = []
    for inst in system.instances:
        if inst.machine != ch.dst or not any(a.var.index == ch.length.index for b in inst.branches for a in b.assigns):
            continue
        if any(_may_hold(And((inst.guard, b.cond)), env) for b in inst.branches):
            out.append(inst)
    return out


# ---- which (kind, outcome) pairs can be sent: an over-approximating fixpoint ------------------

Env = dict[int, frozenset[int]]  # variable index -> the codes it may hold (absent: any of its sort)
_MAX_DOMAIN = 1 << 10


def _domain(sort: Sort) -> frozenset[int] | None:
    if sort.size > _MAX_DOMAIN:
        return None
    return frozenset(c for c in range(sort.size) if sort.contains_code(c))


def _values(e: Expr, env: Env) -> frozenset[int] | None:
    """The codes ``e`` may take in some state allowed by ``env`` (None: not worked out, any)."""
    match e:
        case Const(code=code):
            return frozenset({code})
        case Var(index=i, sort=sort):
            return env.get(i, _domain(sort))
        case Not(arg):
            v = _values(arg, env)
            return None if v is None else frozenset(1 - x for x in v)
        case And(args):
            return _connective(args, env, unit=1)
        case Or(args):
            return _connective(args, env, unit=0)
        case Cmp(op, left, right):
            xs, ys = _values(left, env), _values(right, env)
            if xs is None or ys is None:
                return frozenset({0, 1})
            holds = COMPARISONS[op].codes
            return frozenset(int(holds(x, y)) for x in xs for y in ys)
        case Arith(op, left, right):
            xs, ys = _values(left, env), _values(right, env)
            if xs is None or ys is None:
                return None
            value = ARITHMETIC[op].codes
            return frozenset(r for x in xs for y in ys if (r := value(x, y)) >= 0)  # below zero: an error
        case Ite(cond, then, other):
            c = _values(cond, env)
            return _union(([then] if c is None or 1 in c else []) + ([other] if c is None or 0 in c else []), env)
        case Lookup(key, table):
            keys = _values(key, env)
            return frozenset(table) if keys is None else frozenset(table[k] for k in keys if k < len(table))
        case Select(items, index):
            idx = _values(index, env)
            return _union(items if idx is None else [items[select_index(i, len(items))] for i in sorted(idx)], env)
        case Member():
            return frozenset({0, 1})
        case SetUpdate() | Next() | Fired():  # not in guards or sends
            return None
        case _:
            assert_never(e)


def _connective(args: tuple[Expr, ...], env: Env, unit: int) -> frozenset[int]:
    """The values of a conjunction (``unit`` 1) or disjunction (0) of ``args``."""
    can = [frozenset({0, 1}) if v is None else v for v in (_values(a, env) for a in args)]
    out = set()
    if all(unit in v for v in can):
        out.add(unit)
    if any(1 - unit in v for v in can):
        out.add(1 - unit)
    return frozenset(out)


def _union(es: Sequence[Expr], env: Env) -> frozenset[int] | None:
    """The codes any of ``es`` may take (None: some of them any)."""
    out: set[int] = set()
    for e in es:
        v = _values(e, env)
        if v is None:
            return None
        out |= v
    return frozenset(out)


def _may_hold(e: Expr, env: Env) -> bool:
    v = _values(e, env)
    return v is None or 1 in v


def _sent(value: Expr, ch: Channel) -> Expr | None:
    """The field value of a message this assignment puts on ``ch`` (a send writes
    ``ite(length == i, value, old)``), or None when it only keeps, shifts or clears a slot."""
    match value:
        case Ite(cond, then) if ch.length.index in reads(cond):
            return then
        case _:
            return None


def _worlds(channels: list[Channel], pairs: dict[str, set[tuple[int, int]]]) -> Iterable[Env]:
    """Every combination of head messages of the given channels (or the channel empty)."""
    options = []
    for ch in channels:
        k, o = ch.slots[0]["kind"], ch.slots[0]["outcome"]
        opts = [{ch.length.index: frozenset({0}), k.index: frozenset({k.init}), o.index: frozenset({o.init})}]
        for kc, oc in sorted(pairs[ch.name]):
            opts.append({ch.length.index: frozenset(range(1, ch.capacity + 1)),
                         k.index: frozenset({kc}), o.index: frozenset({oc})})
        options.append(opts)
    for combo in itertools.product(*options):
        env: Env = {}
        for part in combo:
            env.update(part)
        yield env


def message_pairs(system: System, channels: list[Channel]) -> dict[str, set[tuple[int, int]]]:
    """Per channel (by name), the (kind, outcome) code pairs that some send may put on it.

    A fixpoint: a send's kind and outcome are evaluated with the head messages of the channels
    it reads (e.g. a relay's source) ranging over the pairs found so far, and kept when the
    action's guard and branch condition may hold there. An over-approximation (other state is
    unconstrained), so a spurious pair only adds a goal the proofs report as unreachable."""
    pairs: dict[str, set[tuple[int, int]]] = {ch.name: set() for ch in channels}
    by_var = {v.index: ch for ch in channels for slot in ch.slots for v in (slot["kind"], slot["outcome"])}
    by_var.update({ch.length.index: ch for ch in channels})
    sends = []  # (instance, branch, channel, kind expr, outcome expr, channels read)
    for inst in system.instances:
        for b in inst.branches:
            assigned = {a.var.index: a.value for a in b.assigns}
            for ch in channels:
                for slot in ch.slots:
                    k, o = slot["kind"], slot["outcome"]
                    kv, ov = _sent(assigned.get(k.index, k), ch), _sent(assigned.get(o.index, o), ch)
                    if kv is None and ov is None:
                        continue
                    kv, ov = kv if kv is not None else k, ov if ov is not None else o
                    exprs = [inst.guard, b.cond, kv, ov]
                    read = {by_var[i].name for e in exprs for i in reads(e) if i in by_var}
                    sends.append((inst, b, ch, kv, ov, [c for c in channels if c.name in read]))
    changed = True
    while changed:
        changed = False
        for inst, b, ch, kv, ov, sources in sends:
            for env in _worlds(sources, pairs):
                if not _may_hold(And((inst.guard, b.cond)), env):
                    continue
                ks = _values(kv, env) or _domain(kv.sort) or frozenset()
                os_ = _values(ov, env) or _domain(ov.sort) or frozenset()
                new = {(x, y) for x in ks for y in os_ if ch.fields["kind"].contains_code(x)
                       and ch.fields["outcome"].contains_code(y)} - pairs[ch.name]
                if new:
                    pairs[ch.name] |= new
                    changed = True
    return pairs


# ---- candidate lemmas from the goals ------------------------------------------------------------


def goal_lemmas(bm: BuiltModel) -> tuple[Lemma, ...]:
    """Candidate invariants that would make dead goals cheap to prove: each goal's step never
    enabled, its outcome never in flight, and every queue holding only (kind, outcome) pairs a
    send can produce. Candidates, never assumptions: Houdini keeps the inductive ones (together
    with the model's lemmas), and every certificate that uses them is re-checked."""
    s, out = bm.system, []
    channels = _outcome_channels(bm)
    for g, event in _goals_with_events(bm):
        if g.kind == "outcome":
            kind, code = g.id.split(":", 1)[1].split("/")
            held = [(ch.length > i) & (slot["kind"] == kind) & (slot["outcome"] == code) for ch in channels
                    if kind in getattr(ch.fields["kind"], "values", ())
                    and code in getattr(ch.fields["outcome"], "values", ())
                    for i, slot in enumerate(ch.slots)]
            out.append(Lemma(f"never[{g.id}]", f"no {kind} with outcome {code} is ever in flight", ~any_of(held)))
            continue
        if g.kind == "boundary":
            out.append(Lemma(f"never[{g.id}]", f"the step of goal {g.id} is never enabled", ~_enabled(event)))
            continue
        terms = [all_of(inst.takes(k)) for inst in s.instances_of(g.action)
                 for k, b in enumerate(inst.branches) if g.branch is None or b.name == g.branch]
        out.append(Lemma(f"never[{g.id}]", f"the step of goal {g.id} is never enabled", ~any_of(terms)))
    pairs = message_pairs(s, channels)
    for ch in channels:
        ks, os_ = ch.fields["kind"], ch.fields["outcome"]
        allowed = sorted(pairs[ch.name])
        for i, slot in enumerate(ch.slots):
            sendable = any_of((slot["kind"] == ks.decode(k)) & (slot["outcome"] == os_.decode(o)) for k, o in allowed)
            out.append(Lemma(f"only-sendable-pairs[{ch.name}][{i}]", "a queue holds only messages some send produces",
                             implies(ch.length > i, sendable)))
    return tuple(out)


def _enabled(event: Expr) -> Expr:
    """The state part of a step event: the event with every "this instance fired" replaced by
    True (``System.took`` conjoins each with the instance's guard and branch condition)."""
    match event:
        case Fired():
            return TRUE
        case And(args):
            return And(tuple(_enabled(a) for a in args))
        case Or(args):
            return Or(tuple(_enabled(a) for a in args))
        case _:  # below the event's And/Or structure: state conditions, kept as they are
            return event


# ---- covering -----------------------------------------------------------------------------------


class _Marker:
    """Replays a trace in the explicit semantics and says which goals it covers."""

    def __init__(self, system: System, goals: list[tuple[Goal, Expr]]) -> None:
        self.system = system
        self.interp = Interpreter(system)
        self.goals = goals
        self.step_events = [(g.id, compile_expr(e, g.id)) for g, e in goals if g.kind in ("outcome", "boundary")]

    def covers(self, choices: list[int]) -> tuple[str, ...]:
        """The goals (in goal order) a trace covers; raises ReplayError if it does not replay."""
        states: list[State] = replay(self.system, None, choices)
        hit: set[str] = set()
        for n, c in enumerate(choices):
            inst = self.system.instances[c]
            hit.add(f"action:{inst.action}")
            branch = self.interp.branch_taken(states[n], c)
            hit.add(f"branch:{inst.action}/{branch}")
            hit |= {gid for gid, f in self.step_events if f(states[n], states[n + 1], c)}
        return tuple(g.id for g, _ in self.goals if g.id in hit)


@dataclass
class _Search:
    """The state of one ``cover`` run."""

    bm: BuiltModel
    goals: list[tuple[Goal, Expr]]
    depth: int
    end: float                      # the wall-clock deadline (time.monotonic)
    progress: Callable[[str], None]
    known: Strengthening = NONE

    def __post_init__(self) -> None:
        self.system = self.bm.system
        self.marker = _Marker(self.system, self.goals)
        self.events = {g.id: e for g, e in self.goals}
        self.remaining = [g.id for g, _ in self.goals]      # in goal order
        self.found: list[tuple[list[int], tuple[str, ...]]] = []
        self.unreachable: list[str] = []
        self.searched = 0  # no remaining goal is hit at the last step of a path this short or shorter
        # the searches' own Z3 context: the traces Z3 picks depend on the terms created before,
        # so a fresh context per run makes the same model give the same traces in any process
        self.ctx = z3.Context()
        sc = self.bm.scenario
        self.threats, self.faults = tuple(sorted(sc.threats)), tuple(sorted(sc.faults))

    def left(self) -> float:
        return self.end - time.monotonic()

    def drop(self, gids: Iterable[str]) -> None:
        gone = set(gids)
        self.remaining = [g for g in self.remaining if g not in gone]

    def add_trace(self, choices: list[int]) -> tuple[str, ...]:
        """Record a trace (it must replay) and drop the goals it covers from the search."""
        goals = self.marker.covers(choices)
        self.found.append((choices, goals))
        self.drop(goals)
        return goals

    # -- BMC ------------------------------------------------------------------------------------
    def bmc(self, gids: list[str], shared: bool) -> bool:
        """Shortest traces for the goals ``gids`` that are still uncovered, depth by depth, in one
        unrolling of their cone of influence (with the model's inductive lemmas). Depths up to
        ``self.searched`` were already searched for a superset of these goals: only unrolled.
        ``shared`` (every remaining goal): stop after the first depth that covers nothing new, and
        record the depth searched; otherwise go on to the bound. False: stopped early (budget,
        solver unknown), so a goal left has not been searched to the bound."""
        sliced = cone_of_influence(self.system, any_of(self.events[g] for g in gids))
        assert isinstance(sliced.predicate, Or) and len(sliced.predicate.args) == len(gids)
        event = dict(zip(gids, sliced.predicate.args, strict=True))
        enc = Encoder(sliced.system, ctx=self.ctx)
        lemmas = [x for e in self.known.exprs if (x := sliced.project(e)) is not None]
        # QF_BV: much faster than the default solver on deep unrollings here
        path = Unrolling(enc, Solver(SEED, Deadline.until(self.end), "QF_BV", self.ctx))
        solver = path.solver
        solver.add(enc.init(path.last))
        for k in range(self.depth):
            alive = [g for g in gids if g in self.remaining]
            if not alive:
                return True
            if self.left() <= 0:
                self.progress(f"coverage: BMC stopped by the budget at depth {k}")
                return False
            a, t = path.step((lambda s: z3.And(enc.exprs(lemmas, s))) if lemmas else None)
            if k + 1 <= self.searched:
                continue
            hits = {g: enc.expr(event[g], path.states[k], t, a) for g in alive}
            before, query = len(self.found), 0
            while alive:
                query += 1
                q = z3.Bool(f"goal@{k}#{query}", self.ctx)
                solver.add(z3.Implies(q, z3.Or([hits[g] for g in alive])))
                r = solver.check(q)
                if r == z3.unsat:
                    break
                if r != z3.sat:
                    self.progress(f"coverage: BMC stopped at depth {k + 1}: {solver.reason_unknown()}")
                    return False
                model = solver.model()
                choices = path.choices(model, sliced.original_instance)
                claimed = [g for g in alive if z3.is_true(model.eval(hits[g], model_completion=True))]
                try:
                    covered = self.add_trace(choices)
                except ReplayError as e:  # never reported; the goals it claimed stay undecided
                    self.progress(f"coverage: a trace did not replay ({e}); {claimed} left unknown")
                    covered = ()
                if not set(claimed) & set(covered):  # the two semantics disagree: do not loop on it
                    self.drop(claimed)
                alive = [g for g in alive if g in self.remaining]
            if len(gids) > 1:
                self.progress(f"coverage: depth {k + 1}: {len(self.found)} traces, {len(self.remaining)} goals left")
            if shared:
                self.searched = k + 1
                if len(self.found) == before:
                    return True
        return True

    # -- proofs ---------------------------------------------------------------------------------
    def _trap(self, gids: list[str]) -> Property:
        trap = StepInvariant(~any_of(self.events[g] for g in gids))
        name = gids[0] if len(gids) == 1 else f"{len(gids)} coverage goals"

        def formula(_bm: BuiltModel) -> StepInvariant:
            return trap

        return Property(f"TRAP {name}", f"never: {', '.join(gids)}", "HIST",
                        "coverage trap property (a counterexample covers the goal)", formula)

    def prove(self, gids: list[str], engine: str, seconds: float) -> bool:
        """Try to prove the trap property of ``gids`` (all unreachable), with a re-checked certificate."""
        if seconds <= 0.5:
            return False
        budget = Budget(timeout=seconds, depth=self.depth, seed=SEED)
        verdict = run_engine(self.bm, self._trap(gids), engine, budget, self.known if engine == "lemmas" else None)
        if isinstance(verdict, Proved) and verdict.certificate.checked:
            self.unreachable += gids
            self.drop(gids)
            return True
        return False

    def screen(self) -> None:
        """Goals whose "never" candidate survived Houdini are dead; the "lemmas" engine certifies
        them (all in one proof; one by one only if that fails)."""
        kept = set(self.known.names)
        dead = [g for g in self.remaining if f"never[{g}]" in kept]
        def seconds() -> float:
            return min(LEMMA_SECONDS, self.left())

        if dead and not self.prove(dead, "lemmas", seconds()):
            for g in dead:
                self.prove([g], "lemmas", seconds())
        self.progress(f"coverage: {len(self.unreachable)} goals proved unreachable by the lemmas")

    def finish(self) -> None:
        """Each goal left after the shared unrolling gets an unrolling of its own (a smaller cone,
        searched to the bound); a goal without a trace goes to PDR. A forked worker takes PDR
        jobs while the parent goes on searching (2 cores), then both drain the jobs."""
        todo = list(self.remaining)
        if not todo or self.left() <= 0:
            return
        with _Prover(self) as helper:
            for g in todo:
                helper.collect()
                if self.left() <= 0:
                    break
                if g in self.remaining and self.bmc([g], shared=False) and g in self.remaining:
                    self.progress(f"coverage: {g}: no trace within {self.depth} steps")
                    helper.submit(g)
            while (job := helper.next_job()) is not None:
                if job in self.remaining:
                    proved = self.prove([job], "pdr", self.left())
                    self.progress(f"coverage: {job}: " + ("proved unreachable" if proved else "not proved"))
            helper.wait()
        self.progress(f"coverage: {len(self.unreachable)} goals proved unreachable, {len(self.remaining)} undecided")


class _Prover:
    """A worker (``properties.pool``) that proves goals' trap properties with PDR, taking the jobs
    the parent submits (goals its search found no trace for) from a queue the parent also takes
    from. It only reports proofs; traces come from the parent alone, so which process gets
    somewhere first changes no trace."""

    def __init__(self, search: _Search) -> None:
        self.search = search
        self.pool = ForkPool()
        self.jobs: mp.Queue[str] = self.pool.ctx.Queue()
        self.local: list[str] = []        # jobs when there is no worker
        self.submitted = 0
        self.taken: set[str] = set()      # by the worker, not yet reported
        self.taken_count = 0              # by the worker
        self.parent_taken = 0
        self.forked = False               # a worker takes jobs too
        self.alive = False                # ... and has not ended

    def __enter__(self) -> _Prover:
        if (os.cpu_count() or 1) > 1:
            self.pool.start(0, self._work)
            self.forked = self.alive = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.close()

    def _work(self, report: Report) -> None:
        s = self.search
        s.progress = lambda _m: None
        while True:
            g = self.jobs.get()
            report((g, "taken"))
            report((g, "proved" if s.prove([g], "pdr", s.left()) else "open"))

    def submit(self, g: str) -> None:
        """A goal the search found no trace for: prove it unreachable (whoever is free first)."""
        self.submitted += 1
        if self.forked:
            self.jobs.put(g)
        else:
            self.local.append(g)

    def collect(self, block: float = 0.0) -> None:
        """Take the worker's news (jobs taken, proofs), waiting up to ``block`` seconds for the first."""
        while self.forked and (answer := self.pool.next_answer(block)) is not None:
            block = 0.0
            if answer[1] is ENDED:
                self.alive = False
                continue
            g, what = cast(tuple[str, str], answer[1])
            if what == "taken":
                self.taken.add(g)
                self.taken_count += 1
                continue
            self.taken.discard(g)
            if g in self.search.remaining:
                self.search.progress(f"coverage: {g}: " + ("proved unreachable" if what == "proved" else "not proved"))
            if what == "proved" and g in self.search.remaining:
                self.search.unreachable.append(g)
                self.search.drop([g])

    def next_job(self) -> str | None:
        """A submitted job nobody has taken yet, for the parent (None: none left)."""
        if not self.forked:
            return self.local.pop(0) if self.local else None
        while self.search.left() > 0:
            try:
                g = self.jobs.get(timeout=0.05)
            except queue.Empty:
                self.collect()
                if self.taken_count + self.parent_taken >= self.submitted or not self.alive:
                    return None
                continue
            self.parent_taken += 1
            return g
        return None

    def wait(self) -> None:
        """Wait, within the budget, for the worker's proofs of goals still open."""
        while self.forked and self.search.left() > 0:
            self.collect(block=min(0.5, self.search.left()))
            if not any(g in self.search.remaining for g in self.taken) or not self.alive:
                return


def greedy_cover(goal_sets: Sequence[Collection[str]], lengths: Sequence[int]) -> list[int]:
    """Indices (ascending) of a small subset of traces that covers every goal any of them covers:
    greedy set cover (most new goals first; ties: shorter, then earlier), then every trace whose
    goals the others cover is dropped, so each kept trace is there for a goal of its own."""
    sets = [set(gs) for gs in goal_sets]
    need = set().union(*sets) if sets else set()
    kept: list[int] = []
    while need:
        best = max(range(len(sets)), key=lambda i: (len(need & sets[i]), -lengths[i], -i))
        kept.append(best)
        need -= sets[best]
    for i in list(reversed(kept)):
        if sets[i] <= set().union(*(sets[j] for j in kept if j != i)):
            kept.remove(i)
    return sorted(kept)


def cover(bm: BuiltModel, depth: int = 20, budget_seconds: float = 120.0,
          progress: Callable[[str], None] | None = None) -> CoverageResult:
    """Covering traces for every reachable goal, proofs for dead ones: a conformance suite's seed."""
    start = time.monotonic()
    say = progress or (lambda _m: None)
    goals = _goals_with_events(bm)
    proving = dataclasses.replace(bm, lemmas=bm.lemmas + goal_lemmas(bm))  # more candidates, same model
    try:
        known = model_lemmas(bm.system, proving.lemmas, Deadline(budget_seconds), SEED)
    except GaveUp:
        known = NONE
    search = _Search(proving, goals, depth, start + budget_seconds, say, known)
    say(f"coverage: {len(goals)} goals, {len(search.known.names)} inductive lemmas")
    search.screen()
    search.bmc(list(search.remaining), shared=True)
    search.finish()
    kept = greedy_cover([goals for _, goals in search.found], [len(c) for c, _ in search.found])
    traces = []
    for i in kept:
        choices, covered = search.found[i]
        trace = make_trace(bm.system, None, choices, "coverage", search.threats, search.faults)
        traces.append(CoveringTrace(trace, covered))
    index: dict[str, int] = {}
    for n, ct in enumerate(traces):
        for g in ct.goals:
            index.setdefault(g, n)
    order = [g.id for g, _ in goals]
    dead = set(search.unreachable)
    if dead & index.keys():  # a replayed trace and a re-checked proof disagree: never report either
        raise RuntimeError(f"goals both covered and proved unreachable: {sorted(dead & index.keys())}")
    return CoverageResult(
        goals=tuple(g for g, _ in goals), traces=tuple(traces),
        covered={g: index[g] for g in order if g in index},
        unreachable=tuple(g for g in order if g in dead),
        unknown=tuple(g for g in order if g not in index and g not in dead),
        seconds=time.monotonic() - start, traces_found=len(search.found), depth=depth)


def coverage_table(result: CoverageResult) -> Table:
    """Goals per kind and what became of them: the summary a coverage report starts with."""
    table = Table(title=f"Coverage ({len(result.traces)} traces, depth {result.depth}, "
                        f"{result.seconds:.1f} s)", title_justify="left")
    for col in ("kind", "goals", "covered", "unreachable", "unknown"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    dead, unknown = set(result.unreachable), set(result.unknown)
    totals = [0, 0, 0, 0]
    for kind in KINDS:
        ids = [g.id for g in result.goals if g.kind == kind]
        row = [len(ids), sum(g in result.covered for g in ids), sum(g in dead for g in ids),
               sum(g in unknown for g in ids)]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        table.add_row(kind, *map(str, row), end_section=kind == KINDS[-1])
    table.add_row("total", *map(str, totals))
    return table


__all__ = ["CoverageResult", "CoveringTrace", "Goal", "cover", "coverage_goals", "coverage_table", "goal_lemmas",
           "greedy_cover", "message_pairs"]
