"""GBCS-like signed critical commands: CS06 Activate Firmware, CS02b, DCC screening tokens.

A command is a byte string modelled on GBCS General Signing (big-endian)::

    offset size field
         0    1 General Signing tag          0xDF
         1    1 message code                 0x06 CS06, 0x2B CS02b, 0x5C local-update screening
         2    1 CRA flag                     0x01 (command)
         3    8 originator ID                EUI-64 of the signer (supplier, DCC)
        11    8 originator counter           strictly increasing per originator (replay protection)
        19    8 business target ID           EUI-64 of the device
        27    1 execution date-time flag     0 none, 1 present
        28    8 execution date-time          seconds since the epoch (0 when the flag is 0)
        36    2 payload length n
        38    n payload                      CS06: image hash (32); CS02b: new originator ID (8) and
                                             public key (65); screening: image hash (32)
      38+n   64 ECDSA P-256/SHA-256 signature r||s over bytes 0 .. 38+n

The message codes are this reference implementation's, not GBCS's numbering. :func:`decode_command`
checks every field and raises :class:`CommandFormatError`; :func:`check_command` then applies the
device's checks in GBCS order: signature against the trust anchor, then the originator counter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from otaproof.refimpl.crypto import PUBLIC_KEY_LEN, SIGNATURE_LEN, KeyPair, is_public_key, verify
from otaproof.refimpl.errors import BadSignature, CommandFormatError, StaleCounter, UsageError

GENERAL_SIGNING_TAG = 0xDF
CRA_COMMAND = 0x01
HASH_LEN = 32
_HEAD = struct.Struct(">BBB8sQ8sBQH")


class MessageCode(IntEnum):
    """Which signed command a frame carries."""

    CS06_ACTIVATE_FIRMWARE = 0x06
    CS02B_UPDATE_SECURITY_CREDENTIALS = 0x2B
    LOCAL_UPDATE_SCREENING = 0x5C


_PAYLOAD_LEN = {MessageCode.CS06_ACTIVATE_FIRMWARE: HASH_LEN,
                MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS: 8 + PUBLIC_KEY_LEN,
                MessageCode.LOCAL_UPDATE_SCREENING: HASH_LEN}


def eui64(text: str) -> bytes:
    """The 8 bytes of an EUI-64 entity identifier written ``00-DB-12-34-56-78-9A-BC``."""
    try:
        raw = bytes.fromhex(text.replace("-", ""))
    except ValueError:
        raise UsageError(f"{text!r} is not an EUI-64 identifier") from None
    if len(raw) != 8:
        raise UsageError(f"{text!r} is not an EUI-64 identifier (8 bytes)")
    return raw


def eui_text(raw: bytes) -> str:
    """The ``00-DB-...`` text form of an 8-byte entity identifier."""
    return "-".join(f"{b:02X}" for b in raw)


@dataclass(frozen=True)
class SignedCommand:
    """A decoded command; ``signed_bytes`` is what the signature covers."""

    code: MessageCode
    originator: str
    counter: int
    target: str
    execute_at: int | None
    payload: bytes
    signature: bytes
    signed_bytes: bytes

    @property
    def image_hash(self) -> bytes:
        """The manufacturer image hash (CS06 and screening tokens)."""
        return self.payload[:HASH_LEN]

    @property
    def new_originator(self) -> str:
        """CS02b: the EUI-64 of the supplier whose key becomes the trust anchor."""
        return eui_text(self.payload[:8])

    @property
    def new_public_key(self) -> bytes:
        """CS02b: the new supplier trust anchor (uncompressed P-256 point)."""
        return self.payload[8:]


def encode_command(code: MessageCode, signer: KeyPair, originator: str, counter: int, target: str,
                   payload: bytes, execute_at: int | None = None) -> bytes:
    """Build and sign a command frame (the signer's side: supplier or DCC)."""
    if len(payload) != _PAYLOAD_LEN[code] or not 0 <= counter < 1 << 64:
        raise UsageError(f"encode_command: {len(payload)}-byte payload or counter {counter} invalid for {code.name}")
    if execute_at is not None and not 0 <= execute_at < 1 << 64:
        raise UsageError(f"encode_command: execution date-time {execute_at} out of range")
    head = _HEAD.pack(GENERAL_SIGNING_TAG, code, CRA_COMMAND, eui64(originator), counter, eui64(target),
                      0 if execute_at is None else 1, execute_at or 0, len(payload))
    body = head + payload
    return body + signer.sign(body)


def decode_command(data: bytes) -> SignedCommand:
    """Parse and bounds-check a command frame; any malformation raises CommandFormatError."""
    if not isinstance(data, (bytes, bytearray)):
        raise CommandFormatError("frame", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _HEAD.size + SIGNATURE_LEN:
        raise CommandFormatError("frame", f"truncated: {len(data)} bytes, at least {_HEAD.size + SIGNATURE_LEN} needed")
    tag, code, cra, orig, counter, target, has_time, when, length = _HEAD.unpack_from(data)
    if tag != GENERAL_SIGNING_TAG:
        raise CommandFormatError("general signing tag", f"0x{tag:02x}, expected 0x{GENERAL_SIGNING_TAG:02x}")
    if code not in _PAYLOAD_LEN.keys():
        raise CommandFormatError("message code", f"unknown message code 0x{code:02x}")
    message = MessageCode(code)
    if cra != CRA_COMMAND:
        raise CommandFormatError("CRA flag", f"0x{cra:02x}, expected 0x{CRA_COMMAND:02x} (command)")
    if has_time not in (0, 1) or (has_time == 0 and when != 0):
        raise CommandFormatError("execution date-time", "flag must be 0 (and time 0) or 1")
    if length != _PAYLOAD_LEN[message]:
        raise CommandFormatError("payload length", f"{length} bytes, {message.name} carries {_PAYLOAD_LEN[message]}")
    end = _HEAD.size + length
    if len(data) != end + SIGNATURE_LEN:
        raise CommandFormatError("signature", f"frame has {len(data)} bytes, expected {end + SIGNATURE_LEN}")
    payload = data[_HEAD.size:end]
    if message is MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS and not is_public_key(payload[8:]):
        raise CommandFormatError("new public key", "not an uncompressed P-256 point")
    return SignedCommand(message, eui_text(orig), counter, eui_text(target), when if has_time else None,
                         payload, data[end:], data[:end])


def check_command(command: SignedCommand, anchor: bytes, last_counter: int) -> None:
    """A device's checks of a critical command: signature by the anchor, then fresh counter."""
    if not verify(anchor, command.signed_bytes, command.signature):
        raise BadSignature(f"{command.code.name} from {command.originator}: signature does not verify "
                           "against the trust anchor held for that role")
    if command.counter <= last_counter:
        raise StaleCounter(f"{command.code.name} from {command.originator}: counter {command.counter} "
                           f"is not greater than {last_counter}, the last accepted")
