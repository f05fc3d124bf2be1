"""HCALCS updates: SR 11.1 distribution, then SR 11.3 / GBCS CS06 activation (now or future-dated)."""

from __future__ import annotations

import pytest

from otaproof.refimpl import (
    ActivationFailure,
    BadSignature,
    CommandFormatError,
    HashMismatch,
    NoImageHeld,
    Premises,
    StaleCounter,
    UnknownDevice,
)
from otaproof.refimpl import messages as m
from otaproof.refimpl.messages import ActivationOutcome, CommandError


def responses(p: Premises, kind: str = m.CS06_RESPONSE) -> list[dict[str, object]]:
    return [body for k, _, body in p.suppliers["S1"].inbox if k == kind]


def distributed(p: Premises, version: int = 2) -> bytes:
    image = p.firmware("HCALCS", version)
    p.distribute(image)
    return image


def test_sr11_1_then_sr11_3_end_to_end(premises: Premises) -> None:
    p = premises
    image = distributed(p)
    [receipt] = responses(p, m.FDR)
    assert receipt["alert_code"] == "0x8f72" and p.hcalcs.state == "image_held"
    assert p.smi.record(p.hcalcs.device_id).firmware_version == 1  # distribution alone changes nothing
    req = p.activate(image)
    [resp] = responses(p)
    assert resp["outcome"] is ActivationOutcome.SUCCESS and resp["firmware_version"] == 2
    assert p.hcalcs.running_version == 2 and p.hcalcs.held is None and p.hcalcs.state == "idle"
    assert p.smi.record(p.hcalcs.device_id).firmware_version == 2 and req.state == "completed"


def test_sr11_3_future_dated_activation(premises: Premises) -> None:
    # GBCS CS06 with an execution date-time: recorded now, executed when the clock reaches it
    p = premises
    image = distributed(p)
    at = p.now + 86_400
    req = p.activate(image, at=at)
    assert p.hcalcs.state == "activation_scheduled" and responses(p) == []
    assert p.smi.record(p.hcalcs.device_id).state == "update_in_progress"
    p.advance(86_400 - 10)
    assert p.hcalcs.running_version == 1
    p.advance(10)
    assert p.hcalcs.running_version == 2 and req.state == "completed"
    assert responses(p)[0]["outcome"] is ActivationOutcome.SUCCESS


def test_sr11_1_unsigned_image_fails_verification(premises: Premises) -> None:
    # Firmware Distribution Receipt 0x8F1C Firmware Verification Failed; the image is not kept
    p = premises
    p.distribute(p.firmware("HCALCS", 2, signed=False))
    assert responses(p, m.FDR)[0]["alert_code"] == "0x8f1c"
    assert p.hcalcs.held is None and p.dsp.requests[-1].state == "failed"


def test_sr11_1_hardware_mismatch_fails_verification(premises: Premises) -> None:
    p = premises
    p.distribute(p.firmware("HCALCS", 2, hardware=(4, 4)))
    assert responses(p, m.FDR)[0]["alert_code"] == "0x8f1c"
    assert p.log.of("rejection", source=p.hcalcs.device_id)[0].data["error"] == "HardwareMismatch"


def test_cs06_no_image_held(premises: Premises) -> None:
    # CS06 outcome 1: nothing was distributed; the SMI records the failure
    p = premises
    p.activate(p.firmware("HCALCS", 2))
    assert responses(p)[0]["outcome"] is ActivationOutcome.NO_IMAGE_HELD
    assert p.hcalcs.running_version == 1 and p.smi.record(p.hcalcs.device_id).state == "failed"


def test_cs06_hash_differs_from_held_image(premises: Premises) -> None:
    # CS06 outcome 2
    p = premises
    distributed(p, 2)
    p.activate(p.firmware("HCALCS", 3))
    assert responses(p)[0]["outcome"] is ActivationOutcome.HASH_MISMATCH and p.hcalcs.running_version == 1


def test_cs06_activation_failure_keeps_the_old_image(premises: Premises) -> None:
    # CS06 outcome 3: power fails during activation; the device restarts on its old image
    p = premises
    image = distributed(p)
    p.hcalcs.interrupt_next_activation()
    p.activate(image)
    assert responses(p)[0]["outcome"] is ActivationOutcome.ACTIVATION_FAILURE
    assert p.hcalcs.running_version == 1 and p.hcalcs.held is not None
    p.activate(image)
    assert p.hcalcs.running_version == 2


