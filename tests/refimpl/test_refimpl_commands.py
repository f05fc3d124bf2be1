"""GBCS-like signed commands: encoding, strict decoding, and the device's signature/counter checks."""

from __future__ import annotations

import pytest

from otaproof.refimpl.commands import MessageCode, check_command, decode_command, encode_command, eui64, eui_text
from otaproof.refimpl.crypto import KeyPair
from otaproof.refimpl.errors import BadSignature, CommandFormatError, StaleCounter, UsageError

S1 = KeyPair.derive(1, "S1")
ORIG, TARGET = "00-90-00-00-00-00-00-01", "00-DB-00-00-00-00-00-02"
HASH = bytes(range(32))


def cs06(counter: int = 5, at: int | None = None, key: KeyPair = S1) -> bytes:
    return encode_command(MessageCode.CS06_ACTIVATE_FIRMWARE, key, ORIG, counter, TARGET, HASH, at)


def rejects(data: bytes, field: str) -> None:
    with pytest.raises(CommandFormatError) as err:
        decode_command(data)
    assert err.value.field == field, str(err.value)


def test_cs06_round_trips() -> None:
    cmd = decode_command(cs06(at=1_700_000_000))
    assert (cmd.code, cmd.originator, cmd.counter, cmd.target) == (MessageCode.CS06_ACTIVATE_FIRMWARE, ORIG, 5, TARGET)
    assert cmd.execute_at == 1_700_000_000 and cmd.image_hash == HASH


def test_cs06_without_execution_time() -> None:
    assert decode_command(cs06()).execute_at is None


def test_cs02b_carries_new_supplier_and_key() -> None:
    new = KeyPair.derive(1, "S2")
    data = encode_command(MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS, S1, ORIG, 1, TARGET,
                          eui64("00-90-00-00-00-00-00-02") + new.public)
    cmd = decode_command(data)
    assert cmd.new_originator == "00-90-00-00-00-00-00-02" and cmd.new_public_key == new.public


def test_check_accepts_fresh_signed_command() -> None:
    check_command(decode_command(cs06(counter=5)), S1.public, last_counter=4)


def test_check_signature_by_other_key() -> None:
    with pytest.raises(BadSignature):
        check_command(decode_command(cs06(key=KeyPair.derive(1, "S2"))), S1.public, 0)


def test_check_tampered_command() -> None:
    data = bytearray(cs06())
    data[40] ^= 1  # one bit of the image hash
    with pytest.raises(BadSignature):
        check_command(decode_command(bytes(data)), S1.public, 0)


def test_check_counter_equal_to_last_is_stale() -> None:
    with pytest.raises(StaleCounter):
        check_command(decode_command(cs06(counter=5)), S1.public, last_counter=5)


def test_check_counter_below_last_is_stale() -> None:
    with pytest.raises(StaleCounter):
        check_command(decode_command(cs06(counter=3)), S1.public, last_counter=5)


def test_frame_truncated() -> None:
    rejects(cs06()[:50], "frame")


def test_general_signing_tag_wrong() -> None:
    rejects(b"\xde" + cs06()[1:], "general signing tag")


def test_message_code_unknown() -> None:
    data = cs06()
    rejects(data[:1] + b"\x07" + data[2:], "message code")


def test_cra_flag_not_command() -> None:
    data = cs06()
    rejects(data[:2] + b"\x02" + data[3:], "CRA flag")


def test_execution_time_flag_invalid() -> None:
    data = cs06()
    rejects(data[:27] + b"\x02" + data[28:], "execution date-time")


def test_execution_time_without_flag() -> None:
    data = cs06()
    rejects(data[:35] + b"\x01" + data[36:], "execution date-time")


def test_payload_length_wrong() -> None:
    data = cs06()
    rejects(data[:36] + b"\x00\x21" + data[38:], "payload length")


def test_signature_length_wrong() -> None:
    rejects(cs06() + b"\0", "signature")


def test_cs02b_new_key_not_a_point() -> None:
    data = encode_command(MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS, S1, ORIG, 1, TARGET,
                          eui64(ORIG) + b"\x04" + b"\0" * 64)
    rejects(data, "new public key")


def test_not_bytes() -> None:
    rejects(None, "frame")  # type: ignore[arg-type]


def test_encoder_refuses_wrong_payload_and_bad_ids() -> None:
    with pytest.raises(UsageError):
        encode_command(MessageCode.CS06_ACTIVATE_FIRMWARE, S1, ORIG, 1, TARGET, b"short")
    with pytest.raises(UsageError):
        encode_command(MessageCode.CS06_ACTIVATE_FIRMWARE, S1, ORIG, -1, TARGET, HASH)
    with pytest.raises(UsageError):
        eui64("00-11")
    assert eui_text(eui64(ORIG)) == ORIG
