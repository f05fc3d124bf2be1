"""The property catalogue (docs/properties.md) as data: ID, statement, kind, rationale, formula.

Formulas are written against the model's named handles (``m.running[d]``, ``m.smi[d].DeviceFirmwareVersion``)
and events (``took(action, branches)``); verdicts are always computed, never stored here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otaproof.model.invariants import in_flight
from otaproof.model.lang import Expr, Fired, ModelError, Next, Var, all_of, any_of, implies
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.variants import BuiltModel
from otaproof.model.vocabulary import SUPPLIERS
from otaproof.properties.events import in_category, instances_about, took
from otaproof.properties.formulas import BoundedResponse, Formula, Invariant, Reach, StepInvariant, changed


@dataclass(frozen=True)
class Property:
    id: str
    statement: str
    kind: str  # INV | HIST | BR | REACH
    rationale: str
    formula: Callable[[BuiltModel], Formula | list[Formula]]


def _same_supplier(auth: Expr, supplier: Expr) -> Expr:
    return any_of((auth == s) & (supplier == s) for s in SUPPLIERS)


def p_cpl(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(implies(changed(m.running[d]), m.ever_on_cpl(Next(m.running[d])))
                                for d in m.devices))


def p_cpl_now(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(implies(changed(m.running[d]), m.on_cpl(Next(m.running[d])))
                                for d in m.devices))


def p_auth(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(implies(changed(m.running[d]),
                                        _same_supplier(Next(m.activation_authoriser[d]), m.registered_supplier))
                                for d in m.devices))


def p_integrity(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(implies(changed(m.running[d]), Next(m.activation_validated[d]) == Next(m.running[d]))
                                for d in m.devices))


def p_no_rollback(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(m.version_of(Next(m.running[d])) >= m.version_of(m.running[d])
                                for d in m.devices))


def p_replay(bm: BuiltModel) -> Formula:
    m = bm.model
    accepted = ("no_image_held", "hash_mismatch", "scheduled", "activated")
    parts = []
    for d in m.hcalcs:
        head = m.han_down[d].head
        fresh = any_of((head("originator") == s) & (head("counter") > m.max_accepted_counter[d, s]) for s in SUPPLIERS)
        parts.append(implies(took(bm, f"activate_on_CS06[{d}]", accepted), fresh))
    return StepInvariant(all_of(parts))


def p_compat(bm: BuiltModel) -> Formula:
    m = bm.model
    return Invariant(all_of(m.fits(m.running[d], m.model_of(d)) for d in m.devices))


def p_smi(bm: BuiltModel) -> Formula:
    m = bm.model
    return Invariant(all_of(implies(m.smi[d].DeviceFirmwareVersionStatus != "update_in_progress",
                                    m.smi[d].DeviceFirmwareVersion == m.running[d])
                            for d in m.devices))


# the hub's and the DSP's steps that move a device's report towards the SMI
REPORT_HOPS = ("CH_relay_to_DSP", "CH_receive_upgrade_end", "CH_transfer_timeout", "DSP_receive_CCS08_alert",
               "DSP_receive_CS09_alert", "DSP_receive_distribution_receipt", "DSP_receive_CS06_response",
               "DSP_receive_CS08_response")


def _report_hops(bm: BuiltModel, d: str) -> Expr:
    """A step that moves one of device ``d``'s reports towards the DSP (a hub relay or alert, a
    DSP receipt): what a BR bound counts, so k bounds the reporting chain, not other traffic."""
    return Fired(f"report hop for {d}", instances_about(bm, REPORT_HOPS, d))


def _busy(m: Secmp0007, d: str, stages: tuple[Expr, ...]) -> tuple[Expr, ...]:
    """A slot of the device's report queues holds something other than the awaited report (the
    report may have to wait behind it); ``stages`` are per slot, device-to-hub queue first."""
    slots = [(ch, i) for ch in (m.han_up[d], m.wan_up[d]) for i in range(ch.capacity)]
    assert len(slots) == len(stages)
    return tuple((ch.length > i) & ~stage for (ch, i), stage in zip(slots, stages, strict=True))


def _stages(*groups: list[tuple[str, Expr, dict[str, Var]]]) -> tuple[Expr, ...]:
    return tuple(present for group in groups for _, present, _ in group)


def p_smi_bounded(bm: BuiltModel) -> list[Formula]:
    m = bm.model
    out: list[Formula] = []
    for d in m.devices:
        hu, wu = m.han_up[d], m.wan_up[d]
        report = ("CS09",) if d in m.ppmids else ("CS06_RESPONSE",)
        success = None if d in m.ppmids else True
        # the owed report names the running image (a spoofed report naming another one is traffic ahead of it)
        stages = tuple(present & (slot["img"] == m.running[d])
                       for _, present, slot in in_flight(hu, report, success) + in_flight(wu, report, success))
        busy = _busy(m, d, stages)
        stages += tuple(m.extra_report_stages.get(d, ()))
        out.append(BoundedResponse(changed(m.running[d]), Next(m.smi[d].DeviceFirmwareVersion) == Next(m.running[d]),
                                   m.p.response_bound, _report_hops(bm, d), stages, busy))
    return out


def p_inventory(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(
        implies(took(bm, "SR8_2_read_inventory", ("answered",), d=d),
                (m.smi[d].DeviceFirmwareVersionStatus != "current") | (m.smi[d].DeviceFirmwareVersion == m.running[d]))
        for d in m.devices))


def p_report_auth(bm: BuiltModel) -> Formula:
    m = bm.model
    return StepInvariant(all_of(implies(changed(m.smi[d].DeviceFirmwareVersion), m.wan_up[d].head("g_genuine"))
                                for d in m.devices))


def p_local_banned(bm: BuiltModel) -> Formula:
    m = bm.model
    local = in_category(bm, "local_update")
    return StepInvariant(all_of(~(any_of(took(bm, a) for a in local) & changed(m.running[d]))
                                for d in m.devices))


def p_fail_visible(bm: BuiltModel) -> list[Formula]:
    m = bm.model
    out: list[Formula] = []
    for d in m.devices:
        if d in m.ppmids:
            failed = any_of([
                took(bm, f"verify_image[{d}]",
                     ("bad_signature_discarded", "hardware_mismatch_discarded", "rollback_discarded")),
                took(bm, "CH_transfer_timeout", d=d),
                took(bm, "POWER_loss_hub") & (m.ota_image[d] != "none"),
                took(bm, f"POWER_loss_device[{d}]") & (m.held[d] != "none"),
            ])
            reported = took(bm, "DSP_receive_CCS08_alert", ("transfer_failed",), d=d)
            stages = _stages(in_flight(m.han_up[d], ("UPGRADE_END",), False), in_flight(m.wan_up[d], ("CCS08",), False))
        else:
            failed = any_of([took(bm, f"verify_image[{d}]", ("verification_failed",)),
                             took(bm, f"POWER_loss_device[{d}]") & (m.held[d] != "none")])
            reported = took(bm, "DSP_receive_distribution_receipt", ("verification_failed",), d=d)
            failed_fdr = [(n, p & (slot["outcome"] == "verification_failed"), slot)
                          for ch in (m.han_up[d], m.wan_up[d])
                          for n, p, slot in in_flight(ch, ("FW_DISTRIBUTION_RECEIPT",))]
            stages = _stages(failed_fdr)
        out.append(BoundedResponse(failed, reported, m.p.response_bound, _report_hops(bm, d), stages,
                                   _busy(m, d, stages)))
    return out


OTA_HOPS = ("CH_answer_query_next_image", "CH_receive_upgrade_end", "CH_transfer_timeout")  # the hub's steps
DEVICE_OTA_HOPS = ("query_next_image", "verify_image", "activate_at_upgrade_time")  # the PPMID's (suffix [d])


def _ota_hops(bm: BuiltModel, d: str) -> Expr:
    """A step of PPMID ``d``'s OTA exchange, by the hub or the device: what P-HUB-TRANSIENT's bound counts."""
    steps = (*OTA_HOPS, *(f"{a}[{d}]" for a in DEVICE_OTA_HOPS))
    return Fired(f"OTA exchange step for {d}", instances_about(bm, steps, d))


def p_hub_transient(bm: BuiltModel) -> list[Formula]:
    m = bm.model
    out: list[Formula] = []
    for d in m.ppmids:
        hd, hu = m.han_down[d], m.han_up[d]
        stages = _stages(in_flight(hd, ("IMAGE_NOTIFY",)), in_flight(hu, ("QUERY_NEXT_IMAGE",)),
                         in_flight(hd, ("IMAGE_BLOCK",)), in_flight(hu, ("UPGRADE_END",)))
        out.append(BoundedResponse(took(bm, "CH_receive_CS05c", ("image_notify",), d=d),
                                   Next(m.ota_image[d]) == "none", m.p.response_bound, _ota_hops(bm, d), stages))
    if m.hub_records:
        out.append(StepInvariant(all_of(~changed(r) for r in m.hub_records)))
    return out


def p_alert_budget(bm: BuiltModel) -> Formula:
    m = bm.model
    return Invariant(all_of(m.unsolicited_alerts_today[d] <= m.p.alert_budget for d in m.devices))


def p_no_strand(bm: BuiltModel) -> list[Formula]:
    """One REACH per hub OTA client (PPMID; the IHD where in scope): the devices the stranding
    concern and the local-update proposals are about. HCALCSs are left out: their recovery needs
    fresh originator counters, which the model bounds (counter_max), so a bounded supplier would
    strand them in every design (docs/model.md)."""
    m = bm.model
    legit = frozenset(i.index for i in bm.system.instances if m.legitimate_recovery(i))
    out: list[Formula] = []
    for d in m.ppmids:
        newest = [implies(m.listed[i], m.version_of(m.running[d]) >= info.version)
                  for i, info in m.catalogue.items() if i in m.listed and info.runs_on("PPMID")]
        out.append(Reach(all_of(newest), legitimate=legit,
                         subject=f"{d} runs the newest CPL-listed firmware for its model"))
    return out


def p_bootable(bm: BuiltModel) -> Formula:
    m = bm.model
    return Invariant(all_of(m.running[d] != "none" for d in m.devices))


CATALOGUE: tuple[Property, ...] = (
    Property("P-CPL", "No device ever activates firmware whose hash was not on the CPL for its device model.",
             "HIST", "Q1; TUF arbitrary installation; SUIT THREAT.IMG.NON_AUTH", p_cpl),
    Property("P-CPL-NOW", "Firmware that activates is on the CPL at the moment it activates "
             "(entries can be removed between validation and activation).",
             "HIST", "TUF indefinite freeze; SUIT THREAT.IMG.EXPIRED", p_cpl_now),
    Property("P-AUTH", "Every activation on a device was authorised by the supplier responsible for that "
             "device at the moment of activation.", "HIST", "Uptane key revocation; change of supplier", p_auth),
    Property("P-INTEGRITY", "The image a device activates is the image whose hash the DSP validated for that "
             "request (no substitution at the hub or on the HAN).", "HIST",
             "SUIT THREAT.IMG.REPLACE / TOCTOU; TUF mix-and-match", p_integrity),
    Property("P-NO-ROLLBACK", "A device's running version never decreases.", "HIST",
             "TUF rollback; SUIT REQ.SEC.SEQUENCE", p_no_rollback),
    Property("P-REPLAY", "A device accepts each signed command at most once; counters strictly increase per "
             "originator.", "HIST", "Uptane test #11 replay; GBCS originator counters", p_replay),
    Property("P-COMPAT", "A device never activates an image whose device model or hardware version range does "
             "not match it.", "INV", "TUF wrong software; CCS08 outcome 2", p_compat),
    Property("P-SMI", "Whenever no update is in flight for a device, the SMI firmware version equals the "
             "device's running version.", "INV", "Q2; seed: out-of-date SMI harms SR 8.2", p_smi),
    Property("P-SMI-BOUNDED", "After a device changes its running version, the SMI shows the new version within "
             "k steps, once faults stop.", "BR", "Q2; Uptane inventory", p_smi_bounded),
    Property("P-INVENTORY", "An SR 8.2 Read Inventory answer never states a firmware version other than the "
             "device's running version without flagging it as not current.", "HIST", "Q3", p_inventory),
    Property("P-REPORT-AUTH", "The SMI firmware version only ever changes because of a genuine report from the "
             "device (not a spoofed HAN message).", "HIST", "SUIT REQ.SEC.REPORTING", p_report_auth),
    Property("P-LOCAL-BANNED", "No local action changes a device's firmware (the approved design's ban holds).",
             "HIST", "the approved solution's ban", p_local_banned),
    Property("P-HUB-TRANSIENT", "The Communications Hub holds no image longer than one transfer (within k "
             "steps of the OTA exchange, once faults stop) and keeps no firmware record: it transfers, it does "
             "not store.", "BR", "Q4; the working group's transfer-not-store concept", p_hub_transient),
    Property("P-ALERT-BUDGET", "No device causes more than B alerts to the DCC per day that no DCC request asked "
             "for (per-device part; the fleet's peak rate against a capacity C is `otaproof storm`).", "HIST",
             "Q5; SECMP0062 throttling limits", p_alert_budget),
    Property("P-FAIL-VISIBLE", "Every failed or discarded transfer is reported to the supplier (CCS08 / "
             "verification-failed alert) within k steps, once faults stop.", "BR",
             "TUF: an attack must be detectable; IEC 62443-4-2 CR 3.4", p_fail_visible),
    Property("P-NO-STRAND", "From every reachable state, some sequence of legitimate actions brings the device "
             "to the newest CPL-listed firmware for its model, including after a change of supplier to a supplier "
             "that does not support the device's firmware.", "REACH",
             "the manufacturer's stranding concern", p_no_strand),
    Property("P-BOOTABLE", "A device always has a valid running image; a power loss mid-transfer or "
             "mid-activation leaves the old or the new valid image.", "INV",
             "SUIT / RFC 9019 robustness; PSA firmware update states", p_bootable),
)

BY_ID = {p.id: p for p in CATALOGUE}


def get_property(pid: str) -> Property:
    if pid not in BY_ID:
        raise ModelError(f"unknown property {pid!r}; known: {', '.join(BY_ID)}")
    return BY_ID[pid]
