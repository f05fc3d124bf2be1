"""Explicit-state search for coverage goals: the cheap first pass of ``generators.coverage``.

Most goals are hit within a few steps of the initial state, and the compiled successor function
(``model.compiled``) enumerates states far faster than a solver answers a BMC query. So the goals
are first searched for explicitly, on the goals' system (monitors included):

1. a breadth-first enumeration of at most ``states`` states: a goal it hits gets a shortest trace;
2. ``walks`` seeded random walks, each from a state on a trace found so far (a prefix of it) to
   at most ``depth`` steps, moving only to other states and leaving out a random subset of the
   actions (swarm testing, Groce et al. 2012: deep states of one exchange are reached without
   the noise of the others); a walk's trace is shortened by dropping every step the goal does
   not need.

Every budget is a count (states, walks, steps), never seconds, and the walks draw from
``random.Random(seed)``: the traces are the same on an idle and on a busy machine. A goal neither
search hits is left to the solver (BMC, then a proof that it is unreachable).

``search_cone`` is the search for the goals the solver's bounded search left open, one cone at a
time (goals whose cones are the same share one enumeration): it enumerates a goal's own cone of
influence (``model.slicing``: only the variables and actions the goal's
event depends on, and none of the other goals' monitors), states whose monitors have moved first
(a sequence goal's second step can only come after its first), without a depth bound: a recovery
after a refusal can need a trace longer than the solver's bound (a second update cycle).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from otaproof.model.compiled import CompiledSystem, CState
from otaproof.model.explicit import compile_expr
from otaproof.model.lang import And, Expr, Fired, ModelError, Or, any_of
from otaproof.model.slicing import STUTTER, cone_of_influence
from otaproof.model.system import System

STATES = 50_000    # states the breadth-first enumeration may visit
CONE_STATES = 2_000_000  # states the search of one goal's cone may visit (about 350 MB)
WALKS = 6_000      # random walks after it
LEAVE_OUT = 0.25   # the chance that a walk leaves out a given action

Event = Callable[[CState, CState, int], int]
StepEvent = Callable[[CState, CState], bool]


@dataclass(frozen=True)
class Found:
    """What the explicit search did: the traces (instance indices from the initial state), each
    found for the first goal in ``goals`` it hit, and the work it took."""

    traces: tuple[tuple[int, ...], ...]
    states: int      # states the enumeration visited
    depth: int       # every state within this many steps was enumerated
    steps: int       # steps the walks took


def _support(e: Expr) -> frozenset[int] | None:
    """The action instances a step must fire for ``e`` to hold (None: any may)."""
    match e:
        case Fired(instances=chosen):
            return chosen
        case And(args):
            known = [p for p in map(_support, args) if p is not None]
            return frozenset.intersection(*known) if known else None
        case Or(args):
            parts = [_support(a) for a in args]
            if any(p is None for p in parts):
                return None
            return frozenset().union(*(p for p in parts if p is not None))
        case _:
            return None


class _Goals:
    """The open goals' events, compiled per action instance a step must fire to hit them (the
    instance known, an event shrinks to that instance's disjunct)."""

    def __init__(self, cs: CompiledSystem, goals: Sequence[tuple[str, Expr]]) -> None:
        self.events: dict[str, Event] = {g: compile_expr(e, g) for g, e in goals}  # type: ignore[misc]
        self.by_instance: list[list[tuple[str, StepEvent]]] = [[] for _ in cs.system.instances]
        for g, e in goals:
            support = _support(e)
            for i in range(len(cs.system.instances)) if support is None else sorted(support):
                if (fn := cs.step_predicate(e, i)) is not None:
                    self.by_instance[i].append((g, fn))

    def hit(self, s: CState, t: CState, a: int) -> str | None:
        """The first open goal (in goal order) the step ``s --a--> t`` hits."""
        for g, fn in self.by_instance[a]:
            if fn(s, t):
                return g
        return None

    def close(self, done: set[str]) -> None:
        self.by_instance = [[(g, fn) for g, fn in gs if g not in done] for gs in self.by_instance]

    def open(self) -> int:
        return sum(map(len, self.by_instance))


