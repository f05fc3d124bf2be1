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
from otaproof.model.secmp0007 import SUPPLIERS, Secmp0007
from otaproof.model.variants import BuiltModel


@dataclass(frozen=True)
class Boundary:
    """One edge case of a property: ``event`` holds on a step that exercises it."""

    property: str
    name: str
    text: str
    actions: tuple[str, ...]
    event: Expr


def _took_where(bm: BuiltModel, action: str, branches: Iterable[str],
                where: Callable[[dict[str, object]], Expr]) -> Expr:
    """The step took one of ``branches`` of ``action`` on an instance whose parameters satisfy
    ``where`` (evaluated on the pre-state); False when the design lacks the action or branches."""
    s, wanted = bm.system, set(branches)
    terms = []
    for inst in s.instances_of(action) if action in s.actions else []:
        if wanted <= {b.name for b in inst.branches}:
            params = dict(inst.params)
            condition = where(params)
            if condition is not FALSE:
                step = s.took(action, wanted, **params) if wanted else s.fired(action, **params)
                terms.append(step if condition is TRUE else step & condition)
    return _any(terms)


def _any(terms: Iterable[Expr]) -> Expr:
    """The disjunction of the terms that are not FALSE (FALSE itself when none is left)."""
    kept = [t for t in terms if t is not FALSE]
    return any_of(kept) if kept else FALSE


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
    return _any(_took_where(bm, a, ("rejected_not_on_cpl",), where) for a in ("SR11_4_submit", "SR11_1_submit"))


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
            branch = "rollback_discarded" if fault == "older" else "hw_mismatch"
            terms.append(_took_where(bm, f"OTA_upgrade_end[{d}]", (branch,), lambda p, r=reason: r))
        else:
            terms.append(_took_where(bm, f"FW_receive_image[{d}]", ("verification_failed",), lambda p, r=reason: r))
    return _any(terms)


def _hcalcs_cs06(bm: BuiltModel, branch: str, where: Callable[[str], Expr]) -> Expr:
    """An HCALCS's CS06 handling took ``branch`` with ``where(d)`` on the pre-state."""
    return _any(_took_where(bm, f"CS06_activate_firmware[{d}]", (branch,), lambda p, d=d: where(d))
                for d in bm.model.hcalcs)


def _per_device(bm: BuiltModel, action: str, branches: Iterable[str], where: Callable[[str], Expr]) -> Expr:
    """``action`` (an instance per device, parameter ``d``) took ``branches`` with ``where(d)``."""
    m = bm.model
    return _took_where(bm, action, branches, lambda p: where(str(p["d"])) if p.get("d") in m.devices else FALSE)


