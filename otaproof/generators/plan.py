"""Decide what a generated suite contains: counterexamples to reproduce and guard, coverage traces,
oracle runs. Verdicts come from the property checker; nothing here is hand-written."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from otaproof.generators.counterexamples import APPROVED, Reproduction, guard_for
from otaproof.generators.coverage import PROOF_RLIMIT, PROOF_SECONDS, RLIMIT, SAFETY_SECONDS, CoverageResult, cover
from otaproof.generators.explore import CONE_STATES, STATES, WALKS
from otaproof.generators.goals import design_change
from otaproof.generators.suite import SuitePlan
from otaproof.model.config import Scenario
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.cache import CacheUse
from otaproof.properties.catalogue import Property
from otaproof.properties.check import Outcome, check_rows
from otaproof.properties.pool import ForkPool, Report
from otaproof.properties.verdict import Budget, Violated

Progress = Callable[[str], None]


def plan_suite(counterexample_scenarios: list[Scenario], coverage_scenarios: list[Scenario],
               oracle_scenarios: list[Scenario], props: list[Property], budget: Budget, *,
               coverage_depth: int = 20, coverage_seconds: float = SAFETY_SECONDS, coverage_rlimit: int = RLIMIT,
               proof_seconds: float = PROOF_SECONDS, proof_rlimit: int = PROOF_RLIMIT, coverage_states: int = STATES,
               coverage_walks: int = WALKS, coverage_cone_states: int = CONE_STATES, workers: int | None = None,
               sut: str, oracle_examples: int = 40, progress: Progress | None = None,
               coverage_progress: Progress | None = None, cache: CacheUse | None = None) -> SuitePlan:
    """Check every property on each counterexample scenario, turn each violation into a reproduction
    (and a guard on the approved design where it stops the attack), and add coverage traces. A cell
    (property x scenario) whose check is unknown, and a coverage goal left undecided, are listed in
    ``plan.undecided``: never dropped silently. ``cache``: the certificate cache the checks use.
    ``coverage_progress``: called in the coverage processes with each step of their searches
    (prefixed with the scenario), e.g. to print it; ``progress`` hears this process's steps.

    The coverage search of each scenario runs in a process of its own, started before the checks
    and alongside them: it needs nothing they compute, and its explicit search, lemma search and
    shared unrolling are one process each (the checks' engine pool alone leaves a core idle while
    a row's last engine runs); for the goals its shared unrolling leaves, it forks a prover of its
    own (``coverage._Prover``), so a core another search has finished with does not idle. Each
    search is deterministic on its own (counts, Z3 resource limits, its own Z3 context, proofs
    that only remove goals no trace covers), so running them side by side changes no trace."""
    say = progress or (lambda _: None)
    plan = SuitePlan(sut=sut, oracle=list(oracle_scenarios), oracle_examples=oracle_examples)
    settings = dict(depth=coverage_depth, budget_seconds=coverage_seconds, rlimit=coverage_rlimit,
                    proof_seconds=proof_seconds, proof_rlimit=proof_rlimit, states=coverage_states,
                    walks=coverage_walks, cone_states=coverage_cone_states, seed=budget.seed)
    with ForkPool(daemon=False) as pool:  # a search forks a prover of its own for its last goals
        for k, sc in enumerate(coverage_scenarios):
            tell = None if coverage_progress is None else partial(_prefixed, coverage_progress, sc.describe())
            pool.start(k, partial(_cover, sc, {**settings, "progress": tell}))
        if coverage_scenarios:
            say(f"coverage goals on {len(coverage_scenarios)} scenario(s), each in a process of its own")
        _counterexamples(plan, counterexample_scenarios, props, budget, workers, say, cache)
        say("waiting for the coverage searches")
        start = time.monotonic()
        results = _collect(pool, coverage_scenarios)
    if coverage_scenarios:
        plan.phases["waiting for coverage after the checks"] = time.monotonic() - start
    for sc, result in zip(coverage_scenarios, results, strict=True):
        plan.coverage.append((sc, result))
        plan.phases[f"coverage of {sc.describe()} (alongside the checks)"] = result.seconds
        plan.undecided += [f"coverage goal {g} on {sc.describe()}: neither covered nor proved unreachable"
                           for g in result.unknown]
    return plan


def _cover(sc: Scenario, settings: dict[str, Any], report: Report) -> None:
    """One scenario's coverage search, in its own process (``properties.pool`` worker): every goal
    on the approved design, the goals of what it changes on any other design."""
    bm = build(sc)
    select = None if sc.variant == APPROVED else design_change(bm, build(dataclasses.replace(sc, variant=APPROVED)))
    report(cover(bm, select=select, **settings))


def _prefixed(progress: Progress, prefix: str, text: str) -> None:
    progress(f"{prefix}: {text}")


def _collect(pool: ForkPool, scenarios: list[Scenario]) -> list[CoverageResult]:
    """Each coverage process's result, in scenario order (a process that died is an error)."""
    results: dict[int, CoverageResult] = {}
    while len(results) < len(scenarios):
        answer = pool.next_answer(1.0)
        if answer is None:
            continue
        key, value = answer
        if isinstance(value, CoverageResult):
            results[key] = value
        elif key not in results:
            raise RuntimeError(f"the coverage search on {scenarios[key].describe()} ended without a result")
    return [results[k] for k in range(len(scenarios))]


def _counterexamples(plan: SuitePlan, scenarios: list[Scenario], props: list[Property], budget: Budget,
                     workers: int | None, say: Progress, cache: CacheUse | None) -> None:
    """Every property on every scenario, in one pool of engine processes (no core idles at a
    scenario's end, and a row under a threat model learns from its design's row without the
    attacker, ``properties.portfolio``); each violation becomes a reproduction and, where the
    approved design stops it, a guard; each unknown cell is listed as undecided."""
    say(f"checking {len(props)} properties on {len(scenarios)} scenarios")
    start = time.monotonic()

    def done(row: int, outcome: Outcome) -> None:
        v = outcome.verdict
        say(f"{outcome.property.id} on {scenarios[row].describe()}: {v.verdict} by {v.engine} in {v.seconds:.1f} s")

    checked = check_rows([(sc, list(props)) for sc in scenarios], "portfolio", budget, workers, done,
                         cache=cache) if scenarios else []
    plan.phases["property checks"] = time.monotonic() - start
    start = time.monotonic()
    approved_models: dict[tuple[object, ...], BuiltModel] = {}
    for sc, outcomes in zip(scenarios, checked, strict=True):
        for outcome in outcomes:
            v = outcome.verdict
            if not isinstance(v, Violated):
                if v.verdict == "unknown":
                    plan.undecided.append(f"{outcome.property.id} on {sc.describe()}: unknown within the budget "
                                          f"({v.detail}); no reproduction or guard test")
                continue
            rep = Reproduction(outcome.property.id, sc, v.trace)  # the portfolio's trace: the same on every run
            plan.reproductions.append(rep)
            key = (sc.threats, sc.faults, sc.parameters)
            if key not in approved_models:
                approved_models[key] = build(Scenario(APPROVED, sc.threats, sc.faults, sc.parameters))
            guard = guard_for(rep, approved_models[key])
            if guard is None:
                plan.unguarded.append(rep)
            else:
                plan.guards.append(guard)
    plan.phases["reproductions and guards"] = time.monotonic() - start
