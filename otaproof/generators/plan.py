"""Decide what a generated suite contains: counterexamples to reproduce and guard, coverage traces,
oracle runs. Verdicts come from the property checker; nothing here is hand-written."""

from __future__ import annotations

from collections.abc import Callable

import z3

from otaproof.generators.counterexamples import APPROVED, Reproduction, guard_for
from otaproof.generators.coverage import PROOF_RLIMIT, PROOF_SECONDS, RLIMIT, SAFETY_SECONDS, cover
from otaproof.generators.suite import SuitePlan
from otaproof.model.config import Scenario
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.cache import CacheUse
from otaproof.properties.catalogue import Property
from otaproof.properties.check import check
from otaproof.properties.engines.problem import Problem
from otaproof.properties.jobs import whole
from otaproof.properties.solver import Deadline, Solver, Unrolling
from otaproof.properties.trace import ReplayError, Trace, make_trace
from otaproof.properties.verdict import Budget, Violated

Progress = Callable[[str], None]


def plan_suite(counterexample_scenarios: list[Scenario], coverage_scenarios: list[Scenario],
               oracle_scenarios: list[Scenario], props: list[Property], budget: Budget, *,
               coverage_depth: int = 20, coverage_seconds: float = SAFETY_SECONDS, coverage_rlimit: int = RLIMIT,
               proof_seconds: float = PROOF_SECONDS, proof_rlimit: int = PROOF_RLIMIT, workers: int | None = None,
               sut: str, oracle_examples: int = 40, progress: Progress | None = None,
               cache: CacheUse | None = None) -> SuitePlan:
    """Check every property on each counterexample scenario, turn each violation into a reproduction
    (and a guard on the approved design where it stops the attack), and add coverage traces. A cell
    (property x scenario) whose check is unknown, and a coverage goal left undecided, are listed in
    ``plan.undecided``: never dropped silently. ``cache``: the certificate cache the checks use."""
    say = progress or (lambda _: None)
    plan = SuitePlan(sut=sut, oracle=list(oracle_scenarios), oracle_examples=oracle_examples)
    approved_models = {}
    for sc in counterexample_scenarios:
        say(f"checking {sc.describe()}")
        built = build(sc)
        for outcome in check(sc, props, "portfolio", budget, workers=workers, cache=cache):
            v = outcome.verdict
            if not isinstance(v, Violated):
                if v.verdict == "unknown":
                    plan.undecided.append(f"{outcome.property.id} on {sc.describe()}: unknown within the budget "
                                          f"({v.detail}); no reproduction or guard test")
                continue
            trace = canonical_counterexample(built, outcome.property, v.trace, coverage_rlimit, budget.seed)
            if trace is v.trace:
                plan.notes.append(f"{outcome.property.id} on {sc.describe()}: the counterexample is the engine's "
                                  "(no shortest one found within the resource limit); it may differ between runs")
            rep = Reproduction(outcome.property.id, sc, trace)
            plan.reproductions.append(rep)
            key = (sc.threats, sc.faults, sc.parameters)
            if key not in approved_models:
                approved_models[key] = build(Scenario(APPROVED, sc.threats, sc.faults, sc.parameters))
            guard = guard_for(rep, approved_models[key])
            if guard is None:
                plan.unguarded.append(rep)
            else:
                plan.guards.append(guard)
    for sc in coverage_scenarios:
        say(f"coverage goals on {sc.describe()}")
        result = cover(build(sc), depth=coverage_depth, budget_seconds=coverage_seconds, progress=say,
                       rlimit=coverage_rlimit, proof_seconds=proof_seconds, proof_rlimit=proof_rlimit)
        plan.coverage.append((sc, result))
        plan.undecided += [f"coverage goal {g} on {sc.describe()}: neither covered nor proved unreachable"
                           for g in result.unknown]
    return plan


def canonical_counterexample(bm: BuiltModel, prop: Property, trace: Trace, rlimit: int, seed: int) -> Trace:
    """A counterexample that does not depend on which engine of the portfolio answered first: the
    shortest one BMC finds for the whole property (no longer than ``trace``) in a fresh Z3 context
    with a fixed seed, each query bounded by ``rlimit`` resource units; ``trace`` itself when there
    is none (a REACH property, a query out of resources, a trace that does not replay)."""
    job = whole(bm, prop)
    if not isinstance(job, Problem):
        return trace
    task = job.task
    sliced = cone_of_influence(task.system, task.bad)
    ctx = z3.Context()
    enc = Encoder(sliced.system, ctx=ctx)
    path = Unrolling(enc, Solver(seed, Deadline(3600.0), ctx=ctx))
    path.solver.z3.set("rlimit", rlimit)
    path.solver.add(enc.init(path.last))
    for k in range(len(trace.steps) + 1):
        if k > 0:
            path.step()
        goal = z3.Bool(f"bad@{k}", ctx)
        path.solver.add(z3.Implies(goal, enc.expr(sliced.predicate, path.states[k])))
        answer = path.solver.check(goal)
        if answer == z3.sat:
            choices = path.choices(path.solver.model(), sliced.original_instance)
            try:
                return make_trace(task.system, task.bad, choices, prop.id, job.threats, job.faults)
            except ReplayError:
                return trace
        if answer != z3.unsat:
            return trace
    return trace
