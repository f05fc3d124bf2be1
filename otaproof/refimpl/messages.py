"""Messages exchanged between DSP, Communications Hub and HAN devices, and their outcome codes.

WAN messages (DSP <-> CH) carry GBCS use cases; HAN messages (CH <-> device) carry ZigBee OTA
Upgrade cluster (0x0019) commands or relayed GBCS commands. Codes below are the ones in
``docs/domain.md``; names say where each comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any

DSP_ENDPOINT = "DSP"   # network name of the DCC Data Service Provider
HUB_ENDPOINT = "CH"    # network name of the premises' Communications Hub

# --- WAN, DSP -> CH --------------------------------------------------------------------------
CS05C = "CS05c Distribute Firmware to PPMID"
FW_DISTRIBUTION = "SR 11.1 Firmware Distribution"
CS06 = "CS06 Activate Firmware"
CS08_READ = "CS08 Read Firmware Version"
CS02B = "CS02b Update Security Credentials"
# --- WAN, CH -> DSP --------------------------------------------------------------------------
CCS08 = "CCS08 Firmware Transfer Alert"
CS09 = "CS09 PPMID Firmware Activation Alert"
FDR = "Firmware Distribution Receipt Alert"
CS06_RESPONSE = "CS06 Activate Firmware Response"
CS08_RESPONSE = "CS08 Firmware Version Response"
CS02B_RESPONSE = "CS02b Update Security Credentials Response"
DAILY_VERSION_ALERT = "Daily Firmware Version Alert"
# --- HAN, ZigBee OTA Upgrade cluster 0x0019 (command IDs in brackets) ------------------------
IMAGE_NOTIFY = "OTA Image Notify [0x00]"
QUERY_NEXT_IMAGE = "OTA Query Next Image Request [0x01]"
QUERY_NEXT_IMAGE_RESPONSE = "OTA Query Next Image Response [0x02]"
IMAGE_BLOCK_REQUEST = "OTA Image Block Request [0x03]"
IMAGE_BLOCK_RESPONSE = "OTA Image Block Response [0x05]"
UPGRADE_END = "OTA Upgrade End Request [0x06]"
UPGRADE_END_RESPONSE = "OTA Upgrade End Response [0x07]"
# --- HAN, device -> CH (variant: daily version report from PPMID/IHD to the hub) -------------
DEVICE_VERSION_REPORT = "Device Firmware Version Report"

# ZigBee status codes used in the OTA exchange
ZCL_SUCCESS = 0x00
ZCL_ABORT = 0x95
ZCL_INVALID_IMAGE = 0x96
ZCL_NO_IMAGE_AVAILABLE = 0x98

# GBCS alert codes (docs/domain.md)
ALERT_FIRMWARE_TRANSFER_SUCCESS = 0x8F8A
ALERT_FIRMWARE_TRANSFER_FAILURE = 0x8F89
ALERT_FIRMWARE_VERIFICATION_SUCCESSFUL = 0x8F72
ALERT_FIRMWARE_VERIFICATION_FAILED = 0x8F1C
ALERT_FIRMWARE_VERSION = 0x8F8B


class TransferOutcome(IntEnum):
    """CCS08 Firmware Transfer Alert outcome."""

    SUCCESS = 0
    IMAGE_DISCARDED = 1
    HARDWARE_VERSION_MISMATCH = 2
    FILE_TRANSFER_FAILURE = 3


class ActivationOutcome(IntEnum):
    """CS06 Activate Firmware response outcome."""

    SUCCESS = 0
    NO_IMAGE_HELD = 1
    HASH_MISMATCH = 2
    ACTIVATION_FAILURE = 3


class CommandError(IntEnum):
    """A critical command refused before its use case runs (GBCS error response, not an outcome)."""

    AUTHENTICATION_FAILURE = 1
    COUNTER_FAILURE = 2
    MALFORMED_COMMAND = 3
    WRONG_TARGET = 4


@dataclass(frozen=True)
class Message:
    """One message in flight: ``device`` is the HAN device it concerns, ``body`` its fields."""

    kind: str
    src: str
    dst: str
    device: str
    body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", MappingProxyType(dict(self.body)))

    def __getitem__(self, name: str) -> Any:
        return self.body[name]

    def summary(self) -> str:
        """A one-line, human-readable rendering of the fields (bytes shortened)."""
        return " ".join(f"{k}={_show(k, v)}" for k, v in self.body.items() if v is not None)


_HEX_FIELDS = {"manufacturer_code": 4, "image_type": 4, "status": 2, "payload_type": 2}


def _show(name: str, value: Any) -> str:
    if name in _HEX_FIELDS and isinstance(value, int):
        return f"0x{value:0{_HEX_FIELDS[name]}x}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256:{value[:12]}..."
    if isinstance(value, IntEnum):
        return f"{value.value} {value.name.replace('_', ' ').title()}"
    return str(value)
