"""The one entry point: check properties of a scenario with an engine or the portfolio.

The portfolio runs engines in parallel processes (fork) in two stages: first the cheap lemma
proof (Houdini + one query) of every property, then, for the properties it did not decide, PDR,
BMC and k-induction race. For each property the first definitive answer wins (a proof with a
checker-accepted certificate, or a replayed counterexample) and the other engines of that
property are stopped. All engines unknown gives Unknown with every reason.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Callable

from model.config import Scenario
from model.variants import BuiltModel, build
from properties.catalogue import Property
from properties.engines import Deadline, Problem, bmc, explicit, kind, pdr, recovery
from properties.engines.strengthen import Strengthening, model_lemmas
from properties.formulas import Reach, to_safety
from properties.verdict import Budget, Unknown, Verdict

ENGINES: dict[str, Callable[[Problem, Budget], Verdict]] = {
    "bmc": bmc.check, "kind": kind.check, "pdr": pdr.check, "explicit": explicit.check,
    "lemmas": pdr.check_by_lemmas,
}
FIRST_STAGE = "lemmas"
PORTFOLIO = ("bmc", "pdr", "kind")
REACH_ENGINES = ("recovery", "explicit")  # REACH: the one-step symbolic proof races the state graph
ENGINE_CHOICES = (*ENGINES, "recovery", "portfolio")


@dataclass(frozen=True)
class Outcome:
    property: Property
    verdict: Verdict


def _problem(built: BuiltModel, prop: Property, known: Strengthening | None = None) -> Problem | list[Reach]:
    """What the engines check: a safety task, or the REACH formulas (their conjunction)."""
    formula = prop.formula(built)
    reach = [f for f in (formula if isinstance(formula, list) else [formula]) if isinstance(f, Reach)]
    if reach:
        if isinstance(formula, list) and len(reach) != len(formula):
            raise TypeError(f"{prop.id}: REACH formulas cannot be mixed with other kinds")
        return reach
    sc = built.scenario
    task = to_safety(built.system, formula)
    task = dataclasses.replace(task, lemmas=built.lemmas + task.lemmas)
    return Problem(task, prop.id, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)), known)


def run_engine(built: BuiltModel, prop: Property, engine: str, budget: Budget,
               known: Strengthening | None = None) -> Verdict:
    """One engine on one property, in this process (``known``: the model's inductive lemmas,
    if already computed)."""
    job = _problem(built, prop, known if engine in (FIRST_STAGE, "bmc") else None)
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
    return ENGINES[engine](job, budget)


def _child(built: BuiltModel, prop: Property, engine: str, budget: Budget, queue: "mp.Queue[object]",
           key: int, known: Strengthening | None) -> None:
    try:
        verdict: Verdict = run_engine(built, prop, engine, budget, known)
    except Exception as e:  # an engine crash is reported as unknown, never as a verdict
        verdict = Unknown(engine, 0.0, f"engine error: {type(e).__name__}: {e}")
    queue.put((key, verdict))


def check(scenario: Scenario, props: list[Property], engine: str, budget: Budget,
          workers: int | None = None, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Check every property; results come back in the order of ``props``."""
    built = build(scenario)
    if engine == "portfolio":
        # engine-major: what the lemmas leave is mostly violated, so every BMC starts first
        longest_first = sorted(range(len(props)), key=lambda p: props[p].kind != "BR")  # BR: more lemmas
        jobs = [(p, FIRST_STAGE) for p in longest_first] + \
               [(p, e) for e in PORTFOLIO for p in range(len(props))]
    else:
        jobs = [(p, engine) for p in range(len(props))]
    reach = {p for p in range(len(props)) if isinstance(_problem(built, props[p]), list)}
    if reach:  # REACH: its own engines (both race under the portfolio)
        own = REACH_ENGINES if engine == "portfolio" else (engine,) if engine in REACH_ENGINES else ("explicit",)
        jobs = [j for j in jobs if j[0] not in reach] + [(p, e) for p in sorted(reach) for e in own]
    known = None
    if any(e == FIRST_STAGE for _, e in jobs):  # the model's lemmas: one Houdini run for every property
        found = model_lemmas(built.system, built.lemmas, Deadline(budget), budget.seed)
        known = found if isinstance(found, Strengthening) else None
    workers = max(1, workers or os.cpu_count() or 1)
    ctx = mp.get_context("fork")
    queue: "mp.Queue[object]" = ctx.Queue()
    running: dict[int, tuple[mp.Process, int, str, float]] = {}
    unknowns: dict[int, list[Verdict]] = {p: [] for p in range(len(props))}
    decided: dict[int, Verdict] = {}
    pending = list(jobs)
    expected = {p: sum(1 for q, _ in jobs if q == p) for p in range(len(props))}
    next_key = 0

    def finish(p: int, v: Verdict) -> None:
        decided[p] = v
        for key, (proc, q, _, _) in list(running.items()):
            if q == p:
                proc.kill()
                proc.join()
                del running[key]
        pending[:] = [(q, e) for q, e in pending if q != p]
        if on_done:
            on_done(Outcome(props[p], v))

    def ready(job: tuple[int, str]) -> bool:  # a race starts once its property's first stage is over
        p, e = job
        return e == FIRST_STAGE or not any(q == p and f == FIRST_STAGE for q, f in pending) and \
            not any(q == p and f == FIRST_STAGE for _, q, f, _ in running.values())

    while pending or running:
        while len(running) < workers and (job := _next_job(pending, ready)) is not None:
            pending.remove(job)
            p, e = job
            proc = ctx.Process(target=_child, args=(built, props[p], e, budget, queue, next_key, known), daemon=True)
            proc.start()
            running[next_key] = (proc, p, e, time.monotonic())
            next_key += 1
        try:
            key, verdict = queue.get(timeout=0.5)  # type: ignore[misc]
        except Exception:
            _reap_overdue(running, budget, unknowns)
            for p in list(unknowns):
                if p not in decided and len(unknowns[p]) == expected[p]:
                    finish(p, _combine(unknowns[p]))
            continue
        if key not in running:
            continue
        proc, p, e, _ = running.pop(key)
        proc.join()
        if p in decided:
            continue
        if verdict.verdict in ("proved", "violated"):  # type: ignore[union-attr]
            finish(p, verdict)  # type: ignore[arg-type]
        else:
            unknowns[p].append(verdict)  # type: ignore[arg-type]
            if len(unknowns[p]) == expected[p]:
                finish(p, _combine(unknowns[p]))
    return [Outcome(props[p], decided[p]) for p in range(len(props))]


