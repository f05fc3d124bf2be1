"""The installer's local update port and the 2019 working-group variants around it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from otaproof.refimpl import (
    BadSignature,
    HashMismatch,
    LocalUpdateRefused,
    NotAuthorised,
    NotOnCPL,
    Premises,
    PremisesConfig,
    StaleCounter,
    UsageError,
    Variants,
)
from otaproof.refimpl import messages as m
from otaproof.refimpl.commands import MessageCode
from otaproof.refimpl.config import PRESETS
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.devices import DAY

Make = Callable[..., Premises]


def test_local_update_refused_in_approved_design(premises: Premises) -> None:
    # SECMP0007 bans local firmware updates
    with pytest.raises(LocalUpdateRefused):
        premises.local_update(premises.ppmid.device_id, premises.firmware("PPMID", 2))
    assert premises.ppmid.running_version == 1


def test_local_update_leaves_the_smi_stale(make: Make) -> None:
    # Pre-SECMP0007 / manufacturer's proposal: the update works but nobody tells the DCC (Q2, Q3)
    p = make(local_update_port=True)
    p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2))
    inv = p.read_inventory(p.ppmid.device_id)
    assert p.ppmid.running_version == 2
    assert (inv.DeviceFirmwareVersion, inv.DeviceFirmwareVersionStatus) == (1, "Current")


def test_local_update_still_checks_the_image(make: Make) -> None:
    p = make(local_update_port=True)
    with pytest.raises(BadSignature):
        p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2, signed=False))
    assert p.ppmid.running_version == 1


def test_local_update_accepts_firmware_not_on_cpl(make: Make) -> None:
    # Q1: without screening, nothing stops a signed but uncertified image
    p = make(local_update_port=True)
    p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2, list_on_cpl=False))
    assert p.ppmid.running_version == 2


def test_hcalcs_has_no_local_update_port_in_the_2019_proposals(make: Make) -> None:
    p = make(local_update_port=True)
    with pytest.raises(LocalUpdateRefused):
        p.local_update(p.hcalcs.device_id, p.firmware("HCALCS", 2))
    assert p.hcalcs.running_version == 1


def test_pre_secmp0007_hcalcs_local_update_drops_the_held_image(make: Make) -> None:
    # Before SECMP0007 installers updated HCALCSs locally too: the image is checked, nothing is reported
    p = Premises(PremisesConfig(variants=PRESETS["pre-secmp0007"]))
    p.distribute(p.firmware("HCALCS", 2))
    assert p.hcalcs.held is not None and p.hcalcs.state == "image_held"
    with pytest.raises(BadSignature):
        p.local_update(p.hcalcs.device_id, p.firmware("HCALCS", 3, signed=False))
    p.local_update(p.hcalcs.device_id, p.firmware("HCALCS", 3, list_on_cpl=False))
    assert (p.hcalcs.running_version, p.hcalcs.held, p.hcalcs.state) == (3, None, "idle")
    assert p.read_inventory(p.hcalcs.device_id).DeviceFirmwareVersion == 1  # the SMI is not told


def test_hub_stores_versions_smi_stale_until_sr11_2_reads_the_hub(make: Make) -> None:
    # Proposal (a): the CH stores the PPMID firmware version; the DCC reads it on demand
    p = make(local_update_port=True, hub_stores_versions=True)
    assert p.hub.device_versions[p.ppmid.device_id] == 1  # learnt when the PPMID joined
    p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2))
    assert p.hub.device_versions[p.ppmid.device_id] == 2
    assert p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion == 1  # stale until read
    p.read_firmware_version(p.ppmid.device_id)
    [reading] = [b for k, _, b in p.suppliers["S1"].inbox if k == m.CS08_RESPONSE]
    assert reading["firmware_version"] == 2 and reading["answered_by"] == "CH"
    assert p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion == 2


def test_daily_version_alert_updates_the_smi_within_a_day(make: Make) -> None:
    # Proposal (b): one daily alert per PPMID through the CH to the DCC
    p = make(local_update_port=True, daily_version_alert=True)
    p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2))
    assert p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion == 1
    p.advance(DAY)
    assert p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion == 2
    p.advance(2 * DAY)
    assert len(p.log.of("message", message=m.DAILY_VERSION_ALERT)) == 3


def test_gateway_screened_local_update_updates_the_smi(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2), screened_by="S1")
    inv = p.read_inventory(p.ppmid.device_id)
    assert p.ppmid.running_version == 2
    assert (inv.DeviceFirmwareVersion, inv.DeviceFirmwareVersionStatus) == (2, "Current")
    assert p.dsp.requests[-2].state == "completed"


def test_gateway_screening_without_token(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    with pytest.raises(LocalUpdateRefused):
        p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2))


def test_gateway_screening_refuses_image_not_on_cpl(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    with pytest.raises(NotOnCPL):
        p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2, list_on_cpl=False), screened_by="S1")


def test_gateway_screening_refuses_unauthorised_party(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    with pytest.raises(NotAuthorised):
        p.local_update(p.ppmid.device_id, p.firmware("PPMID", 2), screened_by="S2")


def test_gateway_screening_token_for_another_image(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    d = p.ppmid.device_id
    token = p.dsp.screen_local_update("S1", d, p.firmware("PPMID", 2))
    with pytest.raises(HashMismatch):
        p.ppmid.local_update(p.firmware("PPMID", 3), token)


def test_gateway_screening_token_replayed(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    d, image = p.ppmid.device_id, p.firmware("PPMID", 2)
    token = p.dsp.screen_local_update("S1", d, image)
    p.ppmid.local_update(image, token)
    with pytest.raises(StaleCounter):
        p.ppmid.local_update(image, token)


def test_gateway_screening_token_forged_by_supplier(make: Make) -> None:
    p = make(local_update_port=True, gateway_screening=True)
    d, image = p.ppmid.device_id, p.firmware("PPMID", 2)
    forged = p.suppliers["S1"].sign(MessageCode.LOCAL_UPDATE_SCREENING, d, sha256(image))
    with pytest.raises(BadSignature):
        p.ppmid.local_update(image, forged)


def test_screening_needs_the_local_port() -> None:
    with pytest.raises(UsageError):
        Variants(gateway_screening=True)


def test_presets_are_valid_variants() -> None:
    assert PRESETS["secmp0007"] == Variants()
    screened = Premises(PremisesConfig(variants=Variants.named("gateway-screening")))
    assert screened.config.variants.gateway_screening
    with pytest.raises(UsageError):
        Variants.named("nope")
