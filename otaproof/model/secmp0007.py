"""The approved SECMP0007 design: OTA firmware updates of PPMIDs and HCALCSs through the DCC.

Machines: Supplier (DCC Users S1, S2), DSP (with the SMI), CPL, Communications Hub (ZigBee OTA
server for PPMIDs, relay for HCALCSs), PPMID and HCALCS devices, Installer, Network (faults) and
Attacker (threats). Action names are the SEC/GBCS/DUIS identifiers (SR 11.4, CS05c, CCS08, ...).

Abstractions (each is a documented modelling choice, see docs/model.md):
* firmware images are abstract names; the SHA-256 hash is the image's identity (collision free);
  a manufacturer signature is valid on every image but the attacker-built ``*_rogue`` ones;
* ``*_hwB`` is a genuine, CPL-listable image built for another hardware revision;
* the ZigBee OTA block exchange is one Image Block message; activation is an atomic A/B swap;
* a Service Request and the DSP's synchronous DUIS validation are one joint step.
"""

from __future__ import annotations

from dataclasses import dataclass

from otaproof.model.config import Parameters
from otaproof.model.environment import MISADDRESSED_CS02B, declare_environment
from otaproof.model.lang import (
    BOOL,
    FALSE,
    TRUE,
    EnumSort,
    Expr,
    IntSort,
    Var,
    any_of,
    const,
    ite,
    lift,
    lookup,
    select,
)
from otaproof.model.system import Assign, Branch, Case, Instance, SystemBuilder, assign, case, otherwise, outcome

SUPPLIERS = ("S1", "S2")
OUTCOMES = ("none", "success", "image_discarded", "hw_mismatch", "transfer_failure",
            "no_image_held", "hash_mismatch", "activation_failure", "auth_failed",
            "stale_counter", "verify_ok", "verify_failed")
SR_RESPONSES = ("none", "accepted", "rejected_not_authorised", "rejected_hash_mismatch",
                "rejected_not_on_cpl", "rejected_invalid_device", "rejected_update_in_progress")
WAN_DOWN = ("CS05c", "FW_DISTRIBUTE", "CS06", "CS08_READ", "CS02b")
WAN_UP = ("CCS08", "CS09", "FDR", "CS06_RESPONSE", "CS08_RESPONSE")
HAN_DOWN = ("IMAGE_NOTIFY", "IMAGE_BLOCK", "UPGRADE_END_RESPONSE", "FW_IMAGE", "CS06", "CS08_READ", "CS02b")
HAN_UP = ("QUERY_NEXT_IMAGE", "UPGRADE_END", "CS09", "FDR", "CS06_RESPONSE", "CS08_RESPONSE")
RELAYED_UP = ("CS09", "FDR", "CS06_RESPONSE", "CS08_RESPONSE")


@dataclass(frozen=True)
class ImageInfo:
    model: str      # device model it is built for: PPMID or HCALCS
    version: int
    hw_ok: bool     # built for the hardware revision in the field
    signed: bool    # carries a valid manufacturer signature


def image_catalogue(p: Parameters) -> dict[str, ImageInfo]:
    """Every abstract firmware image of the model, with its static attributes."""
    out: dict[str, ImageInfo] = {}
    for model in ("PPMID", "HCALCS"):
        for v in range(1, p.versions + 1):
            out[f"{model}_v{v}"] = ImageInfo(model, v, True, True)
        out[f"{model}_hwB"] = ImageInfo(model, p.versions, False, True)
        out[f"{model}_rogue"] = ImageInfo(model, p.versions, True, False)
    return out


