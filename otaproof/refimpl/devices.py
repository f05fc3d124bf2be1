"""HAN devices: PPMID (and IHD) updated over ZigBee OTA, HCALCS updated by SR 11.1 + SR 11.3.

Every device checks what it receives itself, whatever the DSP and the hub did before:

* an image: well formed, manufacturer signature, header for this model, hardware version, and
  (switch ``anti_rollback``) not older than the running one -- :meth:`HanDevice.verify_image`;
* a critical command: addressed to this device, signed by the holder of the trust anchor for
  that role, originator counter fresh -- :meth:`HanDevice.check_critical`.

Public methods raise the specific :class:`RejectionError`; the message handlers turn the same
refusals into the ZigBee status, CCS08/FDR result or CS06 outcome the real device reports, and
record them in the event log. The running image is always a valid one (A/B activation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from otaproof.refimpl import messages as m
from otaproof.refimpl.commands import MessageCode, SignedCommand, check_command, decode_command
from otaproof.refimpl.config import Variants
from otaproof.refimpl.cpl import DeviceModel
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.errors import (
    ActivationFailure,
    BadSignature,
    CommandFormatError,
    HardwareMismatch,
    HashMismatch,
    LocalUpdateRefused,
    NoImageHeld,
    RejectionError,
    RollbackRefused,
    StaleCounter,
    UnknownDevice,
    WrongImage,
)
from otaproof.refimpl.image import FirmwareImage, parse_image
from otaproof.refimpl.lifecycle import Lifecycle
from otaproof.refimpl.sim import Network, Timer, timestamp

DAY = 86_400
Anchor = tuple[str, bytes]  # (originator ID, public key)
_COMMAND_ERRORS = {BadSignature: m.CommandError.AUTHENTICATION_FAILURE, StaleCounter: m.CommandError.COUNTER_FAILURE,
                   CommandFormatError: m.CommandError.MALFORMED_COMMAND, UnknownDevice: m.CommandError.WRONG_TARGET}


class HanDevice(Lifecycle):
    """What every HAN device has: identity, running image, trust anchors, counters, checks."""

    DEVICE_TYPE: ClassVar[str]

    def __init__(self, device_id: str, device_model: DeviceModel, hardware_version: int, running_image: bytes,
                 manufacturer_key: bytes, supplier_anchor: Anchor, dcc_anchor: Anchor, network: Network,
                 variants: Variants, hub: str = m.HUB_ENDPOINT) -> None:
        self.device_id = device_id
        self.device_model = device_model
        self.hardware_version = hardware_version
        self.running: FirmwareImage = parse_image(running_image)
        self.held: FirmwareImage | None = None
        self.manufacturer_key = manufacturer_key
        self.supplier_anchor = supplier_anchor
        self.dcc_anchor = dcc_anchor
        self.last_counter: dict[str, int] = {}
        self.variants = variants
        self.network = network
        self.hub = hub
        self._timer: Timer | None = None
        self._interrupt_next_activation = False
        super().__init__()
        network.attach(device_id, self.receive)

    @property
    def running_version(self) -> int:
        """The file version of the running image."""
        return self.running.header.file_version

    def local_update(self, image: bytes, token: bytes | None = None) -> FirmwareImage:
        """The installer's local update port (``token``: a DCC screening authorisation, if any)."""
        raise NotImplementedError

    # --- the checks -----------------------------------------------------------------------
    def verify_image(self, data: bytes) -> FirmwareImage:
        """Parse and check an image before holding it: format, signature, model, hardware, rollback."""
        image = parse_image(data)
        if not image.signature_valid(self.manufacturer_key):
            raise BadSignature(f"{self.device_id}: image is not signed by {self.device_model.manufacturer}")
        h, dm = image.header, self.device_model
        if (h.manufacturer_code, h.image_type) != (dm.manufacturer_code, dm.image_type):
            raise WrongImage(f"{self.device_id}: image is for manufacturer 0x{h.manufacturer_code:04x} "
                             f"type 0x{h.image_type:04x}, this device is {dm.model}")
        if not h.supports_hardware(self.hardware_version):
            raise HardwareMismatch(f"{self.device_id}: hardware version {self.hardware_version} outside "
                                   f"{h.min_hardware_version}..{h.max_hardware_version}")
        if self.variants.anti_rollback and h.file_version < self.running_version:
            raise RollbackRefused(f"{self.device_id}: version {h.file_version} is older than running "
                                  f"{self.running_version}")
        return image

    def check_critical(self, data: bytes, code: MessageCode, anchor: Anchor) -> SignedCommand:
        """GBCS checks of a signed command: target, originator, signature, then counter (then recorded)."""
        cmd = decode_command(data)
        if cmd.code is not code:
            raise CommandFormatError("message code", f"{cmd.code.name}, expected {code.name}")
        if cmd.target != self.device_id:
            raise UnknownDevice(f"command addressed to {cmd.target}, this device is {self.device_id}")
        originator, key = anchor
        if cmd.originator != originator:
            raise BadSignature(f"{code.name} from {cmd.originator}: this device trusts {originator} for that role")
        check_command(cmd, key, self.last_counter.get(originator, 0))
        self.last_counter[originator] = cmd.counter
        return cmd

    # --- use cases common to all devices ----------------------------------------------------
    def update_security_credentials(self, data: bytes) -> None:
        """GBCS CS02b (change of supplier): the DCC replaces the supplier trust anchor."""
        cmd = self.check_critical(data, MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS, self.dcc_anchor)
        self.supplier_anchor = (cmd.new_originator, cmd.new_public_key)
        if self.variants.cos_resets_counters:
            self.last_counter.pop(cmd.new_originator, None)

    def interrupt_next_activation(self) -> None:
        """Fault: power fails during the next activation; the device restarts on its old image."""
        self._interrupt_next_activation = True

    def _activate(self, image: FirmwareImage) -> None:
        """A/B swap to ``image``; ActivationFailure (old image kept) if power fails meanwhile."""
        if self._interrupt_next_activation:
            self._interrupt_next_activation = False
            raise ActivationFailure(f"{self.device_id}: power lost during activation, still running "
                                    f"version {self.running_version}")
        old = self.running_version
        self.running, self.held = image, None
        self._cancel_timer()
        self._log("activation", f"{self.DEVICE_TYPE} {self.device_id} now runs version {self.running_version}",
                  old_version=old, version=self.running_version)

    # --- messages ----------------------------------------------------------------------------
    def receive(self, msg: m.Message) -> None:
        """Network entry point: dispatch by message kind; anything unexpected is logged and dropped."""
        handler = self._handlers().get(msg.kind)
        if handler is None:
            self._log("ignored", f"{self.device_id} ignores {msg.kind}")
        else:
            handler(msg)

    def _handlers(self) -> dict[str, Callable[[m.Message], None]]:
        return {m.CS08_READ: self._on_read_version, m.CS02B: self._on_cs02b}

    def _on_read_version(self, msg: m.Message) -> None:
        # SR 11.2 / GBCS CS08 Read Firmware Version
        self._send(m.CS08_RESPONSE, alert_code=hex(m.ALERT_FIRMWARE_VERSION), firmware_version=self.running_version,
                   firmware_hash=self.running.hash.hex())

    def _on_cs02b(self, msg: m.Message) -> None:
        err = self._attempt("CS02b", lambda: self.update_security_credentials(msg["command"]))
        self._send(m.CS02B_RESPONSE, result="success" if err is None else _command_error(err).name)

    def _attempt(self, what: str, action: Callable[[], Any]) -> RejectionError | None:
        """Run ``action``; a rejection is logged with its check and returned, not raised."""
        try:
            action()
        except RejectionError as err:
            self._log("rejection", f"{self.DEVICE_TYPE} {self.device_id} refuses {what}: {type(err).__name__}: {err}",
                      error=type(err).__name__, what=what)
            return err
        return None

    def _send(self, kind: str, **body: Any) -> None:
        self.network.send(m.Message(kind, self.device_id, self.hub, self.device_id, body))

    def _log(self, kind: str, text: str, **data: Any) -> None:
        self.network.sim.log.record(self.network.sim.now, self.device_id, kind, text, **data)

    def _set_timer(self, when: int, action: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self.network.sim.call_at(when, action)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class HCALCS(HanDevice):
    """HAN-connected auxiliary load control switch: SR 11.1 distribution, SR 11.3 / CS06 activation."""

    DEVICE_TYPE = "HCALCS"
    STATES = ("idle", "image_held", "activation_scheduled")
    TRANSITIONS = (("hold", ("idle", "image_held"), "image_held"),
                   ("hold", "activation_scheduled", "activation_scheduled"),
                   ("schedule", "image_held", "activation_scheduled"),
                   ("activate", ("image_held", "activation_scheduled"), "idle"),
                   ("unschedule", "activation_scheduled", "image_held"),
                   ("drop_schedule", "activation_scheduled", "idle"),
                   ("updated_locally", ("idle", "image_held"), "idle"),
                   ("updated_locally", "activation_scheduled", "activation_scheduled"))

    def local_update(self, image: bytes, token: bytes | None = None) -> FirmwareImage:
        """Pre-SECMP0007 installer port: verify and activate; a held image is dropped (a pending
        CS06 then finds none). No screening and no report: nothing reaches the DCC."""
        if not self.variants.hcalcs_local_update_port:
            raise LocalUpdateRefused(f"{self.device_id}: no local update port (SECMP0007 bans local updates)")
        parsed = self.verify_image(image)
        self._activate(parsed)
        self.held = None
        self.fire("updated_locally")
        return parsed

    def receive_firmware(self, data: bytes) -> FirmwareImage:
        """SR 11.1: verify a distributed image and hold it (a refused image is not kept)."""
        image = self.verify_image(data)
        self.held = image
        self.fire("hold")
        return image

    def activate_firmware(self, data: bytes) -> m.ActivationOutcome | None:
        """SR 11.3 / GBCS CS06: checks, then activate now (SUCCESS) or schedule (None)."""
        cmd = self.check_critical(data, MessageCode.CS06_ACTIVATE_FIRMWARE, self.supplier_anchor)
        if self.held is None:
            raise NoImageHeld(f"{self.device_id}: CS06 received but no image is held")
        if self.held.hash != cmd.image_hash:
            raise HashMismatch(f"{self.device_id}: held image hash differs from the hash in CS06")
        now = self.network.sim.now
        if cmd.execute_at is not None and cmd.execute_at > now:
            self.fire("schedule")
            self._set_timer(cmd.execute_at, lambda: self._execute_scheduled(cmd.image_hash))
            self._log("scheduled", f"HCALCS {self.device_id} accepts CS06, activation at {timestamp(cmd.execute_at)}",
                      execute_at=cmd.execute_at)
            return None
        self._activate_held()
        return m.ActivationOutcome.SUCCESS

    def _activate_held(self) -> None:
        assert self.held is not None
        self._activate(self.held)
        self.fire("activate")

    def _handlers(self) -> dict[str, Callable[[m.Message], None]]:
        return {**super()._handlers(), m.FW_DISTRIBUTION: self._on_distribution, m.CS06: self._on_cs06}

    def _on_distribution(self, msg: m.Message) -> None:
        # SR 11.1: the device hashes what it received and reports the verification result.
        data: bytes = msg["image"]
        err = self._attempt("SR 11.1 image", lambda: self.receive_firmware(data))
        code = m.ALERT_FIRMWARE_VERIFICATION_SUCCESSFUL if err is None else m.ALERT_FIRMWARE_VERIFICATION_FAILED
        self._send(m.FDR, alert_code=hex(code), firmware_hash=sha256(data).hex(),
                   result="Firmware Verification Successful" if err is None else "Firmware Verification Failed")

    def _on_cs06(self, msg: m.Message) -> None:
        result: list[m.ActivationOutcome | None] = []
        err = self._attempt("CS06 Activate Firmware", lambda: result.append(self.activate_firmware(msg["command"])))
        if err is None and result[0] is None:
            return  # future dated: the response follows execution
        if err is None:
            self._respond(m.ActivationOutcome.SUCCESS)
        elif isinstance(err, (NoImageHeld, HashMismatch, ActivationFailure)):
            self._respond(_ACTIVATION_OUTCOMES[type(err)])
        else:
            self._send(m.CS06_RESPONSE, error=_command_error(err), firmware_version=self.running_version)

    def _execute_scheduled(self, image_hash: bytes) -> None:
        """The execution date-time of a future-dated CS06 has come."""
        self._timer = None
        if self.held is None or self.held.hash != image_hash:
            self._attempt("scheduled activation", lambda: _raise(HashMismatch("held image changed since CS06")))
            self.fire("unschedule" if self.held is not None else "drop_schedule")
            self._respond(m.ActivationOutcome.HASH_MISMATCH)
            return
        err = self._attempt("scheduled activation", self._activate_held)
        if err is not None:
            self.fire("unschedule")  # power failed: the old image runs, the image is still held
        self._respond(m.ActivationOutcome.SUCCESS if err is None else m.ActivationOutcome.ACTIVATION_FAILURE)

    def _respond(self, outcome: m.ActivationOutcome) -> None:
        self._send(m.CS06_RESPONSE, outcome=outcome, firmware_version=self.running_version)


class PPMID(HanDevice):
    """Pre-payment meter interface device: ZigBee OTA client of the hub, CS09 on activation."""

    DEVICE_TYPE = "PPMID"
    STATES = ("idle", "querying", "downloading", "image_held", "activation_scheduled")
    _ALL = STATES
    TRANSITIONS = (("notified", _ALL, "querying"),
                   ("no_image", "querying", "idle"),
                   ("start_download", "querying", "downloading"),
                   ("downloaded", "downloading", "image_held"),
                   ("download_failed", "downloading", "idle"),
                   ("schedule", "image_held", "activation_scheduled"),
                   ("activate", ("image_held", "activation_scheduled"), "idle"),
                   ("interrupted", ("image_held", "activation_scheduled"), "image_held"),
                   ("updated_locally", _ALL, "idle"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = bytearray()
        self._offer: m.Message | None = None
        if self.variants.daily_version_alert:
            self._set_daily_report(self.network.sim.now + DAY)

    def local_update(self, image: bytes, token: bytes | None = None) -> FirmwareImage:
        """Installer's local update port: refused under SECMP0007; screened by the DCC if configured."""
        if not self.variants.local_update_port:
            raise LocalUpdateRefused(f"{self.device_id}: local update port disabled (SECMP0007 bans local updates)")
        cmd = None
        if self.variants.gateway_screening:
            if token is None:
                raise LocalUpdateRefused(f"{self.device_id}: no DCC screening authorisation presented")
            cmd = self.check_critical(token, MessageCode.LOCAL_UPDATE_SCREENING, self.dcc_anchor)
        parsed = self.verify_image(image)
        if cmd is not None and cmd.image_hash != parsed.hash:
            raise HashMismatch(f"{self.device_id}: image differs from the one the DCC screened")
        self._activate(parsed)
        if self.state not in ("querying", "downloading"):  # an OTA download under way carries on
            self.fire("updated_locally")
        if cmd is not None:
            self._send(m.CS09, firmware_version=self.running_version, firmware_hash=parsed.hash.hex(), local=True)
        elif self.variants.hub_stores_versions:
            self.report_version()
        return parsed

    def report_version(self) -> None:
        """Variants (a)/(b): tell the hub the running firmware version (Device Firmware Version Report)."""
        self._send(m.DEVICE_VERSION_REPORT, firmware_version=self.running_version)

    def _handlers(self) -> dict[str, Callable[[m.Message], None]]:
        return {**super()._handlers(), m.IMAGE_NOTIFY: self._on_image_notify,
                m.QUERY_NEXT_IMAGE_RESPONSE: self._on_query_response, m.IMAGE_BLOCK_RESPONSE: self._on_block,
                m.UPGRADE_END_RESPONSE: self._on_upgrade_end_response}

    def _on_image_notify(self, msg: m.Message) -> None:
        # ZigBee OTA: a new offer replaces any download or held image (one download slot).
        self._cancel_timer()
        self.held, self._offer = None, None
        self._buffer.clear()
        self.fire("notified")
        self._send(m.QUERY_NEXT_IMAGE, manufacturer_code=self.device_model.manufacturer_code,
                   image_type=self.device_model.image_type, current_file_version=self.running_version,
                   hardware_version=self.hardware_version)

    def _on_query_response(self, msg: m.Message) -> None:
        if not self.can("start_download"):
            self._log("ignored", f"{self.device_id} ignores {msg.kind} in state {self.state}")
        elif msg["status"] != m.ZCL_SUCCESS:
            self.fire("no_image")
        else:
            self._offer = msg
            self.fire("start_download")
            self._request_block()

    def _request_block(self) -> None:
        assert self._offer is not None
        self._send(m.IMAGE_BLOCK_REQUEST, file_version=self._offer["file_version"], offset=len(self._buffer),
                   max_data_size=self.variants.block_size)

    def _on_block(self, msg: m.Message) -> None:
        offer = self._offer
        if self.state != "downloading" or offer is None or msg["offset"] != len(self._buffer) \
                or msg["file_version"] != offer["file_version"]:
            self._log("ignored", f"{self.device_id} ignores a stray or duplicate image block")
            return
        if msg["status"] != m.ZCL_SUCCESS or len(self._buffer) + len(msg["data"]) > offer["image_size"]:
            self.fire("download_failed")
            self._upgrade_end(m.ZCL_ABORT)
            return
        self._buffer += msg["data"]
        if len(self._buffer) < offer["image_size"]:
            self._request_block()
            return
        err = self._attempt("OTA image", lambda: self._hold(bytes(self._buffer)))
        if err is not None:
            self.fire("download_failed")
        self._upgrade_end(m.ZCL_SUCCESS if err is None else m.ZCL_INVALID_IMAGE)

    def _hold(self, data: bytes) -> None:
        self.held = self.verify_image(data)
        self.fire("downloaded")

    def _upgrade_end(self, status: int) -> None:
        assert self._offer is not None
        self._send(m.UPGRADE_END, status=status, manufacturer_code=self.device_model.manufacturer_code,
                   image_type=self.device_model.image_type, file_version=self._offer["file_version"])

    def _on_upgrade_end_response(self, msg: m.Message) -> None:
        # The hub manages activation: activate at the upgrade time it gives.
        if self.held is None or self.state != "image_held" or msg["file_version"] != self.held.header.file_version:
            self._attempt("OTA Upgrade End Response", lambda: _raise(NoImageHeld(
                f"{self.device_id}: nothing to activate as version {msg['file_version']} in state {self.state}")))
            return
        if msg["upgrade_time"] > msg["current_time"]:
            self.fire("schedule")
            self._set_timer(msg["upgrade_time"], self._activate_held)
            when = timestamp(msg["upgrade_time"])
            self._log("scheduled", f"{self.DEVICE_TYPE} {self.device_id} will activate at {when}",
                      execute_at=msg["upgrade_time"])
        else:
            self._activate_held()

    def _activate_held(self) -> None:
        assert self.held is not None
        self._timer = None
        image = self.held
        if self._attempt("activation", lambda: self._activate(image)) is not None:
            self.fire("interrupted")
            return
        self.fire("activate")
        # CS09 PPMID Firmware Activation Alert, relayed by the hub to the DSP
        self._send(m.CS09, firmware_version=self.running_version, firmware_hash=image.hash.hex())
        if self.variants.hub_stores_versions:
            self.report_version()

    def _set_daily_report(self, when: int) -> None:
        def report() -> None:
            self.report_version()
            self._set_daily_report(when + DAY)
        self.network.sim.call_at(when, report)


class IHD(PPMID):
    """In-home display: same OTA client as the PPMID (variant ``ihd_in_scope``)."""

    DEVICE_TYPE = "IHD"


_ACTIVATION_OUTCOMES = {NoImageHeld: m.ActivationOutcome.NO_IMAGE_HELD, HashMismatch: m.ActivationOutcome.HASH_MISMATCH,
                        ActivationFailure: m.ActivationOutcome.ACTIVATION_FAILURE}


def _command_error(err: RejectionError) -> m.CommandError:
    """The GBCS error response for a command refused before its use case ran."""
    return next(code for cls, code in _COMMAND_ERRORS.items() if isinstance(err, cls))


def _raise(err: RejectionError) -> None:
    raise err
