"""The one entry point: check properties of a scenario with an engine or the portfolio.

The portfolio runs engines in parallel processes (fork) in two stages: first the cheap lemma
proof (Houdini + one query) of every property, then, for the properties it did not decide, PDR,
BMC and k-induction race. For each property the first definitive answer wins (a proof with a
checker-accepted certificate, or a replayed counterexample) and the other engines of that
property are stopped. All engines unknown gives Unknown with every reason. A property that is a
conjunction of bounded responses (one per device) is checked part by part: each part's cone of
influence holds one device's report chain, not every device's.

Across the rows of a matrix, a row under a threat model learns from the earlier row of the same
design without the attacker (its source row): a part's first stage waits for the same part there
and, if PDR proved it, tries that proof's clauses as candidate lemmas; and the
engine that decided the part there runs first, the others only if it gives up.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from otaproof.model.config import Scenario
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.catalogue import Property
from otaproof.properties.engines import Deadline, Problem, bmc, explicit, kind, pdr, recovery, tail
from otaproof.properties.engines.strengthen import Reused, Strengthening, model_lemmas, shared_lemmas
from otaproof.properties.formulas import BoundedResponse, Formula, Reach, to_safety
from otaproof.properties.verdict import Budget, Certificate, Proved, Unknown, Verdict, Violated

ENGINES: dict[str, Callable[[Problem, Budget], Verdict]] = {
    "bmc": bmc.check, "kind": kind.check, "pdr": pdr.check, "explicit": explicit.check,
    "lemmas": pdr.check_by_lemmas, "tail": tail.check,
}
FIRST_STAGE = "lemmas"
LEMMA_SEARCH = "model lemma search"  # a row's Houdini run, one job of the pool
NOT_YET = -1  # a part's source part does not exist yet
PORTFOLIO = ("bmc", "pdr", "kind")
TAIL = "tail"  # joins the race on bounded responses (``tail``): counterexamples too deep for BMC
REACH_ENGINES = ("recovery", "explicit")  # REACH: the one-step symbolic proof races the state graph
ENGINE_CHOICES = (*ENGINES, "recovery", "portfolio")


@dataclass(frozen=True)
class Outcome:
    property: Property
    verdict: Verdict


Job = Problem | list[Reach]  # what one engine run checks: a safety task, or REACH formulas


def _problem(built: BuiltModel, prop: Property, known: Strengthening | None = None) -> Job:
    """What the engines check for the whole property: one safety task, or the REACH formulas
    (their conjunction)."""
    formula = prop.formula(built)
    reach = [f for f in (formula if isinstance(formula, list) else [formula]) if isinstance(f, Reach)]
    if reach:
        if isinstance(formula, list) and len(reach) != len(formula):
            raise TypeError(f"{prop.id}: REACH formulas cannot be mixed with other kinds")
        return reach
    return _safety(built, prop, formula, 0, known)


def _safety(built: BuiltModel, prop: Property, formula: Formula | list[Formula], first_response: int,
            known: Strengthening | None) -> Problem:
    sc = built.scenario
    task = to_safety(built.system, formula, first_response)
    task = dataclasses.replace(task, lemmas=built.lemmas + task.lemmas)
    return Problem(task, prop.id, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)), known)


def parts(built: BuiltModel, prop: Property, known: Strengthening | None = None) -> list[Job]:
    """The property as independently checked parts: each bounded response alone (one device's
    report chain: its slice leaves the other devices out), the invariants together; REACH
    formulas stay one job. The property holds iff every part does; a part's counterexample is
    one of the property."""
    formula = prop.formula(built)
    responses = [f for f in formula if isinstance(f, BoundedResponse)] if isinstance(formula, list) else []
    rest: list[Formula] = [f for f in formula if not isinstance(f, BoundedResponse)] if isinstance(formula, list) else []
    if len(responses) + bool(rest) <= 1 or any(isinstance(f, Reach) for f in rest):
        return [_problem(built, prop, known)]
    split: list[Job] = [_safety(built, prop, br, n, known) for n, br in enumerate(responses)]
    return split + ([_safety(built, prop, rest, len(responses), known)] if rest else [])


def run_engine(built: BuiltModel, prop: Property, engine: str, budget: Budget,
               known: Strengthening | None = None) -> Verdict:
    """One engine on one whole property, in this process (``known``: the model's inductive
    lemmas, if already computed)."""
    return _run(built, _problem(built, prop, known), prop, engine, budget)


def _run(built: BuiltModel, job: Job, prop: Property, engine: str, budget: Budget) -> Verdict:
    """One engine on one job; only the lemma proof and BMC use the shared model lemmas."""
    sc = built.scenario
    if isinstance(job, list):
        if engine == "recovery":
            return recovery.check(built.system, job, budget)
        if engine not in ("explicit", "portfolio"):
            return Unknown(engine, 0.0, "REACH properties are checked by the recovery and explicit engines only")
        return explicit.check_reach(built.system, job, prop.id, tuple(sorted(sc.threats)),
                                    tuple(sorted(sc.faults)), budget)
    if engine == "recovery":
        return Unknown(engine, 0.0, "the recovery engine checks REACH properties only")
    if engine not in (FIRST_STAGE, "bmc"):
        job = dataclasses.replace(job, known=None)
    return ENGINES[engine](job, budget)


def _child(built: BuiltModel, job: Job, prop: Property, engine: str, budget: Budget, queue: mp.Queue[object],
           key: int) -> None:
    try:
        verdict: Verdict = _run(built, job, prop, engine, budget)
    except Exception as e:  # an engine crash is reported as unknown, never as a verdict
        verdict = Unknown(engine, 0.0, f"engine error: {type(e).__name__}: {e}")
    queue.put((key, verdict))


def _lemma_child(built: BuiltModel, budget: Budget, queue: mp.Queue[object], key: int) -> None:
    """The model's lemma search (Houdini) for one row: the names of the inductive lemmas, or why
    none were found (the row's engines then work without them)."""
    try:
        found = model_lemmas(built.system, built.lemmas, Deadline(budget), budget.seed)
        answer: tuple[str, ...] | str = found.names if isinstance(found, Strengthening) else found
    except Exception as e:
        answer = f"lemma search error: {type(e).__name__}: {e}"
    queue.put((key, answer))


def check(scenario: Scenario, props: list[Property], engine: str, budget: Budget,
          workers: int | None = None, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Check every property; results come back in the order of ``props``."""
    report = (lambda row, outcome: on_done(outcome)) if on_done else None
    return check_rows([(scenario, props)], engine, budget, workers, report)[0]


def check_rows(rows: list[tuple[Scenario, list[Property]]], engine: str, budget: Budget,
               workers: int | None = None, on_done: Callable[[int, Outcome], None] | None = None
               ) -> list[list[Outcome]]:
    """Check the properties of every row (a scenario and its properties) with one pool of engine
    processes: a row is opened (its model built, its lemma search started in a worker) when a
    worker would otherwise idle, so the long engines of one row overlap the next row's work.
    Results are in row, then property order.

    The engines run on the properties' parts (``parts``); a property is decided by its first
    violated part, or once every part is decided (``_conjunction``)."""
    workers = max(1, workers or os.cpu_count() or 1)
    units: list[tuple[int, int, Job]] = []  # (row, property index in the row, part)
    builts: dict[int, BuiltModel] = {}
    expected: dict[int, int] = {}
    ctx = mp.get_context("fork")
    queue: mp.Queue[object] = ctx.Queue()
    running: dict[int, tuple[mp.Process, int, str, float]] = {}  # key -> (process, unit or ~row, engine, start)
    unknowns: dict[int, list[Verdict]] = {}
    settled: dict[int, Verdict] = {}  # per part
    decided: dict[tuple[int, int], Verdict] = {}  # per (row, property)
    pending: list[tuple[int, str]] = []
    part_no: dict[int, int] = {}  # unit -> its part's number within its property
    sources: dict[int, int | None] = {}  # unit -> the same part in its source row (``source``)
    queued: set[int] = set()  # rows whose parts exist
    next_key = 0

    def start(target: Callable[..., None], args: tuple[object, ...], unit: int, name: str) -> None:
        nonlocal next_key
        proc = ctx.Process(target=target, args=(*args, queue, next_key), daemon=True)
        proc.start()
        running[next_key] = (proc, unit, name, time.monotonic())
        next_key += 1

    def open_row(row: int) -> None:
        """Build a row's model; under the portfolio its lemma search runs as a job of its own."""
        builts[row] = build(rows[row][0])
        if engine in ("portfolio", FIRST_STAGE):
            start(_lemma_child, (builts[row], budget), ~row, LEMMA_SEARCH)
        else:
            queue_row(row, None)

    def queue_row(row: int, names: tuple[str, ...] | None) -> None:
        """Queue a row's jobs, given the names of the model's inductive lemmas (if found)."""
        built, props = builts[row], rows[row][1]
        known = shared_lemmas(built.lemmas, names) if names is not None else None
        first = len(units)
        for p in range(len(props)):
            for n, job in enumerate(parts(built, props[p], known)):
                part_no[len(units)] = n
                units.append((row, p, job))
        queued.add(row)
        mine = range(first, len(units))
        reach = {u for u in mine if isinstance(units[u][2], list)}
        if engine == "portfolio":
            # part-major: a part's engines race side by side (BMC stops as soon as PDR proves)
            longest_first = sorted(mine, key=lambda u: props[units[u][1]].kind != "BR")  # BR: more lemmas
            new = [(u, FIRST_STAGE) for u in longest_first if u not in reach] + \
                  [(u, e) for u in mine if u not in reach for e in _racers(units[u][2])]
        else:
            new = [(u, engine) for u in mine if u not in reach]
        own = REACH_ENGINES if engine == "portfolio" else (engine,) if engine in REACH_ENGINES else ("explicit",)
        new += [(u, e) for u in sorted(reach) for e in own]  # REACH: its own engines (both race under the portfolio)
        pending.extend(new)
        for u in mine:
            expected[u] = sum(1 for q, _ in new if q == u)

    def stop(doomed: set[int]) -> None:
        for key, (proc, q, _, _) in list(running.items()):
            if q in doomed:
                proc.kill()
                proc.join()
                del running[key]
        pending[:] = [(q, e) for q, e in pending if q not in doomed]

    def settle(u: int, v: Verdict) -> None:
        settled[u] = v
        row, p, _ = units[u]
        siblings = [w for w, (r, q, _) in enumerate(units) if (r, q) == (row, p)]
        stop({u} | (set(siblings) if isinstance(v, Violated) else set()))
        if (row, p) in decided or not (isinstance(v, Violated) or all(w in settled for w in siblings)):
            return
        decided[row, p] = v if isinstance(v, Violated) else _conjunction([settled[w] for w in siblings])
        if on_done:
            on_done(row, Outcome(rows[row][1][p], decided[row, p]))

    def source(u: int) -> int | None:
        """The same part in the row's source row (``_source_row``): its unit, None if there is
        none, or ``NOT_YET`` while the source row's parts do not exist yet."""
        if u in sources:
            return sources[u]
        row, p, _ = units[u]
        origin = _source_row(rows, row)
        if origin is not None and origin not in queued:
            return NOT_YET
        same = [w for w, (r, q, _) in enumerate(units) if r == origin and rows[r][1][q].id == rows[row][1][p].id]
        siblings = sum(1 for r, q, _ in units if (r, q) == (row, p))
        sources[u] = same[part_no[u]] if origin is not None and len(same) == siblings else None
        return sources[u]

    def source_done(u: int) -> bool:
        w = source(u)
        return w is None or (w != NOT_YET and (w in settled or (units[w][0], units[w][1]) in decided))

    def reuse(u: int, job: Job) -> Job:
        """The first stage of a part whose source part needed more than its own lemmas to be
        proved gets that proof's clauses as candidate lemmas."""
        w = source(u)
        if w is None or w == NOT_YET or not isinstance(job, Problem):
            return job
        proof, (origin_row, _, origin) = settled.get(w), units[w]
        if not isinstance(proof, Proved) or proof.engine == FIRST_STAGE or not isinstance(origin, Problem) or \
                proof.certificate.kind != "inductive-invariant":
            return job
        label = "reused from " + ("+".join(sorted(rows[origin_row][0].threats)) or "no attacker")
        return dataclasses.replace(job, reused=Reused(label, origin.task.system, proof.certificate.smtlib))

    def leader(u: int) -> str | None:
        """The engine that decided the part's source part, if a racing one: it runs first."""
        w = source(u)
        decider = settled.get(w) if w is not None and w != NOT_YET else None
        return decider.engine if decider is not None and decider.engine in PORTFOLIO + (TAIL,) else None

    def ready(job: tuple[int, str], engaged: dict[int, set[str]]) -> bool:
        """A part's first stage waits for its source part to be decided; its race starts once
        its first stage is over, with the source part's decider alone until it gives up
        (``engaged``: each part's engines pending or running)."""
        u, e = job
        if e == FIRST_STAGE:
            return source_done(u)
        first = leader(u)
        return FIRST_STAGE not in engaged[u] and (first is None or first == e or first not in engaged[u])

    def overdue() -> None:
        """Stop engine processes that overran their budget or died (their answer is Unknown; a
        lost lemma search leaves its row without the shared lemmas)."""
        now = time.monotonic()
        for key, (proc, u, e, started) in list(running.items()):
            if now - started > budget.timeout + 5 or (not proc.is_alive() and proc.exitcode not in (0, None)):
                proc.kill()
                proc.join()
                del running[key]
                if e == LEMMA_SEARCH:
                    queue_row(~u, None)
                    continue
                unknowns.setdefault(u, []).append(Unknown(e, now - started, "engine process overran its budget or died"))
                if u not in settled and len(unknowns[u]) == expected[u]:
                    settle(u, _combine(unknowns[u]))

    next_row = 0
    while pending or running or next_row < len(rows):
        while len(running) < workers:
            engaged: dict[int, set[str]] = defaultdict(set)
            for q, f in [*pending, *((q, f) for _, q, f, _ in running.values())]:
                engaged[q].add(f)
            job = _next_job(pending, lambda j: ready(j, engaged))
            if job is None and next_row < len(rows):
                open_row(next_row)
                next_row += 1
                continue
            if job is None:
                break
            pending.remove(job)
            u, e = job
            row, p, part = units[u]
            start(_child, (builts[row], reuse(u, part) if e == FIRST_STAGE else part, rows[row][1][p], e, budget), u, e)
        try:
            key, answer = queue.get(timeout=0.5)  # type: ignore[misc]
        except Exception:
            overdue()
            continue
        if key not in running:
            continue
        proc, u, e, _ = running.pop(key)
        proc.join()
        if e == LEMMA_SEARCH:
            queue_row(~u, answer if isinstance(answer, tuple) else None)  # type: ignore[arg-type]
            continue
        verdict: Verdict = answer  # type: ignore[assignment]
        if u in settled:
            continue
        if verdict.verdict in ("proved", "violated"):
            settle(u, verdict)
        else:
            unknowns.setdefault(u, []).append(verdict)
            if len(unknowns[u]) == expected[u]:
                settle(u, _combine(unknowns[u]))
    return [[Outcome(prop, decided[row, p]) for p, prop in enumerate(props)] for row, (_, props) in enumerate(rows)]


def _racers(job: Job) -> tuple[str, ...]:
    """The engines that race on a part after its first stage."""
    if isinstance(job, Problem) and job.task.restart is not None:  # k-induction rarely bounds a response: last
        return ("bmc", "pdr", TAIL, "kind")
    return PORTFOLIO


def _source_row(rows: list[tuple[Scenario, list[Property]]], row: int) -> int | None:
    """The earlier row that checks the same design without any attacker, if any: a proof found
    there is a candidate proof under each threat model (its clauses that the attacker's steps
    keep are still inductive)."""
    scenario = rows[row][0]
    if not scenario.threats:
        return None
    plain = dataclasses.replace(scenario, threats=frozenset())
    return next((r for r in range(row) if rows[r][0] == plain), None)


def _conjunction(verdicts: list[Verdict]) -> Verdict:
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
    text = "(and " + " ".join(c.smtlib for c in certs) + ")"
    return Proved(engines, seconds, Certificate("conjunction", text, len(certs), all(c.checked for c in certs),
                                                sum(c.check_seconds for c in certs),
                                                tuple(dict.fromkeys(n for c in certs for n in c.lemmas)), certs))


def _next_job(pending: list[tuple[int, str]], ready: Callable[[tuple[int, str]], bool]) -> tuple[int, str] | None:
    """The next job to start: the short lemma proofs first, then the race of the earliest
    undecided part, engine by engine (BMC, PDR, k-induction). So the engines of one part run
    side by side and the loser is stopped early, instead of a BMC of a safe part running out
    its whole budget while that part's PDR waits for a worker."""
    ready_jobs = [j for j in pending if ready(j)]
    return min(ready_jobs, key=lambda j: j[1] != FIRST_STAGE) if ready_jobs else None  # stable: queue order


def _combine(verdicts: list[Verdict]) -> Verdict:
    if len(verdicts) == 1:
        return verdicts[0]
    reasons = "; ".join(f"{v.engine}: {v.detail}" for v in verdicts)
    return Unknown("+".join(v.engine for v in verdicts), max(v.seconds for v in verdicts), reasons)
