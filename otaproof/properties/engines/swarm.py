"""Explicit-state engine ``swarm``: full enumeration when it fits, a swarm of walkers when not.

Works on the safety task's cone-of-influence slice, compiled to Python (``model.compiled``).
Several forked processes race in fixed-size rounds of work:

* one breadth-first enumeration of the reachable states (bytes, one per variable, in a dict
  that also keeps each state's parent). A bad state it finds is at minimal depth; when it ends
  without one the property is proved, with an ``enumeration`` certificate: the state count and
  a SHA-256 digest of the sorted states, re-checked by re-enumerating the slice with the
  reference interpreter (``model.explicit``) before the proof is reported;
* ``walkers`` processes of random walks (swarm verification, Holzmann, Joshi and Groce 2011):
  each walk draws its own configuration from its seed, a depth bound, environment, attacker and
  fault actions to leave out (swarm testing, Groce et al. 2012) and, for bounded responses, a
  step after which the steps that restart the count are left out (the quiet run a violation
  ends with).

The outcome is deterministic for a seed and a number of walkers: every process reports each
round, and the first round with a find decides (the enumeration before walker 0, 1, ...). A
walker's trace is shortened (steps dropped, then the shortest trace over the actions it uses),
and the enumeration goes on (the walkers stop) until it has explored every shorter depth, unless
its growth says that needs more than its state limit. The trace reported is then BMC's
(``engines.bmc``) within the found depth, querying only the depths the enumeration did not
clear: a shortest trace, the same whichever process found the violation, replayed on the full
system (``counterexample``); if BMC runs out of time the answer is unknown and says what was
found. Budgets are states and steps (``WALK_STEPS`` per walker); the wall clock is an outer cap
only, and when it expires the answer is unknown and says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import random
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait

from otaproof.model.compiled import CompiledSystem, CState
from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.lang import Expr, ModelError
from otaproof.model.slicing import Slice, cone_of_influence
from otaproof.model.system import System
from otaproof.properties.engines import bmc
from otaproof.properties.engines.problem import Problem, counterexample
from otaproof.properties.solver import Deadline, GaveUp
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Unknown, Verdict

ENGINE = "swarm"
WALKERS = 2                # walker processes beside the enumeration
ROUND_WORK = 20_000        # states expanded (enumeration) or steps taken (walker) per round
WALK_DEPTH = (20, 120)     # a walk's depth bound is drawn from this range
WALK_STEPS = 500_000       # a walker's budget of steps
SHORTEN_STATES = 200_000   # shortening: states of the search restricted to a trace's actions
SHORTCUT_DEPTH = 6         # shortening: steps searched from each state of a trace
SHORTCUT_STATES = 1_000    # shortening: states searched from each state of a trace


# ---- enumeration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enumeration:
    """What a breadth-first enumeration established."""

    states: int
    depth: int               # every state within ``depth`` steps was explored (and none is bad)
    complete: bool           # the whole reachable set was explored
    bad: list[int] | None    # choices (slice instances) of a shortest path to a bad state
    digest: str              # of the sorted reachable states, when complete
    seconds: float
    reached: tuple[int, ...] = ()  # states within each explored depth


def state_digest(states: Iterable[CState]) -> str:
    """SHA-256 of the sorted states, each as its codes joined by commas: one value for one set,
    whichever engine or representation enumerated it."""
    h = hashlib.sha256()
    for s in sorted(",".join(map(str, s)).encode() for s in states):
        h.update(s)
        h.update(b"\n")
    return h.hexdigest()


class Breadth:
    """Breadth-first enumeration of a compiled system in rounds of ``ROUND_WORK`` expansions."""

    def __init__(self, compiled: CompiledSystem, max_states: int) -> None:
        self.compiled, self.max_states = compiled, max_states
        init = compiled.initial_state()
        self.seen: dict[CState, CState | None] = {init: None}
        self.frontier: list[CState] = [init]
        self.next: list[CState] = []
        self.position = 0
        self.depth = 0  # layers fully expanded
        self.reached = [1]  # states known when each depth was fully expanded (the initial state: depth 0)
        self.start = time.monotonic()
        self.bad: CState | None = init if compiled.is_bad(init) else None

    def run(self, work: int) -> Enumeration | None:
        """Expand up to ``work`` states; the result once the enumeration is over, else None."""
        expand, seen, push = self.compiled.expand, self.seen, self.next.append
        while self.bad is None:
            if self.position == len(self.frontier):
                if not self.next:
                    return self.result(True)
                self.frontier, self.next, self.position = self.next, [], 0
                push = self.next.append
                self.depth += 1
                self.reached.append(len(seen))
            if len(seen) >= self.max_states:
                return self.result(False)
            if work <= 0:
                return None
            stop = min(len(self.frontier), self.position + work)
            work -= stop - self.position
            for k in range(self.position, stop):
                found = expand(self.frontier[k], seen, push)
                if found is not None:
                    self.bad = found
                    break
            self.position = stop
        return self.result(False)

    def result(self, complete: bool) -> Enumeration:
        seconds = time.monotonic() - self.start
        reached = tuple(self.reached)
        if self.bad is not None:
            return Enumeration(len(self.seen), self.depth, False, self.path(self.bad), "", seconds, reached)
        digest = state_digest(self.seen) if complete else ""
        return Enumeration(len(self.seen), self.depth, complete, None, digest, seconds, reached)

    def path(self, end: CState) -> list[int]:
        """Instance choices from the initial state to ``end`` along the parent links (the lowest
        instance index of each step, so the path does not depend on the decision tree)."""
        states = [end]
        while (parent := self.seen[states[-1]]) is not None:
            states.append(parent)
        states.reverse()
        return [next(i for i, t in self.compiled.successors(a) if t == b) for a, b in itertools.pairwise(states)]


def enumerate_states(compiled: CompiledSystem, max_states: int, deadline: Deadline | None = None) -> Enumeration:
    """The whole breadth-first enumeration in this process (benchmarks, tests)."""
    search = Breadth(compiled, max_states)
    while (result := search.run(ROUND_WORK)) is None:
        if deadline is not None and deadline.expired():
            return search.result(False)
    return result


def reenumerate(system: System, bad: Expr, max_states: int, deadline: Deadline) -> tuple[int, str] | str:
    """The reachable states' count and digest by the reference interpreter, or why not: the
    independent re-check of an ``enumeration`` certificate."""
    interp = Interpreter(system)
    is_bad = compile_expr(bad)
    init = interp.initial_state()
    seen: set[State] = {init}
    frontier = [init]
    while frontier:
        if deadline.expired():
            return f"re-enumeration out of time after {len(seen)} states"
        layer = []
        for s in frontier:
            if is_bad(s, s, -1):
                return "re-enumeration reached a bad state"
            for _, t in interp.successors(s):
                if t not in seen:
                    seen.add(t)
                    layer.append(t)
        if len(seen) > max_states:
            return f"re-enumeration exceeded {max_states} states"
        frontier = layer
    return len(seen), state_digest(seen)


# ---- walkers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walks:
    """What the walkers may choose from: the slice's instances by role, and the steps after
    which a bounded response's count restarts (left out of a walk's quiet run)."""

    noise: tuple[int, ...]     # environment, attacker and fault instances (may be left out)
    restarts: frozenset[int]   # instances that restart a bounded response's count


def walks_of(sliced: Slice, problem: Problem) -> Walks:
    noise = tuple(i.index for i in sliced.system.instances if i.role != "system")
    restart = problem.task.restart
    return Walks(noise, restart.on(sliced).steps if restart is not None else frozenset())


def walker(compiled: CompiledSystem, walks: Walks, seed: int, index: int, steps: int) -> Iterator[list[int] | None]:
    """Random walks, one round of ``ROUND_WORK`` steps per item: a found trace (slice instance
    choices, ending in the first bad state) or None. Deterministic for (seed, index)."""
    moves, is_bad, init = compiled.moves, compiled.is_bad, compiled.initial_state()
    n_instances = len(compiled.system.instances)
    walk_no, budget_left, in_round = 0, steps, 0
    while budget_left > 0:
        rng = random.Random(f"{seed}:{index}:{walk_no}")
        walk_no += 1
        depth = rng.randint(*WALK_DEPTH)
        allowed = [True] * n_instances
        if rng.random() < 0.5:  # swarm testing: leave out some of the environment's actions
            for i in walks.noise:
                allowed[i] = rng.random() < 0.5
        quiet_from = rng.randrange(depth) if walks.restarts and rng.random() < 0.5 else depth
        s, choices = init, []
        for step in range(depth):
            if step == quiet_from:
                allowed = [ok and i not in walks.restarts for i, ok in enumerate(allowed)]
            options = [(i, t) for i, t in moves(s) if allowed[i] and t != s]
            in_round += 1
            budget_left -= 1
            if not options:
                break
            i, s = options[rng.randrange(len(options))]
            choices.append(i)
            if is_bad(s):
                yield choices
                return
            if in_round >= ROUND_WORK:
                yield None
                in_round = 0
            if budget_left <= 0:
                return


# ---- shortening and minimising ---------------------------------------------------------------


def _to_bad(compiled: CompiledSystem, choices: Sequence[int]) -> list[int] | None:
    """``choices`` cut after its first bad state, or None if a step is disabled or no state is bad."""
    s = compiled.initial_state()
    if compiled.is_bad(s):
        return []
    for n, c in enumerate(choices):
        try:
            s = compiled.step(s, c)
        except ModelError:
            return None
        if compiled.is_bad(s):
            return list(choices[:n + 1])
    return None


def shorten(compiled: CompiledSystem, choices: Sequence[int]) -> list[int]:
    """A shorter trace to a bad state, deterministic: single steps dropped while the rest still
    replays to a bad state; then the shortest trace that uses only the actions left (every
    instance of each: other parameters too), by breadth-first search within ``SHORTEN_STATES``
    states. Walks wander, but the actions a violation needs are few and span a small state
    space. When they do not, stretches of the trace are first replaced by shorter paths that a
    small search from their first state finds, and the action-restricted search is tried again."""
    best = _to_bad(compiled, choices)
    if best is None:
        raise ValueError("the trace does not reach a bad state")
    best = _drop_steps(compiled, best)
    restricted = _restricted_search(compiled, best)
    if restricted is None:
        while (shortcut := _shortcut(compiled, best)) is not None:
            best = _drop_steps(compiled, shortcut)
        restricted = _restricted_search(compiled, best)
    return restricted or best


def _drop_steps(compiled: CompiledSystem, choices: list[int]) -> list[int]:
    best, k = choices, 0
    while k < len(best):
        shorter = _to_bad(compiled, best[:k] + best[k + 1:])
        if shorter is not None:
            best = shorter
        else:
            k += 1
    return best


def _restricted_search(compiled: CompiledSystem, choices: list[int]) -> list[int] | None:
    """The shortest trace to a bad state shorter than ``choices`` over the instances of the
    actions ``choices`` uses; None if there is none or the search outgrows ``SHORTEN_STATES``."""
    instances = compiled.system.instances
    actions = {instances[i].action for i in choices}
    allowed = [inst.action in actions for inst in instances]
    init = compiled.initial_state()
    seen: dict[CState, tuple[CState, int] | None] = {init: None}
    frontier = [init]
    for _ in range(len(choices) - 1):
        layer = []
        for s in frontier:
            for i, t in compiled.moves(s):
                if not allowed[i] or t in seen:
                    continue
                seen[t] = (s, i)
                if compiled.is_bad(t):
                    path = []
                    while (link := seen[t]) is not None:
                        t, step = link
                        path.append(step)
                    return path[::-1]
                layer.append(t)
        if len(seen) > SHORTEN_STATES:
            return None
        frontier = layer
    return None


def _shortcut(compiled: CompiledSystem, choices: list[int]) -> list[int] | None:
    """The first shorter trace found by a small search from a state of the trace (from the
    front): a path to a later state of the trace or to a bad state, in fewer steps."""
    states = list(compiled.walk(choices))
    position = {s: n for n, s in enumerate(states)}  # the last visit of each state
    end = len(choices)
    for start in range(end):
        seen: dict[CState, tuple[CState, int] | None] = {states[start]: None}
        frontier = [states[start]]
        for distance in range(1, min(SHORTCUT_DEPTH, end - start - 1) + 1):
            layer = []
            for s in frontier:
                for i, t in compiled.moves(s):
                    if t in seen:
                        continue
                    seen[t] = (s, i)
                    layer.append(t)
                    later = end if compiled.is_bad(t) else position.get(t, -1)
                    if later - start > distance:
                        path = []
                        while (link := seen[t]) is not None:
                            t, step = link
                            path.append(step)
                        return choices[:start] + path[::-1] + choices[later:]
            if len(seen) > SHORTCUT_STATES:
                break
            frontier = layer
    return None


def minimise(problem: Problem, depth: int, explored: int, budget: Budget, deadline: Deadline) -> list[int]:
    """The trace BMC reports for a violation known to exist within ``depth`` steps (original
    instances): a shortest one, the same whichever process found the violation. ``explored``:
    the depth up to which the enumeration found no bad state (BMC queries only deeper). Raises
    ``GaveUp`` if BMC runs out of time."""
    return bmc.find_counterexample(problem, dataclasses.replace(budget, depth=depth), deadline, explored + 1)


# ---- the race ---------------------------------------------------------------------------------


Report = tuple[int, int, object]  # (participant: 0 enumeration, 1.. walkers; round; payload)


class _Participant:
    """A forked process that sends each round's report down a pipe (``os.fork``: an engine may
    itself run in a daemonic process, which ``multiprocessing`` forbids to have children). It
    stops on its own when the parent is gone."""

    def __init__(self, run: Callable[[], Iterator[object]], who: int) -> None:
        self.reader, writer = Pipe(duplex=False)
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            self.reader.close()
            try:
                for n, payload in enumerate(run()):
                    writer.send((who, n, payload))
                    if os.getppid() != parent:
                        os._exit(0)
                writer.send((who, -1, "done"))
            except Exception as e:  # a model error in a step: reported, never a verdict
                writer.send((who, -1, f"error: {type(e).__name__}: {e}"))
            finally:
                os._exit(0)
        writer.close()
        self.alive = True

    def stop(self) -> None:
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.reader.close()
            self.alive = False


def _enumeration_rounds(compiled: CompiledSystem, max_states: int) -> Iterator[object]:
    """Each round: the states within each explored depth; at the end, the Enumeration."""
    search = Breadth(compiled, max_states)
    while (result := search.run(ROUND_WORK)) is None:
        yield tuple(search.reached)
    yield result


def check(problem: Problem, budget: Budget) -> Verdict:
    """Race the enumeration and the walkers on the problem's slice (see the module doc)."""
    return search(problem, budget, WALKERS)


