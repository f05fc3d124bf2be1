"""The solver layer every engine, the certificate checker and coverage share: one place sets a Z3
solver's seed and limits, one helper unrolls the transition relation and decodes a model back
into action instances, and ``GaveUp`` carries why a search stopped without an answer.

A run's budget (``Deadline``) is a pool of Z3 resource units (``rlimit``): each query may use
what is left and what it used is taken off, so a run stops at the same point whatever the
machine's load (Z3's resource count is deterministic for a given version, seed and query). The
wall-clock time is only an outer cap, and a run it stops says so ("stopped by the wall-clock
cap"), so a load-dependent answer is never mistaken for a resource-bounded one.
Z3 is told not to catch Ctrl-C itself (it would cancel the query and the interrupt would be
lost); instead ``interrupt`` stops the queries of this process when a signal arrives.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence

import z3

from otaproof.model.symbolic import Encoder, Term


class GaveUp(Exception):
    """A search stopped without an answer (out of time, solver unknown, bound reached): the
    engine's verdict becomes Unknown with this reason, never Proved or Violated."""

    def __init__(self, reason: str, searched: int = -1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.searched = searched  # a bounded search's depth without a counterexample (-1: none)


class Deadline:
    """The budget shared by the queries of one run: ``rlimit`` Z3 resource units (0: no limit)
    and a wall-clock cap of ``seconds``."""

    def __init__(self, seconds: float, rlimit: int = 0) -> None:
        self.start = time.monotonic()
        self.seconds = seconds
        self.end = self.start + seconds
        self.rlimit = rlimit
        self.used = 0  # resource units spent so far

    @classmethod
    def until(cls, end: float) -> Deadline:
        """A deadline at ``end`` (a ``time.monotonic`` instant), started now, without a resource limit."""
        deadline = cls(0.0)
        deadline.end = end
        deadline.seconds = end - deadline.start
        return deadline

    def query_rlimit(self) -> int:
        """The resource units the next query may use (at least 1: Z3 reads 0 as no limit)."""
        return max(1, self.rlimit - self.used) if self.rlimit else 0

    def spend(self, units: int) -> None:
        self.used += max(0, units)

    def out_of_resources(self) -> bool:
        return bool(self.rlimit) and self.used >= self.rlimit

    def why(self) -> str:
        """Why the run stops now: its resource limit, or the wall-clock cap."""
        if self.out_of_resources():
            return f"resource limit of {self.rlimit:,} Z3 units reached"
        return f"stopped by the wall-clock cap of {self.seconds:g} s"

    def remaining_ms(self) -> int:
        """Milliseconds left, at least 1 (Z3 reads a timeout of 0 as no limit)."""
        return max(1, int((self.end - time.monotonic()) * 1000))

    def remaining(self) -> float:
        """Seconds left (0 when expired): what the certificate checker may still spend, so a
        proof that cannot be re-checked within the budget is reported as Unknown."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """Out of resource units, or past the wall-clock cap."""
        return self.out_of_resources() or time.monotonic() >= self.end

    def elapsed(self) -> float:
        return time.monotonic() - self.start


_CONTEXTS: list[weakref.ref[z3.Context]] = []  # the Z3 contexts solvers of this process were made in


def _register(ctx: z3.Context | None) -> z3.Context:
    ctx = ctx or z3.main_ctx()
    if not any(ref() is ctx for ref in _CONTEXTS):
        _CONTEXTS[:] = [ref for ref in _CONTEXTS if ref() is not None] + [weakref.ref(ctx)]
    return ctx


def interrupt() -> None:
    """Stop every Z3 query running in this process (each returns unknown): called from another
    thread when SIGINT or SIGTERM arrives, so the main thread gets back to Python promptly."""
    for ref in list(_CONTEXTS):
        ctx = ref()
        if ctx is not None:
            ctx.interrupt()


def _resources(stats: z3.Statistics) -> int:
    """The resource units a solver has used so far (its ``rlimit count``), read through the C
    API in one pass (``Statistics.keys`` and ``get_key_value`` each walk every counter, twice
    per query)."""
    ref = stats.ctx.ref()
    for index in range(z3.Z3_stats_size(ref, stats.stats)):
        if z3.Z3_stats_get_key(ref, stats.stats, index) == "rlimit count":
            if z3.Z3_stats_is_uint(ref, stats.stats, index):
                return int(z3.Z3_stats_get_uint_value(ref, stats.stats, index))
            return int(z3.Z3_stats_get_double_value(ref, stats.stats, index))
    return 0


class Solver:
    """A Z3 solver with a fixed seed whose every query is limited to the resource units and the
    time its run has left."""

    def __init__(self, seed: int, deadline: Deadline, logic: str | None = None,
                 ctx: z3.Context | None = None) -> None:
        ctx = _register(ctx)
        self.z3 = z3.SolverFor(logic, ctx=ctx) if logic else z3.Solver(ctx=ctx)
        self.z3.set("random_seed", seed)
        self.z3.set("ctrl_c", False)
        self.z3.set("timeout", deadline.remaining_ms())
        self.deadline = deadline

    def add(self, *constraints: z3.BoolRef) -> None:
        self.z3.add(*constraints)

    def check(self, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        """sat, unsat or unknown (also when the run's resources or its wall-clock cap run out
        during the query)."""
        self.z3.set("timeout", self.deadline.remaining_ms())
        if self.deadline.rlimit:  # else a limit set on this solver or in the process stays in force
            self.z3.set("rlimit", self.deadline.query_rlimit())
        before = _resources(self.z3.statistics())
        # z3.Solver.check casts each assumption through Python (most of Houdini's time with
        # thousands of them); ours are Boolean terms already, so they go to Z3 as they are
        literals = (z3.Ast * len(assumptions))(*[a.as_ast() for a in assumptions])
        result = z3.CheckSatResult(z3.Z3_solver_check_assumptions(self.z3.ctx.ref(), self.z3.solver,
                                                                   len(assumptions), literals))
        self.deadline.spend(_resources(self.z3.statistics()) - before)
        return result

    def model(self) -> z3.ModelRef:
        return self.z3.model()

    def reason_unknown(self) -> str:
        """Z3's reason, or which of the run's limits stopped the query."""
        reason = str(self.z3.reason_unknown())
        if "resource limit" in reason or "timeout" in reason or "canceled" in reason:
            return self.deadline.why() if self.deadline.expired() else reason
        return reason

    def push(self) -> None:
        self.z3.push()

    def pop(self) -> None:
        self.z3.pop()


def spacer(seed: int, deadline: Deadline) -> z3.Fixedpoint:
    """A Z3 fixedpoint engine running Spacer (PDR over Horn clauses), seeded, limited to the
    resource units and the time left (query it with ``spacer_query``)."""
    fp = z3.Fixedpoint(ctx=_register(None))
    fp.set("engine", "spacer")
    fp.set("spacer.random_seed", seed)
    fp.set("ctrl_c", False)
    fp.set("timeout", deadline.remaining_ms())
    if deadline.rlimit:  # else a limit set in the process stays in force
        fp.set("rlimit", deadline.query_rlimit())
    return fp


def spacer_query(fp: z3.Fixedpoint, deadline: Deadline, query: z3.BoolRef) -> z3.CheckSatResult:
    """``fp.query``, with the resource units it used taken off the run's budget."""
    try:
        return fp.query(query)
    finally:
        deadline.spend(_resources(fp.statistics()))


class Unrolling:
    """A path of fresh state copies on a solver: ``states[0]`` is ``<name>@<prefix>0``; each
    ``step`` adds action ``<prefix>k``, state ``<prefix>k+1`` and Trans between them (with an
    optional invariant on the new state); a model of the solver decodes into the instances fired."""

    def __init__(self, enc: Encoder, solver: Solver, prefix: str = "") -> None:
        self.enc, self.solver, self.prefix = enc, solver, prefix
        self.states: list[list[Term]] = [enc.state(f"{prefix}0")]
        self.actions: list[z3.BitVecRef] = []

    @property
    def last(self) -> list[Term]:
        return self.states[-1]

    def __len__(self) -> int:
        """Steps unrolled so far."""
        return len(self.actions)

    def step(self, invariant: Callable[[list[Term]], z3.BoolRef] | None = None) -> tuple[z3.BitVecRef, list[Term]]:
        """One more step (Trans from the last state, ``invariant`` on the new one); returns the
        step's action selector and new state, for constraints of the caller's own."""
        k = len(self.actions)
        a, t = self.enc.action(f"{self.prefix}{k}"), self.enc.state(f"{self.prefix}{k + 1}")
        constraints = [self.enc.trans(self.states[-1], a, t)]
        if invariant is not None:
            constraints.append(invariant(t))
        self.solver.add(*constraints)
        self.actions.append(a)
        self.states.append(t)
        return a, t

    def choices(self, model: z3.ModelRef, original: Sequence[int] | None = None) -> list[int]:
        """The instances the model fires, step by step (mapped through ``original``, a slice's
        instance numbers in the full system, if given)."""
        fired = [self.enc.decode_action(model, a) for a in self.actions]
        return [original[i] for i in fired] if original is not None else fired