def _next_job(pending: list[tuple[int, str]], ready: Callable[[tuple[int, str]], bool]) -> tuple[int, str] | None:
    """The next job to start: BMC for a property the lemmas did not decide (what they leave is
    mostly violated, and BMC is long: start it early), then the remaining short lemma jobs, then
    the other engines of the race."""
    rank = {"bmc": 0, FIRST_STAGE: 1}
    ready_jobs = [j for j in pending if ready(j)]
    return min(ready_jobs, key=lambda j: rank.get(j[1], 2)) if ready_jobs else None


def _reap_overdue(running: dict[int, tuple[mp.Process, int, str, float]], budget: Budget,
                  unknowns: dict[int, list[Verdict]]) -> None:
    """Stop engine processes that overran their budget (their answer is Unknown)."""
    now = time.monotonic()
    for key, (proc, p, e, started) in list(running.items()):
        if now - started > budget.timeout + 5 or not proc.is_alive() and proc.exitcode not in (0, None):
            proc.kill()
            proc.join()
            del running[key]
            unknowns[p].append(Unknown(e, now - started, "engine process overran its budget or died"))


def _combine(verdicts: list[Verdict]) -> Verdict:
    if len(verdicts) == 1:
        return verdicts[0]
    reasons = "; ".join(f"{v.engine}: {v.detail}" for v in verdicts)
    return Unknown("+".join(v.engine for v in verdicts), max(v.seconds for v in verdicts), reasons)