def search(problem: Problem, budget: Budget, walkers: int, phases: dict[str, float] | None = None) -> Verdict:
    """``check`` with ``walkers`` walker processes; ``phases`` (if given) receives when each phase
    of a violation ended (seconds) and its trace length: found, shortened, minimised."""
    phases = {} if phases is None else phases
    deadline = Deadline(budget.timeout)
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    compiled = CompiledSystem(sliced.system, sliced.predicate)
    walks = walks_of(sliced, problem)
    runs: list[Callable[[], Iterator[object]]] = [lambda: _enumeration_rounds(compiled, budget.max_states)]
    runs += [lambda k=k: walker(compiled, walks, budget.seed, k, WALK_STEPS) for k in range(walkers)]  # type: ignore[misc]
    procs: list[_Participant] = []
    try:
        procs += [_Participant(run, who) for who, run in enumerate(runs)]
        race = _Race([p.reader for p in procs], deadline)
        outcome = race.decide()
        for p in procs[1:]:  # the walkers are done; the enumeration may still prove the trace minimal
            p.stop()
        if isinstance(outcome, str):
            return Unknown(ENGINE, deadline.elapsed(), outcome)
        if isinstance(outcome, Enumeration):
            return _proof(problem, sliced, outcome, deadline)
        who, found, first = outcome
        phases.update(found=deadline.elapsed(), found_depth=len(found))
        short = shorten(compiled, found) if who > 0 else found  # the enumeration's is shortest
        phases.update(shortened=deadline.elapsed(), shortened_depth=len(short))
        explored, shallower = race.follow_enumeration(first, len(short) - 1, budget.max_states) if who > 0 \
            else (len(found) - 1, None)
    finally:
        for p in procs:
            p.stop()
    depth = len(shallower or short)
    try:
        choices = minimise(problem, depth, explored, budget, deadline)
    except GaveUp as e:
        return Unknown(ENGINE, deadline.elapsed(), f"found a violation within {depth} steps, but BMC did not "
                                                   f"derive its shortest trace: {e.reason}")
    phases.update(minimised=deadline.elapsed(), minimised_depth=len(choices))
    return counterexample(problem, ENGINE, choices, deadline)


