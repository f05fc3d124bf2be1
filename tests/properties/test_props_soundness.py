"""Soundness regressions: each toy here made an engine report a false verdict before its fix.

* REACH: a legitimate step with the same successor as an attacker's step counts (the explicit
  engine used to keep one instance per edge and report "violated at depth 0").
* A REACH counterexample is confirmed on the full model (no legitimate path from its end state
  to the target), and a ranking proof carries a certificate re-checked in Z3.
* An out-of-domain assignment is a model error in every engine, never a disabled step that a
  proof can rely on.
* Cone-of-influence slicing keeps an instance whose stutter step moves a monitor (a step
  property read every step), so PDR no longer proves a false step property.
"""

from __future__ import annotations

import pytest

from otaproof.model.config import Scenario
from otaproof.model.lang import BOOL, IntSort, ModelError, Next
from otaproof.model.slicing import STUTTER, cone_instances, cone_of_influence
from otaproof.model.system import System, SystemBuilder, assign, case
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.certificate import check_certificate
from otaproof.properties.engines import explicit, kind, pdr, recovery
from otaproof.properties.engines.bmc import check as bmc_check
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import Invariant, Reach, SafetyTask, StepInvariant, to_safety
from otaproof.properties.jobs import parts
from otaproof.properties.verdict import Budget, ModelSlip, Proved, Unknown, Violated

BUDGET = Budget(timeout=60, depth=8)


# ---- REACH: every instance of an edge counts --------------------------------------------------


def bump_and_tick(tick: bool = True) -> System:
    """n in 0..2; an attacker's ``bump`` (declared first) and the system's ``tick`` both take n
    from 0 to 1 (``tick=False`` leaves the system without its step)."""
    b = SystemBuilder("bump")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 2), 0)
    m.action("bump", lambda: case(n == 0, assign(n, 1)), role="attacker", threat="han_mitm")
    if tick:
        m.action("tick", lambda: case(n == 0, assign(n, 1)))
    return b.build(threats=("han_mitm",))


def reach_one(system: System) -> Reach:
    n = next(v for v in system.variables if v.name == "M.n")
    return Reach(n == 1, subject="n = 1")


def test_a_legitimate_step_sharing_an_edge_with_an_attackers_step_reaches_the_target() -> None:
    system = bump_and_tick()
    v = explicit.check_reach(system, [reach_one(system)], "toy", ("han_mitm",), (), BUDGET)
    assert isinstance(v, Proved), v
    assert v.certificate.kind == "ranking" and v.certificate.checked and v.certificate.check_seconds > 0


def test_without_the_legitimate_step_the_initial_state_is_stranded_and_confirmed() -> None:
    system = bump_and_tick(tick=False)
    v = explicit.check_reach(system, [reach_one(system)], "toy", ("han_mitm",), (), BUDGET)
    assert isinstance(v, Violated) and v.trace.steps == [], v


def test_the_ranking_certificate_is_a_formula_the_checker_rejects_when_corrupted() -> None:
    from otaproof.properties.certificate import check_ranking_certificate

    system = bump_and_tick()
    formula = reach_one(system)
    v = explicit.check_reach(system, [formula], "toy", ("han_mitm",), (), BUDGET)
    assert isinstance(v, Proved)
    [layers] = [v.certificate.smtlib]
    legit = formula.legitimate_instances(system)
    assert check_ranking_certificate(system, formula.target, legit, layers).ok
    # every state at rank 0 (on the target): the checker must refuse it
    wrong = "(ranking\n#b00\n)"
    assert not check_ranking_certificate(system, formula.target, legit, wrong).ok
    # a certificate with the attacker's step as the only way down is not a ranking of legitimate steps
    alone = bump_and_tick(tick=False)
    assert not check_ranking_certificate(alone, formula.target, reach_one(alone).legitimate_instances(alone),
                                         layers).ok


def test_a_stranding_claim_is_refuted_when_a_legitimate_path_exists() -> None:
    from otaproof.properties.certificate import confirm_stranded

    system = bump_and_tick()
    formula = reach_one(system)
    assert confirm_stranded(system, formula, (), BUDGET) is not None  # tick recovers: no stranding
    alone = bump_and_tick(tick=False)
    assert confirm_stranded(alone, reach_one(alone), (), BUDGET) is None


# ---- out-of-domain assignments are model errors ---------------------------------------------


def overflowing() -> tuple[System, SafetyTask]:
    """n in 0..3, hit boolean, one unguarded ``inc: n := n + 1, hit := (n == 3)``. At n = 3 the
    step assigns 4: a modelling slip, which the Z3 encoding used to read as "inc disabled", so
    ``¬hit`` was proved."""
    b = SystemBuilder("overflow")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    hit = m.var("hit", BOOL, False)
    m.action("inc", lambda: case(True, assign(n, n + 1), assign(hit, n == 3)))
    system = b.build()
    return system, to_safety(system, Invariant(~hit))


