"""The Communications Hub: ZigBee OTA server for PPMIDs (and IHDs), relay for everything else.

For a PPMID the hub receives the image in GBCS CS05c, offers it (Image Notify), answers Query
Next Image and Image Block requests, and on Upgrade End raises CCS08 Firmware Transfer Alert and
gives the upgrade time in the Upgrade End Response. It holds the image only during the transfer:
on success, failure or timeout the image is discarded (the working group's "transfers, does not
store"). Each PPMID's transfer slot is a state machine: idle -> notified -> serving -> idle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otaproof.refimpl import messages as m
from otaproof.refimpl.config import Variants
from otaproof.refimpl.errors import ImageFormatError
from otaproof.refimpl.image import FirmwareImage, parse_image
from otaproof.refimpl.lifecycle import Lifecycle
from otaproof.refimpl.messages import DSP_ENDPOINT, HUB_ENDPOINT, TransferOutcome
from otaproof.refimpl.sim import Network, Timer

_RELAY_DOWN = (m.FW_DISTRIBUTION, m.CS06, m.CS08_READ, m.CS02B)
_RELAY_UP = (m.CS09, m.FDR, m.CS06_RESPONSE, m.CS08_RESPONSE, m.CS02B_RESPONSE)
_END_STATUS = {m.ZCL_SUCCESS: TransferOutcome.SUCCESS, m.ZCL_INVALID_IMAGE: TransferOutcome.IMAGE_DISCARDED,
               m.ZCL_ABORT: TransferOutcome.FILE_TRANSFER_FAILURE}


class OtaTransfer(Lifecycle):
    """The hub's OTA server slot for one PPMID/IHD."""

    STATES = ("idle", "notified", "serving")
    TRANSITIONS = (("offer", "idle", "notified"), ("query", "notified", "serving"),
                   ("finish", ("notified", "serving"), "idle"))

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.image: FirmwareImage | None = None
        self.upgrade_time: int | None = None
        self.timer: Timer | None = None
        super().__init__()


