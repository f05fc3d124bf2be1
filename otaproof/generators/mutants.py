"""Seeded faults ("mutants") of the reference implementation, and a mutation-analysis runner.

Each :class:`Mutant` is one plausible implementation bug, switched on at run time by patching a
refimpl class or module attribute (``unittest.mock.patch.object``); no file is edited and the
refimpl is correct again as soon as the patch is left. A generated test suite is good when every
mutant makes one of its tests fail: mutation analysis runs the suite once per mutant, each in its
own pytest process (``OTAPROOF_MUTANT=<name>``, picked up by :func:`apply_from_env` in the suite's
``conftest.py``); the runner is :mod:`otaproof.generators.mutation`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from unittest import mock
from weakref import WeakKeyDictionary

import otaproof.refimpl.devices
from otaproof.refimpl import messages as m
from otaproof.refimpl.commands import MessageCode, SignedCommand, check_command, decode_command
from otaproof.refimpl.cpl import CPLEntry, CPLRegistry, DeviceModel
from otaproof.refimpl.devices import HCALCS, PPMID, Anchor, HanDevice
from otaproof.refimpl.dsp import DSP, ServiceRequest
from otaproof.refimpl.errors import (
    BadSignature,
    CommandFormatError,
    HardwareMismatch,
    NoImageHeld,
    NotAuthorised,
    NotOnCPL,
    RejectionError,
    RollbackRefused,
    UnknownDevice,
    WrongImage,
)
from otaproof.refimpl.hub import CommsHub, OtaTransfer
from otaproof.refimpl.image import FirmwareImage, OtaHeader, parse_image
from otaproof.refimpl.messages import TransferOutcome
from otaproof.refimpl.sim import timestamp

ENV_VAR = "OTAPROOF_MUTANT"

PatchFactory = Callable[[], AbstractContextManager[None]]


@dataclass(frozen=True)
class Mutant:
    """One seeded fault: ``patch()`` switches it on for the duration of a ``with`` block; ``where``
    lists the patched attributes (``refimpl/<module>.py:<Qualified.name>``, comma separated)."""

    name: str
    fault: str
    where: str
    patch: PatchFactory


def _swap(*replacements: tuple[object, str, object]) -> PatchFactory:
    """A patch factory that replaces each (owner, attribute) by a new value while applied."""
    @contextmanager
    def patch() -> Iterator[None]:
        with ExitStack() as stack:
            for owner, attribute, new in replacements:
                stack.enter_context(mock.patch.object(owner, attribute, new))
            yield
    return patch


# The unpatched functions that wrapping mutants delegate to (captured before any patch).
_RECEIVE = DSP.receive
_SMI_START = DSP._smi_start
_FINISH = CommsHub._finish
_CCS08 = CommsHub._ccs08
_RELAY_DOWN = CommsHub._relay_down
_ON_QUERY = CommsHub._on_query
_CHECK_CRITICAL = HanDevice.check_critical
_UPDATE_CREDENTIALS = HanDevice.update_security_credentials
_SEND = HanDevice._send
_ACTIVATE_HELD = PPMID._activate_held
_ON_UPGRADE_END_RESPONSE = PPMID._on_upgrade_end_response


# --- DSP mutants -----------------------------------------------------------------------------
def _cpl_unchecked(self: DSP, req: ServiceRequest, targets: Iterable[str], digest: bytes, version: int) -> list[str]:
    """skip-cpl-check: every target passes, listed on the CPL or not."""
    return list(targets)


def _hash_unchecked(self: DSP, req: ServiceRequest, image: bytes, stated_hash: bytes) -> None:
    """skip-dsp-hash-check: the stated hash is trusted without hashing the image."""


def _targets_any_supplier(self: DSP, req: ServiceRequest, types: set[str]) -> list[str]:
    """skip-authorisation: DSP._check_targets without the 'registered supplier' comparison."""
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
        if err is None:
            targets.append(d)
        else:
            errors.append(err)
            req.warnings.append(f"{type(err).__name__}: {err}")
    if not targets:
        raise errors[0] if errors else UnknownDevice("empty DeviceIDList")
    return targets


def _in_progress_unchecked(self: DSP, req: ServiceRequest, targets: Iterable[str]) -> list[str]:
    """skip-update-in-progress-check: every target passes, whatever its SMI status."""
    return list(targets)


def _smi_start_again(self: DSP, device_id: str) -> None:
    """skip-update-in-progress-check: a second start leaves 'Update In Progress' as it is."""
    if self.smi.record(device_id).state != "update_in_progress":
        _SMI_START(self, device_id)


def _receive_confirming_transfer(self: DSP, msg: m.Message) -> None:
    """smi-on-distribution: a successful CCS08 already records the transferred version as current."""
    _RECEIVE(self, msg)
    if msg.kind == m.CCS08 and msg.device in self.smi.records and msg["outcome"] is TransferOutcome.SUCCESS:
        self._smi_confirm(msg.device, msg["firmware_version"])


def _receive_not_failing(self: DSP, msg: m.Message) -> None:
    """smi-not-failed-on-failure: a failed CCS08 closes the request but leaves the SMI status alone."""
    if msg.kind == m.CCS08 and msg.device in self.smi.records and msg["outcome"] is not TransferOutcome.SUCCESS:
        self._close(msg.device, "transfer", False)
        self._notify(msg.device, msg)
        return
    _RECEIVE(self, msg)


def _sr11_3_any_originator(self: DSP, sender: str, command: bytes) -> ServiceRequest:
    """skip-cs06-originator-check: DSP.submit_sr11_3 checks the message code, not who signed it."""
    def accept(req: ServiceRequest) -> None:
        targets = self._check_not_in_progress(req, req.accepted)
        for d in self._accept(req, targets, "activation"):
            self._smi_start(d)
            self._send(d, m.CS06, command=command)
    problem: RejectionError | None = None
    targets: list[str] = []
    when = None
    try:
        cmd = decode_command(command)
    except RejectionError as err:
        problem = err
    else:
        targets, when = [cmd.target], None if cmd.execute_at is None else timestamp(cmd.execute_at)
        if cmd.code is not MessageCode.CS06_ACTIVATE_FIRMWARE:
            problem = NotAuthorised(f"{cmd.code.name} originator {cmd.originator} is not the sender {sender}")
    return self._handle("SR 11.3 Activate Firmware", sender, targets, {"HCALCS"}, accept, error=problem,
                        execution_time=when)


# --- CPL mutants -----------------------------------------------------------------------------
def _require_listed_without(check: str) -> Callable[[CPLRegistry, DeviceModel, bytes, int], CPLEntry]:
    """CPLRegistry.require_listed with one check ("listed" state or "version") left out."""
    def require_listed(self: CPLRegistry, device_model: DeviceModel, firmware_hash: bytes,
                       firmware_version: int) -> CPLEntry:
        entry = self.lookup(device_model, firmware_hash)
        if entry is None or (check != "listed" and entry.state != "listed"):
            raise NotOnCPL(f"hash {firmware_hash.hex()[:16]}... is not listed on the CPL for {device_model.model}")
        if check != "version" and entry.firmware_version != firmware_version:
            raise NotOnCPL(f"hash is listed for {device_model.model} as version {entry.firmware_version}, "
                           f"not the stated {firmware_version}")
        return entry
    return require_listed


# --- hub mutants -----------------------------------------------------------------------------
def _finish_keeping_image(self: CommsHub, slot: OtaTransfer, outcome: TransferOutcome, reason: str) -> None:
    """keep-image-on-hub: the transfer ends (CCS08 raised) but the image stays in the slot."""
    image = slot.image
    _FINISH(self, slot, outcome, reason)
    slot.image = image


def _ccs08_success_only(self: CommsHub, device: str, outcome: TransferOutcome, reason: str,
                        version: int | None = None) -> None:
    """no-ccs08-on-failure: only a successful transfer raises CCS08."""
    if outcome is TransferOutcome.SUCCESS:
        _CCS08(self, device, outcome, reason, version)


def _timeout_ignored(self: CommsHub, slot: OtaTransfer) -> None:
    """no-timeout: the OTA timer fires and nothing happens."""
    slot.timer = None


def _relay_to_first_device(self: CommsHub, msg: m.Message) -> None:
    """image-to-wrong-device: an SR 11.1 image goes to the first joined device, not the addressed one."""
    if msg.kind == m.FW_DISTRIBUTION:
        self._send(next(iter(self.devices)), msg.kind, **msg.body)
        return
    _RELAY_DOWN(self, msg)


def _query_any_image_type(self: CommsHub, msg: m.Message) -> None:
    """hub-skips-image-type-check: the hub serves its image whatever model the querying device is."""
    slot = self.transfers.get(msg.src)
    if slot is not None and slot.image is not None:
        h = slot.image.header
        msg = m.Message(msg.kind, msg.src, msg.dst, msg.device,
                        {**msg.body, "manufacturer_code": h.manufacturer_code, "image_type": h.image_type})
    _ON_QUERY(self, msg)


# --- device mutants --------------------------------------------------------------------------
def _verify_image_without(check: str) -> Callable[[HanDevice, bytes], FirmwareImage]:
    """HanDevice.verify_image with one check ("signature", "model" or "rollback") left out."""
    def verify_image(self: HanDevice, data: bytes) -> FirmwareImage:
        image = parse_image(data)
        h, dm = image.header, self.device_model
        if check != "signature" and not image.signature_valid(self.manufacturer_key):
            raise BadSignature(f"{self.device_id}: image is not signed by {self.device_model.manufacturer}")
        if check != "model" and (h.manufacturer_code, h.image_type) != (dm.manufacturer_code, dm.image_type):
            raise WrongImage(f"{self.device_id}: image is for manufacturer 0x{h.manufacturer_code:04x} "
                             f"type 0x{h.image_type:04x}, this device is {dm.model}")
        if not h.supports_hardware(self.hardware_version):
            raise HardwareMismatch(f"{self.device_id}: hardware version {self.hardware_version} outside "
                                   f"{h.min_hardware_version}..{h.max_hardware_version}")
        if check != "rollback" and self.variants.anti_rollback and h.file_version < self.running_version:
            raise RollbackRefused(f"{self.device_id}: version {h.file_version} is older than running "
                                  f"{self.running_version}")
        return image
    return verify_image


def _any_hardware(self: OtaHeader, hardware_version: int) -> bool:
    """ignore-hardware-version: every hardware version is in every image's range."""
    return True


