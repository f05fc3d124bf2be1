"""CPL registry (listing gateway, removal, lookup) and the SMI with its SR 8.2 answer."""

from __future__ import annotations

import logging

import pytest
from transitions import MachineError

from otaproof.refimpl import BadSignature, ImageFormatError, NotOnCPL, Premises, UnknownDevice, WrongImage
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.devices import HCALCS, PPMID
from otaproof.refimpl.dsp import ServiceRequest
from otaproof.refimpl.hub import OtaTransfer
from otaproof.refimpl.lifecycle import Lifecycle
from otaproof.refimpl.smi import SMIRecord


def test_listing_gateway_lists_signed_image(premises: Premises) -> None:
    image = premises.firmware("PPMID", 2, list_on_cpl=False)
    entry = premises.cpl.list_image(premises.models["PPMID"], image, premises.manufacturer.keys.public)
    assert entry.state == "listed" and entry.firmware_version == 2
    assert premises.cpl.lookup(premises.models["PPMID"], sha256(image)) is entry


def test_listing_gateway_refuses_unsigned_image(premises: Premises) -> None:
    image = premises.firmware("PPMID", 2, signed=False, list_on_cpl=False)
    with pytest.raises(BadSignature):
        premises.cpl.list_image(premises.models["PPMID"], image, premises.manufacturer.keys.public)


def test_listing_gateway_refuses_image_of_other_model(premises: Premises) -> None:
    image = premises.firmware("HCALCS", 2, list_on_cpl=False)
    with pytest.raises(WrongImage):
        premises.cpl.list_image(premises.models["PPMID"], image, premises.manufacturer.keys.public)


def test_listing_gateway_refuses_malformed_image(premises: Premises) -> None:
    with pytest.raises(ImageFormatError):
        premises.cpl.list_image(premises.models["PPMID"], b"garbage", premises.manufacturer.keys.public)


def test_removed_entry_is_not_listed_and_can_be_relisted(premises: Premises) -> None:
    model, image = premises.models["PPMID"], premises.firmware("PPMID", 2)
    premises.cpl.remove(model, sha256(image))
    with pytest.raises(NotOnCPL):
        premises.cpl.require_listed(model, sha256(image), 2)
    assert premises.cpl.status(model, 2) == "Removed"
    premises.cpl.list_hash(model, 2, sha256(image))
    assert premises.cpl.require_listed(model, sha256(image), 2).state == "listed"


def test_cpl_lookup_is_per_device_model(premises: Premises) -> None:
    image = premises.firmware("PPMID", 2)
    with pytest.raises(NotOnCPL):
        premises.cpl.require_listed(premises.models["HCALCS"], sha256(image), 2)
    assert premises.cpl.status(premises.models["HCALCS"], 7) == "Not Listed"


def test_removing_twice_is_a_caller_bug(premises: Premises) -> None:
    model, image = premises.models["PPMID"], premises.firmware("PPMID", 2)
    premises.cpl.remove(model, sha256(image))
    with pytest.raises(MachineError):
        premises.cpl.remove(model, sha256(image))


def test_smi_unknown_device(premises: Premises) -> None:
    with pytest.raises(UnknownDevice):
        premises.smi.record("00-00-00-00-00-00-00-00")


def test_read_inventory_has_the_sr8_2_fields(premises: Premises) -> None:
    inv = premises.read_inventory(premises.ppmid.device_id)
    assert inv.DeviceID == premises.ppmid.device_id and inv.DeviceType == "PPMID"
    assert (inv.DeviceStatus, inv.DeviceManufacturer, inv.DeviceModel) == ("Commissioned", "ACME Metering", "PPMID-100")
    assert (inv.DeviceFirmwareVersion, inv.DeviceFirmwareVersionStatus, inv.CPLStatus) == (1, "Current", "Listed")


def test_smi_cannot_start_an_update_twice(premises: Premises) -> None:
    record = premises.smi.record(premises.ppmid.device_id)
    record.fire("start_update")
    with pytest.raises(MachineError):
        record.fire("start_update")


@pytest.mark.parametrize("cls", [SMIRecord, ServiceRequest, OtaTransfer, PPMID, HCALCS])
def test_lifecycles_have_no_auto_transitions_and_refuse_invalid_triggers(premises: Premises,
                                                                         cls: type[Lifecycle]) -> None:
    premises.smi.record(premises.ppmid.device_id).fire("start_update")
    instance = {SMIRecord: lambda: premises.smi.record(premises.ppmid.device_id),
                ServiceRequest: lambda: premises.read_firmware_version(premises.ppmid.device_id),
                OtaTransfer: lambda: premises.hub.transfers[premises.ppmid.device_id],
                PPMID: lambda: premises.ppmid, HCALCS: lambda: premises.hcalcs}[cls]()
    assert not any(name.startswith("to_") for name in dir(instance))
    invalid = next(t for t, _, _ in cls.TRANSITIONS if not instance.can(t))
    with pytest.raises(MachineError):
        instance.fire(invalid)


def test_no_trigger_shadows_a_method(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="transitions"):
        Premises()
    assert not [r for r in caplog.records if "Skip binding" in r.getMessage()]