class CommsHub:
    """The premises' Communications Hub (CH); ``devices`` maps each joined device to its type."""

    def __init__(self, hub_id: str, network: Network, variants: Variants, devices: dict[str, str]) -> None:
        self.hub_id = hub_id
        self.network = network
        self.variants = variants
        self.devices = dict(devices)
        self.transfers = {d: OtaTransfer(d) for d, t in devices.items() if t in ("PPMID", "IHD")}
        self.device_versions: dict[str, int] = {}  # variant hub_stores_versions: from version reports
        network.attach(HUB_ENDPOINT, self.receive)

    def held_images(self) -> dict[str, FirmwareImage]:
        """Images the hub holds right now, by device (empty between transfers)."""
        return {d: t.image for d, t in self.transfers.items() if t.image is not None}

    def receive(self, msg: m.Message) -> None:
        """Network entry point: OTA server, relay, or (variants) version store."""
        handler = self._handlers().get(msg.kind)
        if handler is None:
            self._log("ignored", f"CH ignores {msg.kind}")
        elif msg.kind in _RELAY_DOWN and msg.device not in self.devices:
            self._log("rejection", f"CH: {msg.device} is not joined to this hub", error="UnknownDevice")
        else:
            handler(msg)

    def _handlers(self) -> dict[str, Callable[[m.Message], None]]:
        relay_down = {k: self._relay_down for k in _RELAY_DOWN}
        relay_up = {k: self._relay_up for k in _RELAY_UP}
        return {**relay_down, **relay_up, m.CS05C: self._on_cs05c, m.QUERY_NEXT_IMAGE: self._on_query,
                m.IMAGE_BLOCK_REQUEST: self._on_block_request, m.UPGRADE_END: self._on_upgrade_end,
                m.DEVICE_VERSION_REPORT: self._on_version_report}

    # --- OTA server (SR 11.4 / GBCS CS05c) ----------------------------------------------------
    def _on_cs05c(self, msg: m.Message) -> None:
        slot = self.transfers.get(msg.device)
        if slot is None:
            self._log("rejection", f"CH: {msg.device} is not a PPMID joined to this hub", error="UnknownDevice")
            return
        if slot.state != "idle":
            # a transfer to this device is under way: the new image is discarded
            self._ccs08(msg.device, TransferOutcome.IMAGE_DISCARDED, "another transfer is in progress")
            return
        try:
            image = parse_image(msg["image"])
        except ImageFormatError as err:
            self._ccs08(msg.device, TransferOutcome.IMAGE_DISCARDED, f"malformed image: {err}")
            return
        slot.image, slot.upgrade_time = image, msg["activation_time"]
        slot.fire("offer")
        slot.timer = self.network.sim.call_at(self.network.sim.now + self.variants.ota_timeout,
                                              lambda: self._timeout(slot))
        h = image.header
        self._send(msg.device, m.IMAGE_NOTIFY, payload_type=0x03, manufacturer_code=h.manufacturer_code,
                   image_type=h.image_type, file_version=h.file_version)

    def _on_query(self, msg: m.Message) -> None:
        slot = self.transfers.get(msg.src)
        if slot is None or slot.image is None or not slot.can("query"):
            self._send(msg.src, m.QUERY_NEXT_IMAGE_RESPONSE, status=m.ZCL_NO_IMAGE_AVAILABLE)
            return
        h = slot.image.header
        if (msg["manufacturer_code"], msg["image_type"]) != (h.manufacturer_code, h.image_type):
            self._send(msg.src, m.QUERY_NEXT_IMAGE_RESPONSE, status=m.ZCL_NO_IMAGE_AVAILABLE)
            self._finish(slot, TransferOutcome.IMAGE_DISCARDED, "image is for another device model")
            return
        if not h.supports_hardware(msg["hardware_version"]):
            self._send(msg.src, m.QUERY_NEXT_IMAGE_RESPONSE, status=m.ZCL_NO_IMAGE_AVAILABLE)
            self._finish(slot, TransferOutcome.HARDWARE_VERSION_MISMATCH,
                         f"device hardware {msg['hardware_version']} outside "
                         f"{h.min_hardware_version}..{h.max_hardware_version}")
            return
        slot.fire("query")
        self._send(msg.src, m.QUERY_NEXT_IMAGE_RESPONSE, status=m.ZCL_SUCCESS, manufacturer_code=h.manufacturer_code,
                   image_type=h.image_type, file_version=h.file_version, image_size=h.total_size)

    def _on_block_request(self, msg: m.Message) -> None:
        slot = self.transfers.get(msg.src)
        if slot is None or slot.state != "serving" or slot.image is None \
                or msg["file_version"] != slot.image.header.file_version:
            self._log("ignored", f"CH ignores an image block request from {msg.src}")
            return
        raw, offset = slot.image.raw, msg["offset"]
        size = min(msg["max_data_size"], self.variants.block_size)
        status = m.ZCL_SUCCESS if 0 <= offset < len(raw) else m.ZCL_ABORT
        self._send(msg.src, m.IMAGE_BLOCK_RESPONSE, status=status, file_version=msg["file_version"], offset=offset,
                   data=raw[offset:offset + size] if status == m.ZCL_SUCCESS else b"")

    def _on_upgrade_end(self, msg: m.Message) -> None:
        slot = self.transfers.get(msg.src)
        if slot is None or slot.state != "serving" or slot.image is None \
                or msg["file_version"] != slot.image.header.file_version:
            self._log("ignored", f"CH ignores an Upgrade End from {msg.src}")
            return
        outcome = _END_STATUS.get(msg["status"], TransferOutcome.FILE_TRANSFER_FAILURE)
        if outcome is TransferOutcome.SUCCESS:
            now = self.network.sim.now
            # The CH manages activation: the Upgrade End Response carries the upgrade time.
            self._send(msg.src, m.UPGRADE_END_RESPONSE, file_version=slot.image.header.file_version,
                       current_time=now, upgrade_time=max(now, slot.upgrade_time or now))
        self._finish(slot, outcome, f"Upgrade End status 0x{msg['status']:02x}")

    def _timeout(self, slot: OtaTransfer) -> None:
        slot.timer = None
        self._finish(slot, TransferOutcome.FILE_TRANSFER_FAILURE, f"no Upgrade End within {self.variants.ota_timeout}s")

    def _finish(self, slot: OtaTransfer, outcome: TransferOutcome, reason: str) -> None:
        """End of a transfer, whatever its outcome: discard the image, raise CCS08."""
        version = slot.image.header.file_version if slot.image else None
        if slot.timer is not None:
            slot.timer.cancel()
        slot.image, slot.upgrade_time, slot.timer = None, None, None
        slot.fire("finish")
        self._ccs08(slot.device_id, outcome, reason, version)

    def _ccs08(self, device: str, outcome: TransferOutcome, reason: str, version: int | None = None) -> None:
        # CCS08 Firmware Transfer Alert: 0x8F8A on success, 0x8F89 on failure
        ok = outcome is TransferOutcome.SUCCESS
        code = m.ALERT_FIRMWARE_TRANSFER_SUCCESS if ok else m.ALERT_FIRMWARE_TRANSFER_FAILURE
        self._send(DSP_ENDPOINT, m.CCS08, device=device, alert_code=hex(code), outcome=outcome,
                   firmware_version=version, reason=reason)

    # --- relay and version store ------------------------------------------------------------
    def _relay_down(self, msg: m.Message) -> None:
        if msg.kind == m.CS08_READ and self.variants.hub_stores_versions and msg.device in self.device_versions:
            # variant (a): the CH answers SR 11.2 for a PPMID/IHD from its own record
            self._send(DSP_ENDPOINT, m.CS08_RESPONSE, device=msg.device, alert_code=hex(m.ALERT_FIRMWARE_VERSION),
                       firmware_version=self.device_versions[msg.device], answered_by="CH")
            return
        self._send(msg.device, msg.kind, **msg.body)

    def _relay_up(self, msg: m.Message) -> None:
        self._send(DSP_ENDPOINT, msg.kind, device=msg.src, **msg.body)

    def _on_version_report(self, msg: m.Message) -> None:
        if self.variants.hub_stores_versions:
            self.device_versions[msg.src] = msg["firmware_version"]
        if self.variants.daily_version_alert:
            self._send(DSP_ENDPOINT, m.DAILY_VERSION_ALERT, device=msg.src, firmware_version=msg["firmware_version"])

    def _send(self, dst: str, kind: str, device: str | None = None, **body: Any) -> None:
        self.network.send(m.Message(kind, HUB_ENDPOINT, dst, device or dst, body))

    def _log(self, kind: str, text: str, **data: Any) -> None:
        self.network.sim.log.record(self.network.sim.now, HUB_ENDPOINT, kind, text, **data)
