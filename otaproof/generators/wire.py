"""Wire rules: what every message a conforming party puts on the network must carry.

The model's messages are abstract (a kind, an image name, an outcome), so a replayed trace alone
cannot see a frame with a field missing, out of range, or contradicting another field: a CCS08
whose alert code says "transfer success" while its outcome says "file transfer failure", an
Image Notify of payload type 4, a Query Next Image Response that offers another device type's
image. :class:`WireRules` checks each message against the message catalogue below, and against
the exchange it belongs to (the ZigBee OTA Upgrade cluster's request/response pairs, ZCL
07-5123 chapter 11; GBCS alert codes), so that an adapter can fail a test on the first
malformed message its system sends (``RefimplAdapter`` checks each message as it is sent and
fails the test in ``observe``).

Fields are the reference implementation's message bodies (``refimpl/messages.py``), which carry
the ZCL and GBCS fields the model's actions depend on. Free text (a CCS08's ``reason``) must be
text; its wording is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

from otaproof.refimpl import messages as m
from otaproof.refimpl.errors import ImageFormatError
from otaproof.refimpl.image import OtaHeader, parse_image

Check = Callable[[Any], bool]

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TRANSFER_CODES = {hex(m.ALERT_FIRMWARE_TRANSFER_SUCCESS), hex(m.ALERT_FIRMWARE_TRANSFER_FAILURE)}
_VERIFICATION_TEXT = {hex(m.ALERT_FIRMWARE_VERIFICATION_SUCCESSFUL): "Firmware Verification Successful",
                      hex(m.ALERT_FIRMWARE_VERIFICATION_FAILED): "Firmware Verification Failed"}
_ZCL_STATUS = {m.ZCL_SUCCESS, m.ZCL_ABORT, m.ZCL_INVALID_IMAGE, m.ZCL_NO_IMAGE_AVAILABLE}


def _uint(bits: int) -> Check:
    return lambda v: type(v) is int and 0 <= v < 1 << bits


def _member(enum: type[IntEnum]) -> Check:
    return lambda v: isinstance(v, enum)


def _one_of(*values: Any) -> Check:
    return lambda v: v in values


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v)


def _octets(v: Any) -> bool:
    return isinstance(v, (bytes, bytearray)) and bool(v)


def _sha256(v: Any) -> bool:
    return isinstance(v, str) and bool(_SHA256_HEX.match(v))


U8, U16, U32 = _uint(8), _uint(16), _uint(32)

# kind -> mandatory fields and what each must hold ("optional" fields may be absent or None).
CATALOGUE: dict[str, dict[str, Check]] = {
    m.CS05C: {"image": _octets, "firmware_version": U32, "activation_time": _optional(U32)},
    m.FW_DISTRIBUTION: {"image": _octets, "firmware_version": U32},
    m.CS06: {"command": _octets},
    m.CS08_READ: {},
    m.CS02B: {"command": _octets},
    m.CCS08: {"alert_code": _one_of(*_TRANSFER_CODES), "outcome": _member(m.TransferOutcome),
              "firmware_version": _optional(U32), "reason": _text},
    m.CS09: {"firmware_version": U32, "firmware_hash": _sha256},
    m.FDR: {"alert_code": _one_of(*_VERIFICATION_TEXT), "firmware_hash": _sha256,
            "result": _one_of(*_VERIFICATION_TEXT.values())},
    m.CS06_RESPONSE: {"firmware_version": U32},
    m.CS08_RESPONSE: {"alert_code": _one_of(hex(m.ALERT_FIRMWARE_VERSION)), "firmware_version": U32},
    m.CS02B_RESPONSE: {"result": _one_of("success", *(e.name for e in m.CommandError))},
    m.DAILY_VERSION_ALERT: {"firmware_version": U32},
    m.DEVICE_VERSION_REPORT: {"firmware_version": U32},
    m.IMAGE_NOTIFY: {"payload_type": _one_of(0, 1, 2, 3)},
    m.QUERY_NEXT_IMAGE: {"manufacturer_code": U16, "image_type": U16, "current_file_version": U32,
                         "hardware_version": _optional(U16)},
    m.QUERY_NEXT_IMAGE_RESPONSE: {"status": _one_of(*_ZCL_STATUS)},
    m.IMAGE_BLOCK_REQUEST: {"file_version": U32, "offset": U32, "max_data_size": U8},
    m.IMAGE_BLOCK_RESPONSE: {"status": _one_of(*_ZCL_STATUS)},
    m.UPGRADE_END: {"status": _one_of(*_ZCL_STATUS), "manufacturer_code": U16, "image_type": U16,
                    "file_version": U32},
    m.UPGRADE_END_RESPONSE: {"file_version": U32, "current_time": U32, "upgrade_time": U32},
}
# Image Notify payload types 1..3 add these fields in this order (ZCL OTA Upgrade, Image Notify).
_NOTIFY_FIELDS = (("manufacturer_code", U16), ("image_type", U16), ("file_version", U32))
_OFFER_FIELDS = {"manufacturer_code": U16, "image_type": U16, "file_version": U32, "image_size": U32}
_BLOCK_FIELDS = {"file_version": U32, "offset": U32, "data": _octets}


class WireRules:
    """Checks each message a party sends (:meth:`check`, in the order sent) against the exchanges
    it answers, which :meth:`note` records as they are delivered: the images the hub was given for
    a device, a device's last Query, Block Request and Upgrade End."""

    def __init__(self) -> None:
        self._images: dict[str, list[OtaHeader]] = {}  # device -> headers of the CS05c images sent for it
        self._query: dict[str, Mapping[str, Any]] = {}  # device -> its last Query Next Image Request
        self._block: dict[str, Mapping[str, Any]] = {}  # device -> its last Image Block Request
        self._end: dict[str, Mapping[str, Any]] = {}    # device -> its last Upgrade End Request

    def note(self, msg: m.Message) -> None:
        """Remember ``msg`` as its receiver gets it (after any man in the middle), as the context of
        the messages that answer it."""
        body = msg.body
        if msg.kind == m.CS05C and _octets(body.get("image")):
            try:
                self._images.setdefault(msg.device, []).append(parse_image(bytes(body["image"])).header)
            except ImageFormatError:
                pass  # a malformed image: the hub must discard it, which the model observes
        elif msg.kind == m.QUERY_NEXT_IMAGE:
            self._query[msg.src] = body
        elif msg.kind == m.IMAGE_BLOCK_REQUEST:
            self._block[msg.src] = body
        elif msg.kind == m.UPGRADE_END:
            self._end[msg.src] = body

    def check(self, msg: m.Message) -> list[str]:
        """Every rule ``msg`` (as its sender sent it) breaks, one line each naming the message,
        sender and field."""
        where = f"{msg.kind} from {msg.src} to {msg.dst}"
        if not isinstance(msg.dst, str) or not isinstance(msg.device, str):
            return [f"{where}: not addressed to a named endpoint and device"]
        fields = CATALOGUE.get(msg.kind)
        if fields is None:
            return [f"a message of unknown kind {msg.kind!r} from {msg.src}"]
        body = msg.body
        faults = _fields(body, fields)
        faults += self._exchange(msg, body)
        return [f"{where}: {f}" for f in faults]

    def _exchange(self, msg: m.Message, body: Mapping[str, Any]) -> list[str]:
        """The rules that relate a message to another field of it or to the exchange it is part of."""
        kind, faults = msg.kind, list[str]()
        if kind == m.CCS08:
            success = body.get("outcome") is m.TransferOutcome.SUCCESS
            if (body.get("alert_code") == hex(m.ALERT_FIRMWARE_TRANSFER_SUCCESS)) != success:
                faults.append(f"alert code {body.get('alert_code')} contradicts outcome {body.get('outcome')!r}")
            if body.get("outcome") is not m.TransferOutcome.IMAGE_DISCARDED:
                sent = {h.file_version for h in self._images.get(msg.device, [])}
                if sent and body.get("firmware_version") not in sent:  # a transfer that ran names its image
                    faults.append(f"firmware_version {body.get('firmware_version')} is not that of an image "
                                  f"the DSP sent for this device {sorted(sent)}")
        elif kind == m.FDR:
            if _VERIFICATION_TEXT.get(body.get("alert_code", "")) not in (None, body.get("result")):
                faults.append(f"result {body.get('result')!r} contradicts alert code {body.get('alert_code')}")
        elif kind == m.CS06_RESPONSE:
            if not (_member(m.ActivationOutcome)(body.get("outcome")) or _member(m.CommandError)(body.get("error"))):
                faults.append("carries neither an activation outcome nor a command error")
        elif kind == m.CS08_RESPONSE:
            if not (_sha256(body.get("firmware_hash")) or body.get("answered_by") == m.HUB_ENDPOINT):
                faults.append("carries neither the device's firmware hash nor answered_by the hub")
        elif kind == m.IMAGE_NOTIFY and body.get("payload_type") in (0, 1, 2, 3):
            notify_fields = dict(_NOTIFY_FIELDS[: body["payload_type"]])
            faults += _fields(body, notify_fields)
            faults += self._same_image(msg.device, body, notify_fields)
        elif kind == m.QUERY_NEXT_IMAGE_RESPONSE and body.get("status") == m.ZCL_SUCCESS:
            faults += _fields(body, _OFFER_FIELDS)
            faults += [f"offers {n} {got}, the device asked for {want}"
                       for n, got, want in _unanswered(body, self._query.get(msg.dst, {}), ("manufacturer_code",
                                                                                            "image_type"))]
            faults += self._same_image(msg.dst, body, _OFFER_FIELDS)
        elif kind == m.IMAGE_BLOCK_RESPONSE and body.get("status") == m.ZCL_SUCCESS:
            faults += _fields(body, _BLOCK_FIELDS)
            request = self._block.get(msg.dst, {})
            faults += [f"{n} {got} does not answer the request's {want}"
                       for n, got, want in _unanswered(body, request, ("file_version", "offset"))]
            size = len(body["data"]) if _octets(body.get("data")) else 0
            if "max_data_size" in request and size > request["max_data_size"]:
                faults.append(f"{size} bytes of data, the request allows {request['max_data_size']}")
        elif kind == m.IMAGE_BLOCK_RESPONSE and body.get("data", b"") != b"":  # ZCL: the status alone
            faults.append(f"status 0x{body.get('status', 0):02x} with data {body.get('data')!r:.20}: only SUCCESS "
                          "carries data")
        elif kind == m.UPGRADE_END_RESPONSE:
            faults += [f"{n} {got} does not answer the Upgrade End's {want}"
                       for n, got, want in _unanswered(body, self._end.get(msg.dst, {}), ("file_version",))]
            if U32(body.get("upgrade_time")) and U32(body.get("current_time")) \
                    and body["upgrade_time"] < body["current_time"]:
                faults.append("upgrade_time is before current_time")
        return faults

    def _same_image(self, device: str, body: Mapping[str, Any], names: Mapping[str, Check]) -> list[str]:
        """The fields describe one of the images the DSP sent for ``device`` (if it sent any)."""
        headers = self._images.get(device, [])
        described = {n: body.get(n) for n in names}
        if not headers or None in described.values() \
                or any(described == {n: _header_field(h, n) for n in names} for h in headers):
            return []
        return [f"describes {described}, not the image the DSP sent for this device"]


def _unanswered(body: Mapping[str, Any], request: Mapping[str, Any],
                names: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """(field, answered, asked) for each of ``names`` the request has and the answer does not echo."""
    return [(n, body.get(n), request[n]) for n in names if n in request and body.get(n) != request[n]]


def _header_field(header: OtaHeader, name: str) -> Any:
    return header.total_size if name == "image_size" else getattr(header, name)


def _fields(body: Mapping[str, Any], fields: Mapping[str, Check]) -> list[str]:
    """A line for each mandatory field that is missing or holds the wrong kind of value."""
    faults = []
    for name, check in fields.items():
        if name not in body:
            if not check(None):
                faults.append(f"field {name} is missing")
        elif not check(body[name]):
            faults.append(f"field {name} holds {body[name]!r}")
    return faults