def explore(system: System, goals: Sequence[tuple[str, Expr]], covers: Callable[[list[int]], tuple[str, ...]],
            depth: int, seed: int, states: int = STATES, walks: int = WALKS) -> Found:
    """Traces hitting the goals (``(id, step event)`` over ``system``): breadth first, then random
    walks. ``covers`` replays a trace (the reference semantics) and names every goal it covers;
    those goals are closed, so each trace is there for a goal no earlier trace covers."""
    cs = CompiledSystem(system)
    index = _Goals(cs, goals)
    traces: list[tuple[int, ...]] = []

    def record(choices: list[int], goal: str) -> None:
        done = set(covers(choices)) | {goal}
        traces.append(tuple(choices))
        index.close(done)

    # 1. breadth first: parents give a shortest trace to every state enumerated
    init = cs.initial_state()
    parent: dict[CState, tuple[CState, int] | None] = {init: None}
    frontier, level, full = [init], 0, True
    while frontier and full and states > 0 and level < depth and index.open():
        nxt: list[CState] = []
        for s in frontier:
            for a, t in cs.successors(s):
                if (g := index.hit(s, t, a)) is not None:
                    record(_path(parent, s) + [a], g)
                if t not in parent:
                    if len(parent) >= states:
                        full = False
                        continue
                    parent[t] = (s, a)
                    nxt.append(t)
        frontier = nxt
        level += full
    enumerated, visited = level, len(parent)
    del parent, frontier
    # 2. swarm walks, each from a state on a trace found so far (coverage-directed: a deep goal
    #    often lies a few steps past a goal already hit)
    rng, steps = random.Random(seed), 0
    actions = sorted({i.action for i in system.instances})
    for _ in range(walks):
        if not index.open():
            break
        left_out = {x for x in actions if rng.random() < LEAVE_OUT}
        start = list(traces[rng.randrange(len(traces))]) if traces else []
        choices = start[:rng.randint(0, len(start))]
        s = list(cs.walk(choices))[-1]
        while len(choices) < depth:
            moves = [(a, t) for a, t in cs.successors(s)
                     if t != s and system.instances[a].action not in left_out]
            if not moves:
                break
            a, t = moves[rng.randrange(len(moves))]
            steps += 1
            choices.append(a)
            if (g := index.hit(s, t, a)) is not None:
                record(_shortened(cs, index.events[g], choices), g)
            s = t
    return Found(tuple(traces), visited, enumerated, steps)


@dataclass(frozen=True)
class ConeSearch:
    """What ``search_cone`` found for one goal: a trace of the full system whose last step hits
    the goal (None: none found), whether the cone's reachable states were all enumerated, and
    how many were visited (by the hit, if one)."""

    trace: tuple[int, ...] | None
    complete: bool
    states: int


