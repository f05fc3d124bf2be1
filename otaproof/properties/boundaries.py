"""Each property's boundary: the situations right at its edge, as conformance test goals.

A boundary is a step in which the check that protects a property decides, in the case an
implementation most easily gets wrong: an image that *was* on the CPL and has been removed, a
command whose counter *equals* the last accepted one, a genuine image for the *other* device
model. Branch coverage already makes each rejection happen once; a boundary makes it happen for
the reason that a missing or off-by-one check would let through. Boundaries are goals, never
verdicts: one the model cannot reach is proved unreachable like any other goal (a boundary that
needs an attacker is dead without one). Each event is over the pre-state and the action, so both
semantics agree on it; a boundary whose actions a design lacks is left out of that design.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from otaproof.model.lang import FALSE, TRUE, Expr, any_of, const
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.variants import BuiltModel
from otaproof.model.vocabulary import SUPPLIERS
from otaproof.properties.events import any_or_false, in_category, took, took_where


@dataclass(frozen=True)
class Boundary:
    """One edge case of a property: ``event`` holds on a step that exercises it."""

    property: str
    name: str
    text: str
    actions: tuple[str, ...]
    event: Expr


IMAGE_REQUESTS = ("SR11_4_update_PPMID_firmware", "SR11_1_update_firmware")  # the DSP checks the CPL


def _sr_not_on_cpl(bm: BuiltModel, ever_listed: bool) -> Expr:
    """An SR 11.1/11.4 for an image of the target's model refused as not on the CPL, with the
    image listed at some earlier time (``ever_listed``) or never."""
    m = bm.model

    def where(p: dict[str, object]) -> Expr:
        d = str(p["d"])
        if d not in m.devices:
            return FALSE
        img = const(m.IMAGE, str(p["img"]))
        listed_before = m.ever_on_cpl(img)
        return m.for_model(img, m.model_of(d)) & (listed_before if ever_listed else ~listed_before)
    return any_or_false(took_where(bm, a, ("rejected_not_on_cpl",), where) for a in IMAGE_REQUESTS)


def _device_refuses(bm: BuiltModel, fault: str) -> Expr:
    """A device refuses a manufacturer-signed image whose only fault is ``fault``: "other-model"
    (it fits the other device model's hardware), "other-hardware" (its model, another hardware
    revision) or "older" (older than the image running)."""
    m: Secmp0007 = bm.model
    terms = []
    for d in m.devices:
        img, kind = m.han_down[d].head("img"), m.model_of(d)
        other = "HCALCS" if kind == "PPMID" else "PPMID"
        older = m.version_of(img) < m.version_of(m.running[d])
        reason = {"older": m.fits(img, kind) & older,
                  "other-hardware": m.for_model(img, kind) & ~m.fits(img, kind),
                  "other-model": m.fits(img, other) & ~older}[fault] & m.signed(img)
        if d in m.ppmids:
            branch = "rollback_discarded" if fault == "older" else "hardware_mismatch_discarded"
        else:
            branch = "verification_failed"
        terms.append(took_where(bm, f"verify_image[{d}]", (branch,), _always(reason)))
    return any_or_false(terms)


def _always(condition: Expr) -> Callable[[dict[str, object]], Expr]:
    """A ``where`` that ignores the instance's parameters."""
    return lambda _: condition


def _hcalcs_cs06(bm: BuiltModel, branch: str, where: Callable[[str], Expr]) -> Expr:
    """An HCALCS's CS06 handling took ``branch`` with ``where(d)`` on the pre-state."""
    return any_or_false(took_where(bm, f"activate_on_CS06[{d}]", (branch,), _always(where(d))) for d in bm.model.hcalcs)


def _per_device(bm: BuiltModel, action: str, branches: Iterable[str], where: Callable[[str], Expr]) -> Expr:
    """``action`` (an instance per device, parameter ``d``) took ``branches`` with ``where(d)``."""
    m = bm.model
    return took_where(bm, action, branches, lambda p: where(str(p["d"])) if p.get("d") in m.devices else FALSE)


