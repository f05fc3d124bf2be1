"""The Smart Metering Inventory kept by the DSP, and the SR 8.2 Read Inventory answer.

Each device's DeviceFirmwareVersionStatus is a state machine: current -> update in progress ->
current (the device's success report) or failed (a failure alert or response).
"""

from __future__ import annotations

from dataclasses import dataclass

from otaproof.refimpl.cpl import CPLRegistry, DeviceModel
from otaproof.refimpl.errors import UnknownDevice, UsageError
from otaproof.refimpl.lifecycle import Lifecycle

_STATUS_TEXT = {"current": "Current", "update_in_progress": "Update In Progress", "failed": "Update Failed"}


class SMIRecord(Lifecycle):
    """The SMI's view of one device: identity, model, firmware version and its status."""

    STATES = ("current", "update_in_progress", "failed")
    TRANSITIONS = (("start_update", ("current", "failed"), "update_in_progress"),
                   ("confirm", ("current", "update_in_progress", "failed"), "current"),
                   ("fail", ("current", "update_in_progress", "failed"), "failed"))

    def __init__(self, device_id: str, device_model: DeviceModel, firmware_version: int) -> None:
        self.device_id = device_id
        self.device_model = device_model
        self.device_status = "Commissioned"
        self.firmware_version = firmware_version
        super().__init__()

    def confirm_version(self, firmware_version: int) -> None:
        """A genuine success report from the device: record its running version as current."""
        self.firmware_version = firmware_version
        self.fire("confirm")

    def record_reported_version(self, firmware_version: int) -> None:
        """Proposals (a)/(b): a version reported through the hub (SR 11.2 answer, daily alert) is
        recorded as it is; the status is left alone (it tracks the DCC's own update requests)."""
        self.firmware_version = firmware_version


@dataclass(frozen=True)
class InventoryEntry:
    """One device in an SR 8.2 Read Inventory response (DUIS field names)."""

    DeviceID: str
    DeviceType: str
    DeviceStatus: str
    DeviceManufacturer: str
    DeviceModel: str
    DeviceFirmwareVersion: int
    DeviceFirmwareVersionStatus: str
    CPLStatus: str


class SMI:
    """Device records by device ID."""

    def __init__(self) -> None:
        self.records: dict[str, SMIRecord] = {}

    def add(self, device_id: str, device_model: DeviceModel, firmware_version: int) -> SMIRecord:
        """Record a commissioned device."""
        if device_id in self.records:
            raise UsageError(f"device {device_id} is already in the SMI")
        self.records[device_id] = record = SMIRecord(device_id, device_model, firmware_version)
        return record

    def record(self, device_id: str) -> SMIRecord:
        """The device's record; UnknownDevice if the SMI has none."""
        if device_id not in self.records:
            raise UnknownDevice(f"device {device_id} is not in the Smart Metering Inventory")
        return self.records[device_id]

    def read_inventory(self, device_id: str, cpl: CPLRegistry) -> InventoryEntry:
        """SR 8.2 Read Inventory: the SMI's answer for one device (CPLStatus from the CPL now)."""
        r = self.record(device_id)
        m = r.device_model
        return InventoryEntry(r.device_id, m.device_type, r.device_status, m.manufacturer, m.model,
                              r.firmware_version, _STATUS_TEXT[r.state], cpl.status(m, r.firmware_version))