def search_cone(system: System, events: Sequence[Expr], states: int = CONE_STATES,
                seeds: Sequence[Sequence[int]] = ()) -> list[ConeSearch]:
    """Search the cone of influence of the step ``events`` (goals whose cones are the same, or
    one goal) for a step hitting each, at most ``states`` states in all, those whose monitors
    have moved first, each state's successors in instance order (so the traces are the same on
    every run): one enumeration serves every goal of the cone. ``seeds`` (traces of ``system``
    already found, e.g. for other goals) start the search too: the first state of each, projected
    on the cone, where a monitor has moved (a sequence goal's first step done) is searched from
    first. Each event's trace is its first hit, lifted to ``system``'s instances
    (``Slice.lift``); a complete enumeration without a hit means no trace of any length exists
    (not a certified proof: the caller proves that with a solver)."""
    sl = cone_of_influence(system, any_of(events))
    preds = [sl.predicate] if len(events) == 1 else list(cast(Or, sl.predicate).args)
    assert len(preds) == len(events)
    cs = CompiledSystem(sl.system)
    per_instance = [[(k, fn) for k, p in enumerate(preds) if (fn := cs.step_predicate(p, i)) is not None]
                    for i in range(len(sl.system.instances))]
    init = cs.initial_state()
    watched = [(v.index, init[v.index]) for v in sl.system.variables if v.owner == "monitor"]

    def has_moved(t: CState) -> bool:
        return any(t[i] != v for i, v in watched)

    parent: dict[CState, tuple[CState, int] | None] = {init: None}
    moved: deque[CState] = deque()
    still: deque[CState] = deque([init])
    moved.extend(dict.fromkeys(_seed_states(cs, sl.original_instance, seeds, parent, has_moved)))
    traces: dict[int, tuple[tuple[int, ...], int]] = {}  # event -> its trace, states visited by then

    def result(complete: bool) -> list[ConeSearch]:
        return [ConeSearch(traces[k][0], False, traces[k][1]) if k in traces else
                ConeSearch(None, complete, len(parent)) for k in range(len(events))]

    while moved or still:
        s = moved.popleft() if moved else still.popleft()
        try:
            nxt = cs.successors(s)
        except ModelError:  # a modelling slip is a dead end here (the engines report it)
            continue
        for a, t in nxt:
            for k, hit in per_instance[a]:
                if k not in traces and hit(s, t) and (run := sl.lift(system, _path(parent, s) + [a])) is not None:
                    traces[k] = (tuple(run), len(parent))
                    if len(traces) == len(events):
                        return result(False)
            if t not in parent:
                if len(parent) >= states:
                    return result(False)
                parent[t] = (s, a)
                (moved if has_moved(t) else still).append(t)
    return result(True)


def _seed_states(cs: CompiledSystem, original: Sequence[int], seeds: Sequence[Sequence[int]],
                 parent: dict[CState, tuple[CState, int] | None], has_moved: Callable[[CState], bool]) -> list[CState]:
    """Each seed trace projected on the slice (a kept instance's step is taken, a dropped one's is
    the slice's ``STUTTER`` if it has one, else nothing), up to its first state where a monitor
    has moved; those states, their paths recorded in ``parent``. A seed the slice cannot follow
    (a projected step not enabled) gives nothing."""
    index = {orig: n for n, orig in enumerate(original) if orig != STUTTER}
    stutter = original.index(STUTTER) if STUTTER in original else None
    found: list[CState] = []
    for seed in seeds:
        s, path = cs.initial_state(), []
        for a in seed:
            k = index.get(a, stutter)
            if k is None:
                continue
            try:
                t = cs.step(s, k)
            except ModelError:
                break
            path.append((s, k, t))
            s = t
            if has_moved(t):
                for pre, step, post in path:
                    parent.setdefault(post, (pre, step))
                found.append(t)
                break
    return found


def _path(parent: dict[CState, tuple[CState, int] | None], s: CState) -> list[int]:
    out: list[int] = []
    link = parent[s]
    while link is not None:
        s, a = link
        out.append(a)
        link = parent[s]
    return out[::-1]


def _shortened(cs: CompiledSystem, event: Event, choices: list[int]) -> list[int]:
    """``choices`` (its last step hits ``event``) without every earlier step the hit does not need:
    each is dropped in turn, kept out if the rest still replays and its last step still hits."""
    kept = list(choices)
    k = 0
    while k < len(kept) - 1:
        trial = kept[:k] + kept[k + 1:]
        if _hits_last(cs, event, trial):
            kept = trial
        else:
            k += 1
    return kept


def _hits_last(cs: CompiledSystem, event: Event, choices: list[int]) -> bool:
    try:
        states = list(cs.walk(choices))
    except ModelError:
        return False
    return bool(event(states[-2], states[-1], choices[-1]))


__all__ = ["CONE_STATES", "STATES", "WALKS", "ConeSearch", "Found", "explore", "search_cone"]
