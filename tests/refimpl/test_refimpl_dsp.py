"""The DSP's Service Request checks: one test per rejection, each ending in the specific error.

Order of the checks (DUIS validation): sender and targets (known, right type, registered to the
sender), then the stated hash, then the CPL listing, then no update already in progress.
"""

from __future__ import annotations

import pytest

from otaproof.refimpl import (
    CommandFormatError,
    HashMismatch,
    NotAuthorised,
    NotOnCPL,
    Premises,
    PremisesConfig,
    UnknownDevice,
    UpdateInProgress,
    Variants,
)
from otaproof.refimpl.commands import MessageCode
from otaproof.refimpl.crypto import sha256

UNKNOWN = "00-DB-00-00-00-00-00-00"


def nothing_sent(p: Premises) -> bool:
    return p.network.sent == []


def test_sr11_4_accepted_marks_update_in_progress(premises: Premises) -> None:
    req = premises.update_ppmid(premises.firmware("PPMID", 2), run=False)
    assert req.state == "accepted" and req.accepted == (premises.ppmid.device_id,)
    assert premises.smi.record(premises.ppmid.device_id).state == "update_in_progress"


def test_sr11_4_sender_not_registered_supplier(premises: Premises) -> None:
    # DUIS: only the supplier registered for the device may update it
    with pytest.raises(NotAuthorised):
        premises.update_ppmid(premises.firmware("PPMID", 2), supplier="S2")
    assert nothing_sent(premises)


def test_sr11_4_sender_not_a_dcc_user(premises: Premises) -> None:
    with pytest.raises(NotAuthorised):
        premises.update_ppmid(premises.firmware("PPMID", 2), supplier="Mallory")


def test_sr11_4_stated_hash_differs_from_image(premises: Premises) -> None:
    # SR 11.4 step 1: the DSP validates the firmware hash
    image = premises.firmware("PPMID", 2)
    with pytest.raises(HashMismatch):
        premises.update_ppmid(image, stated_hash=sha256(image + b"x"))
    assert nothing_sent(premises)
    assert premises.smi.record(premises.ppmid.device_id).state == "current"


def test_sr11_4_image_not_on_cpl(premises: Premises) -> None:
    # SR 11.4 step 1: the hash must be on the CPL for the device model
    with pytest.raises(NotOnCPL):
        premises.update_ppmid(premises.firmware("PPMID", 2, list_on_cpl=False))
    assert nothing_sent(premises)


def test_sr11_4_image_removed_from_cpl(premises: Premises) -> None:
    image = premises.firmware("PPMID", 2)
    premises.cpl.remove(premises.models["PPMID"], sha256(image))
    with pytest.raises(NotOnCPL):
        premises.update_ppmid(image)


def test_sr11_4_image_listed_for_other_model_only(premises: Premises) -> None:
    with pytest.raises(NotOnCPL):
        premises.update_ppmid(premises.firmware("HCALCS", 2))


def test_sr11_4_stated_version_differs_from_cpl_listing(premises: Premises) -> None:
    with pytest.raises(NotOnCPL):
        premises.update_ppmid(premises.firmware("PPMID", 2), version=3)


