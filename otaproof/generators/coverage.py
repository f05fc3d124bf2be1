"""Covering traces for the conformance goals of a model (``generators.goals``), and proofs that
the goals no trace reaches are dead.

Method (trap properties, as in model-based testing): goal ``g`` has an event ``E_g`` over a step
(pre-state and action); its trap property is ``StepInvariant(~E_g)``, and a counterexample to it
is a trace that covers ``g``. Sequence goals read monitor flags, so the search and the proofs run
on the model's system with the goals' monitors appended (``GoalSet.system``).

0. Explicit search first (``generators.explore``): a breadth-first enumeration and seeded random
   walks on the compiled successor function, each bounded by a count (states, walks), hit most
   goals at a fraction of a solver's cost; the solver steps below only see the goals left.
1. Dead goals first: the model's candidate lemmas plus ``goal_lemmas`` (each goal's step never
   enabled, ...) go through Houdini once; a goal whose "never" candidate survives is certified
   unreachable by the "lemmas" engine (``properties.check.run_engine``), all in one proof.
2. One incremental BMC unrolling (``model.symbolic.Encoder`` on the cone of influence of all
   remaining goals, pruned by the inductive lemmas, QF_BV solver) serves every round: at depth k
   the solver is asked for a path whose last step hits some still-uncovered goal; each answer is
   replayed in the explicit semantics, every goal it covers is marked, and the question is asked
   again; when no uncovered goal can be hit at step k, the path grows by one step. Every trace
   is a shortest one for the goals it was found for. This stops at the first depth that covers
   nothing new.
3. Each goal left gets an explicit search of its own cone of influence (``explore.search_cone``:
   only what its event depends on, other goals' monitors left out; at most ``cone_states``
   states, with no depth bound; goals with the same cone share one enumeration): a recovery
   after a refusal can need a second update cycle, deeper than the solver's bound. Its trace
   is replayed like any other. A cone enumerated completely without a hit is dead; if the
   proofs below do not show it, the "swarm" engine does, by that enumeration re-checked by the
   reference interpreter.
4. The goals left go to PDR, all at once first (one proof for goals dead for one reason),
   then by halves, then one by one (``run_engine`` engine "pdr", on a forked worker and the parent
   alike); a goal PDR does not prove dead gets an unrolling of its own cone, from the depth already
   searched to the bound. "Unreachable" always carries
   a certificate the engine's checker re-checked; a goal neither covered nor proved is "unknown".
5. A greedy set cover keeps a small subset of the traces that still covers every covered goal;
   each kept trace is replayed once more by ``properties.trace.make_trace``.

Load does not change the result: the explicit searches count states and walks, each BMC query is
limited by a Z3 resource limit (``rlimit``, counted in solver steps, not seconds), and so is
every query of the lemma search and of each proof (``proof_rlimit``: Houdini, Spacer and the
certificate checker's obligations alike). The wall-clock
figures (``proof_seconds`` per proof, ``budget_seconds`` for the whole search) are only safety
nets, generous enough never to bind on an idle or a busy machine: a goal they cut off is reported
as unknown, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import z3
from rich.table import Table

from otaproof.generators.explore import CONE_STATES, STATES, WALKS, explore, search_cone
from otaproof.generators.goals import KINDS, Goal, GoalSet, coverage_goals, goal_lemmas, goal_set
from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.lang import Expr, ModelError, Or, any_of
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property
from otaproof.properties.check import run_engine
from otaproof.properties.engines.strengthen import NONE, Strengthening, model_lemmas
from otaproof.properties.formulas import StepInvariant
from otaproof.properties.pool import ENDED, ForkPool, Report
from otaproof.properties.solver import Deadline, GaveUp, Solver, Unrolling
from otaproof.properties.trace import ReplayError, Trace, make_trace
from otaproof.properties.verdict import Budget, Proved

SEED = 0
RLIMIT = 20_000_000     # Z3 resource units per BMC query (deterministic, unlike seconds)
PROOF_RLIMIT = 50_000_000  # Z3 resource units per query of a proof (Houdini, Spacer, certificate check)
PROOF_SECONDS = 600.0   # per proof of a goal's trap property: a safety net, never the binding limit
SAFETY_SECONDS = 3600.0  # the whole search's wall-clock safety net (goals it cuts off are unknown)


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


@contextmanager
def query_rlimit(units: int) -> Iterator[None]:
    """Every Z3 solver and Spacer engine created inside (any context, this process) stops each
    query after ``units`` resource units: how the engines that take only a wall-clock budget are
    made to give the same answers however busy the machine is."""
    z3.set_param("rlimit", units)
    try:
        yield
    finally:
        z3.set_param("rlimit", 0)


# ---- covering -----------------------------------------------------------------------------------


class _Marker:
    """Replays a trace in the explicit semantics and says which goals it covers."""

    def __init__(self, system: System, goals: Sequence[tuple[Goal, Expr]]) -> None:
        self.system = system
        self.interp = Interpreter(system)
        self.goals = goals
        self.step_events = [(g.id, compile_expr(e, g.id)) for g, e in goals if g.kind not in ("action", "branch")]

    def covers(self, choices: list[int]) -> tuple[str, ...]:
        """The goals (in goal order) a trace covers; raises ReplayError if it does not replay."""
        states: list[State] = [self.interp.initial_state()]
        for n, c in enumerate(choices):  # as properties.trace.replay, with the one interpreter
            try:
                if not 0 <= c < len(self.system.instances):
                    raise ModelError(f"no action instance {c}")
                states.append(self.interp.step(states[-1], c))
            except ModelError as e:
                raise ReplayError(f"step {n + 1}: {e}") from None
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

    bm: BuiltModel                  # its system carries the goals' monitors
    goals: Sequence[tuple[Goal, Expr]]
    depth: int
    end: float                      # the wall-clock safety net (time.monotonic)
    progress: Callable[[str], None]
    known: Strengthening = NONE
    rlimit: int = RLIMIT
    proof_seconds: float = PROOF_SECONDS
    proof_rlimit: int = PROOF_RLIMIT

    def __post_init__(self) -> None:
        self.system = self.bm.system
        self.marker = _Marker(self.system, self.goals)
        self.events = {g.id: e for g, e in self.goals}
        self.remaining = [g.id for g, _ in self.goals]      # in goal order
        self.found: list[tuple[list[int], tuple[str, ...]]] = []
        self.unreachable: list[str] = []
        self.searched = 0  # no remaining goal is hit at the last step of a path this short or shorter
        self.explored = 0  # the longest trace of the explicit search: goals this deep are plentiful
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
        ``shared`` (every remaining goal): stop after the first depth that covers nothing new (and
        is at least ``self.explored`` deep), and record the depth searched; otherwise go on to the
        bound. False: stopped early (budget, solver unknown), so a goal left has not been searched
        to the bound."""
        sliced = cone_of_influence(self.system, any_of(self.events[g] for g in gids))
        assert isinstance(sliced.predicate, Or) and len(sliced.predicate.args) == len(gids)
        event = dict(zip(gids, sliced.predicate.args, strict=True))
        enc = Encoder(sliced.system, ctx=self.ctx)
        lemmas = [x for e in self.known.exprs if (x := sliced.project(e)) is not None]
        # QF_BV: much faster than the default solver on deep unrollings here
        path = Unrolling(enc, Solver(SEED, Deadline.until(self.end), "QF_BV", self.ctx))
        solver = path.solver
        solver.z3.set("rlimit", self.rlimit)  # per query: the same answers however busy the machine
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
                if len(self.found) == before and k + 1 >= self.explored:
                    return True
        return True

    # -- a sequence goal's second step, from where its first happened ------------------------------
    def from_first_steps(self) -> None:
        """Each sequence goal left: a bounded search (``depth`` steps, ``rlimit`` per query) for its
        second step that starts at the end of the shortest trace found so far in which its first
        step happened (a monitor flag it reads is set), instead of at the initial state. A recovery
        after a refusal then needs the recovery's steps only, not the refusal's as well. The trace
        reported is that prefix and the path found, replayed whole."""
        interp = Interpreter(self.system)
        for g in [g for g in self.remaining if g.startswith("sequence:")]:
            if g not in self.remaining or self.left() <= 0:
                continue
            sliced = cone_of_influence(self.system, self.events[g])
            flags = [k for k, v in sliced.kept_variables.items() if v.owner == "monitor"]
            seed = self._first_step_trace(interp, flags)
            if seed is None:
                continue
            prefix, state = seed
            enc = Encoder(sliced.system, ctx=self.ctx)
            start = [0] * len(sliced.system.variables)
            for original, v in sliced.kept_variables.items():
                start[v.index] = state[original]
            lemmas = [x for e in self.known.exprs if (x := sliced.project(e)) is not None]
            path = Unrolling(enc, Solver(SEED, Deadline.until(self.end), "QF_BV", self.ctx))
            path.solver.z3.set("rlimit", self.rlimit)
            path.solver.add(enc.state_equals(path.last, start))
            invariant = _holding(enc, lemmas)
            for k in range(self.depth):
                a, t = path.step(invariant)
                q = z3.Bool(f"second@{k}", self.ctx)
                path.solver.add(z3.Implies(q, enc.expr(sliced.predicate, path.states[k], t, a)))
                r = path.solver.check(q)
                if r == z3.unsat:
                    continue
                if r == z3.sat:
                    suffix = _lifted(interp, state, path.choices(path.solver.model(), sliced.original_instance),
                                     set(sliced.original_instance))
                    try:
                        covered = self.add_trace(prefix + suffix) if suffix is not None else ()
                    except ReplayError:
                        covered = ()
                    self.progress(f"coverage: {g}: " + (f"a trace of {len(prefix)} + {k + 1} steps from the end of "
                                                        f"one where its first step happened" if g in covered else
                                                        "the search from its first step gave no trace that replays"))
                else:
                    self.progress(f"coverage: {g}: the search from its first step stopped at depth {k + 1}: "
                                  f"{path.solver.reason_unknown()}")
                break

    def _first_step_trace(self, interp: Interpreter, flags: list[int]) -> tuple[list[int], State] | None:
        """The shortest trace found (the first of equal length) that ends with one of the monitor
        flags ``flags`` (original variable indices) set, with its end state."""
        for choices, _ in sorted(self.found, key=lambda f: len(f[0])):
            state = interp.initial_state()
            for c in choices:
                state = interp.step(state, c)
            if any(state[f] for f in flags):
                return list(choices), state
        return None

    # -- one goal's cone, explicitly ---------------------------------------------------------------
    def cones(self, states: int) -> list[str]:
        """The remaining goals, grouped by cone of influence (in goal order of each group's first
        goal): one explicit search of each cone for all its goals (at most ``states`` states),
        from the initial state and from the traces found so far; a trace it finds covers its
        goal (and whatever else it covers), a trace that does not replay is never reported.
        Returns the goals whose cone was enumerated completely without a hit (dead, for
        ``enumerated`` to certify if the proofs do not)."""
        if states <= 0:
            return []
        groups: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = {}
        for g in self.remaining:
            groups.setdefault(cone_of_influence(self.system, self.events[g]).signature, []).append(g)
        complete: list[str] = []
        for gids in groups.values():
            gids = [g for g in gids if g in self.remaining]
            if not gids:
                continue
            found = search_cone(self.system, [self.events[g] for g in gids], states, [c for c, _ in self.found])
            for g, f in zip(gids, found, strict=True):
                if f.trace is None:
                    how = f"all {f.states} reachable states" if f.complete else f"{f.states} states"
                    self.progress(f"coverage: {g}: no trace in its cone ({how}, {len(gids)} goals searched at once)")
                    if f.complete:
                        complete.append(g)
                    continue
                if g not in self.remaining:  # covered by a trace recorded for an earlier goal
                    continue
                try:
                    covered = self.add_trace(list(f.trace))
                except ReplayError as e:
                    self.progress(f"coverage: {g}: the cone's trace did not replay ({e}); left to the proofs")
                    continue
                self.progress(f"coverage: {g}: a trace of {len(f.trace)} steps in its cone "
                              f"({f.states} states), covering {len(covered)} goals")
        return complete

    def enumerated(self, gids: list[str], states: int) -> None:
        """Goals whose cone had no hit in a complete enumeration and that no solver proof removed:
        the "swarm" engine proves each by that enumeration, re-checked by the reference
        interpreter re-enumerating it (slow: the last resort)."""
        for g in gids:
            if g in self.remaining and self.left() > 0:
                proved = self.prove([g], "swarm", max_states=states)
                self.progress(f"coverage: {g}: " + ("proved unreachable by its re-checked enumeration"
                                                    if proved else "its enumeration not re-checked"))

    # -- proofs ---------------------------------------------------------------------------------
    def _trap(self, gids: list[str]) -> Property:
        trap = StepInvariant(~any_of(self.events[g] for g in gids))
        name = gids[0] if len(gids) == 1 else f"{len(gids)} coverage goals"

        def formula(_bm: BuiltModel) -> StepInvariant:
            return trap

        return Property(f"TRAP {name}", f"never: {', '.join(gids)}", "HIST",
                        "coverage trap property (a counterexample covers the goal)", formula)

    def prove(self, gids: list[str], engine: str, max_states: int | None = None) -> bool:
        """Try to prove the trap property of ``gids`` (all unreachable), with a re-checked certificate,
        each solver query within ``proof_rlimit`` resource units (so the same goals are proved
        whatever the load); ``proof_seconds`` and the search's safety net only cap the wall clock.
        ``max_states``: the "swarm" engine's enumeration limit (a count)."""
        seconds = min(self.proof_seconds, self.left())
        if seconds <= 0.5:
            return False
        # rlimit 0: no pooled engine budget of its own, so ``query_rlimit`` bounds every query (an
        # engine's default pool of 2e9 units would replace it, and the wall clock would decide)
        budget = Budget(timeout=seconds, depth=self.depth, seed=SEED, rlimit=0)
        if max_states is not None:
            budget = dataclasses.replace(budget, max_states=max_states)
        with query_rlimit(self.proof_rlimit):
            verdict = run_engine(self.bm, self._trap(gids), engine, budget,
                                 self.known if engine == "lemmas" else None)
        if isinstance(verdict, Proved) and verdict.certificate.checked:
            self.unreachable += [g for g in gids if g not in self.unreachable]
            self.drop(gids)
            return True
        return False

    def prove_with_first_step(self, g: str) -> bool:
        """A recovery goal (``sequence:A/r>A/a``) whose refusal ``branch:A/r`` is dead or undecided:
        PDR on the trap property of both at once. "The refusal never happens" is what makes "its
        flag never moves" inductive, so the pair is often proved where the recovery alone is not."""
        head = g.removeprefix("sequence:").split(">")[0]
        first = f"branch:{head}"
        if not g.startswith("sequence:") or "/" not in head or first not in self.events \
                or first not in self.remaining + self.unreachable:
            return False
        proved = self.prove([first, g], "pdr")
        if proved:
            self.progress(f"coverage: {g}: proved unreachable together with {first}")
        return proved

    def screen(self) -> None:
        """Goals whose "never" candidate survived Houdini are dead; the "lemmas" engine certifies
        them (all in one proof; one by one only if that fails)."""
        kept = set(self.known.names)
        dead = [g for g in self.remaining if f"never[{g}]" in kept]
        if dead and not self.prove(dead, "lemmas"):
            for g in dead:
                self.prove([g], "lemmas")
        self.progress(f"coverage: {len(self.unreachable)} goals proved unreachable by the lemmas")

    def prove_groups(self, gids: list[str]) -> list[str]:
        """PDR on the trap property of all of ``gids`` at once (goals dead for one reason go in one
        proof), else on each half, down to pairs; returns the goals no group proof removed, for
        one-by-one attempts. A group with a live or hard goal costs a failed attempt per level,
        each within ``proof_rlimit`` units per query."""
        if len(gids) < 2 or self.left() <= 0:
            return [g for g in gids if g in self.remaining]
        if self.prove(gids, "pdr"):
            self.progress(f"coverage: {len(gids)} goals proved unreachable in one proof ({gids[0]}, ...)")
            return []
        mid = len(gids) // 2
        return self.prove_groups(gids[:mid]) + self.prove_groups(gids[mid:])

    def finish(self) -> None:
        """The goals left after the shared unrolling: first proved unreachable in groups
        (``prove_groups``), then each goal no group proof removed gets a PDR proof attempt of its
        own, then, if none proves it dead, an unrolling of its own (a smaller cone, searched to the
        bound). Both processes (the parent and a forked worker: 2 cores; the search's own process
        alone when it runs in a daemonic process) take the one-goal proof jobs from one queue: a
        proof is cheaper than a deep unrolling. Traces come from the parent's searches
        alone, in goal order, and a proof only removes a goal no trace can cover: the result does
        not depend on which process is faster."""
        if not self.remaining or self.left() <= 0:
            return
        todo = [g for g in self.prove_groups(list(self.remaining)) if not self.prove_with_first_step(g)]
        with _Prover(self) as helper:
            for g in todo:
                helper.submit(g)
            while (job := helper.next_job()) is not None:
                if job in self.remaining:
                    proved = self.prove([job], "pdr")
                    self.progress(f"coverage: {job}: " + ("proved unreachable" if proved else "not proved"))
            helper.wait()
        for g in list(self.remaining):
            if self.left() <= 0:
                break
            if g in self.remaining:
                searched = self.bmc([g], shared=False)
                if g in self.remaining:  # no trace and no proof: unknown
                    self.progress(f"coverage: {g}: no trace within {self.depth} steps"
                                  + ("" if searched else " found before the solver's resource limit"))


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
        # ``generators.plan`` runs each search in a non-daemonic process so that it can fork this
        # worker (a daemonic one cannot: then the search proves in its own process alone)
        if (os.cpu_count() or 1) > 1 and not mp.current_process().daemon:
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
            report((g, "proved" if s.prove([g], "pdr") else "open"))

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