class _Race:
    """The parent's view of the processes' rounds, read in the order they report."""

    def __init__(self, readers: list[Connection], deadline: Deadline) -> None:
        self.readers, self.deadline = readers, deadline
        participants = len(readers)
        self.pending: list[Report] = []     # reports received, not yet taken in
        self.rounds = [0] * participants    # rounds reported so far
        self.finished = [False] * participants
        self.history: list[tuple[int, ...]] = []  # the enumeration's states within each depth, by round
        self.finds: dict[int, dict[int, list[int]]] = {}  # round -> participant -> trace
        self.end: Enumeration | None = None
        self.why: list[str] = []

    def decide(self) -> tuple[int, list[int], int] | Enumeration | str:
        """The first round with a find decides (the enumeration first, then walkers by index):
        who found it (0: the enumeration), its trace and round; or the complete enumeration; or
        why neither."""
        while True:
            if self.finds:
                first = min(self.finds)
                if all(done or n > first for done, n in zip(self.finished, self.rounds, strict=True)):
                    who = min(self.finds[first])
                    return who, self.finds[first][who], first
            if self.end is not None and self.end.complete:
                return self.end
            if all(self.finished):
                if self.end is not None:
                    return f"state limit: {self.end.states} states explored to depth {self.end.depth}, " \
                           "and no walk found a bad state"
                return "; ".join(self.why) or "no process reported"
            if not self.read():
                return f"timeout (wall clock) after {sum(self.rounds)} rounds of {ROUND_WORK} states or steps"

    def follow_enumeration(self, first: int, depth: int, max_states: int) -> tuple[int, list[int] | None]:
        """Follow the enumeration's rounds from ``first`` until it has explored ``depth`` steps,
        found a bad state or stopped, or its growth says ``depth`` needs more than ``max_states``
        states: the depth it explored, and its trace if shorter than ``depth + 1`` steps (then
        minimal). Deterministic: it depends on the enumeration's reports alone, in round order."""
        explored, n = 0, first
        while True:
            while len(self.history) <= n and not self.finished[0]:
                if not self.read():
                    return explored, None  # out of time
            if len(self.history) <= n:  # the enumeration has stopped
                end = self.end
                if end is None:
                    return explored, None
                shorter = end.bad if end.bad is not None and len(end.bad) <= depth else None
                return max(explored, end.depth), shorter
            reached = self.history[n]
            explored = len(reached) - 1
            if explored >= depth:
                return explored, None
            if explored >= 2 and reached[-1] * (reached[-1] / reached[-2]) ** (depth - explored) > max_states:
                return explored, None
            n += 1

    def read(self) -> bool:
        """Take in one report; False once the wall clock has run out."""
        if not self.pending:
            open_ = [r for r, done in zip(self.readers, self.finished, strict=True) if not done and not r.closed]
            for reader in wait(open_, timeout=max(0.01, min(0.5, self.deadline.remaining()))):
                assert isinstance(reader, Connection)
                try:
                    self.pending.append(reader.recv())
                except (EOFError, OSError):  # the process died without a last word
                    self.pending.append((self.readers.index(reader), -1, "error: a process ended without a report"))
            self.pending.sort(key=lambda r: (r[0], r[1] < 0, r[1]))
            if not self.pending:
                return not self.deadline.expired()
        who, n, payload = self.pending.pop(0)
        if n < 0:
            self.finished[who] = True
            if payload != "done":
                self.why.append(str(payload))
            return True
        self.rounds[who] = n + 1
        if who == 0 and isinstance(payload, tuple):
            self.history.append(payload)
        elif who == 0 and isinstance(payload, Enumeration):
            self.finished[0], self.end = True, payload
            if payload.bad is not None:
                self.finds.setdefault(n, {})[0] = payload.bad
        elif isinstance(payload, list):
            self.finished[who] = True
            self.finds.setdefault(n, {})[who] = payload
        return True


def _proof(problem: Problem, sliced: Slice, found: Enumeration, deadline: Deadline) -> Verdict:
    """A complete enumeration, re-checked by the reference interpreter before it is a proof."""
    start = time.monotonic()
    again = reenumerate(sliced.system, sliced.predicate, found.states, deadline)
    if isinstance(again, str):
        return Unknown(ENGINE, deadline.elapsed(), f"all {found.states} reachable states are safe, but the "
                                                   f"certificate was not re-checked: {again}")
    if again != (found.states, found.digest):
        return Unknown(ENGINE, deadline.elapsed(), f"certificate rejected: the reference interpreter reaches "
                                                   f"{again[0]} states, the compiled search {found.states}")
    text = (f"; enumeration of the reachable states of the cone-of-influence slice "
            f"({len(sliced.system.variables)} variables, "
            f"{len(sliced.system.instances)} action instances): {found.states} states, sha256 {found.digest} "
            "of the sorted states (codes joined by commas, one state per line); re-check by re-enumeration")
    return Proved(ENGINE, deadline.elapsed(), Certificate(CertificateKind.ENUMERATION, text, found.states, True,
                                                          time.monotonic() - start))