def test_sr11_4_unknown_device(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.update_ppmid(premises.firmware("PPMID", 2), devices=[UNKNOWN])


def test_sr11_4_device_is_not_a_ppmid(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.update_ppmid(premises.firmware("PPMID", 2), devices=[premises.hcalcs.device_id])


def test_sr11_4_empty_device_list(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.update_ppmid(premises.firmware("PPMID", 2), devices=[])


def test_sr11_4_invalid_devices_are_skipped_with_a_warning() -> None:
    p = Premises(PremisesConfig(seed=1, ppmids=2))
    ids = [d.device_id for d in p.of_type("PPMID")]
    req = p.update_ppmid(p.firmware("PPMID", 2), devices=[ids[0], UNKNOWN, p.hcalcs.device_id, ids[1]])
    assert req.accepted == tuple(ids) and req.state == "completed"
    assert len(req.warnings) == 2 and "UnknownDevice" in req.warnings[0] and UNKNOWN in req.warnings[0]
    assert len(p.log.of("warning")) == 2
    assert [d.running_version for d in p.of_type("PPMID")] == [2, 2]


def test_sr11_4_update_already_in_progress(premises: Premises) -> None:
    image = premises.firmware("PPMID", 2)
    premises.update_ppmid(image, run=False)
    with pytest.raises(UpdateInProgress):
        premises.update_ppmid(image, run=False)


def test_sr11_4_ihd_out_of_scope_by_default() -> None:
    p = Premises(PremisesConfig(seed=1, ihds=1))
    with pytest.raises(UnknownDevice):
        p.update_ppmid(p.firmware("IHD", 2), devices=[p.ihd.device_id])


def test_sr11_4_ihd_in_scope_variant_updates_the_ihd() -> None:
    p = Premises(PremisesConfig(seed=1, ihds=1, variants=Variants(ihd_in_scope=True)))
    p.update_ppmid(p.firmware("IHD", 2), devices=[p.ihd.device_id])
    assert p.ihd.running_version == 2 and p.read_inventory(p.ihd.device_id).DeviceFirmwareVersion == 2


def test_sr11_1_image_not_on_cpl(premises: Premises) -> None:
    with pytest.raises(NotOnCPL):
        premises.distribute(premises.firmware("HCALCS", 2, list_on_cpl=False))


def test_sr11_1_stated_hash_differs_from_image(premises: Premises) -> None:
    with pytest.raises(HashMismatch):
        premises.distribute(premises.firmware("HCALCS", 2), stated_hash=bytes(32))


def test_sr11_1_device_is_not_an_hcalcs(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.distribute(premises.firmware("HCALCS", 2), devices=[premises.ppmid.device_id])


def test_sr11_3_malformed_command(premises: Premises) -> None:
    with pytest.raises(CommandFormatError):
        premises.dsp.submit_sr11_3("S1", b"\xdf" * 20)


def test_sr11_3_command_originated_by_another_supplier(premises: Premises) -> None:
    command = premises.suppliers["S2"].activate_firmware_command(premises.hcalcs.device_id, bytes(32))
    with pytest.raises(NotAuthorised):
        premises.dsp.submit_sr11_3("S1", command)


def test_sr11_3_wrong_message_code(premises: Premises) -> None:
    s1 = premises.suppliers["S1"]
    command = s1.sign(MessageCode.LOCAL_UPDATE_SCREENING, premises.hcalcs.device_id, bytes(32))
    with pytest.raises(NotAuthorised):
        premises.dsp.submit_sr11_3("S1", command)


def test_sr11_3_from_supplier_not_registered(premises: Premises) -> None:
    with pytest.raises(NotAuthorised):
        premises.activate(premises.firmware("HCALCS", 2), supplier="S2")


def test_sr11_3_update_already_in_progress(premises: Premises) -> None:
    image = premises.firmware("HCALCS", 2)
    premises.distribute(image)
    premises.activate(image, run=False)
    with pytest.raises(UpdateInProgress):
        premises.activate(image, run=False)


def test_sr11_3_target_is_not_an_hcalcs(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.activate(premises.firmware("PPMID", 2), device=premises.ppmid.device_id)


def test_sr11_2_from_supplier_not_registered(premises: Premises) -> None:
    with pytest.raises(NotAuthorised):
        premises.read_firmware_version(premises.hcalcs.device_id, supplier="S2")


def test_sr8_2_from_supplier_not_registered(premises: Premises) -> None:
    with pytest.raises(NotAuthorised):
        premises.read_inventory(premises.ppmid.device_id, supplier="S2")


def test_sr8_2_unknown_device(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.read_inventory(UNKNOWN)


def test_rejection_is_logged_and_the_request_recorded_as_rejected(premises: Premises) -> None:
    with pytest.raises(NotOnCPL):
        premises.update_ppmid(premises.firmware("PPMID", 2, list_on_cpl=False))
    req = premises.dsp.requests[-1]
    assert req.state == "rejected" and isinstance(req.error, NotOnCPL)
    [event] = premises.log.of("rejection", source="DSP")
    assert event.data["error"] == "NotOnCPL" and event.data["request"] == req.request_id