def _holding(enc: Encoder, lemmas: list[Expr]) -> Callable[[list[z3.ExprRef]], z3.BoolRef] | None:
    """The lemmas as a constraint on each new state of an unrolling (None: no lemma)."""
    return (lambda s: z3.And(enc.exprs(lemmas, s))) if lemmas else None


def _lifted(interp: Interpreter, state: State, run: list[int], kept: set[int]) -> list[int] | None:
    """A slice's run from ``state`` in the full system: a step of a dropped instance (``STUTTER``)
    becomes the first dropped instance enabled there. None if there is none or a step fails."""
    out = []
    try:
        for c in run:
            if c < 0:
                c = next((i for i in interp.enabled(state) if i not in kept), -1)
                if c < 0:
                    return None
            state = interp.step(state, c)
            out.append(c)
    except ModelError:
        return None
    return out


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


def cover(bm: BuiltModel, depth: int = 20, budget_seconds: float = SAFETY_SECONDS,
          progress: Callable[[str], None] | None = None, rlimit: int = RLIMIT,
          proof_seconds: float = PROOF_SECONDS, proof_rlimit: int = PROOF_RLIMIT,
          select: Callable[[Goal], bool] | None = None, states: int = STATES, walks: int = WALKS,
          seed: int = SEED, cone_states: int = CONE_STATES) -> CoverageResult:
    """Covering traces for every reachable goal (or every goal ``select`` accepts), proofs for dead
    ones: a conformance suite's seed.

    ``states`` and ``walks`` bound the explicit search that comes first (``generators.explore``,
    its walks drawn from ``seed``), ``cone_states`` each goal's own explicit search after the
    shared unrolling; ``rlimit`` bounds each BMC query and ``proof_rlimit`` each
    query of the lemma search and the proofs (Z3 resource units); ``proof_seconds`` (per proof)
    and ``budget_seconds`` (the whole search) are wall-clock safety nets."""
    start = time.monotonic()
    say = progress or (lambda _m: None)
    gs: GoalSet = goal_set(bm)
    goals = [(g, e) for g, e in gs.goals if select is None or select(g)]
    marker = _Marker(gs.system, goals)
    found = explore(gs.system, [(g.id, e) for g, e in goals], marker.covers, depth, seed, states, walks)
    hit = {g for path in found.traces for g in marker.covers(list(path))}
    say(f"coverage: explicit search ({found.states} states, every one within {found.depth} steps; "
        f"{found.steps} walk steps): {len(found.traces)} traces, {len(hit)} of {len(goals)} goals")
    # more candidate lemmas (for the goals left) and the goals' monitors: the same model, observed
    # more closely
    candidates = tuple(x for x in goal_lemmas(bm, gs) if not (x.name.startswith("never[") and x.name[6:-1] in hit))
    proving = dataclasses.replace(bm, system=gs.system, lemmas=bm.lemmas + candidates)
    try:
        with query_rlimit(proof_rlimit):
            known = model_lemmas(gs.system, proving.lemmas, Deadline(budget_seconds), SEED)
    except GaveUp:
        known = NONE
    search = _Search(proving, goals, depth, start + budget_seconds, say, known, rlimit, proof_seconds, proof_rlimit)
    for path in found.traces:
        search.add_trace(list(path))
    # every path of found.depth steps was enumerated: the solver need not ask about those again,
    # and the shared search goes at least as deep as the explicit one found goals
    search.searched = found.depth
    search.explored = max(map(len, found.traces), default=0)
    say(f"coverage: {len(goals)} goals, {len(search.known.names)} inductive lemmas")
    search.screen()
    search.bmc(list(search.remaining), shared=True)
    say(f"coverage: after the shared search, {len(search.remaining)} goals left: {', '.join(search.remaining)}")
    complete = search.cones(cone_states)
    search.finish()
    search.from_first_steps()
    say(f"coverage: {len(search.unreachable)} goals proved unreachable, {len(search.remaining)} undecided")
    search.enumerated(complete, cone_states)
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