def boundaries(bm: BuiltModel) -> list[Boundary]:
    """Every property's boundaries that the built design can express, in catalogue order (none
    for a model outside the SECMP0007 family, whose properties the catalogue does not state)."""
    if not isinstance(bm.model, Secmp0007):
        return []
    m: Secmp0007 = bm.model
    sr = IMAGE_REQUESTS
    devices_verify = tuple(f"verify_image[{d}]" for d in m.devices)
    cs06 = tuple(f"activate_on_CS06[{d}]" for d in m.hcalcs)
    local, power, requests = (in_category(bm, c) for c in ("local_update", "power_loss", "service_request"))
    alerts = m.unsolicited_alert_sources

    def in_progress(d: str) -> Expr:
        return m.smi[d].DeviceFirmwareVersionStatus == "update_in_progress"

    def new_version(d: str) -> Expr:
        return m.wan_up[d].head("img") != m.smi[d].DeviceFirmwareVersion

    def anywhere(d: str) -> Expr:
        return TRUE

    def other_supplier(p: dict[str, object]) -> Expr:
        return m.registered_supplier != str(p["by"]) if p.get("by") in SUPPLIERS else FALSE

    def foreign_signature(p: dict[str, object]) -> Expr:
        signer = m.signer(str(p["by"]))
        return m.registered_supplier == signer if p["signed_by"] != signer else FALSE

    def replaced_supplier(d: str) -> Expr:
        anchor = m.supplier_anchor[d]
        return (m.han_down[d].head("originator") != anchor) & (anchor != m.SUPPLIER.decode(anchor.init))

    def equal_counter(d: str) -> Expr:
        head = m.han_down[d].head
        return (head("counter") == m.last_counter[d]) & (head("originator") == m.supplier_anchor[d])

    def staged(d: str) -> Expr:
        return (m.held[d] != "none") & (m.version_of(m.held[d]) != m.version_of(m.running[d]))

    def to_unsupporting(d: str) -> Expr:
        head = m.han_down[d].head
        return (head("kind") == "CS02b") & any_of(head("originator") == s for s in SUPPLIERS
                                                  if not m.supports_firmware[s])

    def holding(p: dict[str, object]) -> Expr:  # where power is cut: a device (parameter d) or the hub
        d = p.get("d")
        if d is None:
            return any_or_false(m.ota_image[e] != "none" for e in m.ppmids)
        return m.held[str(d)] != "none"

    failures = (("DSP_receive_CCS08_alert", "transfer_failed"), ("DSP_receive_distribution_receipt",
                                                                   "verification_failed"))
    successes = (("DSP_receive_CS09_alert", "ok"), ("DSP_receive_CS06_response", "activation_success"))
    version_reports = (("DSP_receive_CS09_alert", "ok"), ("DSP_receive_CS08_response", "ok"))
    anchors = tuple(f"replace_supplier_anchor[{d}]" for d in m.ppmids)
    reads = tuple(f"report_firmware_version[{d}]" for d in m.devices)
    candidates = [
        Boundary("P-CPL", "never-listed", "the DSP refuses an image of the right model that was never on the CPL",
                 sr, _sr_not_on_cpl(bm, ever_listed=False)),
        Boundary("P-CPL-NOW", "removed-entry", "the DSP refuses an image whose CPL entry has been removed",
                 sr, _sr_not_on_cpl(bm, ever_listed=True)),
        Boundary("P-AUTH", "other-supplier-request", "the DSP refuses a request from a DCC User supplier that is "
                 "not the device's registered supplier", requests,
                 any_or_false(took_where(bm, a, ("rejected_not_authorised",), other_supplier) for a in requests)),
        Boundary("P-AUTH", "foreign-signature", "the DSP refuses an SR 11.3 from the registered supplier whose "
                 "CS06 is signed by another supplier", ("SR11_3_activate_firmware",),
                 took_where(bm, "SR11_3_activate_firmware", ("rejected_not_authorised",), foreign_signature)),
        Boundary("P-AUTH", "replaced-supplier", "a device whose supplier anchor CS02b has replaced refuses a "
                 "command signed by the supplier it trusted before", cs06,
                 _hcalcs_cs06(bm, "authentication_failure", replaced_supplier)),
        Boundary("P-INTEGRITY", "listed-other-image", "a device refuses to activate a genuine, CPL-listed image "
                 "other than the one the command names", cs06,
                 _hcalcs_cs06(bm, "hash_mismatch", lambda d: m.signed(m.held[d]) & m.ever_on_cpl(m.held[d]))),
        Boundary("P-NO-ROLLBACK", "older-genuine-image", "a device refuses a genuine image for it that is older "
                 "than the one it runs", devices_verify, _device_refuses(bm, "older")),
        Boundary("P-REPLAY", "equal-counter", "a device refuses a command from its trusted supplier whose counter "
                 "equals the last one it accepted", cs06, _hcalcs_cs06(bm, "counter_failure", equal_counter)),
        Boundary("P-COMPAT", "other-model", "a device refuses a genuine image for the other device model",
                 devices_verify, _device_refuses(bm, "other-model")),
        Boundary("P-COMPAT", "other-hardware", "a device refuses a genuine image of its model for another "
                 "hardware revision", devices_verify, _device_refuses(bm, "other-hardware")),
        Boundary("P-SMI", "failed-transfer", "a failure report reaches the DSP while the SMI shows an update in "
                 "progress", tuple(a for a, _ in failures),
                 any_or_false(_per_device(bm, a, (b,), in_progress) for a, b in failures)),
        Boundary("P-SMI", "read-while-staged", "a device answers a firmware-version read while it holds a "
                 "verified image of another version that it has not activated", reads,
                 any_or_false(_per_device(bm, a, (), staged) for a in reads)),
        Boundary("P-SMI-BOUNDED", "new-version-report", "a device's report of a version other than the SMI's "
                 "reaches the DSP", tuple(a for a, _ in successes),
                 any_or_false(_per_device(bm, a, (b,), new_version) for a, b in successes)),
        Boundary("P-INVENTORY", "read-during-update", "an SR 8.2 inventory read is answered while the device's "
                 "update is in progress", ("SR8_2_read_inventory",),
                 _per_device(bm, "SR8_2_read_inventory", ("answered",), in_progress)),
        Boundary("P-REPORT-AUTH", "spoofed-report", "a firmware-version report the device did not send reaches "
                 "the DSP", tuple(a for a, _ in version_reports),
                 any_or_false(_per_device(bm, a, (b,), lambda d: ~m.wan_up[d].head("g_genuine"))
                              for a, b in version_reports)),
        Boundary("P-LOCAL-BANNED", "local-attempt", "a local firmware update is attempted at the premises",
                 local, any_or_false(took(bm, a) for a in local)),
        Boundary("P-HUB-TRANSIENT", "failed-exchange", "a PPMID's OTA exchange ends in a refusal (the hub must "
                 "drop the image all the same)", ("CH_receive_upgrade_end", "CH_answer_query_next_image"),
                 any_or_false([_per_device(bm, "CH_receive_upgrade_end", ("failure_alert",), anywhere),
                               _per_device(bm, "CH_answer_query_next_image", ("hardware_version_mismatch",),
                                           anywhere)])),
        Boundary("P-ALERT-BUDGET", "last-alert-of-the-day", "the hub raises a device's last unsolicited alert "
                 "the budget allows today", tuple(alerts),
                 any_or_false(_per_device(bm, a, (), _and(_last_allowed(m), when)) for a, when in alerts.items())),
        Boundary("P-FAIL-VISIBLE", "refusal-alerted", "a device's refusal of an image reaches the DSP as a failure",
                 tuple(a for a, _ in failures), any_or_false(_per_device(bm, a, (b,), anywhere) for a, b in failures)),
        Boundary("P-NO-STRAND", "anchor-to-unsupporting-supplier", "a PPMID's trust anchor is replaced by a "
                 "supplier that does not support its firmware (from then on only that supplier can update it "
                 "over the air)", anchors, any_or_false(_per_device(bm, a, (), to_unsupporting) for a in anchors)),
        Boundary("P-BOOTABLE", "power-loss-holding", "power is lost while a device or the hub holds an image that "
                 "has not been activated", power, any_or_false(took_where(bm, a, (), holding) for a in power)),
    ]
    return [b for b in candidates if b.event is not FALSE]


def _last_allowed(m: Secmp0007) -> Callable[[str], Expr]:
    """The device's next unsolicited alert is the last one the day's budget allows."""
    return lambda d: m.unsolicited_alerts_today[d] == m.p.alert_budget - 1


def _and(a: Callable[[str], Expr], b: Callable[[str], Expr]) -> Callable[[str], Expr]:
    return lambda d: a(d) & b(d)
