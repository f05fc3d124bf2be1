"""The engines on small toy systems written with the public language, where the truth is known.

bmc finds minimal-depth counterexamples that replay and never proves; k-induction proves 1- and
k-inductive properties (reporting k); PDR proves a property that is not k-inductive for small k;
the explicit engine agrees on every verdict; a tiny budget never gives Proved; the portfolio's
verdict is the engines' verdict. INV, HIST and BR reduce to safety; REACH runs on the explicit
engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import pytest

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.lang import BOOL, IntSort, Next, Var, ite
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.slicing import cone_of_influence
from otaproof.model.system import System, SystemBuilder, assign, case, otherwise, outcome
from otaproof.model.variants import BuiltModel, get_variant
from otaproof.properties import check as check_module
from otaproof.properties import portfolio
from otaproof.properties.catalogue import Property
from otaproof.properties.certificate import check_certificate
from otaproof.properties.engines import explicit
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import (
    BoundedResponse,
    Formula,
    Invariant,
    Reach,
    SafetyTask,
    StepInvariant,
    to_safety,
)
from otaproof.properties.trace import replay
from otaproof.properties.verdict import Budget, Proved, Unknown, Verdict, Violated

ENGINES = check_module.ENGINES
BUDGET = Budget(timeout=20, depth=10)


# ---- toy systems ------------------------------------------------------------------------------


def wrapping_counter(top: int = 7, wrap: int = 3) -> System:
    """n = 0, 1, .., wrap, 0, ... inside int 0..top: states wrap+1..top are unreachable, and
    form a chain wrap+1 -> ... -> top (a dead end), which is what defeats k-induction."""
    b = SystemBuilder("counter")
    m = b.machine("M")
    n = m.var("n", IntSort(0, top), 0)
    m.action("tick", lambda: case(n < top, outcome("wrap", n == wrap, assign(n, 0)),
                                  otherwise("inc", assign(n, n + 1))))
    return b.build()


def counter_with_distractions() -> System:
    """n only counts up (to 7); the environment may reset it or toggle an unrelated lamp."""
    b = SystemBuilder("distracted")
    m, env = b.machine("M"), b.machine("Env")
    n = m.var("n", IntSort(0, 7), 0)
    lamp = env.var("lamp", BOOL, False)
    m.action("inc", lambda: case(n < 7, assign(n, n + 1)))
    m.action("reset", lambda: case(n > 0, assign(n, 0)), role="environment")
    env.action("toggle", lambda: case(True, assign(lamp, ~lamp)), role="environment")
    return b.build()


def shop(dawdles: bool = False, open_: bool = True, street: bool = False) -> System:
    """A customer orders (environment); the shop serves (system). The shop may also tidy up
    (a system step that is not the response); a closed shop never serves. ``street``: traffic
    that has nothing to do with the shop goes on for ever (a system step) and the weather
    changes (an environment step)."""
    b = SystemBuilder("shop")
    c, s = b.machine("Customer"), b.machine("Shop")
    waiting = c.var("waiting", BOOL, False)
    is_open = s.var("open", BOOL, open_)
    tidy = s.var("tidy", IntSort(0, 3), 0)
    c.action("order", lambda: case(~waiting, assign(waiting, True)), role="environment")
    s.action("serve", lambda: case(waiting & is_open, assign(waiting, False)), joint=("Customer",))
    if dawdles:
        s.action("tidy_up", lambda: case(True, assign(tidy, ite(tidy == 3, 0, tidy + 1))))
    if street:
        st = b.machine("Street")
        cars, rain = st.var("cars", IntSort(0, 3), 0), st.var("rain", BOOL, False)
        st.action("drive_by", lambda: case(True, assign(cars, ite(cars == 3, 0, cars + 1))))
        st.action("weather", lambda: case(True, assign(rain, ~rain)), role="environment")
    return b.build()


def jammable_counter() -> System:
    """The wrapping counter, plus an attacker who can jam it (and, as the only one, unjam it)."""
    b = SystemBuilder("jammable")
    m, atk = b.machine("M"), b.machine("Attacker")
    n = m.var("n", IntSort(0, 3), 0)
    jammed = atk.var("jammed", BOOL, False)
    m.action("tick", lambda: case(~jammed, assign(n, ite(n == 3, 0, n + 1))))
    atk.action("jam", lambda: case(~jammed, assign(jammed, True)), role="attacker", threat="han_mitm")
    atk.action("unjam", lambda: case(jammed, assign(jammed, False)), role="attacker", threat="han_mitm")
    return b.build(threats=("han_mitm",))


@dataclass(frozen=True)
class Case_:
    """A toy property with its known truth: ``depth`` of the shortest counterexample, or None."""

    name: str
    system: Callable[[], System]
    formula: Callable[[System], Formula]
    depth: int | None

    def problem(self) -> Problem:
        system = self.system()
        return Problem(to_safety(system, self.formula(system)), self.name, (), ())


def n(system: System) -> Var:
    return system.var("M.n")


CASES = [
    Case_("reaches-5-at-depth-5", counter_with_distractions, lambda s: Invariant(n(s) != 5), 5),
    Case_("1-inductive", wrapping_counter, lambda s: Invariant(n(s) <= 3), None),
    Case_("2-inductive", wrapping_counter, lambda s: Invariant(n(s) != 5), None),
    Case_("3-inductive", wrapping_counter, lambda s: Invariant(n(s) != 6), None),
    Case_("not-k-inductive", lambda: wrapping_counter(31), lambda s: Invariant(n(s) != 31), None),
    Case_("hist-never-decreases", wrapping_counter, lambda s: StepInvariant(Next(n(s)) >= n(s)), 4),
    Case_("hist-decreases-only-to-0", wrapping_counter,
          lambda s: StepInvariant(~(Next(n(s)) < n(s)) | (Next(n(s)) == 0)), None),
    Case_("br-served", shop, lambda s: BoundedResponse(s.fired("order"), s.fired("serve"), 3), None),
    Case_("br-dawdling", lambda: shop(dawdles=True),
          lambda s: BoundedResponse(s.fired("order"), s.fired("serve"), 3), 4),  # order + 3 tidy-ups
    Case_("br-closed", lambda: shop(open_=False),
          lambda s: BoundedResponse(s.fired("order"), s.fired("serve"), 3), 1),  # comes to rest owing
    Case_("br-closed-street", lambda: shop(open_=False, street=True),  # stuck while the street goes on
          lambda s: BoundedResponse(s.fired("order"), s.fired("serve"), 3, s.fired("serve")), 1),
    Case_("br-served-street", lambda: shop(street=True),
          lambda s: BoundedResponse(s.fired("order"), s.fired("serve"), 3, s.fired("serve")), None),
]
BY_NAME = {c.name: c for c in CASES}


def expect(case_: Case_, verdict: Verdict, engine: str) -> None:
    """The verdict is right for the case: a replaying counterexample of minimal depth, or a
    proof whose certificate the checker accepts again (bmc: Unknown instead of a proof; tail:
    a replaying counterexample to a bounded response, Unknown otherwise)."""
    if engine == "lemmas":  # proves only what the lemmas make 1-inductive; never reports a violation
        assert not isinstance(verdict, Violated), verdict
        if case_.depth is not None or isinstance(verdict, Unknown):
            assert isinstance(verdict, Unknown), verdict
            return
    if engine == "tail" and (case_.depth is None or case_.problem().task.restart is None):
        assert isinstance(verdict, Unknown), verdict  # bounded responses' counterexamples only, never a proof
        return
    if case_.depth is not None:
        assert isinstance(verdict, Violated), verdict
        steps = len(verdict.trace.steps)  # tail: a replayed trace, not always of minimal depth
        assert steps == case_.depth or (engine == "tail" and steps > case_.depth), \
            [s.action for s in verdict.trace.steps]
        task = case_.problem().task
        states = replay(task.system, task.bad, [s.instance for s in verdict.trace.steps])
        interp = Interpreter(task.system)
        assert not any(interp.holds(task.bad, s) for s in states[:-1]), "the trace passes a bad state earlier"
        return
    if engine == "bmc":
        assert isinstance(verdict, Unknown) and "not a proof" in verdict.reason, verdict
        return
    assert isinstance(verdict, Proved), verdict
    assert verdict.certificate.checked
    task = case_.problem().task
    if verdict.certificate.kind in ("ranking", "enumeration"):  # enumeration: re-checked by re-enumerating
        return
    sliced = cone_of_influence(task.system, task.bad)
    assert check_certificate(SafetyTask(sliced.system, sliced.predicate), verdict.certificate.smtlib).ok


# ---- per engine ---------------------------------------------------------------------------------


def test_bmc_finds_the_minimal_depth_counterexample_that_replays() -> None:
    case_ = BY_NAME["reaches-5-at-depth-5"]
    verdict = ENGINES["bmc"](case_.problem(), BUDGET)
    expect(case_, verdict, "bmc")
    assert isinstance(verdict, Violated)
    assert [s.action for s in verdict.trace.steps] == ["inc"] * 5
    assert verdict.trace.steps[-1].state["M.n"] == 5 and verdict.trace.property == case_.name


def test_bmc_below_the_depth_of_the_violation_is_unknown_not_proved() -> None:
    verdict = ENGINES["bmc"](BY_NAME["reaches-5-at-depth-5"].problem(), Budget(timeout=20, depth=4))
    assert isinstance(verdict, Unknown) and "up to depth 4" in verdict.reason


@pytest.mark.parametrize("name, k", [("1-inductive", 1), ("2-inductive", 2), ("3-inductive", 3)])
def test_kind_proves_k_inductive_properties_with_their_k(name: str, k: int) -> None:
    verdict = ENGINES["kind"](BY_NAME[name].problem(), BUDGET)
    expect(BY_NAME[name], verdict, "kind")
    assert isinstance(verdict, Proved)
    assert verdict.certificate.kind == "k-inductive" and verdict.certificate.size == k


def test_kind_gives_up_on_a_property_that_is_not_k_inductive_for_small_k() -> None:
    """n ≠ 31 holds, but 27 unreachable good states 4 -> 5 -> ... -> 30 lead to 31."""
    verdict = ENGINES["kind"](BY_NAME["not-k-inductive"].problem(), Budget(timeout=20, depth=8))
    assert isinstance(verdict, Unknown) and "not k-inductive up to k=8" in verdict.reason


def test_pdr_proves_the_property_that_is_not_k_inductive() -> None:
    case_ = BY_NAME["not-k-inductive"]
    verdict = ENGINES["pdr"](case_.problem(), Budget(timeout=20, depth=8))
    expect(case_, verdict, "pdr")
    assert isinstance(verdict, Proved) and verdict.certificate.kind == "inductive-invariant"


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", [c.name for c in CASES if c.name != "not-k-inductive"])
def test_every_engine_gets_every_toy_right(engine: str, name: str) -> None:
    expect(BY_NAME[name], ENGINES[engine](BY_NAME[name].problem(), BUDGET), engine)


def test_a_bounded_response_carries_only_the_interference_and_steps_of_its_cone() -> None:
    """Weather and street traffic neither restart the count nor keep a stuck shop "busy": the
    monitor's cone drops them, and the stuck closed shop is caught although the street goes on."""
    system = shop(open_=False, street=True)
    task = to_safety(system, BoundedResponse(system.fired("order"), system.fired("serve"), 3, system.fired("serve")))
    kept = {v.name for v in cone_of_influence(task.system, task.bad).system.variables}
    assert not {"Street.cars", "Street.rain"} & kept, kept
    assert {"Customer.waiting", "Shop.open"} <= kept


