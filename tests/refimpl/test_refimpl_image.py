"""The Manufacturer Image format: builder and strict parser, one test per field check."""

from __future__ import annotations

import struct

import pytest

from otaproof.refimpl.crypto import KeyPair, sha256
from otaproof.refimpl.errors import ImageFormatError, UsageError
from otaproof.refimpl.image import HEADER_LENGTH, MAGIC, build_image, parse_image

KEY = KeyPair.derive(1, "manufacturer")
PAYLOAD = bytes(range(100))


def signed() -> bytes:
    return build_image(0x1234, 0x0101, 2, PAYLOAD, min_hardware_version=1, max_hardware_version=3,
                       header_string="PPMID-100 v2", signer=KEY)


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def rejects(data: bytes, field: str) -> None:
    with pytest.raises(ImageFormatError) as err:
        parse_image(data)
    assert err.value.field == field, str(err.value)


def test_signed_image_round_trips() -> None:
    data = signed()
    image = parse_image(data)
    h = image.header
    assert (h.manufacturer_code, h.image_type, h.file_version) == (0x1234, 0x0101, 2)
    assert (h.min_hardware_version, h.max_hardware_version, h.total_size) == (1, 3, len(data))
    assert h.header_string == "PPMID-100 v2"
    assert image.upgrade_image == PAYLOAD and image.hash == sha256(data) and image.raw == data
    assert image.signature_valid(KEY.public)


def test_unsigned_image_round_trips_without_valid_signature() -> None:
    image = parse_image(build_image(0x1234, 0x0101, 2, PAYLOAD))
    assert image.signature is None and not image.signature_valid(KEY.public)


def test_signature_covers_the_header() -> None:
    tampered = patch(signed(), 14, "<I", 9)  # file version 2 -> 9
    image = parse_image(tampered)
    assert image.header.file_version == 9 and not image.signature_valid(KEY.public)


def test_signature_by_another_key_is_invalid() -> None:
    assert not parse_image(signed()).signature_valid(KeyPair.derive(1, "other").public)


def test_header_truncated() -> None:
    rejects(signed()[:HEADER_LENGTH - 1], "header")


def test_magic_wrong() -> None:
    rejects(patch(signed(), 0, "<I", MAGIC ^ 1), "magic")


def test_header_version_wrong() -> None:
    rejects(patch(signed(), 4, "<H", 0x0200), "header version")


def test_header_length_wrong() -> None:
    rejects(patch(signed(), 6, "<H", 56), "header length")


def test_field_control_has_unsupported_bits() -> None:
    rejects(patch(signed(), 8, "<H", 0x0005), "header field control")


def test_stack_version_wrong() -> None:
    rejects(patch(signed(), 18, "<H", 0x0001), "ZigBee stack version")


def test_header_string_not_printable() -> None:
    rejects(patch(signed(), 20, "<B", 0x07), "header string")


def test_header_string_text_after_padding() -> None:
    rejects(patch(signed(), 51, "<B", 0x41), "header string")


def test_total_size_disagrees_with_file_length() -> None:
    data = signed()
    rejects(patch(data, 52, "<I", len(data) + 1), "total image size")
    rejects(data + b"\0", "total image size")


def test_hardware_minimum_above_maximum() -> None:
    rejects(patch(signed(), 56, "<H", 4), "hardware version")


def test_upgrade_image_tag_wrong() -> None:
    rejects(patch(signed(), HEADER_LENGTH, "<H", 0x0003), "upgrade image tag")


def test_upgrade_image_length_beyond_file() -> None:
    rejects(patch(signed(), HEADER_LENGTH + 2, "<I", 10_000), "upgrade image length")


def test_upgrade_image_empty() -> None:
    data = signed()
    rejects(patch(data, HEADER_LENGTH + 2, "<I", 0), "upgrade image length")


def test_sub_element_header_truncated() -> None:
    data = build_image(0x1234, 0x0101, 2, PAYLOAD)[:HEADER_LENGTH + 3]
    rejects(patch(data, 52, "<I", len(data)), "upgrade image sub-element")


def test_signature_tag_wrong() -> None:
    data = signed()
    rejects(patch(data, len(data) - 70, "<H", 0x0001), "manufacturer signature tag")


def test_signature_length_wrong() -> None:
    data = signed()[:-1]
    data = patch(patch(data, len(data) - 67, "<I", 63), 52, "<I", len(data))
    rejects(data, "manufacturer signature length")


def test_bytes_after_the_signature() -> None:
    data = signed() + b"\0" * 6
    data = patch(data, 52, "<I", len(data))
    rejects(data, "trailer")


def test_not_bytes() -> None:
    rejects("not bytes", "image")  # type: ignore[arg-type]


def test_builder_refuses_out_of_range_fields() -> None:
    with pytest.raises(UsageError):
        build_image(0x1_0000, 1, 1, PAYLOAD)
    with pytest.raises(UsageError):
        build_image(1, 1, 1, b"")
    with pytest.raises(UsageError):
        build_image(1, 1, 1, PAYLOAD, header_string="x" * 33)
