"""The Manufacturer Image: a ZigBee-OTA-like header, the upgrade image, an optional signature.

Layout (little-endian, after the ZigBee OTA Upgrade cluster file format, ZigBee doc 09-5264)::

    offset size field
         0    4 magic                       0x0BEEF11E
         4    2 header version              0x0100
         6    2 header length               60
         8    2 header field control        0x0004 (hardware versions present; nothing else)
        10    2 manufacturer code
        12    2 image type                  (identifies the device model)
        14    4 file version                (the firmware version)
        18    2 ZigBee stack version        0x0002 (ZigBee PRO)
        20   32 header string               printable ASCII, NUL padded
        52    4 total image size            length of the whole file
        56    2 minimum hardware version
        58    2 maximum hardware version
        60      sub-element 0x0000 upgrade image: tag(2) length(4) data(length >= 1)
                sub-element 0xF000 manufacturer signature (optional, last): tag(2) length(4)=64
                    ECDSA P-256/SHA-256 r||s over every byte before this sub-element

Tag 0xF000 is in ZigBee's manufacturer-specific range: the real suites 1 and 2 use other curves.
The firmware hash listed on the CPL is SHA-256 over the whole file. :func:`parse_image` checks
every field and length and raises :class:`ImageFormatError` naming the field, nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from otaproof.refimpl.crypto import SIGNATURE_LEN, KeyPair, sha256, verify
from otaproof.refimpl.errors import ImageFormatError, UsageError

MAGIC = 0x0BEEF11E
HEADER_VERSION = 0x0100
HEADER_LENGTH = 60
FIELD_CONTROL = 0x0004
STACK_VERSION = 0x0002
TAG_UPGRADE_IMAGE = 0x0000
TAG_SIGNATURE = 0xF000
_HEADER = struct.Struct("<IHHHHHIH32sIHH")
_SUB_ELEMENT = struct.Struct("<HI")
assert _HEADER.size == HEADER_LENGTH


@dataclass(frozen=True)
class OtaHeader:
    """The header fields a device and the OTA server act on."""

    manufacturer_code: int
    image_type: int
    file_version: int
    min_hardware_version: int
    max_hardware_version: int
    total_size: int
    header_string: str = ""

    def supports_hardware(self, hardware_version: int) -> bool:
        """True if ``hardware_version`` lies in the image's minimum..maximum range."""
        return self.min_hardware_version <= hardware_version <= self.max_hardware_version


