"""Fuzzing the image parser and the command decoder: only the specific rejection, never a crash.

Quick runs (default) use a few hundred derandomised examples per target; the ``slow`` runs use
10,000 random examples per target. Inputs are random bytes, structured near-valid headers, and
mutations (bit flips, truncation, insertion, deletion) of valid signed images and commands.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otaproof.refimpl import CommandFormatError, ImageFormatError, Premises, PremisesConfig, RejectionError
from otaproof.refimpl.commands import MessageCode, decode_command, encode_command
from otaproof.refimpl.crypto import KeyPair
from otaproof.refimpl.image import HEADER_LENGTH, MAGIC, build_image, parse_image

KEY = KeyPair.derive(0, "fuzz")
MANUFACTURER = KeyPair.derive(0, "manufacturer:ACME Metering")  # the key Premises(seed=0) derives
QUICK = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
TARGET = "00-DB-00-00-00-00-00-02"


def _u(bits: int, valid: int) -> st.SearchStrategy[int]:
    """A field value: usually the valid one, sometimes anything that fits."""
    return st.one_of(st.just(valid), st.integers(0, (1 << bits) - 1))


@st.composite
def valid_images(draw: st.DrawFn) -> bytes:
    hw_min = draw(st.integers(0, 0xFFFF))
    return build_image(draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 2**32 - 1)),
                       draw(st.binary(min_size=1, max_size=200)), min_hardware_version=hw_min,
                       max_hardware_version=draw(st.integers(hw_min, 0xFFFF)),
                       header_string=draw(st.text("ABCXYZ v0123456789-", max_size=32)),
                       signer=KEY if draw(st.booleans()) else None)


@st.composite
def near_valid_images(draw: st.DrawFn) -> bytes:
    """A header whose fields are each valid or random, then random sub-elements."""
    body = b"".join(struct.pack("<HI", draw(_u(16, tag)), draw(st.integers(0, 300))) + draw(st.binary(max_size=80))
                    for tag in draw(st.lists(st.sampled_from([0x0000, 0xF000]), max_size=3)))
    total = HEADER_LENGTH + len(body)
    header = struct.pack("<IHHHHHIH32sIHH", draw(_u(32, MAGIC)), draw(_u(16, 0x0100)), draw(_u(16, HEADER_LENGTH)),
                         draw(_u(16, 0x0004)), draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)),
                         draw(st.integers(0, 2**32 - 1)), draw(_u(16, 0x0002)),
                         draw(st.one_of(st.just(bytes(32)), st.binary(min_size=32, max_size=32))),
                         draw(_u(32, total)), draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)))
    return header + body


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[at:at + draw(st.integers(1, 8))]
    return bytes(data)


def fix_total(data: bytes) -> bytes:
    """Make the total-size field agree with the length again, so mutations reach the sub-elements."""
    if len(data) < HEADER_LENGTH:
        return data
    return data[:52] + struct.pack("<I", len(data)) + data[56:]


@st.composite
def valid_commands(draw: st.DrawFn) -> bytes:
    code = draw(st.sampled_from([MessageCode.CS06_ACTIVATE_FIRMWARE, MessageCode.LOCAL_UPDATE_SCREENING,
                                 MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS]))
    payload = (bytes(8) + KEY.public) if code is MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS \
        else draw(st.binary(min_size=32, max_size=32))
    return encode_command(code, KEY, "00-90-00-00-00-00-00-01", draw(st.integers(0, 2**64 - 1)), TARGET, payload,
                          draw(st.one_of(st.none(), st.integers(0, 2**64 - 1))))


@st.composite
def device_images(draw: st.DrawFn) -> bytes:
    """Images correctly signed by the premises' manufacturer, with arbitrary header fields."""
    hw_min = draw(st.integers(0, 3))
    return build_image(draw(_u(16, 0x1234)), draw(_u(16, 0x0201)), draw(st.integers(0, 4)),
                       draw(st.binary(min_size=1, max_size=64)), min_hardware_version=hw_min,
                       max_hardware_version=draw(st.integers(hw_min, 3)), signer=MANUFACTURER)


IMAGES = st.one_of(st.binary(max_size=400), near_valid_images(), mutated(valid_images()),
                   mutated(valid_images()).map(fix_total))
COMMANDS = st.one_of(st.binary(max_size=250), mutated(valid_commands()))


def check_image(data: bytes) -> None:
    try:
        image = parse_image(data)
    except ImageFormatError as err:
        assert err.field
        return
    assert image.raw == data and image.header.total_size == len(data)
    assert image.header.min_hardware_version <= image.header.max_hardware_version


def check_command(data: bytes) -> None:
    try:
        cmd = decode_command(data)
    except CommandFormatError as err:
        assert err.field
        return
    assert cmd.signed_bytes + cmd.signature == data and len(cmd.signature) == 64


_DEVICE: list[Premises] = []


def check_device(image: bytes, command: bytes) -> None:
    """A device fed hostile bytes refuses with a RejectionError and keeps a valid running image."""
    if not _DEVICE:
        p = Premises(PremisesConfig(seed=0))
        p.distribute(p.firmware("HCALCS", 2))
        _DEVICE.append(p)
    hcalcs = _DEVICE[0].hcalcs
    for action, data in ((hcalcs.receive_firmware, image), (hcalcs.activate_firmware, command)):
        try:
            action(data)
        except RejectionError:
            pass
    assert hcalcs.running_version == 1


@QUICK
@given(IMAGES)
def test_fuzz_image_parser(data: bytes) -> None:
    check_image(data)


@QUICK
@given(COMMANDS)
def test_fuzz_command_decoder(data: bytes) -> None:
    check_command(data)


@QUICK
@given(st.one_of(mutated(valid_images()), device_images()), mutated(valid_commands()))
def test_fuzz_device_inputs(image: bytes, command: bytes) -> None:
    check_device(image, command)


@pytest.mark.slow
@SLOW
@given(IMAGES)
def test_fuzz_image_parser_10k(data: bytes) -> None:
    check_image(data)


@pytest.mark.slow
@SLOW
@given(COMMANDS)
def test_fuzz_command_decoder_10k(data: bytes) -> None:
    check_command(data)


@pytest.mark.slow
@SLOW
@given(st.one_of(mutated(valid_images()), device_images()), mutated(valid_commands()))
def test_fuzz_device_inputs_10k(image: bytes, command: bytes) -> None:
    check_device(image, command)
