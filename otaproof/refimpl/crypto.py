"""Real cryptography: SHA-256 hashes and ECDSA P-256 / SHA-256 signatures (GBCS suite).

Keys are derived deterministically from a seed and a label so that a test run is reproducible;
signatures use RFC 6979 deterministic nonces for the same reason. Signatures are the raw 64-byte
``r || s`` form GBCS carries in its commands. Verification fails closed: any malformed key,
signature or internal error means "not valid".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 65  # uncompressed SEC1 point 0x04 || X || Y
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # order of P-256
_ALGORITHM = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data`` (the firmware hash of a Manufacturer Image)."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class KeyPair:
    """An ECDSA P-256 key pair of one party (supplier, manufacturer, DCC)."""

    label: str
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def derive(cls, seed: int, label: str) -> KeyPair:
        """The key pair for ``label`` under ``seed``: same inputs, same key (tests only)."""
        digest = sha256(f"otaproof-refimpl|{seed}|{label}".encode())
        scalar = int.from_bytes(digest, "big") % (_ORDER - 1) + 1
        return cls(label, ec.derive_private_key(scalar, ec.SECP256R1()))

    @property
    def public(self) -> bytes:
        """The public key as an uncompressed SEC1 point (what a device stores as trust anchor)."""
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 signature of ``data`` as 64 raw bytes ``r || s``."""
        r, s = decode_dss_signature(self.private_key.sign(data, _ALGORITHM))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def is_public_key(data: bytes) -> bool:
    """True if ``data`` is an uncompressed SEC1 encoding of a point on P-256."""
    if len(data) != PUBLIC_KEY_LEN or data[0] != 0x04:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError:
        return False
    return True


def verify(public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True only if ``signature`` is a valid P-256/SHA-256 signature of ``data`` by ``public_key``."""
    if len(public_key) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
