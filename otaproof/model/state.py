"""The state of the SECMP0007 model: every party's variables and the links between them, with
the expressions (image attributes, CPL listing) and the effects (an activation, an unsolicited
alert) that the flows, the properties and variant files write with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otaproof.model.config import Parameters
from otaproof.model.environment import HanAttacker, declare_han_attacker
from otaproof.model.lang import (
    BOOL,
    FALSE,
    EnumSort,
    Expr,
    ExprLike,
    IntSort,
    Sort,
    Var,
    const,
    ite,
    lift,
    lookup,
    select,
)
from otaproof.model.system import Assign, Case, Instance, SystemBuilder, assign
from otaproof.model.vocabulary import (
    CCS08_OUTCOMES,
    HAN_DOWN,
    HAN_UP,
    HCALCS_REPORT_OUTCOMES,
    MISADDRESSED_CS02B,
    SUPPLIERS,
    UPGRADE_END_OUTCOMES,
    WAN_DOWN,
    WAN_UP,
    ImageInfo,
    image_catalogue,
    outcome_sort,
)


@dataclass(frozen=True)
class SmiRecord:
    """A device's firmware fields in the Smart Metering Inventory, named as SR 8.2 Read
    Inventory names them (status: current, update_in_progress or failed)."""

    DeviceFirmwareVersion: Var
    DeviceFirmwareVersionStatus: Var


class Secmp0007State:
    """The state of the model under construction, and the expressions and effects over it that
    flows, properties and variant files use. Each state handle is named as its variables are in
    traces: ``m.held[d]`` is ``PPMID.P1.held``, ``m.ota_image_authoriser[d]`` is
    ``CH.ota_image_authoriser[P1]``, ``m.smi[d].DeviceFirmwareVersion`` is
    ``DSP.SMI[P1].DeviceFirmwareVersion``."""

    def __init__(self, p: Parameters, threats: frozenset[str], faults: frozenset[str]) -> None:
        self.p, self.threats, self.faults = p, threats, faults
        self.catalogue = image_catalogue(p)
        self.IMAGE = EnumSort("Image", ("none", *self.catalogue))
        self.ppmids = tuple(f"P{i + 1}" for i in range(p.ppmids))
        self.hcalcs = tuple(f"H{i + 1}" for i in range(p.hcalcs))
        self.devices = self.ppmids + self.hcalcs
        self.DEVICE = EnumSort("Device", (*self.devices, "unknown"))
        self.SUPPLIER = EnumSort("Supplier", SUPPLIERS)
        self.AUTHORISER = EnumSort("Authoriser", ("none", *SUPPLIERS))
        self.COUNTER = IntSort(0, p.counter_max)
        self.FIRMWARE_STATUS = EnumSort("DeviceFirmwareVersionStatus", ("current", "update_in_progress", "failed"))
        self.b = SystemBuilder("secmp0007", p.as_dict())
        # where a device's firmware-version report can be on its way to the SMI, besides the
        # CS09 / CS06 response queues; variants that add a reporting path add its stages here
        self.extra_report_stages: dict[str, list[Expr]] = {}
        # firmware records the hub keeps about its devices (none in the approved design, where the
        # hub transfers images and stores nothing); variants that add one register it here
        self.hub_records: list[Var] = []
        # candidate lemmas a variant states about its own state: (name, statement, expression)
        self.variant_lemmas: list[tuple[str, str, Expr]] = []
        # the system actions that can raise an alert no DCC request asked for, each with the
        # condition (per device, on the pre-state) under which a step of it does (P-ALERT-BUDGET)
        self.unsolicited_alert_sources: dict[str, Callable[[str], Expr]] = {"CH_relay_to_DSP": self.unsolicited_report}
        # Suppliers are not obliged to support firmware on HAN devices: S2, the supplier a
        # consumer can switch to, does not support this manufacturer's firmware. Only recovery
        # (P-NO-STRAND) reads it; safety checks keep every supplier able to submit, which
        # over-approximates what suppliers do, so their verdicts stay conservative.
        self.supports_firmware = {"S1": True, "S2": False}
        self._declare_state()

    # ---- static image attributes as expressions ----------------------------------------
    def _attr(self, e: Expr, fn: Callable[[ImageInfo | None], object], sort: Sort) -> Expr:
        table: dict[object, object] = {"none": fn(None)}
        table.update({name: fn(info) for name, info in self.catalogue.items()})
        return lookup(e, table, sort)

    def const_image(self, name: str) -> Expr:
        """The abstract image ``name`` as a constant."""
        return const(self.IMAGE, name)

    def _listed_in(self, flags: dict[str, Var], e: Expr) -> Expr:
        return select([FALSE] + [flags.get(i, FALSE) for i in self.catalogue], e)

    def on_cpl(self, e: Expr) -> Expr:
        """The image (an Image-valued expression) is listed on the CPL now."""
        return self._listed_in(self.listed, e)

    def ever_on_cpl(self, e: Expr) -> Expr:
        """Ghost: the image has been listed on the CPL at some time."""
        return self._listed_in(self.ever_listed, e)

    def version_of(self, e: Expr) -> Expr:
        """The image's firmware version (0 for none)."""
        return self._attr(e, lambda i: 0 if i is None else i.version, IntSort(0, self.p.versions))

    def signed(self, e: Expr) -> Expr:
        """The image carries a valid manufacturer signature."""
        return self._attr(e, lambda i: bool(i and i.signed), BOOL)

    def fits(self, e: Expr, model: str) -> Expr:
        """The image is for this device model and this hardware revision, and its OTA header says so."""
        return self._attr(e, lambda i: bool(i and i.runs_on(model)), BOOL)

    def header_names(self, e: Expr, model: str) -> Expr:
        """The image's ZigBee OTA header names this device model's manufacturer code and image type
        (what an OTA server compares with Query Next Image)."""
        return self._attr(e, lambda i: bool(i and i.model == model and i.header_ok), BOOL)

    def for_model(self, e: Expr, model: str) -> Expr:
        """The image is for this device model (any hardware revision)."""
        return self._attr(e, lambda i: bool(i and i.model == model), BOOL)

    def model_of(self, d: str) -> str:
        """The device model of device ``d``: PPMID or HCALCS."""
        return "PPMID" if d in self.ppmids else "HCALCS"

    @staticmethod
    def signer(by: str) -> str:
        """Whose key signs: the attacker with a compromised key uses supplier S1's."""
        return "S1" if by == "Attacker" else by

    NOT_RECOVERY = ("change_of_supplier", "cpl_change")  # action categories

    def legitimate_recovery(self, inst: Instance) -> bool:
        """May this action instance be part of bringing a device up to date (P-NO-STRAND)? The
        process's own steps and what installers and suppliers do, except a change of supplier
        (the consumer's choice, not a recovery mechanism), CPL changes (the yardstick stays put),
        and requests by a party that does not support the firmware (or by the attacker)."""
        if inst.role not in ("system", "environment") or self.b.action_def(inst.action).category in self.NOT_RECOVERY:
            return False
        by = dict(inst.params).get("by")
        return by is None or self.supports_firmware.get(str(by), False)

    # ---- effects shared by several flows ----------------------------------------------------
    def activate(self, d: str, image: ExprLike, authoriser: ExprLike, validated: ExprLike) -> list[Assign]:
        """Device ``d`` starts running ``image`` (an atomic A/B swap: nothing stays held; a PPMID's
        pending upgrade time goes with the held image). Ghosts: who authorised the activation
        ("none" for a local update) and which image the DSP validated for the request that
        brought the image."""
        dropped = [assign(self.scheduled[d], False)] if d in self.ppmids else []
        return [assign(self.running[d], image), assign(self.held[d], "none"), *dropped,
                assign(self.activation_authoriser[d], authoriser), assign(self.activation_validated[d], validated)]

    def count_unsolicited_alert(self, d: str, when: Expr | bool = True) -> Assign:
        """Ghost bookkeeping for P-ALERT-BUDGET: one more unsolicited alert about ``d`` today."""
        n, top = self.unsolicited_alerts_today[d], self.p.alert_budget + 1
        return assign(n, ite(lift(when, BOOL) & (n < top), n + 1, n))

    def unsolicited_report(self, d: str) -> Expr:
        """The hub relays an activation report (CS09, CS06 response) about ``d`` while the DSP
        awaits none: an alert no DCC request asked for."""
        kind = self.han_up[d].head("kind")
        return ((kind == "CS09") | (kind == "CS06_RESPONSE")) & (self.smi[d].DeviceFirmwareVersionStatus
                                                                 != "update_in_progress")

    def withdraw(self, action: str) -> None:
        """A variant's design has no such step: the action stays declared (properties that name
        it stay meaningful, and find it never fires) but has no instance."""
        self.b.replace_action(action, _no_instance)

    # ---- state -------------------------------------------------------------------------
    def _declare_state(self) -> None:
        b, p, IMG, AUTH, CTR = self.b, self.p, self.IMAGE, self.AUTHORISER, self.COUNTER
        initial = {d: f"{self.model_of(d)}_v1" for d in self.devices}
        cpl = b.machine("CPL")
        # one flag per certifiable image (rogue images can never be listed)
        listable = [i for i, info in self.catalogue.items() if info.signed]
        first = {"PPMID_v1", "HCALCS_v1"}
        self.listed = {i: cpl.var(f"listed[{i}]", BOOL, i in first) for i in listable}
        self.ever_listed = {i: cpl.var(f"ever_listed[{i}]", BOOL, i in first, ghost=True) for i in listable}
        sup = b.machine("Supplier")
        self.originator_counter = {s: sup.var(f"originator_counter[{s}]", CTR, 0) for s in SUPPLIERS}
        dsp = b.machine("DSP")
        self.registered_supplier = dsp.var("registered_supplier", self.SUPPLIER, "S1")
        versions = {d: dsp.var(f"SMI[{d}].DeviceFirmwareVersion", IMG, initial[d]) for d in self.devices}
        statuses = {d: dsp.var(f"SMI[{d}].DeviceFirmwareVersionStatus", self.FIRMWARE_STATUS, "current")
                    for d in self.devices}
        self.smi = {d: SmiRecord(versions[d], statuses[d]) for d in self.devices}
        # Ghost: alerts about the device that no DCC request asked for, since the last day tick
        # (saturating one above the budget); P-ALERT-BUDGET bounds it
        self.unsolicited_alerts_today = {
            d: dsp.var(f"unsolicited_alerts_today[{d}]", IntSort(0, p.alert_budget + 1), 0, ghost=True)
            for d in self.devices}
        # what the day tick starts afresh (variants add their once-a-day state)
        self.daily_resets: list[Var] = list(self.unsolicited_alerts_today.values())
        self.CS02b_due = {d: dsp.var(f"CS02b_due[{d}]", BOOL, False) for d in self.devices}
        ch = b.machine("CH")
        self.ota_image = {d: ch.var(f"ota_image[{d}]", IMG, "none") for d in self.ppmids}
        self.ota_image_validated = {d: ch.var(f"ota_image_validated[{d}]", IMG, "none", ghost=True)
                                    for d in self.ppmids}
        self.ota_image_authoriser = {d: ch.var(f"ota_image_authoriser[{d}]", AUTH, "none", ghost=True)
                                     for d in self.ppmids}
        # the upgrade time the hub will give in the Upgrade End Response (SR 11.4's execution
        # date-time) is still to come; false whenever the hub holds no image for the PPMID
        self.ota_upgrade_time_future = {d: ch.var(f"ota_upgrade_time_future[{d}]", BOOL, False) for d in self.ppmids}
        self.running: dict[str, Var] = {}
        self.held: dict[str, Var] = {}
        self.supplier_anchor: dict[str, Var] = {}
        self.held_validated: dict[str, Var] = {}
        self.held_authoriser: dict[str, Var] = {}
        self.activation_authoriser: dict[str, Var] = {}
        self.activation_validated: dict[str, Var] = {}
        self.last_counter: dict[str, Var] = {}
        self.max_accepted_counter: dict[tuple[str, str], Var] = {}
        self.scheduled: dict[str, Var] = {}
        self.scheduled_image: dict[str, Var] = {}
        self.scheduled_authoriser: dict[str, Var] = {}
        for d in self.devices:
            m = b.machine(self.model_of(d))
            self.running[d] = m.var(f"{d}.running", IMG, initial[d])
            self.held[d] = m.var(f"{d}.held", IMG, "none")
            self.supplier_anchor[d] = m.var(f"{d}.supplier_anchor", self.SUPPLIER, "S1")
            self.held_validated[d] = m.var(f"{d}.held_validated", IMG, "none", ghost=True)
            self.held_authoriser[d] = m.var(f"{d}.held_authoriser", AUTH, "none", ghost=True)
            self.activation_authoriser[d] = m.var(f"{d}.activation_authoriser", AUTH, "S1", ghost=True)
            self.activation_validated[d] = m.var(f"{d}.activation_validated", IMG, initial[d], ghost=True)
            if d in self.ppmids:  # waiting for the upgrade time of the Upgrade End Response
                self.scheduled[d] = m.var(f"{d}.scheduled", BOOL, False)
            if d in self.hcalcs:
                self.last_counter[d] = m.var(f"{d}.last_counter", CTR, 0)
                self.scheduled[d] = m.var(f"{d}.scheduled", BOOL, False)  # a future-dated CS06 waits
                self.scheduled_image[d] = m.var(f"{d}.scheduled_image", IMG, "none")
                self.scheduled_authoriser[d] = m.var(f"{d}.scheduled_authoriser", AUTH, "none", ghost=True)
                for s in SUPPLIERS:
                    self.max_accepted_counter[d, s] = m.var(f"{d}.max_accepted_counter[{s}]", CTR, 0, ghost=True)
        self.han_attacker: HanAttacker | None = declare_han_attacker(self)
        self._declare_links()

    def _declare_links(self) -> None:
        """The DSP-hub link carries each device's messages in a logical queue of its own, each
        way; so does the HAN. A link's outcome field carries the outcome families of its messages."""
        b, p, IMG, SUP = self.b, self.p, self.IMAGE, self.SUPPLIER
        command = {"img": IMG, "originator": SUP, "counter": self.COUNTER, "future": BOOL,
                   "g_authoriser": self.AUTHORISER, "g_validated": IMG}
        han_outcomes = {"PPMID": outcome_sort("UpgradeEndStatus", UPGRADE_END_OUTCOMES),
                        "HCALCS": outcome_sort("HcalcsReport", HCALCS_REPORT_OUTCOMES)}
        wan_outcomes = {"PPMID": outcome_sort("CCS08Outcome", CCS08_OUTCOMES), "HCALCS": han_outcomes["HCALCS"]}

        def report(kinds: EnumSort, outcomes: EnumSort) -> dict[str, Sort]:
            return {"kind": kinds, "img": IMG, "outcome": outcomes, "g_genuine": BOOL}

        self.wan_down = {d: b.channel(f"DSP->CH[{d}]", "DSP", "CH", {"kind": EnumSort("WanDown", WAN_DOWN), **command},
                                      p.capacity) for d in self.devices}
        self.wan_up = {d: b.channel(f"CH->DSP[{d}]", "CH", "DSP",
                                    report(EnumSort("WanUp", WAN_UP), wan_outcomes[self.model_of(d)]), p.capacity)
                       for d in self.devices}
        han_writers = ("Attacker",) if "han_mitm" in self.threats else ()
        self.han_down = {d: b.channel(f"CH->{d}", "CH", self.model_of(d),
                                      {"kind": EnumSort("HanDown", self.han_down_kinds()), **command}, p.capacity,
                                      han_writers)
                         for d in self.devices}
        self.han_up = {d: b.channel(f"{d}->CH", self.model_of(d), "CH",
                                    report(EnumSort("HanUp", HAN_UP), han_outcomes[self.model_of(d)]), p.capacity,
                                    han_writers)
                       for d in self.devices}

    def han_down_kinds(self) -> tuple[str, ...]:
        """The hub-to-device message kinds; an attacker on the HAN adds misaddressed copies."""
        return HAN_DOWN + ((MISADDRESSED_CS02B,) if "han_mitm" in self.threats else ())


def _no_instance(**_: object) -> Case | None:
    """The body of a withdrawn action: no parameter choice gives an instance."""
    return None