def _check_command_any_counter(command: SignedCommand, anchor: bytes, last_counter: int) -> None:
    """accept-stale-counter: the signature is checked, the counter against no previous one."""
    check_command(command, anchor, -1)


def _check_critical_any_target(self: HanDevice, data: bytes, code: MessageCode, anchor: Anchor) -> SignedCommand:
    """skip-target-check: HanDevice.check_critical without the business-target comparison."""
    cmd = decode_command(data)
    if cmd.code is not code:
        raise CommandFormatError("message code", f"{cmd.code.name}, expected {code.name}")
    originator, key = anchor
    if cmd.originator != originator:
        raise BadSignature(f"{code.name} from {cmd.originator}: this device trusts {originator} for that role")
    check_command(cmd, key, self.last_counter.get(originator, 0))
    self.last_counter[originator] = cmd.counter
    return cmd


def _keep_old_supplier_rights() -> AbstractContextManager[None]:
    """keep-old-supplier-rights: CS02b adds the new supplier's anchor; the replaced ones stay trusted."""
    former: WeakKeyDictionary[HanDevice, list[Anchor]] = WeakKeyDictionary()

    def update_security_credentials(self: HanDevice, data: bytes) -> None:
        old = self.supplier_anchor
        _UPDATE_CREDENTIALS(self, data)
        former.setdefault(self, []).append(old)

    def check_critical(self: HanDevice, data: bytes, code: MessageCode, anchor: Anchor) -> SignedCommand:
        try:
            return _CHECK_CRITICAL(self, data, code, anchor)
        except BadSignature:
            if anchor != self.supplier_anchor:
                raise
            for old in former.get(self, []):
                try:
                    return _CHECK_CRITICAL(self, data, code, old)
                except BadSignature:
                    continue
            raise
    return _swap((HanDevice, "update_security_credentials", update_security_credentials),
                 (HanDevice, "check_critical", check_critical))()


