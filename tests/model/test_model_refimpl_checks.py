"""Three behaviours the model once lacked and its reference implementation has (each the target
of a seeded mutant): the CPL entry's FirmwareVersion, the hub's image-type check at Query Next
Image, and the PPMID's upgrade time. Each is driven end to end in the explicit semantics."""

from __future__ import annotations

import pytest

from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE


class Run:
    """Drive the model by action name and (a subset of its) parameters; one instance must match."""

    def __init__(self, faults: frozenset[str] = frozenset(), threats: frozenset[str] = frozenset(),
                 parameters: Parameters | None = None) -> None:
        self.system = build(Scenario(threats=threats, faults=faults, parameters=parameters or Parameters())).system
        self.interp = Interpreter(self.system)
        self.state: State = self.interp.initial_state()

    def do(self, action: str, **params: object) -> str:
        [inst] = [i for i in self.system.instances
                  if i.action == action and all(dict(i.params).get(k) == v for k, v in params.items())]
        branch = self.interp.branch_taken(self.state, inst.index)
        assert branch is not None, f"{inst.label} is not enabled"
        self.state = self.interp.step(self.state, inst.index)
        return branch

    def value(self, name: str) -> object:
        v = self.system.var(name)
        return v.sort.decode(self.state[v.index])


def _sr11_4(r: Run, img: str, *, version_ok: bool = True, future: bool = False) -> str:
    return r.do("SR11_4_update_PPMID_firmware", by="S1", d="P1", img=img, hash_ok=True, version_ok=version_ok,
                future=future)


def _transfer(r: Run, img: str, future: bool) -> None:
    """SR 11.4 of a listed image up to the PPMID's Upgrade End Request."""
    r.do("CPL_list_entry", img=img)
    assert _sr11_4(r, img, future=future) == "accepted"
    r.do("CH_receive_CS05c", d="P1")
    r.do("query_next_image[P1]")
    assert r.do("CH_answer_query_next_image", d="P1") == "image_block"
    assert r.do("verify_image[P1]") == "image_held"


# --- the CPL entry's FirmwareVersion ------------------------------------------------------------
def test_a_listed_hash_stated_as_another_version_is_refused_and_changes_nothing() -> None:
    r = Run()
    before = r.state
    assert _sr11_4(r, "PPMID_v1", version_ok=False) == "rejected_version_mismatch"
    assert r.do("SR11_1_update_firmware", by="S1", d="H1", img="HCALCS_v1", hash_ok=True,
                version_ok=False) == "rejected_version_mismatch"
    assert r.state == before


def test_the_cpl_listing_is_checked_before_the_version() -> None:
    r = Run()
    r.do("CPL_remove_entry", img="PPMID_v1")
    assert _sr11_4(r, "PPMID_v1", version_ok=False) == "rejected_not_on_cpl"


def test_a_wrong_hash_is_refused_before_the_version_is_looked_at() -> None:
    # one misstatement per request: the DSP checks the hash first, so both wrong is the hash case
    names = {i.label for i in Run().system.instances if i.action == "SR11_4_update_PPMID_firmware"}
    assert not any("hash_ok=False, version_ok=False" in n for n in names)
    assert any("hash_ok=True, version_ok=False" in n for n in names)


# --- the hub's image-type check ------------------------------------------------------------------
def test_the_hub_refuses_an_image_of_another_image_type_with_ccs08_outcome_1() -> None:
    r = Run()
    r.do("CPL_list_entry", img="PPMID_otherType")
    assert _sr11_4(r, "PPMID_otherType") == "accepted"  # the CPL lists it for the PPMID
    r.do("CH_receive_CS05c", d="P1")
    r.do("query_next_image[P1]")
    assert r.do("CH_answer_query_next_image", d="P1") == "image_type_mismatch"
    assert r.value("CH.ota_image[P1]") == "none" and r.value("CH->P1.len") == 0  # no Image Block
    assert r.value("CH->DSP[P1][0].outcome") == "image_discarded"
    assert r.do("DSP_receive_CCS08_alert", d="P1") == "transfer_failed"
    assert r.value("PPMID.P1.running") == "PPMID_v1"


def test_the_ppmid_refuses_an_image_of_another_image_type_itself() -> None:
    # an attacker on the HAN puts it into an Image Block: the device's own check refuses it
    r = Run(threats=frozenset({"han_mitm"}))
    _transfer_until_block(r)
    r.do("HAN_substitute_image[P1]", img="PPMID_otherType")
    assert r.do("verify_image[P1]") == "hardware_mismatch_discarded"
    assert r.value("P1->CH[0].outcome") == "invalid_image"


def _transfer_until_block(r: Run) -> None:
    r.do("CPL_list_entry", img="PPMID_v2")
    assert _sr11_4(r, "PPMID_v2") == "accepted"
    r.do("CH_receive_CS05c", d="P1")
    r.do("query_next_image[P1]")
    r.do("CH_answer_query_next_image", d="P1")


