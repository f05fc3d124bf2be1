"""The DCC Data Service Provider: Service Request validation, the SMI, alerts to DCC Users.

Service Requests (DUIS): SR 11.4 Update PPMID Firmware, SR 11.1 Update Firmware, SR 11.3 Activate
Firmware, SR 11.2 Read Firmware Version, SR 8.2 Read Inventory; plus change of supplier (GBCS
CS02b) and, in the gateway-screening variant, screening of a local update. Each request's lifecycle
is a state machine: received -> rejected | accepted -> completed | failed. A rejection is logged
and raised as the specific RejectionError; invalid devices in a DeviceIDList are skipped with a
warning. The SMI firmware version changes only on a device's success report (CS09, CS06 success).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from otaproof.refimpl import messages as m
from otaproof.refimpl.commands import MessageCode, decode_command
from otaproof.refimpl.config import Variants
from otaproof.refimpl.cpl import CPLRegistry
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.errors import (
    HashMismatch,
    NotAuthorised,
    NotOnCPL,
    RejectionError,
    UnknownDevice,
    UpdateInProgress,
    UsageError,
)
from otaproof.refimpl.lifecycle import Lifecycle
from otaproof.refimpl.messages import DSP_ENDPOINT, HUB_ENDPOINT
from otaproof.refimpl.parties import DCCSigner, Supplier
from otaproof.refimpl.sim import Network, timestamp
from otaproof.refimpl.smi import SMI, InventoryEntry, SMIRecord


class ServiceRequest(Lifecycle):
    """One Service Request as the DSP tracks it; ``pending`` are devices yet to report."""

    STATES = ("received", "rejected", "accepted", "completed", "failed")
    TRANSITIONS = (("reject", "received", "rejected"), ("accept", "received", "accepted"),
                   ("complete", "accepted", "completed"), ("fail", "accepted", "failed"))

    def __init__(self, request_id: str, service: str, sender: str, device_ids: Iterable[str]) -> None:
        self.request_id = request_id
        self.service = service
        self.sender = sender
        self.device_ids = tuple(device_ids)
        self.accepted: tuple[str, ...] = ()
        self.pending: set[str] = set()
        self.failed_devices: set[str] = set()
        self.warnings: list[str] = []
        self.error: RejectionError | None = None
        super().__init__()

    def device_done(self, device_id: str, ok: bool) -> None:
        """A device's final report arrived; the request ends when every device has reported."""
        if device_id not in self.pending:
            return
        self.pending.discard(device_id)
        if not ok:
            self.failed_devices.add(device_id)
        if not self.pending:
            self.fire("fail" if self.failed_devices else "complete")