def boundaries(bm: BuiltModel) -> list[Boundary]:
    """Every property's boundaries that the built design can express, in catalogue order (none
    for a model outside the SECMP0007 family, whose properties the catalogue does not state)."""
    if not isinstance(bm.model, Secmp0007):
        return []
    m: Secmp0007 = bm.model
    s = bm.system
    sr = ("SR11_4_submit", "SR11_1_submit")
    devices_verify = tuple(f"OTA_upgrade_end[{d}]" for d in m.ppmids) + tuple(f"FW_receive_image[{d}]" for d in m.hcalcs)
    cs06 = tuple(f"CS06_activate_firmware[{d}]" for d in m.hcalcs)
    local = tuple(a for a in s.actions if a.startswith("LOCAL_"))
    power = tuple(a for a in s.actions if a.startswith("POWER_loss"))
    candidates = [
        Boundary("P-CPL", "never-listed", "the DSP refuses an image of the right model that was never on the CPL",
                 sr, _sr_not_on_cpl(bm, ever_listed=False)),
        Boundary("P-CPL-NOW", "removed-entry", "the DSP refuses an image whose CPL entry has been removed",
                 sr, _sr_not_on_cpl(bm, ever_listed=True)),
        Boundary("P-AUTH", "other-supplier-request", "the DSP refuses a request from a DCC User supplier that is "
                 "not the device's registered supplier", tuple(a for a in s.actions if a.startswith("SR")),
                 _any(_took_where(bm, a, ("rejected_not_authorised",),
                                    lambda p: m.registered != str(p["by"]) if p.get("by") in SUPPLIERS else FALSE)
                        for a in s.actions if a.startswith("SR"))),
        Boundary("P-AUTH", "foreign-signature", "the DSP refuses an SR 11.3 from the registered supplier whose "
                 "CS06 is signed by another supplier", ("SR11_3_submit",),
                 _took_where(bm, "SR11_3_submit", ("rejected_not_authorised",),
                             lambda p: m.registered == m.signer(str(p["by"]))
                             if p.get("signed_by", m.signer(str(p["by"]))) != m.signer(str(p["by"])) else FALSE)),
        Boundary("P-AUTH", "replaced-supplier", "a device whose supplier anchor CS02b has replaced refuses a "
                 "command signed by the supplier it trusted before", cs06,
                 _hcalcs_cs06(bm, "auth_failed", lambda d: (m.han_down[d].head("orig") != m.anchor[d])
                              & (m.anchor[d] != m.SUPPLIER.decode(m.anchor[d].init)))),
        Boundary("P-INTEGRITY", "listed-other-image", "a device refuses to activate a genuine, CPL-listed image "
                 "other than the one the command names", cs06,
                 _hcalcs_cs06(bm, "hash_mismatch", lambda d: m.signed(m.held[d]) & m.ever_on_cpl(m.held[d]))),
        Boundary("P-NO-ROLLBACK", "older-genuine-image", "a device refuses a genuine image for it that is older "
                 "than the one it runs", devices_verify, _device_refuses(bm, "older")),
        Boundary("P-REPLAY", "equal-counter", "a device refuses a command from its trusted supplier whose counter "
                 "equals the last one it accepted", cs06,
                 _hcalcs_cs06(bm, "stale_counter", lambda d: (m.han_down[d].head("ctr") == m.last_ctr[d])
                              & (m.han_down[d].head("orig") == m.anchor[d]))),
        Boundary("P-COMPAT", "other-model", "a device refuses a genuine image for the other device model",
                 devices_verify, _device_refuses(bm, "other-model")),
        Boundary("P-COMPAT", "other-hardware", "a device refuses a genuine image of its model for another "
                 "hardware revision", devices_verify, _device_refuses(bm, "other-hardware")),
        Boundary("P-SMI", "failed-transfer", "a failure report reaches the DSP while the SMI shows an update in "
                 "progress", ("DSP_receive_CCS08", "DSP_receive_FDR"),
                 _any([_per_device(bm, "DSP_receive_CCS08", ("transfer_failed",),
                                       lambda d: m.smi_status[d] == "update_in_progress"),
                         _per_device(bm, "DSP_receive_FDR", ("verification_failed",),
                                       lambda d: m.smi_status[d] == "update_in_progress")])),
        Boundary("P-SMI", "read-while-staged", "a device answers a firmware-version read while it holds a "
                 "verified image of another version that it has not activated",
                 tuple(f"CS08_read_firmware_version[{d}]" for d in m.devices),
                 _any(_took_where(bm, f"CS08_read_firmware_version[{d}]", (),
                                  lambda p, d=d: (m.held[d] != "none")
                                  & (m.version_of(m.held[d]) != m.version_of(m.running[d])))
                      for d in m.devices)),
        Boundary("P-SMI-BOUNDED", "new-version-report", "a device's report of a version other than the SMI's "
                 "reaches the DSP", ("DSP_receive_CS09", "DSP_receive_CS06_response"),
                 _any([_per_device(bm, "DSP_receive_CS09", ("ok",),
                                       lambda d: m.wan_up[d].head("img") != m.smi_version[d]),
                         _per_device(bm, "DSP_receive_CS06_response", ("activation_success",),
                                       lambda d: m.wan_up[d].head("img") != m.smi_version[d])])),
        Boundary("P-INVENTORY", "read-during-update", "an SR 8.2 inventory read is answered while the device's "
                 "update is in progress", ("SR8_2_read_inventory",),
                 _per_device(bm, "SR8_2_read_inventory", ("answered",),
                             lambda d: m.smi_status[d] == "update_in_progress")),
        Boundary("P-REPORT-AUTH", "spoofed-report", "a firmware-version report the device did not send reaches "
                 "the DSP", ("DSP_receive_CS09", "DSP_receive_CS08_response"),
                 _any([_per_device(bm, a, ("ok",), lambda d: ~m.wan_up[d].head("g_genuine"))
                         for a in ("DSP_receive_CS09", "DSP_receive_CS08_response")])),
        Boundary("P-LOCAL-BANNED", "local-attempt", "a local firmware update is attempted at the premises",
                 local, _any(s.fired(a) for a in local)),
        Boundary("P-HUB-TRANSIENT", "failed-exchange", "a PPMID's OTA exchange ends in a refusal (the hub must "
                 "drop the image all the same)", ("CCS08_alert", "OTA_image_block"),
                 _any([_took_where(bm, "CCS08_alert", ("failure_alert",), lambda p: TRUE),
                       _took_where(bm, "OTA_image_block", ("hw_mismatch",), lambda p: TRUE)])),
        Boundary("P-ALERT-BUDGET", "last-alert-of-the-day", "the hub raises a device's last unsolicited alert "
                 "the budget allows today", ("CH_relay_to_DSP", "CH_daily_version_alert"),
                 _any([_per_device(bm, "CH_relay_to_DSP", (), lambda d: _last_allowed(m, d) & _unasked_report(m, d)),
                       _per_device(bm, "CH_daily_version_alert", (), lambda d: _last_allowed(m, d))])),
        Boundary("P-FAIL-VISIBLE", "refusal-alerted", "a device's refusal of an image reaches the DSP as a failure",
                 ("DSP_receive_CCS08", "DSP_receive_FDR"),
                 _any([_per_device(bm, "DSP_receive_CCS08", ("transfer_failed",), lambda d: TRUE),
                         _per_device(bm, "DSP_receive_FDR", ("verification_failed",), lambda d: TRUE)])),
        Boundary("P-NO-STRAND", "anchor-to-unsupporting-supplier", "a PPMID's trust anchor is replaced by a "
                 "supplier that does not support its firmware (from then on only that supplier can update it "
                 "over the air)", tuple(f"CS02b_update_supplier_anchor[{d}]" for d in m.ppmids),
                 _any(_took_where(bm, f"CS02b_update_supplier_anchor[{d}]", (),
                                  lambda p, d=d: (m.han_down[d].head("kind") == "CS02b")
                                  & any_of(m.han_down[d].head("orig") == s for s in SUPPLIERS
                                           if not m.supports_firmware[s]))
                      for d in m.ppmids)),
        Boundary("P-BOOTABLE", "power-loss-holding", "power is lost while a device or the hub holds an image that "
                 "has not been activated", power,
                 _any(_took_where(bm, a, (), lambda p, a=a: _holding(m, a)) for a in power)),
    ]
    return [b for b in candidates if b.event is not FALSE]


def _last_allowed(m: Secmp0007, d: str) -> Expr:
    return m.g_alerts_today[d] == m.p.alert_budget - 1


def _unasked_report(m: Secmp0007, d: str) -> Expr:
    """The hub relays an activation report about ``d`` while the DSP awaits none (as the model counts it)."""
    kind = m.han_up[d].head("kind")
    return ((kind == "CS09") | (kind == "CS06_RESPONSE")) & (m.smi_status[d] != "update_in_progress")


def _holding(m: Secmp0007, action: str) -> Expr:
    """Some image is held and not yet activated where ``action`` cuts the power."""
    if action == "POWER_loss_hub":
        return _any(m.ch_image[d] != "none" for d in m.ppmids)
    return _any(m.held[d] != "none" for d in m.devices if action.endswith(f"[{d}]"))
