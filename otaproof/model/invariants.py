"""Auxiliary invariants of the SECMP0007 model: the facts that explain *why* a property holds.

Each is a candidate, never an assumption: the engines keep only the largest subset that Z3
proves inductive (Houdini), use it to strengthen PDR and k-induction, and put it into the
certificate that the checker re-checks. A candidate that a variant or threat breaks is simply
dropped, so a wrong or stale lemma can cost speed, never soundness. They are written in the
public modelling language, one per fact, so an analyst can read the argument in domain terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from otaproof.model.lang import Const, EnumSort, Expr, ModelError, Var, any_of, implies
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import Channel
from otaproof.model.vocabulary import SUPPLIERS


@dataclass(frozen=True)
class Lemma:
    name: str
    statement: str
    expr: Expr


def _messages(ch: Channel, kinds: tuple[str, ...]) -> Iterator[tuple[Expr, dict[str, Var]]]:
    """(``slot i holds a message of one of these kinds``, the slot's fields) for every slot."""
    sort = ch.fields["kind"]
    assert isinstance(sort, EnumSort)
    for i, slot in enumerate(ch.slots):
        present = (ch.length > i) & any_of(slot["kind"] == k for k in kinds if k in sort.values)
        yield present, slot


IMAGE_MESSAGES = {"wan_down": ("CS05c", "FW_DISTRIBUTION"), "han_down": ("IMAGE_BLOCK", "FW_DISTRIBUTION")}


def secmp0007_lemmas(m: Secmp0007) -> list[Lemma]:
    """The candidate auxiliary invariants of a grounded SECMP0007 model (any parameters)."""
    out: list[Lemma] = []
    names: set[str] = set()

    def add(name: str, statement: str, expr: Expr) -> None:
        if name in names:  # lemmas are handed between processes by name (properties/check.py)
            raise ModelError(f"two candidate lemmas are named {name!r}")
        names.add(name)
        out.append(Lemma(name, statement, expr))

    for img, flag in m.listed.items():
        add(f"listed-was-listed[{img}]", "an image listed on the CPL now has been listed (ghost history)",
            implies(flag, m.ever_listed[img]))
    for r in m.hub_records:
        add(f"hub-record-set[{r.name}]", "a firmware record the hub keeps always names an image", r != "none")
    for name, statement, expr in m.variant_lemmas:
        add(name, statement, expr)
    for d in m.devices:
        for ch in (m.han_up[d], m.wan_up[d]):
            for i, (present, slot) in enumerate(_messages(ch, ("CS09", "CS08_RESPONSE"))):
                add(f"version-report-names-an-image[{ch.name}][{i}]",
                    "a version report in flight (CS09, CS08 response) names an image",
                    implies(present, slot["img"] != "none"))
            for i, (present, slot) in enumerate(_messages(ch, ("CS06_RESPONSE", "FW_DISTRIBUTION_RECEIPT"))):
                add(f"hcalcs-report-names-an-image[{ch.name}][{i}]",
                    "an HCALCS report in flight (CS06 response, distribution receipt) names an image",
                    implies(present, slot["img"] != "none"))
    for d in m.devices:
        add(f"held-certified[{d}]", "an image a device holds was on the CPL when the DSP accepted it",
            implies(m.held[d] != "none", m.ever_on_cpl(m.held[d])))
        add(f"held-validated[{d}]", "an image a device holds is the one the DSP validated for its request",
            implies(m.held[d] != "none", m.held_validated[d] == m.held[d]))
        add(f"running-certified[{d}]", "a device runs an image that has been on the CPL",
            m.ever_on_cpl(m.running[d]))
        for side in ("wan_down", "han_down"):
            ch = getattr(m, side)[d]
            for n, (present, slot) in enumerate(_messages(ch, IMAGE_MESSAGES[side])):
                add(f"{ch.name}[{n}]-names-an-image", "an image message in flight names an image (the "
                    "certification ghosts aside, what a slice without the CPL history can still use)",
                    implies(present, slot["img"] != "none"))
                add(f"{ch.name}[{n}]-certified", "an image in flight was on the CPL when the DSP accepted it",
                    implies(present, m.ever_on_cpl(slot["img"])))
                add(f"{ch.name}[{n}]-validated", "an image in flight is the one the DSP validated",
                    implies(present, slot["g_validated"] == slot["img"]))
    for d in m.devices:
        model = m.model_of(d)
        add(f"held-fits[{d}]", "a device holds only images for its model and hardware (it verified them)",
            implies(m.held[d] != "none", m.fits(m.held[d], model)))
        add(f"held-signed[{d}]", "a device holds only manufacturer-signed images (it verified them)",
            implies(m.held[d] != "none", m.signed(m.held[d])))
        add(f"held-not-older[{d}]", "a device holds only images not older than what it runs (anti-rollback)",
            implies(m.held[d] != "none", m.version_of(m.held[d]) >= m.version_of(m.running[d])))
        add(f"running-valid[{d}]", "a device always runs some image", m.running[d] != "none")
        add(f"running-fits[{d}]", "a device runs an image for its model and hardware", m.fits(m.running[d], model))
        add(f"running-signed[{d}]", "a device runs only manufacturer-signed images (every path checks it)",
            m.signed(m.running[d]))
        for ch in (m.han_up[d], m.wan_up[d]):
            for i, (present, slot) in enumerate(_messages(ch, ("CS09", "CS08_RESPONSE"))):
                add(f"version-report-names-model[{ch.name}][{i}]",
                    "a version report in flight names an image of the device's model",
                    implies(present, m.for_model(slot["img"], model)))
                add(f"version-report-not-newer[{ch.name}][{i}]",
                    "a version report in flight names no version newer than the device runs",
                    implies(present, m.version_of(slot["img"]) <= m.version_of(m.running[d])))
                add(f"version-report-names-runnable[{ch.name}][{i}]",
                    "a version report in flight names a signed image that fits the device (one it can run)",
                    implies(present, m.fits(slot["img"], model) & m.signed(slot["img"])))
        # both device models wait for a time (a PPMID for its upgrade time: issue 18, item 6)
        add(f"scheduled-image-held[{d}]", "a future-dated activation is pending only while an image is held",
            implies(m.scheduled[d], m.held[d] != "none"))
        add(f"smi-names-an-image[{d}]", "the SMI records some image (a spoofed report names one too)",
            m.smi[d].DeviceFirmwareVersion != "none")
        add(f"smi-names-model[{d}]", "the SMI records an image of the device's model",
            m.for_model(m.smi[d].DeviceFirmwareVersion, model))
        add(f"smi-not-newer[{d}]", "the SMI records no version newer than the device runs (reports only lag)",
            m.version_of(m.smi[d].DeviceFirmwareVersion) <= m.version_of(m.running[d]))
        add(f"smi-names-runnable[{d}]", "the SMI records a signed image that fits the device",
            m.fits(m.smi[d].DeviceFirmwareVersion, model) & m.signed(m.smi[d].DeviceFirmwareVersion))
        for side in ("wan_down", "han_down", "han_up", "wan_up"):
            ch = getattr(m, side)[d]
            for i, slot in enumerate(ch.slots):
                for fname, var in slot.items():  # one per field: a slice may keep only some fields
                    add(f"{ch.name}[{i}].{fname}-blank-when-empty", "a queue slot past the queue's length holds "
                        "no message data", implies(ch.length <= i, var == Const(var.sort, var.init)))
                    if fname in ("img", "outcome"):  # what reports and images carry (others: PDR finds them)
                        for value in var.sort.values:
                            add(f"{ch.name}[{i}].{fname}-never-{value}", "no message in this queue carries this "
                                "value in this field", implies(ch.length > i, var != value))
                for kind in slot["kind"].sort.values:
                    add(f"{ch.name}[{i}]-never-{kind}", "this queue never carries this kind of message for this device",
                        implies(ch.length > i, slot["kind"] != kind))
        for side in ("han_up", "wan_up"):
            ch = getattr(m, side)[d]
            for i, slot in enumerate(ch.slots):
                add(f"{ch.name}[{i}]-genuine", "every report in flight was sent by the device itself",
                    implies(ch.length > i, slot["g_genuine"]))
        _protocol_lemmas(m, d, add)
    for d in m.ppmids:
        add(f"hub-image-certified[{d}]", "the image the hub holds for a PPMID was on the CPL when accepted",
            implies(m.ota_image[d] != "none", m.ever_on_cpl(m.ota_image[d])))
        add(f"hub-image-validated[{d}]", "the image the hub holds is the one the DSP validated",
            implies(m.ota_image[d] != "none", m.ota_image_validated[d] == m.ota_image[d]))
    return out


def in_flight(ch: Channel, kinds: tuple[str, ...], success: bool | None = None
               ) -> list[tuple[str, Expr, dict[str, Var]]]:
    """One (name, present, slot) per slot that may hold one of these kinds; ``success`` also
    restricts the message's outcome to success (True) or to any failure (False)."""
    out = []
    for i, (present, slot) in enumerate(_messages(ch, kinds)):
        tag = ""
        if success is not None:
            present = present & ((slot["outcome"] == "success") if success else (slot["outcome"] != "success"))
            tag = "(success)" if success else "(failure)"
        out.append((f"{'/'.join(kinds)}{tag}@{ch.name}[{i}]", present, slot))
    return out


def _protocol_lemmas(m: Secmp0007, d: str, add: Callable[[str, str, Expr], None]) -> None:
    """Per-device update pipeline: one update at a time, and the SMI lags only behind a success
    report that is on its way (what P-SMI, P-INVENTORY and P-REPLAY rest on)."""
    wd, hd, hu, wu = m.wan_down[d], m.han_down[d], m.han_up[d], m.wan_up[d]
    in_progress = m.smi[d].DeviceFirmwareVersionStatus == "update_in_progress"
    if d in m.ppmids:
        reports = in_flight(hu, ("CS09",)) + in_flight(wu, ("CS09",))
        tokens = (in_flight(wd, ("CS05c",)) + in_flight(hd, ("IMAGE_NOTIFY",)) + in_flight(hu, ("QUERY_NEXT_IMAGE",))
                  + in_flight(hd, ("IMAGE_BLOCK",)) + in_flight(hu, ("UPGRADE_END",), True)
                  + in_flight(hu, ("UPGRADE_END",), False) + in_flight(hd, ("UPGRADE_END_RESPONSE",))
                  + in_flight(wu, ("CCS08",), True) + in_flight(wu, ("CCS08",), False) + reports)
        states = [(f"hub-holds-image[{d}]", m.ota_image[d] != "none"),
                  (f"device-holds-image[{d}]", m.held[d] != "none")]
        exchange = (in_flight(hd, ("IMAGE_NOTIFY", "IMAGE_BLOCK")) + in_flight(hu, ("QUERY_NEXT_IMAGE", "UPGRADE_END")))
        add(f"hub-holds-image-only-during-exchange[{d}]",
            "the hub keeps a PPMID image only while the ZigBee OTA exchange is under way",
            implies(m.ota_image[d] != "none", any_of(p for _, p, _ in exchange)))
        for name, present, _ in exchange:
            add(f"exchange-needs-the-image[{name}]",
                "a ZigBee OTA exchange message in flight means the hub still holds the PPMID's image",
                implies(present, m.ota_image[d] != "none"))
        add(f"no-read-crosses-the-exchange[{d}]",
            "no firmware-version read is on its way to a PPMID while the hub holds its image (the hub "
            "holds reads back until the exchange ends)",
            implies(m.ota_image[d] != "none", ~any_of(p for p, _ in _messages(hd, ("CS08_READ",)))))
        awaiting = in_flight(hu, ("UPGRADE_END",), True) + in_flight(hd, ("UPGRADE_END_RESPONSE",))
        add(f"device-holds-image-only-until-activation[{d}]",
            "a PPMID holds an image only between its successful Upgrade End and the Upgrade End Response, "
            "or while it waits for the upgrade time that response gave (issue 18, item 6)",
            implies(m.held[d] != "none", any_of(p for _, p, _ in awaiting) | m.scheduled[d]))
    else:
        reports = in_flight(hu, ("CS06_RESPONSE",), True) + in_flight(wu, ("CS06_RESPONSE",), True)
        tokens = (in_flight(wd, ("CS06",)) + in_flight(hd, ("CS06",)) + in_flight(hu, ("CS06_RESPONSE",))
                  + in_flight(wu, ("CS06_RESPONSE",)))
        states = [(f"activation-scheduled[{d}]", m.scheduled[d])]
        for s in SUPPLIERS:
            add(f"counter-ahead[{d},{s}]", "a supplier's counter is at least any counter the device accepted from it",
                m.max_accepted_counter[d, s] <= m.originator_counter[s])
            add(f"last-counter-accepted[{d},{s}]", "the device's last counter, while it trusts a supplier, is one "
                "it accepted from that supplier (or the reset value)",
                implies(m.supplier_anchor[d] == s, m.last_counter[d] <= m.max_accepted_counter[d, s]))
            for name, present, slot in in_flight(wd, ("CS06",)) + in_flight(hd, ("CS06",)):
                add(f"fresh-counter[{name},{s}]", "a CS06 in flight carries a counter the device has not yet accepted",
                    implies(present & (slot["originator"] == s), slot["counter"] > m.max_accepted_counter[d, s]))
                add(f"counter-issued[{name},{s}]", "a CS06 in flight carries a counter its originator issued",
                    implies(present & (slot["originator"] == s), slot["counter"] <= m.originator_counter[s]))
    add(f"smi-lags-only-behind-report[{d}]",
        "the SMI shows the running version, or a success report of the running version is on its way",
        (m.smi[d].DeviceFirmwareVersion == m.running[d])
        | any_of(p & (slot["img"] == m.running[d]) for _, p, slot in reports))
    for name, present, slot in reports:
        add(f"report-is-running[{name}]", "a success report in flight names the running image",
            implies(present, slot["img"] == m.running[d]))
    steps = [(n, p) for n, p, _ in tokens] + states
    for name, present in steps:
        add(f"only-during-update[{name}]", "this part of an update exists only while the SMI says in progress",
            implies(present, in_progress))
    for i, (a_name, a) in enumerate(steps):
        for b_name, b in steps[i + 1:]:
            add(f"one-at-a-time[{a_name},{b_name}]", "two stages of one device's update never coexist", ~(a & b))