def _activate_firmware_any_held(self: HCALCS, data: bytes) -> m.ActivationOutcome | None:
    """activate-without-hash-compare: HCALCS.activate_firmware without the held-hash comparison."""
    cmd = self.check_critical(data, MessageCode.CS06_ACTIVATE_FIRMWARE, self.supplier_anchor)
    if self.held is None:
        raise NoImageHeld(f"{self.device_id}: CS06 received but no image is held")
    held_hash = self.held.hash  # a future-dated CS06 activates the image held now, whatever its hash
    if cmd.execute_at is not None and cmd.execute_at > self.network.sim.now:
        self.fire("schedule")
        self._set_timer(cmd.execute_at, lambda: self._execute_scheduled(held_hash))
        self._log("scheduled", f"HCALCS {self.device_id} accepts CS06, activation at {timestamp(cmd.execute_at)}",
                  execute_at=cmd.execute_at)
        return None
    self._activate_held()
    return m.ActivationOutcome.SUCCESS


def _read_version_of_held(self: HanDevice, msg: m.Message) -> None:
    """wrong-version-in-read: CS08 reports the held (staged) image when there is one, not the running one."""
    image = self.held or self.running
    self._send(m.CS08_RESPONSE, alert_code=hex(m.ALERT_FIRMWARE_VERSION), firmware_version=image.header.file_version,
               firmware_hash=image.hash.hex())


