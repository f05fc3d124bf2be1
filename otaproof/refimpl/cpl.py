"""The Certified Products List: which firmware (hash, version) is certified for which device model.

An image enters the CPL through the listing gateway (:meth:`CPLRegistry.list_image`), which checks
that it is a well-formed image for the model, signed by its manufacturer. Entries can be removed.
Each entry's lifecycle is a small state machine: listed <-> removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from otaproof.refimpl.errors import BadSignature, NotOnCPL, UsageError, WrongImage
from otaproof.refimpl.image import parse_image
from otaproof.refimpl.lifecycle import Lifecycle


@dataclass(frozen=True)
class DeviceModel:
    """A certified device model: what the CPL and SR 8.2 call DeviceManufacturer/DeviceModel."""

    manufacturer: str
    manufacturer_code: int   # ZigBee manufacturer code (OTA header)
    model: str
    image_type: int          # ZigBee OTA image type of this model's firmware
    device_type: str         # PPMID, HCALCS or IHD


class CPLEntry(Lifecycle):
    """One CPL line: device model, firmware version, firmware hash; listed or removed."""

    STATES = ("listed", "removed")
    TRANSITIONS = (("remove", "listed", "removed"), ("relist", "removed", "listed"))

    def __init__(self, device_model: DeviceModel, firmware_version: int, firmware_hash: bytes) -> None:
        self.device_model = device_model
        self.firmware_version = firmware_version
        self.firmware_hash = firmware_hash
        super().__init__()


class CPLRegistry:
    """The CPL: listing gateway, removal, and lookup by device model and hash."""

    def __init__(self) -> None:
        self.entries: list[CPLEntry] = []

    def list_image(self, device_model: DeviceModel, image: bytes, manufacturer_key: bytes) -> CPLEntry:
        """Listing gateway: list a well-formed, manufacturer-signed image of ``device_model``."""
        parsed = parse_image(image)
        header = parsed.header
        if (header.manufacturer_code, header.image_type) != (device_model.manufacturer_code, device_model.image_type):
            raise WrongImage(f"image is for manufacturer 0x{header.manufacturer_code:04x} type "
                             f"0x{header.image_type:04x}, not {device_model.model}")
        if not parsed.signature_valid(manufacturer_key):
            raise BadSignature(f"image for {device_model.model} is not signed by {device_model.manufacturer}")
        return self.list_hash(device_model, header.file_version, parsed.hash)

    def list_hash(self, device_model: DeviceModel, firmware_version: int, firmware_hash: bytes) -> CPLEntry:
        """List (or relist) a hash directly, as a CPL administrator can, without the gateway's checks."""
        if len(firmware_hash) != 32:
            raise UsageError("a CPL firmware hash is a 32-byte SHA-256 digest")
        entry = self.lookup(device_model, firmware_hash)
        if entry is None:
            entry = CPLEntry(device_model, firmware_version, firmware_hash)
            self.entries.append(entry)
        elif entry.state == "removed":
            entry.fire("relist")
        return entry

    def remove(self, device_model: DeviceModel, firmware_hash: bytes) -> None:
        """Remove a listed entry (the firmware is no longer certified)."""
        entry = self.lookup(device_model, firmware_hash)
        if entry is None:
            raise UsageError(f"no CPL entry for {device_model.model} with that hash")
        entry.fire("remove")

    def lookup(self, device_model: DeviceModel, firmware_hash: bytes) -> CPLEntry | None:
        """The entry for this model and hash, listed or removed, if there is one."""
        for entry in self.entries:
            if entry.device_model == device_model and entry.firmware_hash == firmware_hash:
                return entry
        return None

    def require_listed(self, device_model: DeviceModel, firmware_hash: bytes, firmware_version: int) -> CPLEntry:
        """DSP check: the hash is listed now for this model, as this version; else NotOnCPL."""
        entry = self.lookup(device_model, firmware_hash)
        if entry is None or entry.state != "listed":
            raise NotOnCPL(f"hash {firmware_hash.hex()[:16]}... is not listed on the CPL for {device_model.model}")
        if entry.firmware_version != firmware_version:
            raise NotOnCPL(f"hash is listed for {device_model.model} as version {entry.firmware_version}, "
                           f"not the stated {firmware_version}")
        return entry

    def status(self, device_model: DeviceModel, firmware_version: int) -> str:
        """SR 8.2 CPLStatus of a model's firmware version: Listed, Removed or Not Listed."""
        states = {e.state for e in self.entries
                  if e.device_model == device_model and e.firmware_version == firmware_version}
        return "Listed" if "listed" in states else "Removed" if states else "Not Listed"