class DSP:
    """The DSP of one DCC: users, registrations, SMI, CPL, and its WAN link to hubs."""

    def __init__(self, network: Network, cpl: CPLRegistry, smi: SMI, dcc: DCCSigner, variants: Variants) -> None:
        self.network = network
        self.cpl = cpl
        self.smi = smi
        self.dcc = dcc
        self.variants = variants
        self.users: dict[str, Supplier] = {}
        self.registration: dict[str, str] = {}  # device ID -> registered supplier
        self.requests: list[ServiceRequest] = []
        self._open: dict[tuple[str, str], ServiceRequest] = {}  # (device, track) -> request
        self._ids = count(1)
        network.attach(DSP_ENDPOINT, self.receive)

    def enrol(self, supplier: Supplier) -> None:
        """Make ``supplier`` a DCC User."""
        self.users[supplier.name] = supplier

    def register(self, device_id: str, supplier: str) -> None:
        """Record ``supplier`` as responsible for ``device_id`` (device already in the SMI)."""
        self.smi.record(device_id)
        self.registration[device_id] = supplier

    # --- Service Requests -------------------------------------------------------------------
    def submit_sr11_4(self, sender: str, image: bytes, stated_hash: bytes, firmware_version: int,
                      device_ids: Iterable[str], activation_time: int | None = None) -> ServiceRequest:
        """SR 11.4 Update PPMID Firmware: validate, then GBCS CS05c to the hub for each device."""
        types = {"PPMID", "IHD"} if self.variants.ihd_in_scope else {"PPMID"}

        def accept(req: ServiceRequest) -> None:
            self._check_hash(req, image, stated_hash)
            targets = self._check_cpl(req, req.accepted, stated_hash, firmware_version)
            targets = self._check_not_in_progress(req, targets)
            for d in self._accept(req, targets, "transfer"):
                self._smi_start(d)
                self._send(d, m.CS05C, image=image, firmware_version=firmware_version,
                           activation_time=activation_time)
        return self._handle("SR 11.4 Update PPMID Firmware", sender, device_ids, types, accept,
                            firmware_version=firmware_version)

    def submit_sr11_1(self, sender: str, image: bytes, stated_hash: bytes, firmware_version: int,
                      device_ids: Iterable[str]) -> ServiceRequest:
        """SR 11.1 Update Firmware (HCALCS): validate, then distribute the image via the hub."""
        def accept(req: ServiceRequest) -> None:
            self._check_hash(req, image, stated_hash)
            targets = self._check_cpl(req, req.accepted, stated_hash, firmware_version)
            for d in self._accept(req, targets, "distribution"):
                self._send(d, m.FW_DISTRIBUTION, image=image, firmware_version=firmware_version)
        return self._handle("SR 11.1 Update Firmware", sender, device_ids, {"HCALCS"}, accept,
                            firmware_version=firmware_version)

    def submit_sr11_3(self, sender: str, command: bytes) -> ServiceRequest:
        """SR 11.3 Activate Firmware: a GBCS CS06 critical command signed by the sender."""
        def accept(req: ServiceRequest) -> None:
            targets = self._check_not_in_progress(req, req.accepted)
            for d in self._accept(req, targets, "activation"):
                self._smi_start(d)
                self._send(d, m.CS06, command=command)
        service, problem, targets, when = "SR 11.3 Activate Firmware", None, [], None
        try:
            cmd = decode_command(command)
        except RejectionError as err:
            problem = err
        else:
            targets, when = [cmd.target], None if cmd.execute_at is None else timestamp(cmd.execute_at)
            originator = self.users[sender].originator_id if sender in self.users else None
            if cmd.code is not MessageCode.CS06_ACTIVATE_FIRMWARE or cmd.originator != originator:
                problem = NotAuthorised(f"{cmd.code.name} originator {cmd.originator} is not the sender {sender}")
        return self._handle(service, sender, targets, {"HCALCS"}, accept, error=problem, execution_time=when)

    def submit_sr11_2(self, sender: str, device_id: str) -> ServiceRequest:
        """SR 11.2 Read Firmware Version (GBCS CS08): the device (or, variant, the hub) answers."""
        def accept(req: ServiceRequest) -> None:
            for d in self._accept(req, req.accepted, "read"):
                self._send(d, m.CS08_READ)
        return self._handle("SR 11.2 Read Firmware Version", sender, [device_id], {"PPMID", "IHD", "HCALCS"}, accept)

    def read_inventory(self, sender: str, device_id: str) -> InventoryEntry:
        """SR 8.2 Read Inventory: answered from the SMI, for the supplier registered for the device."""
        result: list[InventoryEntry] = []

        def accept(req: ServiceRequest) -> None:
            result.append(self.smi.read_inventory(device_id, self.cpl))
            req.fire("accept")
            req.fire("complete")
        self._handle("SR 8.2 Read Inventory", sender, [device_id], {"PPMID", "IHD", "HCALCS"}, accept)
        return result[0]

    def change_of_supplier(self, device_ids: Iterable[str], new_supplier: str) -> ServiceRequest:
        """Change of supplier: registration moves, then GBCS CS02b replaces each device's anchor."""
        if new_supplier not in self.users:
            raise UsageError(f"{new_supplier} is not a DCC User")
        devices = list(device_ids)
        req = self._new_request("Change of Supplier (GBCS CS02b)", new_supplier, devices)
        for d in self._accept(req, devices, "cos"):
            self.registration[d] = new_supplier
            self._send(d, m.CS02B, command=self.dcc.cs02b(d, self.users[new_supplier]))
        return req

    def screen_local_update(self, sender: str, device_id: str, image: bytes) -> bytes:
        """Variant gateway screening: authorise one local update; returns the DCC-signed token."""
        if not self.variants.gateway_screening:
            raise UsageError("there is no DCC gateway screening in this configuration")
        tokens: list[bytes] = []

        def accept(req: ServiceRequest) -> None:
            digest = sha256(image)
            record = self.smi.record(device_id)
            entry = self.cpl.lookup(record.device_model, digest)
            if entry is None or entry.state != "listed":
                raise NotOnCPL(f"local update image is not listed on the CPL for {record.device_model.model}")
            self._accept(req, self._check_not_in_progress(req, req.accepted), "local")
            self._smi_start(device_id)
            tokens.append(self.dcc.screening_token(device_id, digest))
        self._handle("Local Update Screening", sender, [device_id], {"PPMID", "IHD"}, accept)
        return tokens[0]

    # --- the DSP's checks, in the order they run -------------------------------------------------
    def _check_targets(self, req: ServiceRequest, types: set[str]) -> list[str]:
        """Sender is a DCC User; each device is known, of the right type, registered to the sender."""
        if req.sender not in self.users:
            raise NotAuthorised(f"{req.sender} is not a DCC User")
        targets, errors = [], []
        for d in req.device_ids:
            err: RejectionError | None = None
            if d not in self.smi.records:
                err = UnknownDevice(f"{d} is not in the Smart Metering Inventory")
            elif self.smi.records[d].device_model.device_type not in types:
                err = UnknownDevice(f"{d} is a {self.smi.records[d].device_model.device_type}, "
                                    f"not a valid target of {req.service}")
            elif self.registration.get(d) != req.sender:
                err = NotAuthorised(f"{req.sender} is not the supplier registered for {d}")
            if err is None:
                targets.append(d)
            else:
                errors.append(err)
                req.warnings.append(f"{type(err).__name__}: {err}")
        if not targets:
            raise errors[0] if errors else UnknownDevice("empty DeviceIDList")
        return targets

    def _check_hash(self, req: ServiceRequest, image: bytes, stated_hash: bytes) -> None:
        """The SHA-256 of the submitted image equals the stated firmware hash."""
        if sha256(image) != stated_hash:
            raise HashMismatch(f"{req.service}: SHA-256 of the image differs from the stated hash")

    def _check_cpl(self, req: ServiceRequest, targets: Iterable[str], digest: bytes, version: int) -> list[str]:
        """The hash is on the CPL for each target's device model (others skipped with a warning)."""
        kept, errors = [], []
        for d in targets:
            try:
                self.cpl.require_listed(self.smi.record(d).device_model, digest, version)
                kept.append(d)
            except NotOnCPL as err:
                errors.append(err)
                req.warnings.append(f"NotOnCPL: {d}: {err}")
        if not kept:
            raise errors[0]
        return kept

    def _check_not_in_progress(self, req: ServiceRequest, targets: Iterable[str]) -> list[str]:
        """No update is already in progress for the device (SMI status)."""
        kept = [d for d in targets if self.smi.record(d).state != "update_in_progress"]
        for d in set(targets) - set(kept):
            req.warnings.append(f"UpdateInProgress: {d}: an update is already in progress")
        if not kept:
            raise UpdateInProgress(f"{req.service}: an update is already in progress for every target")
        return kept

    # --- plumbing ---------------------------------------------------------------------------
    def _handle(self, service: str, sender: str, device_ids: Iterable[str], types: set[str],
                accept: Callable[[ServiceRequest], None], error: RejectionError | None = None,
                **details: Any) -> ServiceRequest:
        """Run a request: target checks, then ``accept`` (more checks, sends); log any rejection."""
        req = self._new_request(service, sender, device_ids, **details)
        try:
            if error is not None:
                raise error
            req.accepted = tuple(self._check_targets(req, types))
            accept(req)
        except RejectionError as err:
            req.error = err
            req.fire("reject")
            self._log("rejection", f"DSP rejects {req.request_id} {service} from {sender}: {type(err).__name__}: {err}",
                      request=req.request_id, error=type(err).__name__)
            raise
        for w in req.warnings:
            self._log("warning", f"DSP warning on {req.request_id}: {w}", request=req.request_id)
        return req

    def _new_request(self, service: str, sender: str, device_ids: Iterable[str], **details: Any) -> ServiceRequest:
        req = ServiceRequest(f"SR-{next(self._ids):04d}", service, sender, device_ids)
        self.requests.append(req)
        shown = " ".join(f"{k}={v}" for k, v in details.items() if v is not None)
        self._log("service_request", f"{sender} -> DSP  {service}  {req.request_id} "
                  f"DeviceIDList={list(req.device_ids)} "
                  f"{shown}".rstrip(), request=req.request_id, service=service, sender=sender)
        return req

    def _accept(self, req: ServiceRequest, targets: Iterable[str], track: str) -> list[str]:
        """Mark the request accepted for ``targets``; their reports will close it."""
        req.accepted = tuple(targets)
        req.pending = set(req.accepted)
        req.fire("accept")
        for d in req.accepted:
            self._open[d, track] = req
        self._log("accepted", f"DSP accepts {req.request_id} for {list(req.accepted)}", request=req.request_id)
        return list(req.accepted)

    def _close(self, device_id: str, track: str, ok: bool) -> None:
        req = self._open.pop((device_id, track), None)
        if req is not None:
            req.device_done(device_id, ok)

    def _send(self, device_id: str, kind: str, **body: Any) -> None:
        self.network.send(m.Message(kind, DSP_ENDPOINT, HUB_ENDPOINT, device_id, body))

    def _log(self, kind: str, text: str, **data: Any) -> None:
        self.network.sim.log.record(self.network.sim.now, DSP_ENDPOINT, kind, text, **data)

    # --- alerts and responses from the hub ----------------------------------------------------
    def receive(self, msg: m.Message) -> None:
        """Network entry point: update the SMI as the real DSP does, and tell the DCC User."""
        d = msg.device
        if d not in self.smi.records:
            self._log("ignored", f"DSP ignores {msg.kind} about unknown device {d}")
            return
        record = self.smi.record(d)
        if msg.kind == m.CCS08 and msg["outcome"] is not m.TransferOutcome.SUCCESS:
            self._smi_fail(d)
            self._close(d, "transfer", False)
        elif msg.kind == m.CS09:
            self._smi_confirm(d, msg["firmware_version"])
            self._close(d, "transfer", True)
            self._close(d, "local", True)
        elif msg.kind == m.FDR:
            self._close(d, "distribution", msg["alert_code"] == hex(m.ALERT_FIRMWARE_VERIFICATION_SUCCESSFUL))
        elif msg.kind == m.CS06_RESPONSE:
            ok = msg.body.get("outcome") is m.ActivationOutcome.SUCCESS
            if ok:
                self._smi_confirm(d, msg["firmware_version"])
            else:
                self._smi_fail(d)
            self._close(d, "activation", ok)
        elif msg.kind == m.CS08_RESPONSE:
            self._close(d, "read", True)
            self._record_reported(record, msg)
        elif msg.kind == m.CS02B_RESPONSE:
            self._close(d, "cos", msg["result"] == "success")
        elif msg.kind == m.DAILY_VERSION_ALERT:
            self._record_reported(record, msg)
        self._notify(d, msg)

    def _record_reported(self, record: SMIRecord, msg: m.Message) -> None:
        """Proposals (a) and (b): a PPMID/IHD firmware version reported through the hub (SR 11.2
        answer or daily alert) is recorded in the SMI; the approved design records only CS09/CS06."""
        reporting = self.variants.hub_stores_versions or self.variants.daily_version_alert
        if reporting and record.device_model.device_type in ("PPMID", "IHD"):
            record.record_reported_version(msg["firmware_version"])
            self._log("smi", f"SMI {record.device_id}: DeviceFirmwareVersion={msg['firmware_version']} "
                      f"(reported through the hub)", device=record.device_id, version=msg["firmware_version"])

    def _smi_start(self, device_id: str) -> None:
        self.smi.record(device_id).fire("start_update")
        self._log("smi", f"SMI {device_id}: DeviceFirmwareVersionStatus Update In Progress", device=device_id)

    def _smi_confirm(self, device_id: str, version: int) -> None:
        self.smi.record(device_id).confirm_version(version)
        self._log("smi", f"SMI {device_id}: DeviceFirmwareVersion={version} status Current",
                  device=device_id, version=version)

    def _smi_fail(self, device_id: str) -> None:
        self.smi.record(device_id).fire("fail")
        self._log("smi", f"SMI {device_id}: DeviceFirmwareVersionStatus Update Failed", device=device_id)

    def _notify(self, device_id: str, msg: m.Message) -> None:
        """Pass the alert or response to the supplier registered for the device (DUIS)."""
        supplier = self.users.get(self.registration.get(device_id, ""))
        if supplier is None:
            return
        supplier.inbox.append((msg.kind, device_id, dict(msg.body)))
        self._log("duis", f"DSP -> {supplier.name}  {msg.kind} for {device_id}: {msg.summary()}",
                  recipient=supplier.name, message=msg.kind, device=device_id)
