"""PPMID updates: SR 11.4, GBCS CS05c, ZigBee OTA, CCS08, CS09 -- end to end, rejections, faults."""

from __future__ import annotations

import pytest

from otaproof.refimpl import (
    BadSignature,
    HardwareMismatch,
    ImageFormatError,
    Premises,
    PremisesConfig,
    RollbackRefused,
    Variants,
    WrongImage,
)
from otaproof.refimpl import messages as m
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.messages import TransferOutcome


def ccs08(p: Premises) -> list[dict[str, object]]:
    return [body for kind, _, body in p.suppliers["S1"].inbox if kind == m.CCS08]


def test_sr11_4_end_to_end(premises: Premises) -> None:
    p, d = premises, premises.ppmid.device_id
    image = p.firmware("PPMID", 2)
    req = p.update_ppmid(image)
    # ZigBee OTA exchange in order, then CCS08 and CS09 (SR 11.4 steps 2-5)
    kinds = [e.data["message"] for e in p.log.of("message")]
    assert kinds[:5] == [m.CS05C, m.IMAGE_NOTIFY, m.QUERY_NEXT_IMAGE, m.QUERY_NEXT_IMAGE_RESPONSE,
                         m.IMAGE_BLOCK_REQUEST]
    assert kinds[-5:] == [m.UPGRADE_END, m.UPGRADE_END_RESPONSE, m.CCS08, m.CS09, m.CS09]
    assert kinds.count(m.IMAGE_BLOCK_RESPONSE) == -(-len(image) // 64)
    [alert] = ccs08(p)
    assert alert["outcome"] is TransferOutcome.SUCCESS and alert["alert_code"] == "0x8f8a"
    assert p.ppmid.running_version == 2 and p.ppmid.running.hash == sha256(image) and p.ppmid.state == "idle"
    assert p.hub.held_images() == {} and p.hub.transfers[d].state == "idle"
    record = p.smi.record(d)
    assert (record.firmware_version, record.state, req.state) == (2, "current", "completed")


def test_smi_shows_update_in_progress_until_cs09(premises: Premises) -> None:
    premises.faults.delay(m.CS09, seconds=600, src="CH")
    premises.update_ppmid(premises.firmware("PPMID", 2), run=False)
    premises.sim.run_until(premises.now + 100)
    assert premises.ppmid.running_version == 2
    assert premises.read_inventory(premises.ppmid.device_id).DeviceFirmwareVersionStatus == "Update In Progress"
    premises.advance(600)
    assert premises.read_inventory(premises.ppmid.device_id).DeviceFirmwareVersion == 2


def test_future_dated_ppmid_activation(premises: Premises) -> None:
    p = premises
    at = p.now + 7200
    p.update_ppmid(p.firmware("PPMID", 2), activation_time=at)
    # the hub has discarded the image and the PPMID waits for the upgrade time
    assert p.hub.held_images() == {} and p.ppmid.state == "activation_scheduled" and p.ppmid.running_version == 1
    assert ccs08(p)[0]["outcome"] is TransferOutcome.SUCCESS
    p.advance(7200)
    assert p.ppmid.running_version == 2 and p.smi.record(p.ppmid.device_id).firmware_version == 2


def test_ppmid_image_without_valid_signature_is_discarded(premises: Premises) -> None:
    # A CPL administrator listed an unsigned image: the PPMID itself still refuses it.
    p = premises
    p.update_ppmid(p.firmware("PPMID", 2, signed=False))
    assert p.ppmid.running_version == 1 and p.ppmid.held is None
    assert ccs08(p)[0]["outcome"] is TransferOutcome.IMAGE_DISCARDED and ccs08(p)[0]["alert_code"] == "0x8f89"
    assert p.log.of("rejection", source=p.ppmid.device_id)[0].data["error"] == "BadSignature"
    assert p.smi.record(p.ppmid.device_id).state == "failed" and p.dsp.requests[-1].state == "failed"
    assert p.hub.held_images() == {}


def test_ppmid_hardware_version_mismatch(premises: Premises) -> None:
    # CCS08 outcome 2: the image's hardware range excludes the PPMID's hardware version 1
    p = premises
    p.update_ppmid(p.firmware("PPMID", 2, hardware=(5, 9)))
    assert ccs08(p)[0]["outcome"] is TransferOutcome.HARDWARE_VERSION_MISMATCH
    assert p.ppmid.running_version == 1 and p.hub.held_images() == {}
    assert m.IMAGE_BLOCK_REQUEST not in [e.data["message"] for e in p.log.of("message")]


def test_ppmid_image_for_another_device_model(premises: Premises) -> None:
    # An HCALCS image wrongly listed against the PPMID model: the hub does not offer it.
    p = premises
    image = p.firmware("HCALCS", 2, list_on_cpl=False)
    p.cpl.list_hash(p.models["PPMID"], 2, sha256(image))
    p.update_ppmid(image)
    assert ccs08(p)[0]["outcome"] is TransferOutcome.IMAGE_DISCARDED and p.ppmid.running_version == 1


def test_ppmid_refuses_older_version() -> None:
    p = Premises(PremisesConfig(seed=1, initial_version=3))
    p.update_ppmid(p.firmware("PPMID", 2))
    assert ccs08(p)[0]["outcome"] is TransferOutcome.IMAGE_DISCARDED and p.ppmid.running_version == 3
    assert p.log.of("rejection", source=p.ppmid.device_id)[0].data["error"] == "RollbackRefused"


def test_ppmid_accepts_older_version_when_anti_rollback_is_off() -> None:
    p = Premises(PremisesConfig(seed=1, initial_version=3, variants=Variants(anti_rollback=False)))
    p.update_ppmid(p.firmware("PPMID", 2))
    assert p.ppmid.running_version == 2


@pytest.mark.parametrize("kwargs, error", [
    ({"signed": False}, BadSignature),
    ({"hardware": (2, 3)}, HardwareMismatch),
])
def test_ppmid_verify_image_checks(premises: Premises, kwargs: dict[str, object], error: type) -> None:
    image = premises.firmware("PPMID", 2, list_on_cpl=False, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error):
        premises.ppmid.verify_image(image)


def test_ppmid_verify_image_wrong_model(premises: Premises) -> None:
    with pytest.raises(WrongImage):
        premises.ppmid.verify_image(premises.firmware("HCALCS", 2, list_on_cpl=False))


def test_ppmid_verify_image_rollback() -> None:
    p = Premises(PremisesConfig(seed=1, initial_version=3))
    with pytest.raises(RollbackRefused):
        p.ppmid.verify_image(p.firmware("PPMID", 2))


def test_ppmid_verify_image_malformed(premises: Premises) -> None:
    with pytest.raises(ImageFormatError):
        premises.ppmid.verify_image(premises.firmware("PPMID", 2)[:-1])


def test_lost_image_block_ends_in_file_transfer_failure(premises: Premises) -> None:
    # CCS08 outcome 3 after the hub's OTA timeout; the hub discards the image
    p = premises
    p.faults.lose(m.IMAGE_BLOCK_RESPONSE, nth=2)
    p.update_ppmid(p.firmware("PPMID", 2))
    assert p.hub.held_images() != {} and ccs08(p) == []
    p.advance(p.config.variants.ota_timeout)
    assert ccs08(p)[0]["outcome"] is TransferOutcome.FILE_TRANSFER_FAILURE
    assert p.hub.held_images() == {} and p.ppmid.running_version == 1
    assert p.smi.record(p.ppmid.device_id).state == "failed"


def test_retry_after_failed_transfer_succeeds(premises: Premises) -> None:
    p = premises
    image = p.firmware("PPMID", 2)
    p.faults.lose(m.IMAGE_NOTIFY)
    p.update_ppmid(image)
    p.advance(p.config.variants.ota_timeout)
    p.update_ppmid(image)
    assert p.ppmid.running_version == 2 and p.smi.record(p.ppmid.device_id).state == "current"


def test_duplicated_blocks_do_not_corrupt_the_image(premises: Premises) -> None:
    p = premises
    p.faults.duplicate(m.IMAGE_BLOCK_RESPONSE, count=3)
    p.faults.duplicate(m.UPGRADE_END_RESPONSE)
    p.update_ppmid(p.firmware("PPMID", 2))
    assert p.ppmid.running_version == 2 and len(p.log.of("activation")) == 1
    assert p.log.of("rejection", source=p.ppmid.device_id)[0].data["error"] == "NoImageHeld"


def test_lost_upgrade_end_response_leaves_smi_in_progress(premises: Premises) -> None:
    # The hub has reported success (CCS08 0) and discarded the image, but the PPMID never
    # activates: the SMI keeps "update in progress" (no report ever comes: P-SMI-BOUNDED).
    p = premises
    p.faults.lose(m.UPGRADE_END_RESPONSE)
    p.update_ppmid(p.firmware("PPMID", 2))
    p.advance(86_400)
    assert ccs08(p)[0]["outcome"] is TransferOutcome.SUCCESS and p.ppmid.state == "image_held"
    assert p.ppmid.running_version == 1 and p.smi.record(p.ppmid.device_id).state == "update_in_progress"


def test_reordered_cs05c_for_two_ppmids() -> None:
    p = Premises(PremisesConfig(seed=1, ppmids=2))
    first, second = (d.device_id for d in p.of_type("PPMID"))
    p.faults.reorder(m.CS05C)
    p.update_ppmid(p.firmware("PPMID", 2))
    delivered = [e.data["device"] for e in p.log.of("message", message=m.CS05C)]
    assert delivered == [second, first]
    assert all(d.running_version == 2 for d in p.of_type("PPMID"))


def test_hub_discards_a_second_image_while_transferring(premises: Premises) -> None:
    # CCS08 outcome 1: a CS05c for a PPMID whose transfer is still running
    p = premises
    image = p.firmware("PPMID", 2)
    p.update_ppmid(image, run=False)
    p.sim.run_until(p.now + 3)  # the transfer has started
    p.network.inject(m.Message(m.CS05C, "DSP", "CH", p.ppmid.device_id,
                               {"image": image, "firmware_version": 2, "activation_time": None}))
    p.run()
    outcomes = [a["outcome"] for a in ccs08(p)]
    assert TransferOutcome.IMAGE_DISCARDED in outcomes and TransferOutcome.SUCCESS in outcomes
    assert p.ppmid.running_version == 2


def test_hub_discards_a_malformed_image(premises: Premises) -> None:
    p = premises
    p.network.inject(m.Message(m.CS05C, "DSP", "CH", p.ppmid.device_id,
                               {"image": b"junk", "firmware_version": 2, "activation_time": None}))
    p.run()
    assert ccs08(p)[0]["outcome"] is TransferOutcome.IMAGE_DISCARDED and p.hub.held_images() == {}
