"""The approved SECMP0007 flows run end to end in the explicit semantics (SR 11.4; SR 11.1 + 11.3)."""

from __future__ import annotations

from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.variants import build


class Run:
    """Drive the model by action name and parameters, like a test script of the process."""

    def __init__(self, threats: frozenset[str] = frozenset(), **params: object) -> None:
        self.built = build(Scenario(threats=threats, parameters=Parameters(**params)))  # type: ignore[arg-type]
        self.system = self.built.system
        self.interp = Interpreter(self.system)
        self.state: State = self.interp.initial_state()

    def do(self, action: str, **params: object) -> str:
        for inst in self.system.instances:
            if inst.action == action and dict(inst.params) == params:
                branch = self.interp.branch_taken(self.state, inst.index)
                assert branch is not None, f"{inst.label} is not enabled"
                self.state = self.interp.step(self.state, inst.index)
                return branch
        raise AssertionError(f"no instance {action}{params}")

    def value(self, name: str) -> object:
        v = self.system.var(name)
        return v.sort.decode(self.state[v.index])


def test_sr11_4_ppmid_update_reaches_the_smi() -> None:
    r = Run()
    r.do("CPL_list_entry", img="PPMID_v2")
    assert r.do("SR11_4_update_PPMID_firmware", by="S1", d="P1", img="PPMID_v2", hash_ok=True, version_ok=True,
                future=False) == "accepted"
    assert r.value("DSP.SMI[P1].DeviceFirmwareVersionStatus") == "update_in_progress"
    assert r.do("CH_receive_CS05c", d="P1") == "image_notify"
    r.do("query_next_image[P1]", d="P1")
    r.do("CH_answer_query_next_image", d="P1")
    assert r.do("verify_image[P1]", d="P1") == "image_held"
    assert r.do("CH_receive_upgrade_end", d="P1") == "success_upgrade_end_response"
    assert r.value("CH.ota_image[P1]") == "none"  # the hub transfers, it does not store
    assert r.do("DSP_receive_CCS08_alert", d="P1") == "transfer_success"
    assert r.do("activate_at_upgrade_time[P1]", d="P1") == "activated"
    assert r.value("PPMID.P1.running") == "PPMID_v2"
    r.do("CH_relay_to_DSP", d="P1")
    r.do("DSP_receive_CS09_alert", d="P1")
    assert r.value("DSP.SMI[P1].DeviceFirmwareVersion") == "PPMID_v2"
    assert r.value("DSP.SMI[P1].DeviceFirmwareVersionStatus") == "current"


def test_sr11_4_image_not_on_cpl_is_rejected_and_changes_nothing() -> None:
    r = Run()
    before = r.state
    assert r.do("SR11_4_update_PPMID_firmware", by="S1", d="P1", img="PPMID_v2", hash_ok=True, version_ok=True,
                future=False) == "rejected_not_on_cpl"
    assert r.state == before


def test_sr11_1_then_future_dated_sr11_3_activates_the_hcalcs() -> None:
    r = Run()
    r.do("CPL_list_entry", img="HCALCS_v2")
    assert r.do("SR11_1_update_firmware", by="S1", d="H1", img="HCALCS_v2", hash_ok=True,
                version_ok=True) == "accepted"
    r.do("CH_relay_to_device", d="H1")
    assert r.do("verify_image[H1]", d="H1") == "verification_successful"
    r.do("CH_relay_to_DSP", d="H1")
    assert r.do("DSP_receive_distribution_receipt", d="H1") == "verification_successful"
    assert r.do("SR11_3_activate_firmware", by="S1", d="H1", img="HCALCS_v2", future=True, signed_by="S1") == "accepted"
    r.do("CH_relay_to_device", d="H1")
    assert r.do("activate_on_CS06[H1]", d="H1") == "scheduled"
    assert r.value("HCALCS.H1.running") == "HCALCS_v1"
    assert r.do("activate_at_execution_time[H1]", d="H1") == "activated"
    assert r.value("HCALCS.H1.running") == "HCALCS_v2"
    r.do("CH_relay_to_DSP", d="H1")
    assert r.do("DSP_receive_CS06_response", d="H1") == "activation_success"
    assert r.value("DSP.SMI[H1].DeviceFirmwareVersion") == "HCALCS_v2"


def test_command_signed_before_change_of_supplier_is_still_accepted_until_cs02b() -> None:
    r = Run(threats=frozenset({"old_supplier"}))
    r.do("CPL_list_entry", img="HCALCS_v2")
    r.do("SR11_1_update_firmware", by="S1", d="H1", img="HCALCS_v2", hash_ok=True, version_ok=True)
    r.do("CH_relay_to_device", d="H1")
    r.do("verify_image[H1]", d="H1")
    r.do("CH_relay_to_DSP", d="H1")
    r.do("DSP_receive_distribution_receipt", d="H1")
    r.do("SR11_3_activate_firmware", by="S1", d="H1", img="HCALCS_v2", future=False, signed_by="S1")  # signed by S1 ...
    r.do("CoS_change_of_supplier", new="S2")                               # ... then S2 takes over
    r.do("CH_relay_to_device", d="H1")
    assert r.do("activate_on_CS06[H1]", d="H1") == "activated"  # anchor not yet replaced
    assert r.do("SR11_3_activate_firmware", by="S1", d="H1", img="HCALCS_v2", future=False, signed_by="S1") \
        == "rejected_not_authorised"


def test_dsp_refuses_a_cs06_signed_by_another_than_its_sender() -> None:
    """DUIS: the CS06 originator must be the sender. Honest suppliers only submit what they signed;
    under compromised_key a supplier's channel may carry another supplier's signature."""
    honest = Run()
    assert not [i for i in honest.system.instances_of("SR11_3_activate_firmware") if dict(i.params)["signed_by"] != "S1"
                and dict(i.params)["by"] == "S1"]
    r = Run(threats=frozenset({"compromised_key"}))
    assert r.do("SR11_3_activate_firmware", by="S1", d="H1", img="HCALCS_v1", future=False, signed_by="S2") \
        == "rejected_not_authorised"
    assert r.value("DSP.SMI[H1].DeviceFirmwareVersionStatus") == "current"
    assert r.do("SR11_3_activate_firmware", by="S1", d="H1", img="HCALCS_v1", future=False, signed_by="S1") \
        == "accepted"


def test_hub_refuses_hardware_mismatch_at_query_next_image_and_raises_ccs08() -> None:
    # ZigBee OTA: Query Next Image carries the hardware version; the hub ends the transfer (CCS08 outcome 2)
    r = Run()
    r.do("CPL_list_entry", img="PPMID_hwB")
    r.do("SR11_4_update_PPMID_firmware", by="S1", d="P1", img="PPMID_hwB", hash_ok=True, version_ok=True,
         future=False)
    r.do("CH_receive_CS05c", d="P1")
    r.do("query_next_image[P1]", d="P1")
    assert r.do("CH_answer_query_next_image", d="P1") == "hardware_version_mismatch"
    assert r.value("CH.ota_image[P1]") == "none"
    assert r.value("CH->DSP[P1][0].outcome") == "hardware_version_mismatch"
    assert r.do("DSP_receive_CCS08_alert", d="P1") == "transfer_failed"
    assert r.value("PPMID.P1.running") == "PPMID_v1"
