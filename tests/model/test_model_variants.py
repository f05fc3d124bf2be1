"""Design variants: each builds under every threat and fault model, and changes what it should."""

from __future__ import annotations

import pytest

from otaproof.model.config import FAULTS, THREATS, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import REGISTRY, build
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import run_engine
from otaproof.properties.verdict import Budget, Violated

BUDGET = Budget(timeout=60, depth=4)


@pytest.mark.parametrize("variant", sorted(REGISTRY))
def test_every_variant_builds_under_every_threat_and_fault(variant: str) -> None:
    b = build(Scenario(variant=variant, threats=frozenset(THREATS), faults=frozenset(FAULTS)))
    assert b.system.name == variant and b.system.instances


def violation(variant: str, pid: str) -> Violated:
    verdict = run_engine(build(Scenario(variant=variant)), get_property(pid), "bmc", BUDGET)
    assert isinstance(verdict, Violated), verdict
    return verdict


def test_pre_secmp0007_has_no_ota_and_an_installer_can_install_unlisted_firmware() -> None:
    b = build(Scenario(variant="pre-secmp0007"))
    for request in ("SR11_4_update_PPMID_firmware", "SR11_1_update_firmware", "SR11_3_activate_firmware"):
        assert request in b.system.actions and not b.system.instances_of(request)  # withdrawn, still named
    trace = violation("pre-secmp0007", "P-CPL").trace
    assert len(trace.steps) == 1 and trace.steps[0].action.startswith("LOCAL_installer_update[")


def test_gateway_screening_allows_only_screened_local_updates() -> None:
    b = build(Scenario(variant="gateway-screening", threats=frozenset({"local_physical"})))
    local = [a for a, d in b.system.actions.items() if d.category == "local_update" and b.system.instances_of(a)]
    assert local == ["LOCAL_screened_update[P1]"]
    trace = violation("gateway-screening", "P-LOCAL-BANNED").trace  # local updates exist, by design
    assert trace.steps[-1].action == "LOCAL_screened_update[P1]"


@pytest.mark.parametrize("variant", ["geo-local-daily-alert", "geo-local-hub-stores"])
def test_geo_proposals_let_a_local_update_outdate_the_smi(variant: str) -> None:
    trace = violation(variant, "P-SMI").trace
    assert trace.steps[-1].action == "LOCAL_installer_update[P1]"
    b = build(Scenario(variant=variant))
    assert not b.system.instances_of("LOCAL_installer_update[H1]")  # the proposal concerns PPMIDs


def test_hub_stores_answers_version_reads_from_its_store() -> None:
    b = build(Scenario(variant="geo-local-hub-stores"))
    assert "CH_answer_version_read" in b.system.actions and "CH_store_version" in b.system.actions


def test_daily_alert_reports_a_local_update_to_the_smi_once_faults_stop() -> None:
    verdict = run_engine(build(Scenario(variant="geo-local-daily-alert")), get_property("P-SMI-BOUNDED"), "bmc",
                         Budget(timeout=60, depth=6))
    assert not isinstance(verdict, Violated), verdict  # (a proof needs the portfolio; see the matrix)


def test_hub_stores_alone_leaves_the_smi_stale_for_ever() -> None:
    trace = violation("geo-local-hub-stores", "P-SMI-BOUNDED").trace
    assert "LOCAL_installer_update[P1]" in [s.action for s in trace.steps]
    final = trace.steps[-1].state  # the system has come to rest with the SMI still on the old version
    assert final["DSP.SMI[P1].DeviceFirmwareVersion"] != final["PPMID.P1.running"]


def test_ihd_in_scope_adds_a_second_ota_client() -> None:
    assert build(Scenario(variant="ihd-in-scope")).model.ppmids == ("P1", "P2")


def test_removing_an_unknown_action_names_the_known_ones() -> None:
    b = build(Scenario())
    with pytest.raises(ModelError, match=r"unknown action 'SR99_submit'.*SR11_4_update_PPMID_firmware"):
        b.model.b.remove_action("SR99_submit")


@pytest.mark.parametrize("variant,stores", [("geo-local-hub-stores", "CH_store_version"),
                                            ("geo-local-daily-alert", "CH_daily_version_alert")])
