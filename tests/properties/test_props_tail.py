"""The tail engine: bounded-response counterexamples found quiet run first, then a prefix."""

from __future__ import annotations

import pytest
import z3
from test_props_engines import shop

from otaproof.model.config import Scenario
from otaproof.model.lang import Next
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.engines import bmc, tail
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import BoundedResponse, Formula, Invariant, StepInvariant, to_safety
from otaproof.properties.jobs import PORTFOLIO, TAIL, parts, racers
from otaproof.properties.trace import replay
from otaproof.properties.verdict import Budget, Unknown, Violated


def _order_served(system: System) -> BoundedResponse:
    return BoundedResponse(system.fired("order"), system.fired("serve"), 3)


def test_every_restart_step_sets_every_count_to_zero() -> None:
    """The premise of the search: after a restart step the counts are 0, whatever the state."""
    built = build(Scenario("geo-local-daily-alert", frozenset({"han_mitm"})))
    for job in parts(built, get_property("P-SMI-BOUNDED")):
        assert isinstance(job, Problem)
        restart = job.task.restart
        assert restart is not None and restart.steps and len(restart.counts) == 1
        enc = Encoder(job.task.system)
        s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
        solver = z3.Solver()
        solver.add(enc.domain(s), enc.trans(s, a, t), z3.Or([a == i for i in sorted(restart.steps)]),
                   z3.Or([t[c.index] != 0 for c in restart.counts]))
        assert solver.check() == z3.unsat


def test_only_bounded_responses_have_a_restart() -> None:
    system = shop(dawdles=True)
    assert to_safety(system, _order_served(system)).restart is not None
    assert to_safety(system, Invariant(system.var("Shop.tidy") != 3)).restart is None
    mixed: list[Formula] = [_order_served(system), StepInvariant(Next(system.var("Shop.tidy")) >= 0)]
    assert to_safety(system, mixed).restart is None  # a step invariant's flag never resets


def test_tail_reaches_past_the_bmc_bound() -> None:
    """The bound applies to the quiet run and to its prefix separately: a 4-step violation
    (order, then three tidy-ups while the order waits) is found with depth 3, where BMC is not."""
    system = shop(dawdles=True)
    problem = Problem(to_safety(system, _order_served(system)), "BR", (), ())
    budget = Budget(timeout=30, depth=3)
    assert isinstance(bmc.check(problem, budget), Unknown)
    verdict = tail.check(problem, budget)
    assert isinstance(verdict, Violated), verdict
    steps = [s.action for s in verdict.trace.steps]
    assert steps == ["order", "tidy_up", "tidy_up", "tidy_up"]
    states = replay(problem.task.system, problem.task.bad, [s.instance for s in verdict.trace.steps])
    assert len(states) == 5


def test_tail_never_proves() -> None:
    system = shop()
    problem = Problem(to_safety(system, _order_served(system)), "BR", (), ())
    assert isinstance(tail.check(problem, Budget(timeout=30, depth=6)), Unknown)


def test_the_portfolio_races_tail_on_bounded_responses_only() -> None:
    built = build(Scenario("secmp0007"))
    br = parts(built, get_property("P-SMI-BOUNDED"))[0]
    inv = parts(built, get_property("P-COMPAT"))[0]
    assert TAIL in racers(br) and TAIL not in racers(inv)
    assert set(racers(inv)) == set(PORTFOLIO)


@pytest.mark.slow
def test_daily_alert_smi_lag_under_han_mitm_is_found() -> None:
    """The cell no other engine decided: the SMI lags more than 8 report hops behind a local
    update when the attacker breaks an OTA exchange (a trace deeper than BMC reaches)."""
    built = build(Scenario("geo-local-daily-alert", frozenset({"han_mitm"})))
    problem = parts(built, get_property("P-SMI-BOUNDED"))[0]
    assert isinstance(problem, Problem)
    verdict = tail.check(problem, Budget(timeout=300, depth=25))
    assert isinstance(verdict, Violated), verdict
    assert len(verdict.trace.steps) > 25
    assert any(s.machine == "Attacker" for s in verdict.trace.steps)
    assert any(s.action.startswith("LOCAL_") for s in verdict.trace.steps)
