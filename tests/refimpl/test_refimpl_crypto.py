"""Cryptography: deterministic P-256 keys, SHA-256, signatures that fail closed."""

from __future__ import annotations

from otaproof.refimpl.crypto import KeyPair, is_public_key, sha256, verify


def test_same_seed_and_label_give_the_same_key() -> None:
    assert KeyPair.derive(7, "S1").public == KeyPair.derive(7, "S1").public


def test_other_seed_or_label_gives_another_key() -> None:
    keys = {KeyPair.derive(7, "S1").public, KeyPair.derive(8, "S1").public, KeyPair.derive(7, "S2").public}
    assert len(keys) == 3


def test_signature_verifies_and_is_deterministic() -> None:
    k = KeyPair.derive(1, "M")
    sig = k.sign(b"image")
    assert len(sig) == 64 and sig == k.sign(b"image")
    assert verify(k.public, b"image", sig)


def test_verify_fails_on_tampered_data() -> None:
    k = KeyPair.derive(1, "M")
    assert not verify(k.public, b"imagf", k.sign(b"image"))


def test_verify_fails_on_other_key() -> None:
    assert not verify(KeyPair.derive(1, "X").public, b"image", KeyPair.derive(1, "M").sign(b"image"))


def test_verify_fails_closed_on_malformed_signature() -> None:
    k = KeyPair.derive(1, "M")
    for sig in (b"", b"\0" * 64, b"\xff" * 64, k.sign(b"image")[:63]):
        assert not verify(k.public, b"image", sig)


def test_verify_fails_closed_on_malformed_key() -> None:
    sig = KeyPair.derive(1, "M").sign(b"image")
    for key in (b"", b"\x04" + b"\0" * 64, b"\x02" * 65, b"\x04" + b"\xff" * 64):
        assert not is_public_key(key)
        assert not verify(key, b"image", sig)


def test_sha256_is_the_standard_digest() -> None:
    assert sha256(b"abc").hex().startswith("ba7816bf8f01cfea")
