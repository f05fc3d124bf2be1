"""The parties outside the premises: manufacturer, suppliers (DCC Users), the DCC's signing role.

Every signer is an :class:`Originator`: an EUI-64 originator ID, an ECDSA P-256 key pair derived
from the seed, and an originator counter that strictly increases with every command it signs.
"""

from __future__ import annotations

from otaproof.refimpl.commands import MessageCode, encode_command, eui64
from otaproof.refimpl.cpl import DeviceModel
from otaproof.refimpl.crypto import KeyPair, sha256
from otaproof.refimpl.image import build_image


class Originator:
    """A party that signs GBCS-like commands with its own key and counter."""

    def __init__(self, name: str, originator_id: str, seed: int) -> None:
        eui64(originator_id)
        self.name = name
        self.originator_id = originator_id
        self.keys = KeyPair.derive(seed, name)
        self.counter = 0

    def sign(self, code: MessageCode, target: str, payload: bytes, execute_at: int | None = None) -> bytes:
        """Sign a command to ``target`` with the next originator counter."""
        self.counter += 1
        return encode_command(code, self.keys, self.originator_id, self.counter, target, payload, execute_at)


class Supplier(Originator):
    """An energy supplier (DCC User): submits Service Requests and signs critical commands."""

    def __init__(self, name: str, originator_id: str, seed: int) -> None:
        super().__init__(name, originator_id, seed)
        self.inbox: list[tuple[str, str, dict[str, object]]] = []

    def activate_firmware_command(self, device_id: str, image_hash: bytes, execute_at: int | None = None) -> bytes:
        """SR 11.3 / GBCS CS06 Activate Firmware, signed by this supplier."""
        return self.sign(MessageCode.CS06_ACTIVATE_FIRMWARE, device_id, image_hash, execute_at)


class DCCSigner(Originator):
    """The DCC's own signing role: CS02b credential updates on change of supplier, screening tokens."""

    def cs02b(self, device_id: str, new_supplier: Supplier) -> bytes:
        """GBCS CS02b Update Security Credentials: make ``new_supplier`` the device's supplier anchor."""
        payload = eui64(new_supplier.originator_id) + new_supplier.keys.public
        return self.sign(MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS, device_id, payload)

    def screening_token(self, device_id: str, image_hash: bytes) -> bytes:
        """Variant gateway screening: authorise one local update of ``device_id`` to this image."""
        return self.sign(MessageCode.LOCAL_UPDATE_SCREENING, device_id, image_hash)


class Manufacturer:
    """A device manufacturer: builds and signs Manufacturer Images for its device models."""

    def __init__(self, name: str, code: int, seed: int) -> None:
        self.name = name
        self.code = code
        self.keys = KeyPair.derive(seed, f"manufacturer:{name}")

    def model(self, model: str, image_type: int, device_type: str) -> DeviceModel:
        """One of this manufacturer's device models."""
        return DeviceModel(self.name, self.code, model, image_type, device_type)

    def build_firmware(self, device_model: DeviceModel, version: int, *, hardware: tuple[int, int] = (0, 0xFFFF),
                       signed: bool = True, payload: bytes | None = None) -> bytes:
        """A Manufacturer Image of ``device_model`` at ``version`` (payload derived when not given)."""
        if payload is None:
            seed = f"{device_model.model} firmware {version}".encode()
            payload = b"".join(sha256(seed + bytes([i])) for i in range(5))[:150]
        return build_image(device_model.manufacturer_code, device_model.image_type, version, payload,
                           min_hardware_version=hardware[0], max_hardware_version=hardware[1],
                           header_string=f"{device_model.model} v{version}", signer=self.keys if signed else None)
