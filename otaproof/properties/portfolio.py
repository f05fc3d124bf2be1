"""The portfolio: engines race on the parts of many rows' properties in one pool of workers.

Stages: first the cheap lemma proof (Houdini + one query) of every part, then, for the parts it
did not decide, PDR, BMC and k-induction race (and tail on bounded responses; recovery and the
explicit engine on REACH). The explicit-state ``swarm`` engine does not wait for any stage: a
row's safety parts are queued for it as soon as the row is opened, so it hunts violations (and
enumerates small slices) while the row's lemma search runs, and it races with the other engines.
For each part the first definitive answer wins (a proof with a checker-accepted certificate, or
a replayed counterexample) and the part's other engines are stopped, except that a violation
waits for the part's swarm, whose trace is preferred (it does not depend on the race); all
unknown gives Unknown with every reason. A property is decided by its first violated part (in
part order, once the parts before it are decided, so the trace does not depend on the race), or
once every part is decided (their conjunction).

The first stages of a row that wait for nothing (below: under a threat, those whose source part
is decided without a PDR proof to reuse) run in batches (``FirstStages``), one job each, so the
model's transition relation is encoded once per batch instead of once per part:
the row's first stages, in queue order, are dealt by turns into one batch per worker (at least
``BATCH_LEAST`` parts each). A batch answers part by part, and each part's racing engines may start
as soon as its answer is in; a first stage in a batch that gives up is followed by a BMC probe
(``EngineRun.probe``), which finds most violations before any racing engine starts.

A row (a scenario and its properties) is opened (its model built, its lemma search started as a
job of its own) when a worker would otherwise idle, so the long engines of one row overlap the
next row's work. A row under a threat model learns from the earlier row of the same design
without the attacker (its source row): a part's first stage waits for the same part there and,
if PDR proved it, tries that proof's clauses as candidate lemmas; and the engine that decided
the part there runs first, the others only if it gives up.

With a certificate cache, a row's parts are first looked up (``recall.Recall``, one job per
part, in the workers): a cached proof re-checked on this model, or a cached trace replayed,
decides its part at once; the row's lemma search and engines start only for the parts still
open, and every part the engines decide is stored for the next run.

Each rule is a method of ``Portfolio``; processes are behind ``pool.Executor``, so the rules are
tested with a fake executor.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from otaproof.model.config import Scenario
from otaproof.model.variants import BuiltModel, build, uses_design_lemmas
from otaproof.properties.cache import CacheUse, Cell
from otaproof.properties.catalogue import Property
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import Reused, shared_lemmas
from otaproof.properties.jobs import (
    FIRST_STAGE,
    LAST,
    PORTFOLIO,
    REACH_ENGINES,
    SWARM,
    TAIL,
    EngineRun,
    FirstStages,
    Job,
    LemmaSearch,
    Outcome,
    Staged,
    parts,
    racers,
)
from otaproof.properties.pool import ENDED, Executor
from otaproof.properties.recall import MISSED, RECALL, REUSED, STALE, Recall, Recalled, Recalls, recheckable
from otaproof.properties.templates import with_templates
from otaproof.properties.verdict import (
    CACHED,
    CACHED_EARLIER,
    PARTLY_CACHED,
    RUN,
    Budget,
    Certificate,
    CertificateKind,
    ModelSlip,
    Proved,
    Unknown,
    Verdict,
    Violated,
)

LEMMA_SEARCH = "model lemma search"  # a row's Houdini run, one job of the pool
HOUDINI_PROCESSES = 2  # a row's lemma search splits its steps between two processes (1.4-1.6 times faster)
BATCH_LEAST = 3  # a batch of first stages holds at least this many parts (one encoding of the model for each)
NOT_YET = -1  # a part's source part does not exist yet
POLL_SECONDS = 0.5  # how long to wait for an answer before looking for overdue workers
GRACE_SECONDS = 5.0  # beyond its budget, before a silent worker counts as overrun

Row = tuple[Scenario, list[Property]]
OnDone = Callable[[int, Outcome], None]
OnNote = Callable[[int, str], None]  # a row's stage before its verdicts: lemma candidates, the lemma search


@dataclass
class Part:
    """One independently checked part of a property of a row."""

    row: int
    prop: int  # the property's index in its row
    number: int  # the part's index among its property's parts
    job: Job
    expected: int = 0  # engine runs queued on it: the part is unknown once all of them gave up


@dataclass(frozen=True)
class Running:
    """A job in a worker: an engine on a part, a batch of first stages (``part`` is its first
    part; ``Portfolio.owed`` holds the parts it has yet to answer), or a row's lemma search
    (``part`` is ``~row``), which keeps ``slots`` workers busy (its processes)."""

    part: int
    engine: str
    started: float
    slots: int = 1


class Portfolio:
    """The state of one race over ``rows``; ``run`` plays it to the end."""

    def __init__(self, rows: list[Row], engine: str, budget: Budget, workers: int | None, executor: Executor,
                 on_done: OnDone | None = None, clock: Callable[[], float] = time.monotonic,
                 swarm: bool = False, cache: CacheUse | None = None, on_note: OnNote | None = None) -> None:
        self.rows, self.engine, self.budget, self.swarm = rows, engine, budget, swarm
        self.on_note = on_note
        self.cache = cache if engine == "portfolio" else None  # a single engine's run measures that engine
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.executor, self.on_done, self.clock = executor, on_done, clock
        self.parts: list[Part] = []
        self.builts: dict[int, BuiltModel] = {}
        self.queued: set[int] = set()  # rows whose parts exist
        self.next_row = 0
        self.pending: list[tuple[int, str]] = []  # (part, engine), in queue order
        self.running: dict[int, Running] = {}  # by executor key
        self.next_key = 0
        self.unknowns: dict[int, list[Verdict]] = defaultdict(list)  # per part
        self.settled: dict[int, Verdict] = {}  # per part
        self.decided: dict[tuple[int, int], Verdict] = {}  # per (row, property)
        self.sources: dict[int, int | None] = {}  # part -> the same part in its source row
        self.held: dict[int, Violated] = {}  # per part: another engine's violation, until its swarm answers
        self.reach_early: set[int] = set()  # REACH parts whose engines were queued with the lemma search
        self.digests: dict[int, str] = {}  # per part: its content address in the cache
        self.batch_of: dict[int, tuple[int, int]] = {}  # part -> its batch of first stages: (row, number)
        self.recall_of: dict[int, tuple[int, int]] = {}  # part -> its batch of cache lookups: (row, number)
        self.batches: dict[int, tuple[int, ...]] = {}  # by executor key: a running batch's parts, in run order
        self.owed: dict[int, set[int]] = {}  # by executor key: the parts a running batch has yet to answer

    # ---- the loop ------------------------------------------------------------------------------
    def run(self) -> list[list[Outcome]]:
        """Check everything; results in row, then property order."""
        while True:
            self.fill()  # returns with no job running only once every row is open
            if not self.running:
                if self.pending:
                    raise RuntimeError(f"portfolio stalled: {len(self.pending)} jobs wait for nothing")
                break
            answer = self.executor.next_answer(POLL_SECONDS)
            if answer is None:
                self.overdue()
            else:
                self.receive(*answer)
        return [[Outcome(prop, self.decided[row, p]) for p, prop in enumerate(props)]
                for row, (_, props) in enumerate(self.rows)]

    def fill(self) -> None:
        """Start jobs while a worker is free; open the next row when no queued job is ready, or
        when the next one is k-induction (``LAST``: it decided no cell of the matrix, and on a
        part PDR took 51 s to prove it ran 25 s beside PDR instead of the next row's work)."""
        while sum(r.slots for r in self.running.values()) < self.workers:
            job = self.next_job()
            if (job is None or job[1] == LAST) and self.next_row < len(self.rows):
                self.open_row(self.next_row)
                self.next_row += 1
                continue
            if job is None:
                return
            u, e = job
            if e == FIRST_STAGE and u in self.batch_of:
                self.launch_batch(self.batch_of[u])
                continue
            if e == RECALL and u in self.recall_of:
                self.launch_recalls(self.recall_of[u])
                continue
            self.pending.remove(job)  # a first stage outside a batch (a row with a source row) probes too
            self.launch(self.engine_run(u, e, probe=e == FIRST_STAGE and self.engine == "portfolio"), u, e)

    def number(self, u: int) -> int:
        """Part ``u``'s number among its property's parts (1-based), 0 if the property is one part."""
        return self.parts[u].number + 1 if self.siblings(u) > 1 else 0

    def engine_run(self, u: int, engine: str, probe: bool = False) -> EngineRun:
        """The job of ``engine`` on part ``u`` (a first stage gets the source part's proof too)."""
        part = self.parts[u]
        task = self.reuse(u) if engine == FIRST_STAGE else part.job
        return EngineRun(self.builts[part.row], task, self.rows[part.row][1][part.prop], engine, self.budget,
                         self.number(u), probe)

    def launch_batch(self, batch: tuple[int, int]) -> None:
        """Start the pending first stages of one batch as one job (``FirstStages``); under the
        portfolio a first stage that gives up probes for a shallow violation (``EngineRun.probe``)."""
        members = [u for u, e in self.pending if e == FIRST_STAGE and self.batch_of.get(u) == batch]
        self.pending[:] = [(u, e) for u, e in self.pending if e != FIRST_STAGE or u not in members]
        runs = tuple(self.engine_run(u, FIRST_STAGE, probe=self.engine == "portfolio") for u in members)
        self.batches[self.next_key], self.owed[self.next_key] = tuple(members), set(members)
        self.executor.start(self.next_key, FirstStages(runs))
        self.running[self.next_key] = Running(members[0], FIRST_STAGE, self.clock())
        self.next_key += 1

    def launch_recalls(self, batch: tuple[int, int]) -> None:
        """Start the pending cache lookups of one batch as one job (``Recalls``): the row's proofs
        share one base obligation (``Certificate.base``), which a process solves once."""
        assert self.cache is not None
        members = [u for u, e in self.pending if e == RECALL and self.recall_of.get(u) == batch]
        self.pending[:] = [(u, e) for u, e in self.pending if e != RECALL or u not in members]
        runs = tuple(Recall(self.cache.cache, self.cache.exact_only, self.builts[self.parts[u].row], self.parts[u].job,
                            self.rows[self.parts[u].row][1][self.parts[u].prop], self.parts[u].number,
                            self.number(u), self.budget) for u in members)
        self.batches[self.next_key], self.owed[self.next_key] = tuple(members), set(members)
        self.executor.start(self.next_key, Recalls(runs))
        self.running[self.next_key] = Running(members[0], RECALL, self.clock())
        self.next_key += 1

    def siblings(self, u: int) -> int:
        """How many parts the property of part ``u`` has."""
        part = self.parts[u]
        return sum(1 for q in self.parts if (q.row, q.prop) == (part.row, part.prop))

    def launch(self, job: EngineRun | LemmaSearch | Recall, part: int, engine: str) -> None:
        self.executor.start(self.next_key, job)
        slots = job.processes if isinstance(job, LemmaSearch) else 1
        self.running[self.next_key] = Running(part, engine, self.clock(), slots)
        self.next_key += 1

    def receive(self, key: int, answer: object) -> None:
        """A worker's answer: a row's lemma names, or a verdict on a part."""
        if key not in self.running:  # stopped after it answered
            return
        if answer is ENDED:
            self.lost(key)
            return
        if key in self.batches:
            self.batch_answered(key, answer)
            return
        job = self.running.pop(key)
        self.executor.stop(key)
        if isinstance(answer, ModelSlip):  # a modelling slip ends the whole run: no verdict means anything
            raise answer
        if job.engine == LEMMA_SEARCH:
            kept, total = answer if isinstance(answer, tuple) else None, len(self.builts[~job.part].lemmas)
            self.note(~job.part, f"lemma search: {len(kept):,} of {total:,} candidates inductive "
                                 f"({self.clock() - job.started:.1f} s)" if kept is not None else
                      "lemma search gave up: the engines work without the shared lemmas")
            self.queue_row(~job.part, kept)
            return
        if job.engine == RECALL:
            self.recalled(job.part, answer)
            return
        self.answered(job.part, job, answer)

    def answered(self, u: int, job: Running, answer: object) -> None:
        """An engine's answer on part ``u``: a definitive one settles it (a violation waits for
        the part's swarm, if one runs), anything else is that engine giving up."""
        if u in self.settled:
            return
        if u in self.held:  # only the part's swarm ran on: its violation, else the one held
            held = self.held.pop(u)
            self.settle(u, answer if isinstance(answer, Violated) else held)
            return
        if isinstance(answer, Violated) and job.engine != SWARM and self.swarm_engaged(u):
            self.hold(u, answer)
            return
        if isinstance(answer, (Proved, Violated)):
            self.settle(u, answer)
            return
        verdict = answer if isinstance(answer, Unknown) else \
            Unknown(job.engine, self.clock() - job.started, f"engine process answered {type(answer).__name__}")
        self.give_up(u, verdict)
        if job.engine == FIRST_STAGE and verdict.searched >= self.budget.depth and (u, "bmc") in self.pending:
            self.pending.remove((u, "bmc"))  # its probe searched as deep as BMC would: the same query, the same answer
            self.give_up(u, Unknown("bmc", 0.0, f"no counterexample up to depth {verdict.searched} (the first "
                                                "stage's probe; a bounded check, not a proof)"))

    def batch_answered(self, key: int, answer: object) -> None:
        """A batch of first stages or cache lookups answered for one of its parts (``Staged``);
        the batch's job ends once it owes no part an answer, and the next part's budget starts
        now. Any other answer (a lost Dask task's Unknown) gives up every part still owed."""
        job = self.running[key]
        if not isinstance(answer, Staged):
            self.executor.stop(key)
            self.lost(key, answer if isinstance(answer, Unknown) else None)
            return
        u, verdict = self.batches[key][answer.index], answer.answer
        if isinstance(verdict, ModelSlip):
            raise verdict
        self.owed[key].discard(u)
        if self.owed[key]:
            self.running[key] = dataclasses.replace(job, started=self.clock())
        else:
            self.end_batch(key)
        if job.engine == RECALL:
            self.recalled(u, verdict)
        else:
            self.answered(u, job, verdict)

    def end_batch(self, key: int) -> None:
        """Stop a batch's job and forget it."""
        self.executor.stop(key)
        del self.running[key], self.batches[key], self.owed[key]

    def drop_from_batches(self, doomed: set[int]) -> None:
        """Running batches of first stages stop owing these parts; a batch left owing none stops
        (a batch of cache lookups runs on: its row starts once every lookup answered)."""
        for key in [k for k in self.owed if self.owed[k] & doomed and self.running[k].engine == FIRST_STAGE]:
            self.owed[key] -= doomed
            if not self.owed[key]:
                self.end_batch(key)

    # ---- rows ----------------------------------------------------------------------------------
    def open_row(self, row: int) -> None:
        """Build a row's model; under the portfolio its parts are looked up in the cache first
        (if any), then ``start_row``. The generated lemma candidates (seconds of sampling) join
        only when some part is left for the engines: a cache lookup needs none."""
        self.builts[row] = build(self.rows[row][0])
        if self.engine not in ("portfolio", FIRST_STAGE):
            self.builts[row] = self.templated(row, self.builts[row])
            self.queue_row(row, None)
            return
        if self.cache is not None:
            self.add_parts(row)
            mine = self.row_parts(row)
            self.pending.extend((u, RECALL) for u in mine)  # not ``expected``: no engine's verdict
            # one job per row while rows are left to open (each job parses the model and solves the
            # base once: a warm matrix 25.8 -> 20.1 s); the last row's lookups shared by the workers
            count = 1 if row < len(self.rows) - 1 else max(1, min(self.workers, len(mine) // BATCH_LEAST))
            for k, u in enumerate(mine):
                self.recall_of[u] = (row, k % count)
            return
        self.start_row(row)

    def start_row(self, row: int) -> None:
        """The row's parts get its lemma candidates (created with them, or their looked-up tasks
        replaced), and its lemma search runs as a job of its own, in ``HOUDINI_PROCESSES``
        processes (one with ``swarm``: its open safety parts are queued for the swarm at once, to
        hunt while the search runs). Under the portfolio its REACH parts' engines, which use no
        lemmas, are queued at once too, and the search leaves them a worker: on the default
        check the search's second process saved 0.25 s, while P-NO-STRAND's engines, queued after
        every first stage, ran 0.55 s at the end with a worker idle."""
        plain = self.builts[row]
        self.builts[row] = built = self.templated(row, plain)
        if not self.row_parts(row):
            self.add_parts(row)
        elif built is not plain:  # generated candidates joined after the lookups: the tasks carry them
            fresh = [job for prop in self.rows[row][1] for job in parts(built, prop)]
            for u, job in zip(self.row_parts(row), fresh, strict=True):
                self.parts[u].job = job
        hunting = self.engine == "portfolio" and self.swarm
        if hunting:
            self.enqueue([(u, SWARM) for u in self.row_parts(row)
                          if isinstance(self.parts[u].job, Problem) and u not in self.settled])
        early = [u for u in self.row_parts(row) if isinstance(self.parts[u].job, list) and u not in self.settled] \
            if self.engine == "portfolio" else []
        self.enqueue([(u, e) for u in early for e in REACH_ENGINES])  # they use no lemmas: they run beside the search
        self.reach_early.update(early)
        processes = 1 if hunting else max(1, min(HOUDINI_PROCESSES, self.workers - bool(early)))
        self.note(row, f"lemma search (Houdini) over {len(built.lemmas):,} candidates")
        self.launch(LemmaSearch(self.builts[row], self.budget, processes), ~row, LEMMA_SEARCH)

    def templated(self, row: int, plain: BuiltModel) -> BuiltModel:
        """The row's model with its generated lemma candidates, if it uses them (saying so: the
        sampling takes seconds)."""
        if uses_design_lemmas(plain.scenario, plain.variant):
            return plain
        self.note(row, "generating lemma candidates from the model's structure (sampling its reachable states)")
        started = self.clock()
        built = with_templates(plain, self.budget.seed)
        self.note(row, f"{len(built.lemmas) - len(plain.lemmas):,} lemma candidates generated "
                       f"({self.clock() - started:.1f} s)")
        return built

    def note(self, row: int, text: str) -> None:
        if self.on_note is not None:
            self.on_note(row, text)

    def recalled(self, u: int, answer: object) -> None:
        """A part's cache lookup answered (``answer`` None: its worker was lost): a re-checked
        cached verdict settles the part. Once the row's lookups are all in, the row starts for
        its open parts, unless the cache decided every property."""
        cache = self.cache
        assert cache is not None
        outcome = MISSED
        if isinstance(answer, Recalled):
            self.digests[u] = answer.digest
            cache.problems.extend(answer.problems)
            outcome = answer.outcome
            if answer.verdict is not None and u not in self.settled:
                self.settle(u, answer.verdict)
        cache.reused += outcome == REUSED
        cache.stale += outcome == STALE
        cache.missed += outcome == MISSED
        row = self.parts[u].row
        looking = any(e == RECALL and self.parts[w].row == row for w, e in self.pending) or \
            any(r.engine == RECALL and self.parts[r.part].row == row for r in self.running.values())
        if not looking and row not in self.queued:
            self.start_row(row)

    def add_parts(self, row: int) -> None:
        """Create a row's parts (without the model's inductive lemmas: the search for them runs)."""
        built = self.builts[row]
        for p, prop in enumerate(self.rows[row][1]):
            self.parts += [Part(row, p, n, job) for n, job in enumerate(parts(built, prop))]

    def row_parts(self, row: int) -> list[int]:
        return [u for u, part in enumerate(self.parts) if part.row == row]

    def enqueue(self, new: list[tuple[int, str]]) -> None:
        self.pending.extend(new)
        for u, _ in new:
            self.parts[u].expected += 1

    def queue_row(self, row: int, names: tuple[str, ...] | None) -> None:
        """Queue a row's jobs, given the names of the model's inductive lemmas (if found). A
        part already decided (by the swarm) gets none; swarms still waiting stay ahead of the
        row's racing engines (a swarm on a safe part runs out its budget, and should not keep
        the next part's swarm from finding a violation)."""
        built = self.builts[row]
        known = shared_lemmas(built.lemmas, names) if names is not None else None
        if not self.row_parts(row):
            self.add_parts(row)
        mine = self.row_parts(row)
        for u in mine:
            job = self.parts[u].job
            if known is not None and isinstance(job, Problem):
                self.parts[u].job = dataclasses.replace(job, known=known)
        self.queued.add(row)
        open_ = [u for u in mine if u not in self.settled and (row, self.parts[u].prop) not in self.decided]
        self.enqueue(self.part_major(row, open_))
        self.form_batches(row)
        for u in open_:
            if len(self.unknowns[u]) == self.parts[u].expected:  # every engine on it gave up already
                self.settle(u, combine(self.unknowns[u]))

    def form_batches(self, row: int) -> None:
        """Split the first stages of a row that wait for nothing into batches, by turns in queue
        order: at least ``BATCH_LEAST`` parts each, at most one batch per worker. Each batch runs
        as one job, which encodes the model and solves the row's base once. Under a threat,
        a first stage waits for nothing once its source part is decided without a PDR proof to
        reuse (most are, by the time the row's lemma search answers); the others run alone, each
        once its source part is decided (when every one ran alone, the 6 x 5 matrix ran 446 of
        them, 688 of its 1,266 s of engine time, 398 under 2 s: each encoded the model and solved
        the base; docs/scale.md, "A cold matrix")."""
        firsts = [u for u, e in self.pending if e == FIRST_STAGE and self.parts[u].row == row
                  and self.source_done(u) and self.reusable(u) is None]
        count = max(1, min(self.workers, len(firsts) // BATCH_LEAST))
        for k, u in enumerate(firsts):
            self.batch_of[u] = (row, k % count)

    def part_major(self, row: int, mine: list[int]) -> list[tuple[int, str]]:
        """A row's jobs in queue order. Under the portfolio: every part's first stage (bounded
        responses first: they have the most lemmas), then part by part its racing engines (the
        swarms were queued when the row opened), so a part's engines run side by side (BMC stops
        as soon as PDR proves), k-induction (``LAST``) only after every part's others: on a part
        PDR takes long to prove, it would hold up the next part's BMC and PDR. REACH parts get
        their own engines (both race under the portfolio)."""
        mine = [u for u in mine if u not in self.reach_early]  # those REACH parts were queued when the row started
        reach = {u for u in mine if isinstance(self.parts[u].job, list)}
        safety = [u for u in mine if u not in reach]
        if self.engine == "portfolio":
            props = self.rows[row][1]
            longest_first = sorted(safety, key=lambda u: props[self.parts[u].prop].kind != "BR")
            new = [(u, FIRST_STAGE) for u in longest_first]
            races = [(u, e) for u in safety for e in racers(self.parts[u].job)]
            new += [job for job in races if job[1] != LAST] + [job for job in races if job[1] == LAST]
        else:
            new = [(u, self.engine) for u in safety]
        own = REACH_ENGINES if self.engine == "portfolio" else \
            (self.engine,) if self.engine in REACH_ENGINES else ("explicit",)
        return new + [(u, e) for u in sorted(reach) for e in own]

    # ---- which job next ------------------------------------------------------------------------
    def next_job(self) -> tuple[int, str] | None:
        """The next job to start: the short lemma proofs first, then the race of the earliest
        undecided part, engine by engine. So the engines of one part run side by side and the
        loser is stopped early, instead of a BMC of a safe part running out its whole budget
        while that part's PDR waits for a worker."""
        engaged = self.engaged()
        ready = [j for j in self.pending if self.ready(j, engaged)]
        return min(ready, key=lambda j: j[1] not in (RECALL, FIRST_STAGE)) if ready else None  # stable: queue order

    def engaged(self) -> dict[int, set[str]]:
        """Each part's engines pending or running."""
        out: dict[int, set[str]] = defaultdict(set)
        for u, e in self.pending:
            out[u].add(e)
        for key, r in self.running.items():
            for u in self.owed.get(key, {r.part}):
                out[u].add(r.engine)
        return out

    def ready(self, job: tuple[int, str], engaged: dict[int, set[str]]) -> bool:
        """A part's first stage waits for its source part to be decided; its race starts once
        its first stage is over, with the source part's decider alone until it gives up."""
        u, e = job
        if e in (SWARM, RECALL):
            return True
        if e == FIRST_STAGE:
            return self.source_done(u)
        first = self.leader(u)
        return FIRST_STAGE not in engaged[u] and (first is None or first == e or first not in engaged[u])

    # ---- learning from the source row ----------------------------------------------------------
    def source(self, u: int) -> int | None:
        """The same part in the row's source row (``source_row``): its index, None if there is
        none, or ``NOT_YET`` while the source row's parts do not exist yet."""
        if u in self.sources:
            return self.sources[u]
        part = self.parts[u]
        origin = source_row(self.rows, part.row)
        if origin is None:
            self.sources[u] = None
            return None
        if origin not in self.queued:
            return NOT_YET
        pid = self.rows[part.row][1][part.prop].id
        same = [w for w, q in enumerate(self.parts) if q.row == origin and self.rows[origin][1][q.prop].id == pid]
        siblings = sum(1 for q in self.parts if (q.row, q.prop) == (part.row, part.prop))
        self.sources[u] = same[part.number] if len(same) == siblings else None
        return self.sources[u]

    def source_done(self, u: int) -> bool:
        w = self.source(u)
        return w is None or (w != NOT_YET and (w in self.settled or (self.parts[w].row, self.parts[w].prop)
                                               in self.decided))

    def reusable(self, u: int) -> Proved | None:
        """The proof of part ``u``'s source part, if it needed more than its own lemmas (PDR):
        its clauses are candidate lemmas for ``u``'s first stage."""
        w = self.source(u)
        if w is None or w == NOT_YET or not isinstance(self.parts[u].job, Problem):
            return None
        proof = self.settled.get(w)
        if not isinstance(proof, Proved) or proof.engine == FIRST_STAGE or not isinstance(self.parts[w].job, Problem) \
                or proof.certificate.kind != CertificateKind.INDUCTIVE_INVARIANT:
            return None
        return proof

    def reuse(self, u: int) -> Job:
        """A part's job for its first stage: with its source part's PDR proof's clauses as
        candidate lemmas, if there is one (``reusable``)."""
        job, proof, w = self.parts[u].job, self.reusable(u), self.source(u)
        if proof is None or w is None or not isinstance(job, Problem):
            return job
        origin = self.parts[w]
        assert isinstance(origin.job, Problem)
        label = "reused from " + ("+".join(sorted(self.rows[origin.row][0].threats)) or "no attacker")
        return dataclasses.replace(job, reused=Reused(label, origin.job.task.system, proof.certificate.invariant))

    def leader(self, u: int) -> str | None:
        """The engine that decided the part's source part, if a racing one: it runs first."""
        w = self.source(u)
        decider = self.settled.get(w) if w is not None and w != NOT_YET else None
        return decider.engine if decider is not None and decider.engine in (*PORTFOLIO, TAIL) else None

    # ---- deciding ------------------------------------------------------------------------------
    def settle(self, u: int, verdict: Verdict) -> None:
        """A part is decided: stop its engines (and, if violated, its property's later parts);
        report the property once it is decided. A violated property is decided by its first
        violated part, once every part before that one is decided: so its trace is the same
        whichever part's engines answered first."""
        self.settled[u] = verdict
        part = self.parts[u]
        self.remember(u, verdict)
        siblings = [w for w, q in enumerate(self.parts) if (q.row, q.prop) == (part.row, part.prop)]
        violated = isinstance(verdict, Violated)
        self.stop({u, *(w for w in siblings if w > u)} if violated else {u})
        if (part.row, part.prop) in self.decided:
            return
        first = next((w for w in siblings if isinstance(self.settled.get(w), Violated)), None)
        if first is not None and any(w not in self.settled for w in siblings if w < first):
            return  # an earlier part may still be violated: its trace would be the property's
        if first is None and not all(w in self.settled for w in siblings):
            return
        decided = self.settled[first] if first is not None else conjunction([self.settled[w] for w in siblings])
        self.decided[part.row, part.prop] = decided
        if self.on_done:
            self.on_done(part.row, Outcome(self.rows[part.row][1][part.prop], decided))
        row = part.row
        if row not in self.queued and all((row, p) in self.decided for p in range(len(self.rows[row][1]))):
            self.close_row(row)

    def remember(self, u: int, verdict: Verdict) -> None:
        """Store a part's proof or counterexample that the engines found (or that an earlier
        model's cached one gave, re-checked here), under the part's content address; an exact
        hit becomes its cell's latest entry again."""
        if self.cache is None or u not in self.digests or not isinstance(verdict, (Proved, Violated)) or \
                not recheckable(self.parts[u].job, verdict):
            return
        part = self.parts[u]
        cell = Cell(self.rows[part.row][0], self.rows[part.row][1][part.prop].id, part.number)
        if verdict.provenance == CACHED:
            self.cache.cache.point(cell, self.digests[u])
        else:
            self.cache.cache.store(cell, self.digests[u], verdict)

    def close_row(self, row: int) -> None:
        """Every property of a row was decided before its lemma search answered (by the swarm):
        the search stops, and the row counts as queued (with nothing left to run)."""
        for key, job in list(self.running.items()):
            if job.engine == LEMMA_SEARCH and job.part == ~row:
                self.executor.stop(key)
                del self.running[key]
        self.queue_row(row, None)

    def swarm_engaged(self, u: int) -> bool:
        return any(r.part == u and r.engine == SWARM for r in self.running.values()) or (u, SWARM) in self.pending

    def hold(self, u: int, verdict: Violated) -> None:
        """Another engine found a violation of a part the swarm still works on: the part's other
        engines stop, and the swarm's trace is reported if it finds one, this one otherwise. So
        the reported trace does not depend on which engine answered first (the swarm's is the
        same on every run with the same seed)."""
        self.held[u] = verdict
        self.drop_from_batches({u})
        for key, job in list(self.running.items()):
            if job.part == u and job.engine != SWARM and key not in self.batches:
                self.executor.stop(key)
                del self.running[key]
        self.pending[:] = [(w, e) for w, e in self.pending if w != u or e == SWARM]

    def give_up(self, u: int, verdict: Verdict) -> None:
        """One engine on a part gave up; when all have, the part is unknown with every reason."""
        if u in self.held:  # the swarm, the part's last engine, ended without a violation
            self.settle(u, self.held.pop(u))
            return
        self.unknowns[u].append(verdict)
        if u not in self.settled and self.parts[u].row in self.queued and \
                len(self.unknowns[u]) == self.parts[u].expected:
            self.settle(u, combine(self.unknowns[u]))

    def stop(self, doomed: set[int]) -> None:
        """Stop the engines of these parts, running or pending."""
        self.drop_from_batches(doomed)
        for key, job in list(self.running.items()):
            if job.part in doomed and key not in self.batches:
                self.executor.stop(key)
                del self.running[key]
        self.pending[:] = [(u, e) for u, e in self.pending if u not in doomed]

    def overdue(self) -> None:
        """Stop workers that overran their budget (their answer is Unknown)."""
        now = self.clock()
        for key, job in list(self.running.items()):
            if now - job.started > self.budget.timeout + GRACE_SECONDS:
                self.executor.stop(key)
                self.lost(key)

    def lost(self, key: int, reason: Unknown | None = None) -> None:
        """A worker that overran or died without answering: its engine gave up (a lost lemma
        search leaves its row without the shared lemmas, a lost batch every part it still owed)."""
        job = self.running.pop(key)
        verdict = reason or Unknown(job.engine, self.clock() - job.started, "engine process overran its budget or died")
        if key in self.batches:
            owed = self.owed.pop(key)
            for u in [w for w in self.batches.pop(key) if w in owed]:
                if job.engine == RECALL:
                    self.recalled(u, None)
                else:
                    self.give_up(u, verdict)
            return
        if job.engine == LEMMA_SEARCH:
            self.queue_row(~job.part, None)
            return
        if job.engine == RECALL:
            self.recalled(job.part, None)
            return
        self.give_up(job.part, verdict)


def source_row(rows: list[Row], row: int) -> int | None:
    """The earlier row that checks the same design without any attacker, if any: a proof found
    there is a candidate proof under each threat model (its clauses that the attacker's steps
    keep are still inductive)."""
    scenario = rows[row][0]
    if not scenario.threats:
        return None
    plain = dataclasses.replace(scenario, threats=frozenset())
    return next((r for r in range(row) if rows[r][0] == plain), None)


def conjunction(verdicts: list[Verdict]) -> Verdict:
    """A property from its parts, none violated: proved if every part is (the certificate lists
    the parts' certificates, each re-checked on its own slice), otherwise unknown."""
    if len(verdicts) == 1:
        return verdicts[0]
    engines = "+".join(dict.fromkeys(e for v in verdicts for e in v.engine.split("+")))
    seconds = max(v.seconds for v in verdicts)
    unknown = [f"part {n + 1}: {v.detail}" for n, v in enumerate(verdicts) if isinstance(v, Unknown)]
    if unknown:
        return Unknown(engines, seconds, f"{len(unknown)} of {len(verdicts)} parts unknown: " + "; ".join(unknown))
    certs = tuple(v.certificate for v in verdicts if isinstance(v, Proved))
    text = "(and " + " ".join(c.invariant for c in certs) + ")"
    return Proved(engines, seconds, Certificate(CertificateKind.CONJUNCTION, text, len(certs),
                                                all(c.checked for c in certs), sum(c.check_seconds for c in certs),
                                                tuple(dict.fromkeys(n for c in certs for n in c.lemmas)), certs,
                                                tuple(f for c in certs for f in c.obligations)),
                  units=sum(v.units for v in verdicts), provenance=provenance(verdicts))


def provenance(verdicts: list[Verdict]) -> str:
    """Where a property's proof came from, given its parts': the engines, the cache (this model's
    certificates, or some an earlier model's), or partly the cache."""
    marks = {v.provenance for v in verdicts if isinstance(v, (Proved, Violated))}
    if marks <= {RUN}:
        return RUN
    if RUN in marks:
        return PARTLY_CACHED
    return CACHED if marks == {CACHED} else CACHED_EARLIER


def combine(verdicts: list[Verdict]) -> Verdict:
    """A part's verdict when every engine on it gave up: Unknown with each engine's reason."""
    if len(verdicts) == 1:
        return verdicts[0]
    reasons = "; ".join(f"{v.engine}: {v.detail}" for v in verdicts)
    return Unknown("+".join(v.engine for v in verdicts), max(v.seconds for v in verdicts), reasons)
