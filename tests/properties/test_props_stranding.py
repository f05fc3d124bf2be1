"""P-NO-STRAND (REACH) on the SECMP0007 model: the one-step recovery proof, the explicit state
graph of the property's cone of influence, and what counts as a legitimate recovery."""

from __future__ import annotations

from otaproof.model.config import Scenario
from otaproof.model.lang import all_of, implies
from otaproof.model.slicing import constant_folded
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.certificate import check_recovery_certificate
from otaproof.properties.check import check, run_engine
from otaproof.properties.formulas import Reach, reach_slice
from otaproof.properties.trace import replay
from otaproof.properties.verdict import Budget, Proved, Unknown, Violated

STRAND = get_property("P-NO-STRAND")
BUDGET = Budget(timeout=60)


def test_banning_local_updates_strands_a_ppmid_after_a_change_to_an_unsupporting_supplier() -> None:
    [outcome] = check(Scenario("secmp0007"), [STRAND], "portfolio", BUDGET)
    v = outcome.verdict
    assert isinstance(v, Violated), v
    assert sorted(f"{s.action}({s.parameters})" for s in v.trace.steps) == [
        "CPL_list_entry({'img': 'PPMID_v2'})", "CoS_change_of_supplier({'new': 'S2'})"]
    end = v.trace.steps[-1].state
    assert end["DSP.registered_supplier"] == "S2" and end["PPMID.P1.running"] == "PPMID_v1"
    bm = build(Scenario("secmp0007"))
    replay(bm.system, None, [s.instance for s in v.trace.steps])  # the trace is a run of the full model


def test_a_supporting_new_supplier_leaves_nothing_stranded() -> None:
    """The same design with S2 supporting the firmware: every reachable state recovers (the
    explicit graph proves it; one-step recovery cannot, an OTA update takes many steps)."""
    bm = build(Scenario("secmp0007"))
    bm.model.supports_firmware["S2"] = True
    assert isinstance(run_engine(bm, STRAND, "recovery", BUDGET), Unknown)
    # the whole reachable graph of the cone (tens of thousands of states): a generous budget
    v = run_engine(bm, STRAND, "explicit", Budget(timeout=600))
    assert isinstance(v, Proved) and v.certificate.kind == "ranking" and v.certificate.checked, v


def test_an_installers_local_update_recovers_every_state_in_one_step() -> None:
    """pre-SECMP0007: the recovery proof (no state graph) and the explicit graph agree."""
    bm = build(Scenario("pre-secmp0007", frozenset({"han_mitm"})))
    v = run_engine(bm, STRAND, "recovery", BUDGET)
    assert isinstance(v, Proved) and v.certificate.kind == "one-step-recovery", v
    plain = build(Scenario("pre-secmp0007"))
    assert isinstance(run_engine(plain, STRAND, "explicit", BUDGET), Proved)


def test_the_recovery_checker_rejects_a_false_claim() -> None:
    """On the approved design no legitimate single step brings an outdated PPMID up to date."""
    for variant, recovers in (("secmp0007", False), ("pre-secmp0007", True)):
        bm = build(Scenario(variant))
        formulas = STRAND.formula(bm)
        assert isinstance(formulas, list)
        [formula] = formulas
        assert isinstance(formula, Reach)
        part = reach_slice(constant_folded(bm.system), formula)
        assert check_recovery_certificate(part.slice.system, part.target, part.legitimate).ok == recovers, variant


def test_legitimate_recovery_excludes_churn_cpl_changes_and_unsupporting_parties() -> None:
    bm = build(Scenario("gateway-screening", frozenset({"compromised_key"})))
    m = bm.model
    by_label = {i.label: m.legitimate_recovery(i) for i in bm.system.instances}
    assert not by_label["CoS_change_of_supplier(new=S2)"]
    assert not by_label["CPL_list_entry(img=PPMID_v2)"]
    request = "SR11_4_update_PPMID_firmware(by={}, d=P1, img=PPMID_v2, hash_ok=True, version_ok=True, future=False)"
    assert by_label[request.format("S1")]
    assert not by_label[request.format("S2")]
    assert not by_label[request.format("Attacker")]
    assert by_label["LOCAL_screened_update[P1](by=S1, img=PPMID_v2)"]
    assert not by_label["LOCAL_screened_update[P1](by=S2, img=PPMID_v2)"]
    assert by_label["DAY_tick()"] and by_label["activate_at_upgrade_time[P1](d=P1)"]


def test_the_target_is_the_newest_listed_image_that_fits() -> None:
    """Per PPMID: running at least every listed image of its model and hardware (hwB excluded)."""
    bm = build(Scenario("ihd-in-scope"))
    formulas = STRAND.formula(bm)
    assert isinstance(formulas, list) and all(isinstance(f, Reach) for f in formulas)
    reach = [f for f in formulas if isinstance(f, Reach)]
    assert [f.subject.split()[0] for f in reach] == ["P1", "P2"]
    m = bm.model
    expected = all_of(implies(m.listed[i], m.version_of(m.running["P1"]) >= v)
                      for i, v in (("PPMID_v1", 1), ("PPMID_v2", 2)))
    assert repr(reach[0].target) == repr(expected)