@pytest.mark.parametrize("engine", ["lemmas", "pdr", "kind", "bmc", "explicit"])
def test_an_out_of_domain_assignment_is_a_model_error_with_its_trace(engine: str) -> None:
    checks = {"lemmas": pdr.check_by_lemmas, "pdr": pdr.check, "kind": kind.check, "bmc": bmc_check,
              "explicit": explicit.check}
    _, task = overflowing()
    if engine == "lemmas":  # the lemma proof never finds traces: it gives up, and never proves
        assert isinstance(checks[engine](Problem(task, "toy", (), ()), BUDGET), Unknown)
        return
    with pytest.raises(ModelSlip) as caught:
        checks[engine](Problem(task, "toy", (), ()), BUDGET)
    slip = caught.value
    assert isinstance(slip, ModelError) and "model error" in str(slip)
    assert "M.n := 4" in str(slip) and "M.inc" in str(slip)
    assert len(slip.trace.steps) == 3  # n = 3 after three steps; the fourth assigns 4


def test_a_guarded_counter_has_no_slip_and_is_proved() -> None:
    b = SystemBuilder("guarded")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    hit = m.var("hit", BOOL, False)
    m.action("inc", lambda: case(n < 3, assign(n, n + 1), assign(hit, n == 3)))
    system = b.build()
    v = pdr.check(Problem(to_safety(system, Invariant(~hit)), "toy", (), ()), BUDGET)
    assert isinstance(v, Proved), v


def test_recovery_never_proves_a_target_reached_only_through_an_out_of_domain_step() -> None:
    b = SystemBuilder("overflow-reach")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    m.action("inc", lambda: case(True, assign(n, n + 1)))
    system = b.build()
    formula = Reach(n == 3, subject="n = 3")
    with pytest.raises(ModelSlip):
        explicit.check_reach(system, [formula], "toy", (), (), BUDGET)
    assert not isinstance(recovery.check(system, [formula], BUDGET), Violated)


# ---- slicing with a monitor that moves on every step ------------------------------------------


def toggler() -> tuple[System, SafetyTask]:
    """``flip`` toggles x; ``idle`` toggles y and leaves x alone. The step property "every step
    toggles x" is false (one ``idle`` step), but ``idle`` writes nothing in the property's cone."""
    b = SystemBuilder("toggler")
    m = b.machine("M")
    x = m.var("x", BOOL, False)
    y = m.var("y", BOOL, False)
    m.action("flip", lambda: case(True, assign(x, ~x)))
    m.action("idle", lambda: case(True, assign(y, ~y)))
    system = b.build()
    return system, to_safety(system, StepInvariant(Next(x) != x))


def test_the_slice_keeps_an_instance_whose_stutter_moves_a_monitor() -> None:
    _, task = toggler()
    sliced = cone_of_influence(task.system, task.bad)
    kept = {task.system.instances[i].action for i in sliced.original_instance}
    assert kept == {"flip", "idle"}


def test_the_cones_instances_alone_are_the_slices_instances() -> None:
    """``cone_instances`` (the closure without building the slice, each instance's reads kept per
    model) keeps the instances the slice keeps, on every safety part of two models in turn."""
    for threats in (frozenset(), frozenset({"han_mitm"})):
        built = build(Scenario(threats=threats))
        for prop in CATALOGUE:
            for job in parts(built, prop):
                if isinstance(job, Problem):
                    sliced = cone_of_influence(job.task.system, job.task.bad)
                    expected = {i for i in sliced.original_instance if i != STUTTER}
                    assert cone_instances(job.task.system, job.task.bad) == expected, prop.id


@pytest.mark.parametrize("engine", ["pdr", "kind", "lemmas"])
def test_a_false_step_property_is_not_proved_on_the_slice(engine: str) -> None:
    checks = {"pdr": pdr.check, "kind": kind.check, "lemmas": pdr.check_by_lemmas}
    _, task = toggler()
    v = checks[engine](Problem(task, "toy", (), ()), BUDGET)
    assert not isinstance(v, Proved), v
    if engine != "lemmas":
        assert isinstance(v, Violated) and len(v.trace.steps) == 1, v


def test_the_certificate_checker_rejects_a_slice_invariant_on_the_full_model() -> None:
    _, task = toggler()
    assert not check_certificate(task, "(not monitor.violated@c)").ok


def test_bmc_finds_the_one_step_counterexample() -> None:
    _, task = toggler()
    v = bmc_check(Problem(task, "toy", (), ()), BUDGET)
    assert isinstance(v, Violated) and [s.action for s in v.trace.steps] == ["idle"], v

