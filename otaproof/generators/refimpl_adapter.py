"""The reference implementation (``refimpl/``) behind the :class:`generators.adapter.Adapter` interface.

Abstract firmware becomes real images: ``PPMID_v2`` is a manufacturer-signed image of version 2,
``*_hwB`` is signed for another hardware revision, ``*_rogue`` carries no valid signature,
``PPMID_otherType`` is signed but its OTA header names another image type (a CPL administrator
lists its hash for the PPMID directly: the listing gateway would refuse it). A Service Request's
``version_ok`` states the image's own FirmwareVersion or another one; SR 11.4's ``future`` gives
an execution date-time an hour ahead, which the hub passes on as the upgrade time. The
adapter takes over the premises' network so that each message travels only when the model's
step says so; messages below the model's abstraction (ZigBee OTA block requests and responses,
CS02b responses, a hub's "no image available") travel at once. Abstract attacks become real
ones: a substituted image is served block by block by a man in the middle that rewrites every
OTA message it needs to, a replayed CS06 is the captured signed bytes, a spoofed report is an
injected message. Power loss at arbitrary points is not drivable (only during an activation).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from otaproof.generators.adapter import Refused, Setup, Step, Unsupported, in_flight_label
from otaproof.generators.duis import OBSERVATION as DUIS_REQUESTS
from otaproof.generators.duis import show_request
from otaproof.generators.edges import DEVICE as DEVICE_OF_EDGES
from otaproof.generators.wire import WireRules
from otaproof.model.vocabulary import (
    CCS08_OUTCOME,
    CS06_OUTCOME,
    DEVICE_REFUSAL,
    FW_DISTRIBUTION_RECEIPT_RESULT,
    MISADDRESSED_CS02B,
)
from otaproof.refimpl import messages as msg
from otaproof.refimpl.commands import MessageCode, encode_command
from otaproof.refimpl.config import PRESETS, Variants
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.devices import PPMID
from otaproof.refimpl.errors import (
    HashMismatch,
    NotAuthorised,
    NotOnCPL,
    RejectionError,
    UnknownDevice,
    UpdateInProgress,
    UsageError,
)
from otaproof.refimpl.image import parse_image
from otaproof.refimpl.messages import DSP_ENDPOINT, HUB_ENDPOINT, Message
from otaproof.refimpl.scenario import FULL_HARDWARE, Premises, PremisesConfig

SUPPORTED_THREATS = {"han_mitm", "compromised_key", "old_supplier", "local_physical"}
SUPPORTED_FAULTS = {"loss", "duplication", "reordering", "delay"}
# the gaps this adapter declares (generated tests that need them are skipped, anything else fails)
UNSUPPORTED = {"fault:power": "the reference implementation has no power-loss model of the hub or devices"}
FUTURE = 3600  # seconds ahead for a future-dated CS06 or SR 11.4 execution date-time
OTHER_HARDWARE = (2, 0xFFFF)  # the "hwB" revision's range; devices in the field are hardware 1
FITTING_HARDWARE = (1, 1)     # an update's range: exactly hardware 1, both edges at the devices' revision
OTHER_TYPE = "PPMID_otherType"  # its header names OTHER_IMAGE_TYPE, no device's image type
OTHER_IMAGE_TYPE = 0x0FFF

# refimpl message kind -> the model's kind on WAN and HAN links
_KIND = {msg.CS05C: "CS05c", msg.CS06: "CS06", msg.CS08_READ: "CS08_READ", msg.CS02B: "CS02b",
         msg.FW_DISTRIBUTION: "FW_DISTRIBUTION", msg.CCS08: "CCS08", msg.CS09: "CS09",
         msg.FDR: "FW_DISTRIBUTION_RECEIPT", msg.CS06_RESPONSE: "CS06_RESPONSE",
         msg.CS08_RESPONSE: "CS08_RESPONSE", msg.DAILY_VERSION_ALERT: "CS08_RESPONSE",
         msg.IMAGE_NOTIFY: "IMAGE_NOTIFY", msg.QUERY_NEXT_IMAGE: "QUERY_NEXT_IMAGE",
         msg.QUERY_NEXT_IMAGE_RESPONSE: "IMAGE_BLOCK", msg.UPGRADE_END: "UPGRADE_END",
         msg.UPGRADE_END_RESPONSE: "UPGRADE_END_RESPONSE"}
# below the model's abstraction: delivered as soon as they are sent
_IMMEDIATE = {msg.IMAGE_BLOCK_REQUEST, msg.IMAGE_BLOCK_RESPONSE, msg.CS02B_RESPONSE}
_REJECTION = {NotAuthorised: "rejected_not_authorised", UnknownDevice: "rejected_invalid_device",
              HashMismatch: "rejected_hash_mismatch", NotOnCPL: "rejected_not_on_cpl",
              UpdateInProgress: "rejected_update_in_progress"}


class RefimplAdapter:
    """Drives one :class:`refimpl.scenario.Premises` action by action (see the module docstring)."""

    unsupported = UNSUPPORTED

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # --- configuration ------------------------------------------------------------------------
    def start(self, setup: Setup) -> None:
        """Build the premises for the variant; devices P1.. are PPMIDs, H1.. HCALCSs."""
        if setup.variant not in PRESETS:
            raise Unsupported(f"the reference implementation has no configuration for variant {setup.variant!r}")
        for name, known in (("threat", SUPPORTED_THREATS), ("fault", SUPPORTED_FAULTS)):
            unknown = set(setup.threats if name == "threat" else setup.faults) - known
            if unknown:
                raise Unsupported(f"the reference-implementation adapter cannot drive {name} {sorted(unknown)}")
        p = setup.parameters
        self.versions = int(p.get("versions", 2))
        self.anti_rollback = bool(p.get("anti_rollback", True))
        variants = replace(Variants.named(setup.variant), anti_rollback=self.anti_rollback,
                           ota_timeout=10 ** 9)  # timeouts happen when the model says (fire_now)
        ppmids, hcalcs = int(p.get("ppmids", 1)), int(p.get("hcalcs", 1))
        ihds = 1 if setup.variant == "ihd-in-scope" else 0
        self.premises = pr = Premises(PremisesConfig(seed=self.seed, ppmids=ppmids - ihds, hcalcs=hcalcs, ihds=ihds,
                                                     variants=variants))
        by_type = {t: [d.device_id for d in pr.of_type(t)] for t in ("PPMID", "IHD", "HCALCS")}
        ppmid_ids = by_type["PPMID"] + by_type["IHD"]
        self.device_id = {f"P{i + 1}": d for i, d in enumerate(ppmid_ids)}
        self.device_id.update({f"H{i + 1}": d for i, d in enumerate(by_type["HCALCS"])})
        self.name_of = {d: n for n, d in self.device_id.items()}
        # every abstract image, built for each refimpl device type it can stand for: the model's
        # IHD (ihd-in-scope) is a PPMID-like OTA client, so "PPMID_v2" is also the IHD's version 2
        self.builds: dict[tuple[str, str], bytes] = {}
        for kind, types in (("PPMID", [t for t in ("PPMID", "IHD") if by_type[t]] or ["PPMID"]),
                            ("HCALCS", ["HCALCS"])):
            for t in types:
                for v in range(1, self.versions + 1):  # v1 is what the devices run: built as commissioned
                    self.builds[f"{kind}_v{v}", t] = pr.firmware(t, v, list_on_cpl=v == 1,
                                                                 hardware=FULL_HARDWARE if v == 1 else FITTING_HARDWARE)
                self.builds[f"{kind}_hwB", t] = pr.firmware(t, self.versions, hardware=OTHER_HARDWARE,
                                                           list_on_cpl=False)
                self.builds[f"{kind}_rogue", t] = pr.firmware(t, self.versions, signed=False, list_on_cpl=False)
            if kind == "PPMID":
                for t in types:
                    mistyped = pr.manufacturer.model(f"{pr.models[t].model} (image type 0x{OTHER_IMAGE_TYPE:04x})",
                                                     OTHER_IMAGE_TYPE, t)
                    self.builds[OTHER_TYPE, t] = pr.manufacturer.build_firmware(mistyped, self.versions)
        self.type_of = {name: pr.devices[d].DEVICE_TYPE for name, d in self.device_id.items()}
        self.name_of_hash = {sha256(b): n for (n, _), b in self.builds.items()}
        self.queues: dict[str, deque[Message]] = {}
        self.immediate: deque[Message] = deque()
        self.cs02b_due: dict[str, Message] = {}
        self.version_reports: dict[str, Message] = {}
        self.holding_cs02b = False
        self.captured: dict[str, Message] = {}
        self.substitution: dict[str, tuple[int, bytes]] = {}  # device -> (genuine version, substitute)
        self.counters = {s: 0 for s in pr.suppliers}
        self.counter_max = int(p.get("counter_max", 2))
        self.wire, self.wire_checked, self.wire_faults = WireRules(), 0, list[str]()
        pr.network.take_over_delivery(self._enqueue)

    # --- the network, one message at a time -------------------------------------------------------
    def _link(self, m: Message) -> str:
        name = self.name_of.get(m.device, m.device)
        if m.src == DSP_ENDPOINT:
            return f"DSP->CH[{name}]"
        if m.dst == DSP_ENDPOINT:
            return f"CH->DSP[{name}]"
        if m.src == HUB_ENDPOINT:
            return f"CH->{self.name_of.get(m.dst, m.dst)}"
        return f"{self.name_of.get(m.src, m.src)}->CH"

    def _check_sent(self) -> None:
        """Check the messages the parties have sent since the last check against the wire rules."""
        sent = self.premises.network.sent
        self.wire_faults += [f for m in sent[self.wire_checked:] for f in self.wire.check(m)]
        self.wire_checked = len(sent)

    def _enqueue(self, m: Message) -> None:
        self._check_sent()
        if m.kind == msg.CS02B and self.holding_cs02b:
            self.cs02b_due[self.name_of[m.device]] = m
        elif m.kind == msg.DEVICE_VERSION_REPORT:  # the model's hub learns it in a step of its own
            self.version_reports[self.name_of[m.src]] = m
        else:
            m = self._intercept(m)
            self.wire.note(m)
            if m.kind in _IMMEDIATE or (m.kind == msg.QUERY_NEXT_IMAGE_RESPONSE and m["status"] != msg.ZCL_SUCCESS):
                self.immediate.append(m)
            else:
                self.queues.setdefault(self._link(m), deque()).append(m)

    def _intercept(self, m: Message) -> Message:
        """The man in the middle of a substituted OTA transfer rewrites what it must."""
        device = self.name_of.get(m.dst if m.src == HUB_ENDPOINT else m.src)
        if device not in self.substitution:
            return m
        if m.src == HUB_ENDPOINT and m.kind == msg.QUERY_NEXT_IMAGE_RESPONSE:  # a new transfer: MITM done
            del self.substitution[device]
            return m
        genuine_version, image = self.substitution[device]
        fake_version = parse_image(image).header.file_version
        if m.src == HUB_ENDPOINT and m.kind == msg.IMAGE_BLOCK_RESPONSE:
            offset, size = m["offset"], self.premises.config.variants.block_size
            ok = 0 <= offset < len(image)
            return _with(m, data=image[offset:offset + size] if ok else b"",
                         status=msg.ZCL_SUCCESS if ok else msg.ZCL_ABORT, file_version=fake_version)
        if m.src == HUB_ENDPOINT and m.kind == msg.UPGRADE_END_RESPONSE:
            del self.substitution[device]
            return _with(m, file_version=fake_version)
        if m.kind in (msg.IMAGE_BLOCK_REQUEST, msg.UPGRADE_END):
            if m.kind == msg.UPGRADE_END and m["status"] != msg.ZCL_SUCCESS:
                del self.substitution[device]  # no Upgrade End Response will follow
            return _with(m, file_version=genuine_version)
        return m

    def _drain_immediate(self) -> None:
        while self.immediate:
            self.premises.network.deliver(self.immediate.popleft())

    def _deliver_head(self, link: str, kinds: tuple[str, ...]) -> None:
        queue = self.queues.get(link)
        if not queue:
            raise AssertionError(f"the SUT has no message in flight on {link}; the model expects one of {kinds}")
        head = queue[0]
        if self._model_kind(head) not in kinds:
            raise AssertionError(f"the oldest message on {link} is {head.kind}; the model expects one of {kinds}")
        queue.popleft()
        self.premises.network.deliver(head)
        self._drain_immediate()

    def _in_flight(self, m: Message, link: str) -> str:
        """A message in flight as observed: its kind, a report's version, an alert's outcome."""
        kind = self._model_kind(m)
        return in_flight_label(kind, m.body.get("firmware_version"), _outcome(m))

    def _model_kind(self, m: Message) -> str:
        if m.kind == msg.CS02B and m.src == HUB_ENDPOINT and m.dst != m.device:  # a copy sent to another device
            return MISADDRESSED_CS02B
        return _KIND.get(m.kind, m.kind)

    # --- actions ----------------------------------------------------------------------------------
    def perform(self, step: Step) -> str | None:
        """Carry out one abstract action on the premises (see the module docstring)."""
        action = step.action.split("[")[0]
        handler: Callable[[dict[str, Any]], str | None] | None = getattr(self, f"_do_{action}", None)
        if handler is None:
            raise Unsupported(f"the reference-implementation adapter cannot drive {step.action}")
        params = dict(step.parameters)
        if "[" in step.action and "d" not in params:
            params["d"] = step.action.split("[")[1].rstrip("]")
        if params.get("d", "unknown") not in (*self.device_id, "unknown"):
            raise Refused(f"this design has no device {params['d']} (e.g. no IHD in the OTA scope)")
        outcome = handler(params)
        self._drain_immediate()
        return outcome

    def _request(self, submit: Callable[[], object], accepted: str = "accepted") -> str:
        try:
            submit()
        except RejectionError as err:
            for cls, branch in _REJECTION.items():
                if isinstance(err, cls):
                    return branch
            raise
        return accepted

    def _image_request(self, submit: Callable[[], object], image: bytes, d: str) -> str:
        """An SR 11.1/11.4 outcome; a CPL refusal of a hash the CPL does list for the device's
        model was a refusal of the stated FirmwareVersion (the model's ``rejected_version_mismatch``)."""
        outcome = self._request(submit)
        if outcome == "rejected_not_on_cpl":
            record = self.premises.smi.record(self.device_id[d])
            entry = self.premises.cpl.lookup(record.device_model, sha256(image))
            if entry is not None and entry.state == "listed":
                return "rejected_version_mismatch"
        return outcome

    def _image(self, name: str, d: str | None = None) -> bytes:
        """The real image standing for abstract image ``name`` when it is meant for device ``d``."""
        kind = name.split("_")[0]
        device_type = self.type_of.get(d or "", kind)
        if device_type not in ("PPMID", "IHD") or kind != "PPMID":
            device_type = kind
        return self.builds[name, device_type]

    def _sender(self, by: str) -> str:
        return "S1" if by == "Attacker" else by  # a compromised key is supplier S1's

    def _target(self, d: str) -> str:
        return self.device_id.get(d, "00-00-00-00-00-00-00-00")  # "unknown": not in the SMI

    def _stated(self, image: bytes, hash_ok: bool) -> bytes:
        return sha256(image) if hash_ok else sha256(image + b" (wrong hash)")

    def _stated_version(self, image: bytes, version_ok: bool) -> int:
        return _version(image) if version_ok else _version(image) + 1

    def _do_SR11_4_update_PPMID_firmware(self, p: dict[str, Any]) -> str:
        image = self._image(p["img"], p["d"])
        when = self.premises.now + FUTURE if p["future"] else None
        return self._image_request(lambda: self.premises.dsp.submit_sr11_4(
            self._sender(p["by"]), image, self._stated(image, p["hash_ok"]),
            self._stated_version(image, p["version_ok"]), [self._target(p["d"])], when), image, p["d"])

    def _do_SR11_1_update_firmware(self, p: dict[str, Any]) -> str:
        image = self._image(p["img"], p["d"])
        return self._image_request(lambda: self.premises.dsp.submit_sr11_1(
            self._sender(p["by"]), image, self._stated(image, p["hash_ok"]),
            self._stated_version(image, p["version_ok"]), [self._target(p["d"])]), image, p["d"])

    def _cs06(self, supplier: str, d: str, img: str, counter: int, at: int | None = None) -> bytes:
        """A CS06 signed with the supplier's real key and the originator counter the model uses."""
        signer = self.premises.suppliers[supplier]
        return encode_command(MessageCode.CS06_ACTIVATE_FIRMWARE, signer.keys, signer.originator_id, counter,
                              self._target(d), sha256(self._image(img, d)), at)

    def _do_SR11_3_activate_firmware(self, p: dict[str, Any]) -> str:
        # the model's supplier counter moves only when the DSP accepts; the adapter signs likewise
        # ``signed_by`` (compromised_key): the CS06 carries another supplier's signature
        sender = self._sender(p["by"])
        signer = p.get("signed_by", sender)
        at = self.premises.now + FUTURE if p["future"] else None
        counter = self.counters[signer] + 1
        command = self._cs06(signer, p["d"], p["img"], counter, at)
        outcome = self._request(lambda: self.premises.dsp.submit_sr11_3(sender, command))
        if outcome == "accepted":
            self.counters[signer] = counter
        return outcome

    def _do_SR11_2_read_firmware_version(self, p: dict[str, Any]) -> str:
        return self._request(lambda: self.premises.dsp.submit_sr11_2(p["by"], self._target(p["d"])))

    def _do_SR8_2_read_inventory(self, p: dict[str, Any]) -> str:
        """SR 8.2: the answer must state the SMI's record of the device (the model's answer)."""
        pr, answer = self.premises, list[Any]()
        outcome = self._request(lambda: answer.append(pr.dsp.read_inventory(p["by"], self._target(p["d"]))),
                                "answered")
        if answer:
            record, entry = pr.smi.record(self._target(p["d"])), answer[0]
            stated = (getattr(entry, "DeviceID", None), getattr(entry, "DeviceFirmwareVersion", None))
            if stated != (record.device_id, record.firmware_version):
                raise AssertionError(f"SR 8.2 answers {stated} for {p['d']}, the SMI records "
                                     f"{(record.device_id, record.firmware_version)}")
        return outcome

    def _do_CoS_change_of_supplier(self, p: dict[str, Any]) -> None:
        self.holding_cs02b = True
        try:
            self.premises.dsp.change_of_supplier(list(self.name_of), p["new"])
        finally:
            self.holding_cs02b = False

    def _do_DSP_send_CS02b(self, p: dict[str, Any]) -> None:
        # the DSP signs CS02b when it sends it: its DCC counter then follows any screening token
        due = self.cs02b_due.pop(p["d"], None)
        if due is None:
            raise AssertionError(f"the SUT has no CS02b due for {p['d']}")
        pr, device = self.premises, self.device_id[p["d"]]
        fresh = _with(due, command=pr.dcc.cs02b(device, pr.suppliers[pr.dsp.registration[device]]))
        self.queues.setdefault(self._link(due), deque()).append(fresh)

    def _do_CPL_list_entry(self, p: dict[str, Any]) -> None:
        pr = self.premises
        for (name, device_type), image in self.builds.items():
            if name == p["img"] == OTHER_TYPE:  # the listing gateway would refuse its header
                pr.cpl.list_hash(pr.models[device_type], _version(image), sha256(image))
            elif name == p["img"]:
                pr.cpl.list_image(pr.models[device_type], image, pr.manufacturer.keys.public)

    def _do_CPL_remove_entry(self, p: dict[str, Any]) -> None:
        for (name, device_type), image in self.builds.items():
            if name == p["img"]:
                self.premises.cpl.remove(self.premises.models[device_type], sha256(image))

    def _do_CH_receive_CS05c(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"DSP->CH[{p['d']}]", ("CS05c",))

    def _do_CH_relay_to_device(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"DSP->CH[{p['d']}]", ("FW_DISTRIBUTION", "CS06", "CS08_READ", "CS02b"))

    def _do_CH_answer_version_read(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"DSP->CH[{p['d']}]", ("CS08_READ",))

    def _version_report(self, p: dict[str, Any]) -> None:
        """The PPMID's latest version report reaches the hub (one is sent now if none is waiting)."""
        if p["d"] not in self.version_reports:
            device = self.premises.devices[self.device_id[p["d"]]]
            assert isinstance(device, PPMID), f"{p['d']} is no OTA client of the hub"
            device.report_version()
        self.premises.network.deliver(self.version_reports.pop(p["d"]))

    def _do_CH_store_version(self, p: dict[str, Any]) -> None:
        self._version_report(p)

    def _do_CH_daily_version_alert(self, p: dict[str, Any]) -> None:
        self._version_report(p)

    def _do_CH_answer_query_next_image(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"{p['d']}->CH", ("QUERY_NEXT_IMAGE",))

    def _do_CH_receive_upgrade_end(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"{p['d']}->CH", ("UPGRADE_END",))

    def _do_CH_relay_to_DSP(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"{p['d']}->CH", ("CS09", "FW_DISTRIBUTION_RECEIPT", "CS06_RESPONSE", "CS08_RESPONSE"))

    def _do_CH_transfer_timeout(self, p: dict[str, Any]) -> None:
        timer = self.premises.hub.transfers[self.device_id[p["d"]]].timer
        if timer is None or not timer.pending:
            raise AssertionError(f"the hub has no OTA transfer to {p['d']} that could time out")
        self.premises.sim.fire_now(timer)

    def _do_DSP_receive_CCS08_alert(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"CH->DSP[{p['d']}]", ("CCS08",))

    def _do_DSP_receive_CS09_alert(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"CH->DSP[{p['d']}]", ("CS09",))

    def _do_DSP_receive_distribution_receipt(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"CH->DSP[{p['d']}]", ("FW_DISTRIBUTION_RECEIPT",))

    def _do_DSP_receive_CS06_response(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"CH->DSP[{p['d']}]", ("CS06_RESPONSE",))

    def _do_DSP_receive_CS08_response(self, p: dict[str, Any]) -> None:
        self._deliver_head(f"CH->DSP[{p['d']}]", ("CS08_RESPONSE",))

    def _han_down(self, p: dict[str, Any], kind: str) -> None:
        self._deliver_head(f"CH->{p['d']}", (kind,))

    def _han_down_any(self, p: dict[str, Any], kinds: tuple[str, ...]) -> None:
        self._deliver_head(f"CH->{p['d']}", kinds)

    def _do_query_next_image(self, p: dict[str, Any]) -> None:
        self._han_down(p, "IMAGE_NOTIFY")

    def _do_verify_image(self, p: dict[str, Any]) -> None:
        self._han_down(p, "IMAGE_BLOCK" if self.type_of[p["d"]] in ("PPMID", "IHD") else "FW_DISTRIBUTION")

    def _do_activate_at_upgrade_time(self, p: dict[str, Any]) -> None:
        self._han_down(p, "UPGRADE_END_RESPONSE")

    def _scheduled_time_comes(self, d: str) -> None:
        """The time device ``d`` waits for comes now: its timer fires, and no other (the clock
        does not move, so every other device's time stays to come, as in the model)."""
        device = self.premises.devices[self.device_id[d]]
        timer = device._timer
        if device.state != "activation_scheduled" or timer is None or not timer.pending:
            raise AssertionError(f"{d} has no scheduled activation in the SUT")
        self.premises.sim.fire_now(timer)

    def _do_activate_at_scheduled_upgrade_time(self, p: dict[str, Any]) -> None:
        self._scheduled_time_comes(p["d"])

    def _do_report_firmware_version(self, p: dict[str, Any]) -> None:
        self._han_down(p, "CS08_READ")

    def _do_replace_supplier_anchor(self, p: dict[str, Any]) -> None:
        self._han_down_any(p, ("CS02b", MISADDRESSED_CS02B))

    def _do_activate_on_CS06(self, p: dict[str, Any]) -> None:
        self._han_down(p, "CS06")

    def _do_activate_at_execution_time(self, p: dict[str, Any]) -> None:
        self._scheduled_time_comes(p["d"])

    # local updates (variants with a local port; the approved design's port refuses)
    def _local(self, p: dict[str, Any], token: bytes | None = None) -> None:
        device = self.premises.devices[self.device_id[p["d"]]]
        variants = self.premises.config.variants
        if not (variants.hcalcs_local_update_port if p["d"].startswith("H") else variants.local_update_port):
            raise Refused(f"{p['d']}: this design has no local update port")
        try:
            device.local_update(self._image(p["img"], p["d"]), token)
        except RejectionError as err:
            raise Refused(f"{p['d']} refuses the local update: {type(err).__name__}: {err}") from None

    def _do_LOCAL_installer_update(self, p: dict[str, Any]) -> None:
        self._local(p)

    def _do_LOCAL_attacker_update(self, p: dict[str, Any]) -> None:
        self._local(p)

    def _do_LOCAL_screened_update(self, p: dict[str, Any]) -> None:
        try:
            token = self.premises.dsp.screen_local_update(p["by"], self.device_id[p["d"]],
                                                           self._image(p["img"], p["d"]))
        except (RejectionError, UsageError) as err:
            raise Refused(f"the DSP refuses to screen the local update: {type(err).__name__}: {err}") from None
        self._local(p, token)

    def _do_DAY_tick(self, p: dict[str, Any]) -> None:
        """Midnight starts the model's per-day counts (unobserved); the refimpl's daily alert is
        driven step by step (CH_daily_version_alert), so its clock need not move."""

    # the attacker on the HAN
    def _han_queue(self, d: str) -> deque[Message]:
        return self.queues.setdefault(f"CH->{d}", deque())

    def _do_HAN_drop(self, p: dict[str, Any]) -> None:
        self._han_queue(p["d"]).popleft()

    def _do_HAN_redirect_credentials(self, p: dict[str, Any]) -> None:
        # a byte-for-byte copy of the CS02b on the other device's link, sent to this device
        original = self._han_queue(p["other"])[0]
        copy = Message(original.kind, original.src, self.device_id[p["d"]], original.device, original.body)
        self._han_queue(p["d"]).append(copy)

    def _do_HAN_substitute_image(self, p: dict[str, Any]) -> None:
        queue, image = self._han_queue(p["d"]), self._image(p["img"], p["d"])
        head = queue[0]
        header = parse_image(image).header
        if head.kind == msg.FW_DISTRIBUTION:
            queue[0] = _with(head, image=image, firmware_version=header.file_version)
        else:  # the OTA offer: the man in the middle serves the substitute block by block
            self.substitution[p["d"]] = (head["file_version"], image)
            queue[0] = _with(head, file_version=header.file_version, image_size=header.total_size)

    def _do_HAN_spoof_report(self, p: dict[str, Any]) -> None:
        d, image = p["d"], self._image(p["img"], p["d"])
        version = _version(image)
        if d.startswith("P"):
            m = Message(msg.CS09, self.device_id[d], HUB_ENDPOINT, self.device_id[d],
                        {"firmware_version": version, "firmware_hash": sha256(image).hex()})
        else:
            m = Message(msg.CS06_RESPONSE, self.device_id[d], HUB_ENDPOINT, self.device_id[d],
                        {"outcome": msg.ActivationOutcome.SUCCESS, "firmware_version": version})
        self.queues.setdefault(f"{d}->CH", deque()).append(m)

    def _do_HAN_capture_command(self, p: dict[str, Any]) -> None:
        self.captured[p["d"]] = self._han_queue(p["d"])[0]

    def _do_HAN_replay_command(self, p: dict[str, Any]) -> None:
        self._han_queue(p["d"]).append(self.captured[p["d"]])

    def _do_HAN_inject_old_supplier_command(self, p: dict[str, Any]) -> None:
        d = p["d"]
        command = self._cs06(p["by"], d, p["img"], self.counter_max)  # the model's fresh counter: its maximum
        self._han_queue(d).append(Message(msg.CS06, HUB_ENDPOINT, self.device_id[d], self.device_id[d],
                                          {"command": command}))

    # network faults
    def _do_NET_loss(self, p: dict[str, Any]) -> None:
        self.queues[p["channel"]].popleft()

    def _do_NET_duplication(self, p: dict[str, Any]) -> None:
        queue = self.queues[p["channel"]]
        queue.append(queue[0])

    def _do_NET_reordering(self, p: dict[str, Any]) -> None:
        queue = self.queues[p["channel"]]
        queue[0], queue[1] = queue[1], queue[0]

    def _do_NET_delay(self, p: dict[str, Any]) -> None:
        queue = self.queues[p["channel"]]
        queue.append(queue.popleft())

    # --- wire-edge frames (generators.edges) ---------------------------------------------------------
    def send_frame(self, sender: str, kind: str, fields: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Deliver one frame as ``sender`` (P1.., CH or DSP) to the party it addresses, at once; the
        messages the premises send in answer, as (kind, fields)."""
        pr = self.premises
        device = self.device_id[DEVICE_OF_EDGES]
        body = {k: self._resolve(v, device) for k, v in fields.items()}
        if sender == "DSP":
            frame = Message(kind, DSP_ENDPOINT, HUB_ENDPOINT, device, body)
        elif sender == "CH":
            frame = Message(kind, HUB_ENDPOINT, device, device, body)
        else:
            frame = Message(kind, self.device_id[sender], HUB_ENDPOINT, self.device_id[sender], body)
        self._check_sent()
        seen = len(pr.network.sent)
        self.wire.note(frame)
        pr.network.deliver(frame)
        self._drain_immediate()
        return [(a.kind, dict(a.body)) for a in pr.network.sent[seen:] if a.src == frame.dst]

    def _resolve(self, value: Any, device: str) -> Any:
        """An edge field's value: ``@device.f``, ``@offer.f``, ``@image.truncated`` (generators.edges)."""
        if not (isinstance(value, str) and value.startswith("@")):
            return value
        dev = self.premises.devices[device]
        slot = self.premises.hub.transfers[device]
        header = slot.image.header if slot.image is not None else parse_image(self._image("PPMID_v2", "P1")).header
        return {"@device.manufacturer_code": dev.device_model.manufacturer_code,
                "@device.image_type": dev.device_model.image_type,
                "@device.hardware_version": dev.hardware_version,
                "@device.running_version": dev.running_version,
                "@offer.file_version": header.file_version, "@offer.other_version": header.file_version + 1,
                "@offer.image_size": header.total_size,
                "@image.truncated": self._image("PPMID_v2", "P1")[: header.total_size // 2]}[value]

    # --- observation ------------------------------------------------------------------------------
    def observe(self) -> dict[str, Any]:
        """The premises as the model's abstract state (generators.adapter docstring). Fails the
        test (AssertionError) if a party has put a message on the network that breaks a wire rule."""
        pr, out = self.premises, dict[str, Any]()
        self._check_sent()
        if self.wire_faults:
            raise AssertionError("a malformed message on the wire: " + "; ".join(self.wire_faults))
        for name, dev_id in self.device_id.items():
            dev = pr.devices[dev_id]
            machine = "HCALCS" if name.startswith("H") else "PPMID"
            out[f"{machine}.{name}.running"] = self._image_name(dev.running.raw)
            out[f"{machine}.{name}.held"] = self._image_name(dev.held.raw) if dev.held else "none"
            out[f"{machine}.{name}.supplier_anchor"] = next(
                s.name for s in pr.suppliers.values() if s.originator_id == dev.supplier_anchor[0])
            out[f"{machine}.{name}.scheduled"] = dev.state == "activation_scheduled"
            record = pr.smi.record(dev_id)
            out[f"DSP.SMI[{name}].DeviceFirmwareVersion"] = record.firmware_version
            out[f"DSP.SMI[{name}].DeviceFirmwareVersionStatus"] = record.state
            if machine == "PPMID":
                held = pr.hub.transfers[dev_id].image
                out[f"CH.ota_image[{name}]"] = self._image_name(held.raw) if held else "none"
            for link in (f"DSP->CH[{name}]", f"CH->DSP[{name}]", f"CH->{name}", f"{name}->CH"):
                out[link] = tuple(self._in_flight(m, link) for m in self.queues.get(link, ()))
        out["DSP.registered_supplier"] = pr.dsp.registration[next(iter(self.name_of))]
        out[DUIS_REQUESTS] = tuple(show_request(r.state, {self.name_of[d]: d not in r.failed_devices
                                                          for d in r.accepted if d not in r.pending})
                                   for r in pr.dsp.requests)
        for (img, device_type), image in sorted(self.builds.items()):
            entry = pr.cpl.lookup(pr.models[device_type], sha256(image))
            if not img.endswith("_rogue"):
                listed = entry is not None and entry.state == "listed"
                out[f"CPL.listed[{img}]"] = out.get(f"CPL.listed[{img}]", True) and listed
        return out

    def _image_name(self, raw: bytes) -> str:
        return self.name_of_hash.get(sha256(raw), "unknown image")


def _outcome(m: Message) -> str | None:
    """The model's outcome of a CCS08, Firmware Distribution Receipt or CS06 response, read from
    the code the reference implementation reports (an outcome the model lacks keeps its code)."""
    if m.kind == msg.CCS08:
        return CCS08_OUTCOME.outcome_of(int(m["outcome"]))
    if m.kind == msg.FDR:
        return FW_DISTRIBUTION_RECEIPT_RESULT.outcome_of(int(m["alert_code"], 16))
    if m.kind == msg.CS06_RESPONSE:
        if "error" in m.body:
            return DEVICE_REFUSAL.outcome_of(int(m["error"]))
        return CS06_OUTCOME.outcome_of(int(m["outcome"]))
    return None


def _with(m: Message, **changes: Any) -> Message:
    return Message(m.kind, m.src, m.dst, m.device, {**m.body, **changes})


def _version(image: bytes) -> int:
    return parse_image(image).header.file_version