class Secmp0007:
    """Builds the approved model; the public attributes are what properties and variants use."""

    def __init__(self, p: Parameters, threats: frozenset[str], faults: frozenset[str]) -> None:
        self.p, self.threats, self.faults = p, threats, faults
        self.catalogue = image_catalogue(p)
        self.IMAGE = EnumSort("Image", ("none", *self.catalogue))
        self.ppmids = tuple(f"P{i + 1}" for i in range(p.ppmids))
        self.hcalcs = tuple(f"H{i + 1}" for i in range(p.hcalcs))
        self.devices = self.ppmids + self.hcalcs
        self.DEVICE = EnumSort("Device", (*self.devices, "unknown"))
        self.SUPPLIER = EnumSort("Supplier", SUPPLIERS)
        self.AUTH = EnumSort("Authoriser", ("none", *SUPPLIERS))
        self.OUTCOME = EnumSort("Outcome", OUTCOMES)
        self.COUNTER = IntSort(0, p.counter_max)
        self.b = SystemBuilder("secmp0007", p.as_dict())
        # where a device's firmware-version report can be on its way to the SMI, besides the
        # CS09 / CS06 response queues; variants that add a reporting path add its stages here
        self.extra_report_stages: dict[str, list[Expr]] = {}
        # firmware records the hub keeps about its devices (none in the approved design, where the
        # hub transfers images and stores nothing); variants that add one register it here
        self.hub_records: list[Var] = []
        # candidate lemmas a variant states about its own state: (name, statement, expression)
        self.variant_lemmas: list[tuple[str, str, Expr]] = []
        # Suppliers are not obliged to support firmware on HAN devices (docs/domain.md): S2,
        # the supplier a consumer can switch to, does not support this manufacturer's firmware.
        # Only recovery (P-NO-STRAND) reads it; safety checks keep every supplier able to submit,
        # which over-approximates what suppliers do, so their verdicts stay conservative.
        self.supports_firmware = {"S1": True, "S2": False}
        self._declare_state()
        self._declare_actions()

    # ---- static image attributes as expressions ----------------------------------------
    def _attr(self, e: Expr, fn, sort):  # type: ignore[no-untyped-def]
        table = {"none": fn(None)}
        table.update({name: fn(info) for name, info in self.catalogue.items()})
        return lookup(e, table, sort)

    def const_image(self, name: str) -> Expr:
        return const(self.IMAGE, name)

    def _listed_in(self, flags: dict[str, Var], e: Expr) -> Expr:
        return select([FALSE] + [flags.get(i, FALSE) for i in self.catalogue], e)

    def on_cpl(self, e: Expr) -> Expr:
        """The image (an Image-valued expression) is listed on the CPL now."""
        return self._listed_in(self.cpl_listed, e)

    def ever_on_cpl(self, e: Expr) -> Expr:
        """Ghost: the image has been listed on the CPL at some time."""
        return self._listed_in(self.cpl_ever, e)

    def version_of(self, e: Expr) -> Expr:
        return self._attr(e, lambda i: 0 if i is None else i.version, IntSort(0, self.p.versions))

    def signed(self, e: Expr) -> Expr:
        return self._attr(e, lambda i: bool(i and i.signed), BOOL)

    def fits(self, e: Expr, model: str) -> Expr:
        """The image is for this device model and this hardware revision."""
        return self._attr(e, lambda i: bool(i and i.model == model and i.hw_ok), BOOL)

    def for_model(self, e: Expr, model: str) -> Expr:
        return self._attr(e, lambda i: bool(i and i.model == model), BOOL)

    def model_of(self, d: str) -> str:
        return "PPMID" if d in self.ppmids else "HCALCS"

    NOT_RECOVERY = ("CoS_change_of_supplier", "CPL_list_entry", "CPL_remove_entry")

    def legitimate_recovery(self, inst: Instance) -> bool:
        """May this action instance be part of bringing a device up to date (P-NO-STRAND)? The
        process's own steps and what installers and suppliers do, except a change of supplier
        (the consumer's choice, not a recovery mechanism), CPL changes (the yardstick stays put),
        and requests by a party that does not support the firmware (or by the attacker)."""
        if inst.role not in ("system", "environment") or inst.action in self.NOT_RECOVERY:
            return False
        by = dict(inst.params).get("by")
        return by is None or self.supports_firmware.get(str(by), False)

    # ---- state -------------------------------------------------------------------------
    def _declare_state(self) -> None:
        b, p = self.b, self.p
        IMG, SUP, AUTH, OUT, CTR = self.IMAGE, self.SUPPLIER, self.AUTH, self.OUTCOME, self.COUNTER
        initial = {d: f"{self.model_of(d)}_v1" for d in self.devices}
        cpl = b.machine("CPL")
        # one flag per certifiable image (rogue images can never be listed)
        listable = [i for i, info in self.catalogue.items() if info.signed]
        first = {"PPMID_v1", "HCALCS_v1"}
        self.cpl_listed = {i: cpl.var(f"listed[{i}]", BOOL, i in first) for i in listable}
        self.cpl_ever = {i: cpl.var(f"ever_listed[{i}]", BOOL, i in first, ghost=True) for i in listable}
        sup = b.machine("Supplier")
        self.counter = {s: sup.var(f"counter[{s}]", CTR, 0) for s in SUPPLIERS}
        dsp = b.machine("DSP")
        self.registered = dsp.var("registered_supplier", SUP, "S1")
        self.smi_version = {d: dsp.var(f"SMI[{d}].firmware_version", IMG, initial[d]) for d in self.devices}
        self.STATUS = EnumSort("SMIStatus", ("current", "update_in_progress", "failed"))
        self.smi_status = {d: dsp.var(f"SMI[{d}].status", self.STATUS, "current") for d in self.devices}
        # Ghost: alerts about the device that no DCC request asked for, since the last day tick
        # (saturating one above the budget); P-ALERT-BUDGET bounds it
        self.g_alerts_today = {d: dsp.var(f"unsolicited_alerts_today[{d}]", IntSort(0, p.alert_budget + 1), 0,
                                          ghost=True) for d in self.devices}
        # what the day tick starts afresh (variants add their once-a-day state)
        self.daily_resets: list[Var] = list(self.g_alerts_today.values())
        self.cs02b_due = {d: dsp.var(f"CS02b_due[{d}]", BOOL, False) for d in self.devices}
        ch = b.machine("CH")
        self.ch_image = {d: ch.var(f"ota_image[{d}]", IMG, "none") for d in self.ppmids}
        self.ch_g_req = {d: ch.var(f"ota_image[{d}].validated", IMG, "none", ghost=True) for d in self.ppmids}
        self.ch_g_auth = {d: ch.var(f"ota_image[{d}].authoriser", AUTH, "none", ghost=True) for d in self.ppmids}
        self.running: dict[str, Var] = {}
        self.held: dict[str, Var] = {}
        self.anchor: dict[str, Var] = {}
        self.g_held_req: dict[str, Var] = {}
        self.g_held_auth: dict[str, Var] = {}
        self.g_act_auth: dict[str, Var] = {}
        self.g_act_req: dict[str, Var] = {}
        self.last_ctr: dict[str, Var] = {}
        self.g_max_ctr: dict[tuple[str, str], Var] = {}
        self.pending: dict[str, Var] = {}
        self.pending_img: dict[str, Var] = {}
        self.g_pending_auth: dict[str, Var] = {}
        for d in self.devices:
            m = b.machine(self.model_of(d))
            self.running[d] = m.var(f"{d}.running", IMG, initial[d])
            self.held[d] = m.var(f"{d}.held", IMG, "none")
            self.anchor[d] = m.var(f"{d}.supplier_anchor", SUP, "S1")
            self.g_held_req[d] = m.var(f"{d}.held.validated", IMG, "none", ghost=True)
            self.g_held_auth[d] = m.var(f"{d}.held.authoriser", AUTH, "none", ghost=True)
            self.g_act_auth[d] = m.var(f"{d}.activation.authoriser", AUTH, "S1", ghost=True)
            self.g_act_req[d] = m.var(f"{d}.activation.validated", IMG, initial[d], ghost=True)
            if d in self.hcalcs:
                self.last_ctr[d] = m.var(f"{d}.last_counter", CTR, 0)
                self.pending[d] = m.var(f"{d}.scheduled", BOOL, False)
                self.pending_img[d] = m.var(f"{d}.scheduled.hash", IMG, "none")
                self.g_pending_auth[d] = m.var(f"{d}.scheduled.authoriser", AUTH, "none", ghost=True)
                for s in SUPPLIERS:
                    self.g_max_ctr[d, s] = m.var(f"{d}.max_accepted[{s}]", CTR, 0, ghost=True)
        if "han_mitm" in self.threats:
            atk = b.machine("Attacker")
            self.captured = {d: atk.var(f"captured[{d}]", BOOL, False) for d in self.hcalcs}
            self.cap_img = {d: atk.var(f"captured[{d}].hash", IMG, "none") for d in self.hcalcs}
            self.cap_orig = {d: atk.var(f"captured[{d}].originator", SUP, "S1") for d in self.hcalcs}
            self.cap_ctr = {d: atk.var(f"captured[{d}].counter", CTR, 0) for d in self.hcalcs}
            self.cap_future = {d: atk.var(f"captured[{d}].future", BOOL, False) for d in self.hcalcs}
        # channels
        cmd = {"img": IMG, "orig": SUP, "ctr": CTR, "future": BOOL, "g_auth": AUTH, "g_req": IMG}
        # The DSP-hub link carries each device's messages in a logical queue of its own.
        self.wan_down = {d: b.channel(f"DSP->CH[{d}]", "DSP", "CH", {"kind": EnumSort("WanDown", WAN_DOWN), **cmd},
                                      p.capacity) for d in self.devices}
        self.wan_up = {d: b.channel(f"CH->DSP[{d}]", "CH", "DSP", {"kind": EnumSort("WanUp", WAN_UP), "img": IMG,
                                                                 "outcome": OUT, "g_genuine": BOOL}, p.capacity)
                       for d in self.devices}
        han_writers = ("Attacker",) if "han_mitm" in self.threats else ()
        self.han_down = {d: b.channel(f"CH->{d}", "CH", self.model_of(d),
                                      {"kind": EnumSort("HanDown", self._han_down_kinds()), **cmd}, p.capacity,
                                      han_writers)
                         for d in self.devices}
        self.han_up = {d: b.channel(f"{d}->CH", self.model_of(d), "CH",
                                    {"kind": EnumSort("HanUp", HAN_UP), "img": IMG, "outcome": OUT,
                                     "g_genuine": BOOL}, p.capacity, han_writers)
                       for d in self.devices}

    def _han_down_kinds(self) -> tuple[str, ...]:
        """The hub-to-device message kinds; an attacker on the HAN adds misaddressed copies."""
        return HAN_DOWN + ((MISADDRESSED_CS02B,) if "han_mitm" in self.threats else ())

    # ---- actions -----------------------------------------------------------------------
    def _declare_actions(self) -> None:
        self._supplier_and_dsp()
        self._cpl()
        self._hub()
        self._ppmid()
        self._hcalcs()
        self._environment_faults_attacker()
        self._clock()

    def _submitters(self) -> tuple[str, ...]:
        extra = ("Attacker",) if "compromised_key" in self.threats else ()
        return SUPPLIERS + extra

    @staticmethod
    def signer(by: str) -> str:
        """Whose key signs: the attacker with a compromised key uses supplier S1's."""
        return "S1" if by == "Attacker" else by

    def _may_submit(self, by: str) -> Expr:
        """Honest suppliers act only for their own premises; the old supplier and the attacker
        (under their threats) submit whenever they like and meet the DSP's checks."""
        if by == "Attacker" or "old_supplier" in self.threats:
            return TRUE
        return self.registered == by

    def count_unsolicited_alert(self, d: str, when: Expr | bool = True) -> Assign:
        """Ghost bookkeeping for P-ALERT-BUDGET: one more unsolicited alert about ``d`` today."""
        n, top = self.g_alerts_today[d], self.p.alert_budget + 1
        return assign(n, ite(lift(when, BOOL) & (n < top), n + 1, n))

    def _clock(self) -> None:
        """The day tick: an environment step that starts a new day ("per day" properties)."""
        self.b.machine("Clock").action(
            "DAY_tick", lambda: case(TRUE, [assign(v, v.sort.decode(v.init)) for v in self.daily_resets]),
            role="environment", joint=("CH",), doc="midnight: a new day begins (the hub's day starts with it)")

    def _relays_foreign_signature(self, by: str) -> bool:
        """Under compromised_key a supplier's DUIS channel may carry a CS06 signed with another
        supplier's key (a command relayed for the key's holder): the DSP's originator check is
        what stops it. Honest senders only ever submit what they signed themselves."""
        return "compromised_key" in self.threats and by != "Attacker"

    def _auth(self, by: str) -> str:
        """Ghost: who genuinely authorised a request ("none" when the attacker made it)."""
        return "none" if by == "Attacker" else by

    def _validations(self, by: str, d: str, img: str, hash_ok: bool, model: str) -> list[Branch]:
        """The DSP's SR 11.1/11.4 validations, in order, as rejection branches."""
        on_cpl = self.on_cpl(const(self.IMAGE, img)) & self.for_model(const(self.IMAGE, img), model)
        return [  # DUIS: the device is known and of a valid type, then the sender is eligible for it
            outcome("rejected_invalid_device", d not in self.devices or self.model_of(d) != model),
            outcome("rejected_not_authorised", self.registered != self.signer(by)),
            outcome("rejected_hash_mismatch", not hash_ok),
            outcome("rejected_not_on_cpl", ~on_cpl),
        ]

    def _representative(self, d: str, img: str, hash_ok: bool, model: str) -> bool:
        """Keep one submission per distinct DSP outcome class (the others behave identically):
        every image of the device's model, one image of the other model, one bad hash, and one
        image for an invalid target."""
        first = f"{model}_v1"
        if d not in self.devices or self.model_of(d) != model:
            return img == first and hash_ok
        if not hash_ok:
            return img == first
        return self.catalogue[img].model == model or img == f"{'HCALCS' if model == 'PPMID' else 'PPMID'}_v1"

    def _supplier_and_dsp(self) -> None:
        sup, IMG = self.b.machine("Supplier"), self.IMAGE
        imgs = tuple(IMG.values[1:])
        targets = (*self.devices, "unknown")

        def sr11_4(by: str, d: str, img: str, hash_ok: bool) -> Case | None:
            # SR 11.4 Update PPMID Firmware: DSP validates hash and CPL listing, then CS05c.
            if not self._representative(d, img, hash_ok, "PPMID"):
                return None
            checks = self._validations(by, d, img, hash_ok, "PPMID")
            if d not in self.ppmids:
                return case(self._may_submit(by), *checks[:2])
            return case(self._may_submit(by), *checks,
                        outcome("rejected_update_in_progress", self.smi_status[d] == "update_in_progress"),
                        outcome("accepted", self.wan_down[d].has_room(),
                                assign(self.smi_status[d], "update_in_progress"),
                                self.wan_down[d].send(kind="CS05c", img=img, g_req=img, g_auth=self._auth(by))))

        sup.action("SR11_4_submit", sr11_4, role="environment", joint=("DSP",),
                   params={"by": self._submitters(), "d": targets, "img": imgs, "hash_ok": (True, False)},
                   doc="SR 11.4 Update PPMID Firmware (DSP validation; GBCS CS05c to the hub)")

        def sr11_1(by: str, d: str, img: str, hash_ok: bool) -> Case | None:
            # SR 11.1 Update Firmware (HCALCS): distribution, not a critical command.
            if not self._representative(d, img, hash_ok, "HCALCS"):
                return None
            checks = self._validations(by, d, img, hash_ok, "HCALCS")
            if d not in self.hcalcs:
                return case(self._may_submit(by), *checks[:2])
            return case(self._may_submit(by), *checks,
                        outcome("accepted", self.wan_down[d].has_room(),
                                self.wan_down[d].send(kind="FW_DISTRIBUTE", img=img, g_req=img,
                                                   g_auth=self._auth(by))))

        sup.action("SR11_1_submit", sr11_1, role="environment", joint=("DSP",),
                   params={"by": self._submitters(), "d": targets, "img": imgs, "hash_ok": (True, False)},
                   doc="SR 11.1 Update Firmware (HCALCS distribution)")

        def sr11_3(by: str, d: str, img: str, future: bool, signed_by: str) -> Case | None:
            # SR 11.3 Activate Firmware: GBCS CS06 critical command, signed, originator counter.
            # DUIS: the sender is the device's supplier and the CS06 originator is the sender.
            if self.catalogue[img].model != "HCALCS":
                return None
            signer = self.signer(by)
            if signed_by != signer and not self._relays_foreign_signature(by):
                return None
            ctr = self.counter[signer]
            return case(self._may_submit(by) & (ctr < self.p.counter_max),
                        outcome("rejected_not_authorised", (self.registered != signer) | (signed_by != signer)),
                        outcome("rejected_update_in_progress", self.smi_status[d] == "update_in_progress"),
                        outcome("accepted", self.wan_down[d].has_room(),
                                assign(ctr, ctr + 1), assign(self.smi_status[d], "update_in_progress"),
                                self.wan_down[d].send(kind="CS06", img=img, orig=signer, ctr=ctr + 1,
                                                   future=future, g_auth=self._auth(by))))

        sup.action("SR11_3_submit", sr11_3, role="environment", joint=("DSP",),
                   params={"by": self._submitters(), "d": self.hcalcs, "img": imgs, "future": (False, True),
                           "signed_by": SUPPLIERS},
                   doc="SR 11.3 Activate Firmware (GBCS CS06 critical command)")

        def sr11_2(by: str, d: str) -> Case | None:
            # SR 11.2 Read Firmware Version (GBCS CS08).
            return case(self._may_submit(by),
                        outcome("rejected_not_authorised", self.registered != by),
                        outcome("accepted", self.wan_down[d].has_room(),
                                self.wan_down[d].send(kind="CS08_READ")))

        sup.action("SR11_2_submit", sr11_2, role="environment", joint=("DSP",),
                   params={"by": SUPPLIERS, "d": self.devices}, doc="SR 11.2 Read Firmware Version")

        def sr8_2(by: str, d: str) -> Case | None:
            # SR 8.2 Read Inventory: answered by the DSP from the SMI.
            return case(self._may_submit(by),
                        outcome("rejected_not_authorised", self.registered != by),
                        otherwise("answered"))

        sup.action("SR8_2_read_inventory", sr8_2, role="environment", joint=("DSP",),
                   params={"by": SUPPLIERS, "d": self.devices}, doc="SR 8.2 Read Inventory")

        dsp = self.b.machine("DSP")
        def known(d: str) -> Expr:
            return self.wan_up[d].nonempty()

        def receive_ccs08(d: str) -> Case:
            up = self.wan_up[d]
            # CCS08 Firmware Transfer Alert from the hub (0x8F8A success, 0x8F89 failure).
            return case(known(d) & (up.head("kind") == "CCS08"),
                        outcome("transfer_success", up.head("outcome") == "success", up.receive()),
                        otherwise("transfer_failed", up.receive(), assign(self.smi_status[d], "failed")))

        def receive_cs09(d: str) -> Case:
            up = self.wan_up[d]
            # CS09 PPMID Firmware Activation Alert: the DSP updates the SMI.
            return case(known(d) & (up.head("kind") == "CS09"), up.receive(),
                        assign(self.smi_version[d], up.head("img")), assign(self.smi_status[d], "current"))

        def receive_fdr(d: str) -> Case:
            up = self.wan_up[d]
            # Firmware Distribution Receipt (0x8F72 verification successful / 0x8F1C failed).
            return case(known(d) & (up.head("kind") == "FDR"),
                        outcome("verification_successful", up.head("outcome") == "verify_ok", up.receive()),
                        otherwise("verification_failed", up.receive()))

        def receive_cs06_response(d: str) -> Case:
            up = self.wan_up[d]
            # Response to the CS06 activation: on success the DSP updates the SMI version.
            return case(known(d) & (up.head("kind") == "CS06_RESPONSE"),
                        outcome("activation_success", up.head("outcome") == "success", up.receive(),
                                assign(self.smi_version[d], up.head("img")),
                                assign(self.smi_status[d], "current")),
                        otherwise("activation_failed", up.receive(), assign(self.smi_status[d], "failed")))

        def receive_cs08_response(d: str) -> Case:
            up = self.wan_up[d]
            return case(known(d) & (up.head("kind") == "CS08_RESPONSE"), up.receive())

        for name, fn, devs in (("DSP_receive_CCS08", receive_ccs08, self.ppmids),
                               ("DSP_receive_CS09", receive_cs09, self.ppmids),
                               ("DSP_receive_FDR", receive_fdr, self.hcalcs),
                               ("DSP_receive_CS06_response", receive_cs06_response, self.hcalcs),
                               ("DSP_receive_CS08_response", receive_cs08_response, self.devices)):
            if devs:
                dsp.action(name, fn, params={"d": devs})

        def cos(new: str) -> Case:
            # Change of supplier: the DCC registration moves to the new supplier; every device's
            # trust anchor must then be replaced by a GBCS CS02b (sent below, one per device).
            return case(self.registered != new, assign(self.registered, new),
                        [assign(self.cs02b_due[d], True) for d in self.devices])

        def cs02b_send(d: str) -> Case:
            return case(self.cs02b_due[d] & self.wan_down[d].has_room(), assign(self.cs02b_due[d], False),
                        self.wan_down[d].send(kind="CS02b", orig=self.registered))

        dsp.action("CoS_change_of_supplier", cos, role="environment", params={"new": SUPPLIERS},
                   doc="change of supplier: registration moves, CS02b due on every device")
        dsp.action("CS02b_update_security_credentials", cs02b_send, params={"d": self.devices},
                   doc="GBCS CS02b: replace the device's supplier trust anchor")

    def _cpl(self) -> None:
        cpl = self.b.machine("CPL")
        imgs = tuple(self.IMAGE.values[1:])

        def listing(img: str) -> Case | None:
            # The CPL listing gateway lists only manufacturer-signed (certified) images.
            if not self.catalogue[img].signed:
                return None
            return case(~self.cpl_listed[img], assign(self.cpl_listed[img], True), assign(self.cpl_ever[img], True))

        def removal(img: str) -> Case | None:
            if img not in self.cpl_listed:
                return None
            return case(self.cpl_listed[img], assign(self.cpl_listed[img], False))

        cpl.action("CPL_list_entry", listing, role="environment", params={"img": imgs},
                   doc="a certified image's hash enters the CPL")
        cpl.action("CPL_remove_entry", removal, role="environment", params={"img": imgs},
                   doc="an entry is removed from the CPL")

    def _hub(self) -> None:
        ch = self.b.machine("CH")

        def cs05c(d: str) -> Case:
            down = self.wan_down[d]
            # GBCS CS05c: the hub takes the image and offers it (ZigBee OTA Image Notify).
            han = self.han_down[d]
            head = down.head("kind") == "CS05c"
            return case(down.nonempty() & head,
                        outcome("busy_image_discarded", (self.ch_image[d] != "none") & self.wan_up[d].has_room(),
                                down.receive(),
                                self.wan_up[d].send(kind="CCS08", img=down.head("img"),
                                                 outcome="image_discarded", g_genuine=True)),
                        outcome("image_notify", (self.ch_image[d] == "none") & han.has_room(), down.receive(),
                                assign(self.ch_image[d], down.head("img")),
                                assign(self.ch_g_req[d], down.head("g_req")),
                                assign(self.ch_g_auth[d], down.head("g_auth")),
                                han.send(kind="IMAGE_NOTIFY")))

        def forward(d: str) -> Case:
            down = self.wan_down[d]
            # Relay of HCALCS distribution, critical commands, reads and CS02b to the device.
            han = self.han_down[d]
            kinds = ("CS08_READ", "CS02b") if d in self.ppmids else ("FW_DISTRIBUTE", "CS06", "CS08_READ", "CS02b")
            is_kind = any_of(down.head("kind") == k for k in kinds)
            if d in self.ppmids:  # a read waits for the PPMID's OTA exchange to end (see docs/model.md)
                is_kind = is_kind & ~((down.head("kind") == "CS08_READ") & (self.ch_image[d] != "none"))
            mapped = {f: down.head(f) for f in ("img", "orig", "ctr", "future", "g_auth", "g_req")}
            return case(down.nonempty() & is_kind & han.has_room(), down.receive(),
                        han.send(kind=_kind_map(down.head("kind"), han.fields["kind"]), **mapped))

        def image_block(d: str) -> Case:
            # ZigBee OTA: answer Query Next Image (it carries the device's hardware version) with the
            # image (blocks abstracted to one); a hardware mismatch ends the transfer with CCS08
            # outcome 2; with no image held the answer is "no image available" (the device gives up).
            han, up, wan = self.han_down[d], self.han_up[d], self.wan_up[d]
            img = self.ch_image[d]
            return case(up.nonempty() & (up.head("kind") == "QUERY_NEXT_IMAGE"),
                        outcome("no_image_available", img == "none", up.receive()),
                        outcome("hw_mismatch", ~self.fits(img, "PPMID") & wan.has_room(), up.receive(),
                                assign(img, "none"),
                                wan.send(kind="CCS08", img=img, outcome="hw_mismatch", g_genuine=True)),
                        outcome("image_block", self.fits(img, "PPMID") & han.has_room(), up.receive(),
                                han.send(kind="IMAGE_BLOCK", img=img, g_req=self.ch_g_req[d],
                                         g_auth=self.ch_g_auth[d])))

        def ccs08(d: str) -> Case:
            # Upgrade End from the PPMID: raise CCS08 and (on success) send Upgrade End Response.
            han, up = self.han_down[d], self.han_up[d]
            clear = [assign(self.ch_image[d], "none")]
            st = up.head("outcome")
            return case(up.nonempty() & (up.head("kind") == "UPGRADE_END") & self.wan_up[d].has_room(),
                        outcome("success_upgrade_end_response", (st == "success") & han.has_room(), up.receive(),
                                clear, han.send(kind="UPGRADE_END_RESPONSE"),
                                self.wan_up[d].send(kind="CCS08", img=self.ch_image[d], outcome="success",
                                                 g_genuine=True)),
                        outcome("failure_alert", st != "success", up.receive(), clear,
                                self.wan_up[d].send(kind="CCS08", img=self.ch_image[d], outcome=st,
                                                 g_genuine=True)))

        def timeout(d: str) -> Case:
            # The OTA exchange stalled (message lost, device reset): CCS08 outcome 3.
            return case((self.ch_image[d] != "none") & ~self.han_down[d].nonempty() & ~self.han_up[d].nonempty()
                        & self.wan_up[d].has_room(),
                        assign(self.ch_image[d], "none"),
                        self.wan_up[d].send(kind="CCS08", img=self.ch_image[d], outcome="transfer_failure",
                                         g_genuine=True))

        def relay_up(d: str) -> Case:
            up = self.han_up[d]
            is_kind = any_of(up.head("kind") == k for k in RELAYED_UP)
            # an activation report (CS09, CS06 response) while the DSP awaits none is unsolicited
            report = (up.head("kind") == "CS09") | (up.head("kind") == "CS06_RESPONSE")
            return case(up.nonempty() & is_kind & self.wan_up[d].has_room(), up.receive(),
                        self.wan_up[d].send(kind=_kind_map(up.head("kind"), self.wan_up[d].fields["kind"]),
                                         img=up.head("img"), outcome=up.head("outcome"),
                                         g_genuine=up.head("g_genuine")),
                        self.count_unsolicited_alert(d, report & (self.smi_status[d] != "update_in_progress")))

        if self.ppmids:
            ch.action("CS05c_receive", cs05c, params={"d": self.ppmids}, doc="GBCS CS05c: hub takes the PPMID image")
            ch.action("OTA_image_block", image_block, params={"d": self.ppmids})
            ch.action("CCS08_alert", ccs08, params={"d": self.ppmids}, doc="CCS08 Firmware Transfer Alert")
            ch.action("OTA_transfer_timeout", timeout, params={"d": self.ppmids})
        ch.action("CH_relay_to_device", forward, params={"d": self.devices})
        ch.action("CH_relay_to_DSP", relay_up, params={"d": self.devices})

    def _ppmid(self) -> None:
        for d in self.ppmids:
            self._ppmid_actions(d)

    def _ppmid_actions(self, d: str) -> None:
        m = self.b.machine("PPMID")
        down, up = self.han_down[d], self.han_up[d]

        def query(d: str) -> Case:
            return case(down.nonempty() & (down.head("kind") == "IMAGE_NOTIFY") & up.has_room(), down.receive(),
                        up.send(kind="QUERY_NEXT_IMAGE", g_genuine=True))

        def upgrade_end(d: str) -> Case:
            # The PPMID verifies the manufacturer signature, model/hardware and version, then holds it.
            img = down.head("img")
            end = lambda st: up.send(kind="UPGRADE_END", img=img, outcome=st, g_genuine=True)  # noqa: E731
            rollback = (self.version_of(img) < self.version_of(self.running[d])) if self.p.anti_rollback else FALSE
            return case(down.nonempty() & (down.head("kind") == "IMAGE_BLOCK") & up.has_room(),
                        outcome("bad_signature_discarded", ~self.signed(img), down.receive(), end("image_discarded")),
                        # ZigBee's Upgrade End has no hardware status: INVALID_IMAGE, as for any refused image
                        outcome("hw_mismatch", ~self.fits(img, "PPMID"), down.receive(), end("image_discarded")),
                        outcome("rollback_discarded", rollback, down.receive(), end("image_discarded")),
                        otherwise("image_held", down.receive(), assign(self.held[d], img),
                                  assign(self.g_held_req[d], down.head("g_req")),
                                  assign(self.g_held_auth[d], down.head("g_auth")), end("success")))

        def activate(d: str) -> Case:
            # Upgrade End Response (upgrade time): activate the held image, raise CS09.
            return case(down.nonempty() & (down.head("kind") == "UPGRADE_END_RESPONSE") & up.has_room(),
                        outcome("no_image_held", self.held[d] == "none", down.receive()),
                        otherwise("activated", down.receive(), assign(self.running[d], self.held[d]),
                                  assign(self.held[d], "none"),
                                  assign(self.g_act_auth[d], self.g_held_auth[d]),
                                  assign(self.g_act_req[d], self.g_held_req[d]),
                                  up.send(kind="CS09", img=self.held[d], g_genuine=True)))

        params = {"d": (d,)}
        m.action(f"OTA_query_next_image[{d}]", query, params=params, doc="ZigBee OTA Query Next Image")
        m.action(f"OTA_upgrade_end[{d}]", upgrade_end, params=params, doc="verify image, ZigBee OTA Upgrade End")
        m.action(f"CS09_activate[{d}]", activate, params=params, doc="activation and CS09 alert")
        self._common_device_actions(m, d)

    def _common_device_actions(self, m, d: str) -> None:  # type: ignore[no-untyped-def]
        down, up = self.han_down[d], self.han_up[d]

        def read_version(d: str) -> Case:
            return case(down.nonempty() & (down.head("kind") == "CS08_READ") & up.has_room(), down.receive(),
                        up.send(kind="CS08_RESPONSE", img=self.running[d], g_genuine=True))

        def cs02b(d: str) -> Case:
            # CS02b: the new supplier's trust anchor replaces the old; counters reset. GBCS: a
            # command whose business target is another device is refused.
            eff = [down.receive(), assign(self.anchor[d], down.head("orig"))]
            if d in self.hcalcs:
                eff.append(assign(self.last_ctr[d], 0))
            if MISADDRESSED_CS02B not in self._han_down_kinds():
                return case(down.nonempty() & (down.head("kind") == "CS02b"), *eff)
            misaddressed = down.head("kind") == MISADDRESSED_CS02B
            return case(down.nonempty() & ((down.head("kind") == "CS02b") | misaddressed),
                        outcome("wrong_target", misaddressed, down.receive()),
                        otherwise("anchor_replaced", *eff))

        m.action(f"CS08_read_firmware_version[{d}]", read_version, params={"d": (d,)})
        m.action(f"CS02b_update_supplier_anchor[{d}]", cs02b, params={"d": (d,)})

    def _hcalcs(self) -> None:
        for d in self.hcalcs:
            self._hcalcs_actions(d)

    def _hcalcs_actions(self, d: str) -> None:
        m = self.b.machine("HCALCS")
        down, up = self.han_down[d], self.han_up[d]

        def receive_image(d: str) -> Case:
            # The device hashes what it received and reports the verification result.
            img = down.head("img")
            rollback = (self.version_of(img) < self.version_of(self.running[d])) if self.p.anti_rollback else FALSE
            fdr = lambda st, i: up.send(kind="FDR", img=i, outcome=st, g_genuine=True)  # noqa: E731
            return case(down.nonempty() & (down.head("kind") == "FW_IMAGE") & up.has_room(),
                        outcome("verification_failed", ~self.signed(img) | ~self.fits(img, "HCALCS") | rollback,
                                down.receive(), fdr("verify_failed", img)),
                        otherwise("verification_successful", down.receive(), assign(self.held[d], img),
                                  assign(self.g_held_req[d], down.head("g_req")),
                                  assign(self.g_held_auth[d], down.head("g_auth")), fdr("verify_ok", img)))

        def cs06(d: str) -> Case:
            # GBCS CS06 critical command: signature, counter, then hash of the held image.
            cmd = lambda f: down.head(f)  # noqa: E731
            resp = lambda st, i: up.send(kind="CS06_RESPONSE", img=i, outcome=st, g_genuine=True)  # noqa: E731
            accept = [assign(self.last_ctr[d], cmd("ctr"))] + [
                Assign(self.g_max_ctr[d, s], ite(cmd("orig") == s, cmd("ctr"), self.g_max_ctr[d, s]))
                for s in SUPPLIERS]
            return case(down.nonempty() & (down.head("kind") == "CS06") & up.has_room(),
                        outcome("auth_failed", cmd("orig") != self.anchor[d], down.receive(),
                                resp("auth_failed", self.running[d])),
                        outcome("stale_counter", cmd("ctr") <= self.last_ctr[d], down.receive(),
                                resp("stale_counter", self.running[d])),
                        outcome("no_image_held", self.held[d] == "none", down.receive(), accept,
                                resp("no_image_held", self.running[d])),
                        outcome("hash_mismatch", self.held[d] != cmd("img"), down.receive(), accept,
                                resp("hash_mismatch", self.running[d])),
                        outcome("scheduled", cmd("future"), down.receive(), accept,
                                assign(self.pending[d], True), assign(self.pending_img[d], cmd("img")),
                                assign(self.g_pending_auth[d], cmd("g_auth"))),
                        otherwise("activated", down.receive(), accept,
                                  assign(self.running[d], self.held[d]), assign(self.held[d], "none"),
                                  assign(self.pending[d], False), assign(self.pending_img[d], "none"),
                                  assign(self.g_act_auth[d], cmd("g_auth")),
                                  assign(self.g_act_req[d], self.g_held_req[d]),
                                  resp("success", self.held[d])))

        def execute(d: str) -> Case:
            # The execution date-time of a future-dated CS06 arrives.
            resp = lambda st, i: up.send(kind="CS06_RESPONSE", img=i, outcome=st, g_genuine=True)  # noqa: E731
            done = [assign(self.pending[d], False), assign(self.pending_img[d], "none")]
            return case(self.pending[d] & up.has_room(),
                        outcome("hash_mismatch", self.held[d] != self.pending_img[d], done,
                                resp("hash_mismatch", self.running[d])),
                        otherwise("activated", done, assign(self.running[d], self.held[d]),
                                  assign(self.held[d], "none"), assign(self.g_act_auth[d], self.g_pending_auth[d]),
                                  assign(self.g_act_req[d], self.g_held_req[d]), resp("success", self.held[d])))

        params = {"d": (d,)}
        m.action(f"FW_receive_image[{d}]", receive_image, params=params, doc="SR 11.1 image received and verified")
        m.action(f"CS06_activate_firmware[{d}]", cs06, params=params, doc="GBCS CS06 Activate Firmware")
        m.action(f"CS06_execute_scheduled[{d}]", execute, params=params, doc="future-dated activation executes")
        self._common_device_actions(m, d)

    def _environment_faults_attacker(self) -> None:
        declare_environment(self)


def _kind_map(src: Expr, target: EnumSort) -> Expr:
    """Translate a message kind to the same-named kind of another channel (CS05c excluded)."""
    assert isinstance(src.sort, EnumSort)
    table = {}
    for v in src.sort.values:
        mapped = {"FW_DISTRIBUTE": "FW_IMAGE"}.get(v, v)
        table[v] = mapped if mapped in target.values else target.values[0]
    return lookup(src, table, target)