@dataclass(frozen=True)
class FirmwareImage:
    """A parsed Manufacturer Image; ``raw`` is exactly the bytes that were parsed."""

    header: OtaHeader
    upgrade_image: bytes
    signature: bytes | None
    raw: bytes

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 over the whole file: the firmware hash the CPL lists and CS06 carries."""
        return sha256(self.raw)

    @property
    def signed_data(self) -> bytes:
        """The bytes the manufacturer signature covers (everything before the signature)."""
        return self.raw if self.signature is None else self.raw[: -(_SUB_ELEMENT.size + SIGNATURE_LEN)]

    def signature_valid(self, manufacturer_key: bytes) -> bool:
        """True only if the image carries a signature that verifies under ``manufacturer_key``."""
        return self.signature is not None and verify(manufacturer_key, self.signed_data, self.signature)


def build_image(manufacturer_code: int, image_type: int, file_version: int, upgrade_image: bytes, *,
                min_hardware_version: int = 0, max_hardware_version: int = 0xFFFF, header_string: str = "",
                signer: KeyPair | None = None) -> bytes:
    """Serialise a Manufacturer Image; signed by ``signer`` (the manufacturer) when given."""
    text = header_string.encode("ascii", errors="replace")
    if len(text) > 32 or not upgrade_image:
        raise UsageError("build_image: header string longer than 32 bytes, or empty upgrade image")
    for name, value, bits in (("manufacturer_code", manufacturer_code, 16), ("image_type", image_type, 16),
                              ("file_version", file_version, 32), ("min_hardware_version", min_hardware_version, 16),
                              ("max_hardware_version", max_hardware_version, 16)):
        if not 0 <= value < 1 << bits:
            raise UsageError(f"build_image: {name}={value} does not fit in {bits} bits")
    total = HEADER_LENGTH + _SUB_ELEMENT.size + len(upgrade_image)
    if signer is not None:
        total += _SUB_ELEMENT.size + SIGNATURE_LEN
    header = _HEADER.pack(MAGIC, HEADER_VERSION, HEADER_LENGTH, FIELD_CONTROL, manufacturer_code, image_type,
                          file_version, STACK_VERSION, text.ljust(32, b"\0"), total,
                          min_hardware_version, max_hardware_version)
    body = header + _SUB_ELEMENT.pack(TAG_UPGRADE_IMAGE, len(upgrade_image)) + upgrade_image
    if signer is None:
        return body
    return body + _SUB_ELEMENT.pack(TAG_SIGNATURE, SIGNATURE_LEN) + signer.sign(body)


def parse_image(data: bytes) -> FirmwareImage:
    """Parse and bounds-check a Manufacturer Image; any malformation raises ImageFormatError."""
    if not isinstance(data, (bytes, bytearray)):
        raise ImageFormatError("image", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_LENGTH:
        raise ImageFormatError("header", f"truncated: {len(data)} bytes, the header needs {HEADER_LENGTH}")
    (magic, version, length, control, mfr, image_type, file_version, stack, text, total,
     hw_min, hw_max) = _HEADER.unpack_from(data)
    _expect("magic", magic, MAGIC)
    _expect("header version", version, HEADER_VERSION)
    _expect("header length", length, HEADER_LENGTH)
    _expect("header field control", control, FIELD_CONTROL)
    _expect("ZigBee stack version", stack, STACK_VERSION)
    header_string = _header_string(text)
    if total != len(data):
        raise ImageFormatError("total image size", f"header says {total} bytes, file has {len(data)}")
    if hw_min > hw_max:
        raise ImageFormatError("hardware version", f"minimum 0x{hw_min:04x} above maximum 0x{hw_max:04x}")
    offset, upgrade_image = _sub_element(data, HEADER_LENGTH, TAG_UPGRADE_IMAGE, "upgrade image")
    if not upgrade_image:
        raise ImageFormatError("upgrade image length", "the upgrade image is empty")
    signature = None
    if offset < len(data):
        offset, signature = _sub_element(data, offset, TAG_SIGNATURE, "manufacturer signature")
        if len(signature) != SIGNATURE_LEN:
            raise ImageFormatError("manufacturer signature length",
                                   f"{len(signature)} bytes, an ECDSA P-256 signature has {SIGNATURE_LEN}")
    if offset != len(data):
        raise ImageFormatError("trailer", f"{len(data) - offset} unexpected bytes after the last sub-element")
    header = OtaHeader(mfr, image_type, file_version, hw_min, hw_max, total, header_string)
    return FirmwareImage(header, upgrade_image, signature, data)


def _expect(field: str, value: int, wanted: int) -> None:
    if value != wanted:
        raise ImageFormatError(field, f"0x{value:x}, expected 0x{wanted:x}")


def _header_string(text: bytes) -> str:
    body = text.rstrip(b"\0")
    if any(b < 0x20 or b > 0x7E for b in body):
        raise ImageFormatError("header string", "not printable ASCII padded with NUL bytes")
    return body.decode("ascii")


def _sub_element(data: bytes, offset: int, tag: int, name: str) -> tuple[int, bytes]:
    """Read one tag-length-value sub-element at ``offset``; returns (next offset, value)."""
    if len(data) - offset < _SUB_ELEMENT.size:
        raise ImageFormatError(f"{name} sub-element", "truncated tag/length")
    found, length = _SUB_ELEMENT.unpack_from(data, offset)
    if found != tag:
        raise ImageFormatError(f"{name} tag", f"0x{found:04x}, expected 0x{tag:04x}")
    start = offset + _SUB_ELEMENT.size
    if length > len(data) - start:
        raise ImageFormatError(f"{name} length", f"{length} bytes, only {len(data) - start} remain")
    return start + length, data[start:start + length]