def test_cs06_signed_by_another_supplier(premises: Premises) -> None:
    # GBCS: the device checks the signature against its supplier trust anchor (HAN injection)
    p, d = premises, premises.hcalcs.device_id
    distributed(p)
    forged = p.suppliers["S2"].activate_firmware_command(d, p.hcalcs.held.hash)  # type: ignore[union-attr]
    with pytest.raises(BadSignature):
        p.hcalcs.activate_firmware(forged)
    p.network.inject(m.Message(m.CS06, "CH", d, d, {"command": forged}))
    p.run()
    assert responses(p)[0]["error"] is CommandError.AUTHENTICATION_FAILURE and p.hcalcs.running_version == 1


def test_cs06_tampered_in_transit(premises: Premises) -> None:
    p, d = premises, premises.hcalcs.device_id
    distributed(p)
    command = bytearray(p.suppliers["S1"].activate_firmware_command(d, p.hcalcs.held.hash))  # type: ignore[union-attr]
    command[12] ^= 0x01  # the originator counter
    with pytest.raises(BadSignature):
        p.hcalcs.activate_firmware(bytes(command))


def test_cs06_replayed_counter_is_stale(premises: Premises) -> None:
    # An attacker on the HAN replays the CS06 it captured: the counter is no longer fresh
    p, d = premises, premises.hcalcs.device_id
    p.activate(distributed(p, 2))
    captured = p.network.captured(m.CS06, dst=d)[0]
    with pytest.raises(StaleCounter):
        p.hcalcs.activate_firmware(captured["command"])
    p.network.inject(captured)
    p.run()
    assert responses(p)[-1]["error"] is CommandError.COUNTER_FAILURE


def test_cs06_for_another_device(premises: Premises) -> None:
    p = premises
    distributed(p)
    held = p.hcalcs.held
    assert held is not None
    command = p.suppliers["S1"].activate_firmware_command(p.ppmid.device_id, held.hash)
    with pytest.raises(UnknownDevice):
        p.hcalcs.activate_firmware(command)


def test_cs06_malformed(premises: Premises) -> None:
    with pytest.raises(CommandFormatError):
        premises.hcalcs.activate_firmware(b"\xdf\x06")


def test_cs06_direct_call_raises_the_outcome_errors(premises: Premises) -> None:
    p, d = premises, premises.hcalcs.device_id
    s1 = p.suppliers["S1"]
    with pytest.raises(NoImageHeld):
        p.hcalcs.activate_firmware(s1.activate_firmware_command(d, bytes(32)))
    distributed(p)
    with pytest.raises(HashMismatch):
        p.hcalcs.activate_firmware(s1.activate_firmware_command(d, bytes(32)))
    p.hcalcs.interrupt_next_activation()
    with pytest.raises(ActivationFailure):
        p.hcalcs.activate_firmware(s1.activate_firmware_command(d, p.hcalcs.held.hash))  # type: ignore[union-attr]


def test_new_image_before_scheduled_activation_gives_hash_mismatch(premises: Premises) -> None:
    p = premises
    image = distributed(p, 2)
    p.activate(image, at=p.now + 3600)
    distributed(p, 3)
    p.advance(3600)
    assert responses(p)[0]["outcome"] is ActivationOutcome.HASH_MISMATCH
    assert p.hcalcs.running_version == 1 and p.hcalcs.state == "image_held"


def test_lost_cs06_response_leaves_smi_in_progress(premises: Premises) -> None:
    p = premises
    image = distributed(p)
    p.faults.lose(m.CS06_RESPONSE)
    p.activate(image)
    assert p.hcalcs.running_version == 2
    assert p.read_inventory(p.hcalcs.device_id).DeviceFirmwareVersionStatus == "Update In Progress"


def test_sr11_2_reads_the_running_version(premises: Premises) -> None:
    p = premises
    p.activate(distributed(p))
    req = p.read_firmware_version(p.hcalcs.device_id)
    reading = responses(p, m.CS08_RESPONSE)[0]
    assert reading["firmware_version"] == 2 and reading["alert_code"] == "0x8f8b" and req.state == "completed"