def test_the_explicit_engine_also_proves_what_only_pdr_proves() -> None:
    case_ = BY_NAME["not-k-inductive"]
    verdict = ENGINES["explicit"](case_.problem(), BUDGET)
    expect(case_, verdict, "explicit")
    assert isinstance(verdict, Proved) and verdict.certificate.size == 4  # the four reachable states


TINY = Budget(timeout=0.001, depth=10)
PROVABLE = ["1-inductive", "3-inductive", "not-k-inductive", "hist-decreases-only-to-0", "br-served"]


@pytest.mark.parametrize("engine", ["bmc", "explicit", "kind", "lemmas", "pdr"])
def test_a_tiny_budget_never_gives_proved(engine: str) -> None:
    for name in PROVABLE:
        verdict = ENGINES[engine](BY_NAME[name].problem(), TINY)
        assert not isinstance(verdict, Proved), f"{engine} proved {name} within {TINY.timeout} s: {verdict}"
        assert isinstance(verdict, Unknown) and verdict.reason


def test_a_tiny_budget_gives_unknown_or_a_genuine_counterexample() -> None:
    for engine in sorted(ENGINES):
        for name in ("reaches-5-at-depth-5", "br-closed"):
            verdict = ENGINES[engine](BY_NAME[name].problem(), TINY)
            if isinstance(verdict, Violated):
                expect(BY_NAME[name], verdict, engine)
            else:
                assert isinstance(verdict, Unknown), verdict