def criterion_rows(result: CoverageResult) -> list[tuple[str, int, int, int, int]]:
    """Per coverage criterion (``KINDS``), then the total: goals, covered, unreachable, unknown."""
    dead, unknown = set(result.unreachable), set(result.unknown)
    rows: list[tuple[str, int, int, int, int]] = []
    for kind in KINDS:
        ids = [g.id for g in result.goals if g.kind == kind]
        rows.append((kind, len(ids), sum(g in result.covered for g in ids), sum(g in dead for g in ids),
                     sum(g in unknown for g in ids)))
    goals, covered, dead_n, unknown_n = (sum(col) for col in zip(*(r[1:] for r in rows), strict=True))
    return [*rows, ("total", goals, covered, dead_n, unknown_n)]


def coverage_table(result: CoverageResult) -> Table:
    """Goals per criterion and what became of them: the summary a coverage report starts with."""
    table = Table(title=f"{len(result.traces)} traces kept of {result.traces_found}, depth {result.depth}, "
                        f"{result.seconds:.1f} s", title_justify="left")
    for col in ("criterion", "goals", "covered", "unreachable", "unknown"):
        table.add_column(col, justify="left" if col == "criterion" else "right")
    for row in criterion_rows(result):
        table.add_row(*map(str, row), end_section=row[0] == KINDS[-1])
    return table


__all__ = ["KINDS", "PROOF_RLIMIT", "CoverageResult", "CoveringTrace", "Goal", "cover", "coverage_goals",
           "coverage_table", "criterion_rows", "greedy_cover", "query_rlimit"]