def _activate_held_reporting_old(self: PPMID) -> None:
    """cs09-wrong-version: PPMID._activate_held, but the CS09 it sends carries the version it ran before."""
    old = self.running_version

    def send(device: HanDevice, kind: str, **body: Any) -> None:
        _SEND(device, kind, **({**body, "firmware_version": old} if kind == m.CS09 else body))
    with mock.patch.object(HanDevice, "_send", send):
        _ACTIVATE_HELD(self)


def _upgrade_end_response_now(self: PPMID, msg: m.Message) -> None:
    """ignore-upgrade-time: the PPMID activates on the Upgrade End Response, whatever upgrade time it gives."""
    _ON_UPGRADE_END_RESPONSE(self, m.Message(msg.kind, msg.src, msg.dst, msg.device,
                                             {**msg.body, "upgrade_time": msg["current_time"]}))


# --- the catalogue ---------------------------------------------------------------------------
_CATALOGUE = (
    Mutant("skip-cpl-check", "the DSP accepts SR 11.4/11.1 for an image not listed on the CPL",
           "otaproof/refimpl/dsp.py:DSP._check_cpl", _swap((DSP, "_check_cpl", _cpl_unchecked))),
    Mutant("skip-dsp-hash-check", "the DSP does not compare the image's SHA-256 with the stated hash, so the CPL "
           "check runs on the stated hash while another image is sent",
           "otaproof/refimpl/dsp.py:DSP._check_hash", _swap((DSP, "_check_hash", _hash_unchecked))),
    Mutant("skip-authorisation", "the DSP accepts Service Requests from a DCC User that is not the supplier "
           "registered for the device", "otaproof/refimpl/dsp.py:DSP._check_targets",
           _swap((DSP, "_check_targets", _targets_any_supplier))),
    Mutant("skip-update-in-progress-check", "the DSP accepts a second firmware SR while the SMI says 'Update In "
           "Progress' (and marks it in progress again)",
           "otaproof/refimpl/dsp.py:DSP._check_not_in_progress, otaproof/refimpl/dsp.py:DSP._smi_start",
           _swap((DSP, "_check_not_in_progress", _in_progress_unchecked), (DSP, "_smi_start", _smi_start_again))),
    Mutant("skip-cs06-originator-check", "the DSP passes on an SR 11.3 CS06 signed by another party than the sender",
           "otaproof/refimpl/dsp.py:DSP.submit_sr11_3", _swap((DSP, "submit_sr11_3", _sr11_3_any_originator))),
    Mutant("smi-on-distribution", "the DSP records the PPMID's new version as current when the transfer succeeds "
           "(CCS08 success), before the device activates it", "otaproof/refimpl/dsp.py:DSP.receive",
           _swap((DSP, "receive", _receive_confirming_transfer))),
    Mutant("smi-not-failed-on-failure", "the DSP leaves the SMI status 'Update In Progress' on a CCS08 failure",
           "otaproof/refimpl/dsp.py:DSP.receive", _swap((DSP, "receive", _receive_not_failing))),
    Mutant("cpl-accept-removed", "the CPL lookup accepts an entry that has been removed",
           "otaproof/refimpl/cpl.py:CPLRegistry.require_listed",
           _swap((CPLRegistry, "require_listed", _require_listed_without("listed")))),
    Mutant("cpl-ignore-version", "the CPL lookup accepts a listed hash stated as another firmware version",
           "otaproof/refimpl/cpl.py:CPLRegistry.require_listed",
           _swap((CPLRegistry, "require_listed", _require_listed_without("version")))),
    Mutant("image-to-wrong-device", "the hub relays an SR 11.1 firmware distribution to the first device it has "
           "joined (the PPMID) instead of the addressed HCALCS", "otaproof/refimpl/hub.py:CommsHub._relay_down",
           _swap((CommsHub, "_relay_down", _relay_to_first_device))),
    Mutant("hub-skips-image-type-check", "the hub serves an image whose manufacturer code / image type is not the "
           "querying PPMID's", "otaproof/refimpl/hub.py:CommsHub._on_query",
           _swap((CommsHub, "_on_query", _query_any_image_type))),
    Mutant("keep-image-on-hub", "the hub keeps the image after the transfer ends",
           "otaproof/refimpl/hub.py:CommsHub._finish", _swap((CommsHub, "_finish", _finish_keeping_image))),
    Mutant("no-ccs08-on-failure", "the hub raises no CCS08 when a transfer fails",
           "otaproof/refimpl/hub.py:CommsHub._ccs08", _swap((CommsHub, "_ccs08", _ccs08_success_only))),
    Mutant("no-timeout", "the hub never times out an OTA transfer (no CCS08 outcome 3, image kept)",
           "otaproof/refimpl/hub.py:CommsHub._timeout", _swap((CommsHub, "_timeout", _timeout_ignored))),
    Mutant("ignore-hardware-version", "neither the hub nor the devices check the image's hardware version range",
           "otaproof/refimpl/image.py:OtaHeader.supports_hardware",
           _swap((OtaHeader, "supports_hardware", _any_hardware))),
    Mutant("skip-signature-verification", "devices accept images without a valid manufacturer signature",
           "otaproof/refimpl/devices.py:HanDevice.verify_image",
           _swap((HanDevice, "verify_image", _verify_image_without("signature")))),
    Mutant("skip-model-check", "devices accept images for another manufacturer code / image type",
           "otaproof/refimpl/devices.py:HanDevice.verify_image",
           _swap((HanDevice, "verify_image", _verify_image_without("model")))),
    Mutant("no-anti-rollback", "devices accept an image older than the running one",
           "otaproof/refimpl/devices.py:HanDevice.verify_image",
           _swap((HanDevice, "verify_image", _verify_image_without("rollback")))),
    Mutant("accept-stale-counter", "devices accept a critical command whose originator counter is not greater "
           "than the last accepted (replay)", "otaproof/refimpl/devices.py:check_command",
           _swap((otaproof.refimpl.devices, "check_command", _check_command_any_counter))),
    Mutant("skip-target-check", "devices accept a critical command addressed to another device",
           "otaproof/refimpl/devices.py:HanDevice.check_critical",
           _swap((HanDevice, "check_critical", _check_critical_any_target))),
    Mutant("keep-old-supplier-rights", "after CS02b a device still accepts commands signed by the supplier it "
           "replaced", "otaproof/refimpl/devices.py:HanDevice.update_security_credentials, "
           "otaproof/refimpl/devices.py:HanDevice.check_critical", _keep_old_supplier_rights),
    Mutant("activate-without-hash-compare", "the HCALCS activates whatever image it holds on CS06, whatever hash "
           "the command carries", "otaproof/refimpl/devices.py:HCALCS.activate_firmware",
           _swap((HCALCS, "activate_firmware", _activate_firmware_any_held))),
    Mutant("wrong-version-in-read", "a device answers CS08 Read Firmware Version with the version of the image it "
           "holds (staged), not the one it runs", "otaproof/refimpl/devices.py:HanDevice._on_read_version",
           _swap((HanDevice, "_on_read_version", _read_version_of_held))),
    Mutant("cs09-wrong-version", "the PPMID's CS09 reports the version it ran before the activation",
           "otaproof/refimpl/devices.py:PPMID._activate_held",
           _swap((PPMID, "_activate_held", _activate_held_reporting_old))),
    Mutant("ignore-upgrade-time", "the PPMID activates as soon as the transfer ends, ignoring the upgrade time in "
           "the Upgrade End Response", "otaproof/refimpl/devices.py:PPMID._on_upgrade_end_response",
           _swap((PPMID, "_on_upgrade_end_response", _upgrade_end_response_now))),
)
MUTANTS: dict[str, Mutant] = {seeded.name: seeded for seeded in _CATALOGUE}


def mutant(name: str) -> Mutant:
    """The mutant called ``name``; a ValueError naming the known ones otherwise."""
    if name not in MUTANTS:
        raise ValueError(f"unknown mutant {name!r}; known: {', '.join(MUTANTS)}")
    return MUTANTS[name]


def applied(name: str | None) -> AbstractContextManager[None]:
    """Switch mutant ``name`` on inside a ``with`` block (None: no mutant); unknown names raise ValueError."""
    return nullcontext() if name is None else mutant(name).patch()


_FROM_ENV = ExitStack()


def apply_from_env(env_var: str = ENV_VAR) -> None:
    """Switch on, for the rest of the process, the mutant named in ``env_var`` (a generated suite's conftest)."""
    name = os.environ.get(env_var)
    if name:
        _FROM_ENV.enter_context(applied(name))