# ---- the portfolio --------------------------------------------------------------------------------


def _toy_formula(name: str) -> Callable[[BuiltModel], Formula]:
    return lambda bm: BY_NAME[name].formula(bm.system)


def test_the_portfolio_verdict_is_consistent_with_the_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check`` on toy properties (the toy system stands in for the built model)."""
    names = ["reaches-5-at-depth-5", "3-inductive", "not-k-inductive", "br-dawdling"]
    systems = {name: BY_NAME[name].system() for name in names}
    current: dict[str, System] = {}

    def fake_build(scenario: Scenario) -> BuiltModel:
        return BuiltModel(scenario=scenario, variant=get_variant("secmp0007"), model=cast(Secmp0007, None),
                          system=current["system"])

    monkeypatch.setattr(portfolio, "build", fake_build)
    for name in names:
        current["system"] = systems[name]
        prop = Property(name, "toy", "INV", "toy", _toy_formula(name))
        [outcome_] = check_module.check(Scenario(), [prop], "portfolio", Budget(timeout=20, depth=8), workers=2)
        verdict = outcome_.verdict
        engines = {e: ENGINES[e](BY_NAME[name].problem(), Budget(timeout=20, depth=8))
                   for e in check_module.PORTFOLIO}
        definitive = {v.verdict for v in engines.values() if v.verdict != "unknown"}
        assert len(definitive) == 1, engines  # the engines never contradict each other
        assert verdict.verdict in definitive, (verdict, engines)
        expect(BY_NAME[name], verdict, verdict.engine)


# ---- REACH on the explicit engine -----------------------------------------------------------------


def test_reach_proved_when_the_target_is_always_reachable() -> None:
    system = wrapping_counter()
    verdict = explicit.check_reach(system, Reach(system.var("M.n") == 0), "REACH", (), (), BUDGET)
    assert isinstance(verdict, Proved), verdict
    assert verdict.certificate.checked and verdict.certificate.size == 4


def test_reach_violated_by_an_attacker_who_strands_the_system() -> None:
    """Legitimate steps cannot undo a jam; the shortest stranded state is 'tick, jam' (jamming
    at n = 0 leaves the system on its target)."""
    system = jammable_counter()
    verdict = explicit.check_reach(system, Reach(system.var("M.n") == 0), "REACH", ("han_mitm",), (), BUDGET)
    assert isinstance(verdict, Violated), verdict
    assert [s.action for s in verdict.trace.steps] == ["tick", "jam"]
    assert verdict.trace.steps[-1].state == {"M.n": 1, "Attacker.jammed": True}
    replay(system, None, [s.instance for s in verdict.trace.steps])


def test_reach_counts_only_legitimate_recovery() -> None:
    """Only the attacker can unjam: counted as legitimate, that recovery makes REACH hold."""
    system = jammable_counter()
    target = system.var("M.n") == 0
    verdict = explicit.check_reach(system, Reach(target, ("system", "environment", "attacker")), "REACH",
                                   ("han_mitm",), (), BUDGET)
    assert isinstance(verdict, Proved), verdict
    assert verdict.certificate.size == 8  # n in 0..3, jammed or not


def test_a_violation_keeps_its_trace_when_bmc_cannot_re_derive_it_within_its_share() -> None:
    """The canonical trace is BMC's when BMC re-derives it within a tenth of the engine's units,
    and the winner's own (replayed) trace otherwise: the verdict never waits on a BMC search the
    winning engine was needed for."""
    from otaproof.properties.jobs import CANONICAL_SHARE, canonical, canonical_budget

    case_ = BY_NAME["reaches-5-at-depth-5"]
    found = ENGINES["explicit"](case_.problem(), BUDGET)
    assert isinstance(found, Violated)
    assert canonical(case_.problem(), found, BUDGET).trace == ENGINES["bmc"](case_.problem(), BUDGET).trace
    starved = Budget(timeout=60, rlimit=CANONICAL_SHARE)  # BMC's share: 1 Z3 unit, too few for any query
    assert canonical(case_.problem(), found, starved) is found
    share = canonical_budget(Budget(timeout=100, rlimit=2_000_000_000), 30, 40.0)
    assert (share.depth, share.rlimit, share.timeout) == (30, 200_000_000, 60.0)
    assert canonical_budget(Budget(rlimit=0), 3, 0.0).rlimit == 0