def test_an_image_no_ppmid_can_run_is_not_a_recovery_target() -> None:
    strand = next(p for p in CATALOGUE if p.id == "P-NO-STRAND")
    bm = build(Scenario())
    [formula] = strand.formula(bm)  # type: ignore[misc]
    assert "otherType" not in repr(formula) and "PPMID_v2" in repr(formula)


# --- the PPMID's upgrade time ---------------------------------------------------------------------
def test_a_future_upgrade_time_makes_the_ppmid_wait_then_activate() -> None:
    r = Run()
    _transfer(r, "PPMID_v2", future=True)
    assert r.value("CH.ota_upgrade_time_future[P1]") is True
    assert r.do("CH_receive_upgrade_end", d="P1") == "success_upgrade_end_response"
    assert r.value("CH.ota_upgrade_time_future[P1]") is False  # the hub keeps nothing after the transfer
    assert r.value("CH->P1[0].future") is True
    assert r.do("activate_at_upgrade_time[P1]") == "scheduled"
    assert (r.value("PPMID.P1.running"), r.value("PPMID.P1.held"), r.value("PPMID.P1.scheduled")) \
        == ("PPMID_v1", "PPMID_v2", True)
    assert r.value("P1->CH.len") == 0  # no CS09 yet
    assert r.value("DSP.SMI[P1].DeviceFirmwareVersionStatus") == "update_in_progress"
    assert r.do("activate_at_scheduled_upgrade_time[P1]") == "ok"
    assert (r.value("PPMID.P1.running"), r.value("PPMID.P1.held"), r.value("PPMID.P1.scheduled")) \
        == ("PPMID_v2", "none", False)
    r.do("DSP_receive_CCS08_alert", d="P1")
    r.do("CH_relay_to_DSP", d="P1")
    r.do("DSP_receive_CS09_alert", d="P1")
    assert r.value("DSP.SMI[P1].DeviceFirmwareVersion") == "PPMID_v2"


def test_an_upgrade_time_of_now_activates_at_once() -> None:
    r = Run()
    _transfer(r, "PPMID_v2", future=False)
    r.do("CH_receive_upgrade_end", d="P1")
    assert r.do("activate_at_upgrade_time[P1]") == "activated"
    assert r.value("PPMID.P1.running") == "PPMID_v2"


def test_a_waiting_ppmid_refuses_a_duplicated_upgrade_end_response() -> None:
    r = Run(faults=frozenset({"duplication"}), parameters=Parameters(capacity=2))
    _transfer(r, "PPMID_v2", future=True)
    r.do("CH_receive_upgrade_end", d="P1")
    r.do("NET_duplication", channel="CH->P1")
    assert r.do("activate_at_upgrade_time[P1]") == "scheduled"
    assert r.do("activate_at_upgrade_time[P1]") == "no_image_held"
    assert r.value("PPMID.P1.scheduled") is True


@pytest.mark.parametrize("reset", ["POWER_loss_device[P1]", "LOCAL_installer_update[P1]"])
def test_power_loss_or_a_local_update_drops_the_wait(reset: str) -> None:
    r = Run(faults=frozenset({"power"}), parameters=Parameters(local_updates=True))
    _transfer(r, "PPMID_v2", future=True)
    r.do("CH_receive_upgrade_end", d="P1")
    r.do("activate_at_upgrade_time[P1]")
    r.do(reset, **({"img": "PPMID_v2"} if reset.startswith("LOCAL") else {}))
    assert (r.value("PPMID.P1.scheduled"), r.value("PPMID.P1.held")) == (False, "none")
    [inst] = [i for i in r.system.instances if i.action == "activate_at_scheduled_upgrade_time[P1]"]
    assert r.interp.branch_taken(r.state, inst.index) is None



def test_a_new_image_notify_ends_the_wait_for_the_upgrade_time() -> None:
    # ZigBee OTA: a new offer replaces the held image (found by a generated conformance test: a
    # spoofed CS09 lets the DSP accept a second SR 11.4 while the PPMID waits)
    r = Run(threats=frozenset({"han_mitm"}))
    r.do("CPL_list_entry", img="PPMID_v2")
    assert _sr11_4(r, "PPMID_v2", future=True) == "accepted"
    r.do("CH_receive_CS05c", d="P1")
    r.do("HAN_spoof_report[P1]", img="PPMID_v2")
    r.do("CH_relay_to_DSP", d="P1")
    r.do("DSP_receive_CS09_alert", d="P1")
    r.do("query_next_image[P1]")
    assert r.do("CH_answer_query_next_image", d="P1") == "image_block"
    assert r.do("verify_image[P1]") == "image_held"
    r.do("CH_receive_upgrade_end", d="P1")
    r.do("DSP_receive_CCS08_alert", d="P1")
    assert r.do("activate_at_upgrade_time[P1]") == "scheduled"
    assert _sr11_4(r, "PPMID_v2") == "accepted"
    r.do("CH_receive_CS05c", d="P1")
    r.do("query_next_image[P1]")
    assert (r.value("PPMID.P1.held"), r.value("PPMID.P1.scheduled")) == ("none", False)