def test_both_proposals_make_the_hub_keep_a_firmware_record(variant: str, stores: str) -> None:
    """Q4: P-HUB-TRANSIENT's "keeps no firmware record" part fails as soon as the hub records a version."""
    trace = violation(variant, "P-HUB-TRANSIENT").trace
    assert [s.action for s in trace.steps] == ["LOCAL_installer_update[P1]", stores]


def test_the_approved_hub_drops_every_image_within_the_exchange() -> None:
    verdict = run_engine(build(Scenario()), get_property("P-HUB-TRANSIENT"), "lemmas", Budget(timeout=60))
    assert verdict.verdict == "proved", verdict


def test_a_read_for_a_ppmid_waits_until_its_ota_exchange_ends() -> None:
    """With one message per HAN queue a read crossing the exchange would deadlock both (the hub
    could not answer the query, the PPMID could not answer the read): the hub holds it back."""
    from otaproof.model.explicit import Interpreter
    b = build(Scenario())
    interp, system = Interpreter(b.system), b.system
    state = interp.initial_state()

    def do(action: str, **params: object) -> None:
        nonlocal state
        index = next(i.index for i in system.instances if i.action == action and dict(i.params) == params)
        assert index in interp.enabled(state), action
        state = interp.step(state, index)

    do("SR11_4_update_PPMID_firmware", by="S1", d="P1", img="PPMID_v1", hash_ok=True, version_ok=True, future=False)
    do("CH_receive_CS05c", d="P1")
    do("query_next_image[P1]", d="P1")
    do("SR11_2_read_firmware_version", by="S1", d="P1")
    relay = next(i.index for i in system.instances
                 if i.action == "CH_relay_to_device" and dict(i.params) == {"d": "P1"})
    assert relay not in interp.enabled(state)
    for action in ("CH_answer_query_next_image", "verify_image[P1]", "CH_receive_upgrade_end",
                   "activate_at_upgrade_time[P1]"):
        do(action, d="P1")
    assert relay in interp.enabled(state)  # the exchange is over: the read goes on


def test_the_daily_alert_goes_at_most_once_between_day_ticks() -> None:
    """Proposal (b) with three versions: two local updates in a day give one alert until midnight."""
    from otaproof.model.config import Parameters
    from otaproof.model.explicit import Interpreter
    b = build(Scenario("geo-local-daily-alert", parameters=Parameters(versions=3)))
    interp, system = Interpreter(b.system), b.system
    state = interp.initial_state()

    def index(action: str, **params: object) -> int:
        return next(i.index for i in system.instances if i.action == action and dict(i.params) == params)

    def do(action: str, **params: object) -> None:
        nonlocal state
        assert index(action, **params) in interp.enabled(state), action
        state = interp.step(state, index(action, **params))

    do("LOCAL_installer_update[P1]", img="PPMID_v2")
    do("CH_daily_version_alert", d="P1")
    do("DSP_receive_CS08_response", d="P1")
    do("LOCAL_installer_update[P1]", img="PPMID_v3")
    assert index("CH_daily_version_alert", d="P1") not in interp.enabled(state)
    do("DAY_tick")
    do("CH_daily_version_alert", d="P1")
    assert system.var("DSP.unsolicited_alerts_today[P1]").sort.decode(
        state[system.var("DSP.unsolicited_alerts_today[P1]").index]) == 1


@pytest.mark.parametrize("variant,threats,proved", [("secmp0007", frozenset(), True),
                                                    ("geo-local-daily-alert", frozenset(), True),
                                                    ("secmp0007", frozenset({"han_mitm"}), False)])
def test_alert_budget_per_device(variant: str, threats: frozenset[str], proved: bool) -> None:
    """Q5, per device: the approved design raises no unsolicited alert, proposal (b) one a day; an
    attacker on the HAN makes the hub relay as many spoofed activation reports as it likes."""
    verdict = run_engine(build(Scenario(variant, threats)), get_property("P-ALERT-BUDGET"),
                         "pdr" if proved else "bmc", Budget(timeout=60, depth=6))
    if proved:
        assert verdict.verdict == "proved", verdict
    else:
        assert isinstance(verdict, Violated), verdict
        assert [s.action for s in verdict.trace.steps].count("CH_relay_to_DSP") == 2
