"""The DCC side of the SECMP0007 process: suppliers' Service Requests (SR 11.1, 11.2, 11.3, 11.4,
8.2) with the DSP's synchronous DUIS validation, the DSP's handling of alerts and responses (it
keeps the SMI), change of supplier with CS02b, and the CPL."""

from __future__ import annotations

from otaproof.model.lang import TRUE, Expr, const
from otaproof.model.reductions import activation_requests, representative_image_requests
from otaproof.model.state import Secmp0007State
from otaproof.model.system import Branch, Case, assign, case, otherwise, outcome
from otaproof.model.vocabulary import SUPPLIERS


def declare_dcc(m: Secmp0007State) -> None:
    """The suppliers' Service Requests, the DSP and the CPL."""
    _service_requests(m)
    _dsp(m)
    _cpl(m)


def _submitters(m: Secmp0007State) -> tuple[str, ...]:
    """Who submits Service Requests: the suppliers, and an attacker holding a compromised key."""
    extra = ("Attacker",) if "compromised_key" in m.threats else ()
    return SUPPLIERS + extra


def _may_submit(m: Secmp0007State, by: str) -> Expr:
    """Honest suppliers act only for their own premises; the old supplier and the attacker
    (under their threats) submit whenever they like and meet the DSP's checks."""
    if by == "Attacker" or "old_supplier" in m.threats:
        return TRUE
    return m.registered_supplier == by


def _relays_foreign_signature(m: Secmp0007State, by: str) -> bool:
    """Under compromised_key a supplier's DUIS channel may carry a CS06 signed with another
    supplier's key (a command relayed for the key's holder): the DSP's originator check is
    what stops it. Honest senders only ever submit what they signed themselves."""
    return "compromised_key" in m.threats and by != "Attacker"


def _authoriser(by: str) -> str:
    """Ghost: who genuinely authorised a request ("none" when the attacker made it)."""
    return "none" if by == "Attacker" else by


def _validations(m: Secmp0007State, by: str, d: str, img: str, hash_ok: bool, version_ok: bool,
                 model: str) -> list[Branch]:
    """The DSP's SR 11.1/11.4 validations, in order, as rejection branches. The CPL entry is
    looked up by device model and hash, then its FirmwareVersion must be the one the request
    states (``version_ok``: the request states the image's own version)."""
    on_cpl = m.on_cpl(const(m.IMAGE, img)) & m.for_model(const(m.IMAGE, img), model)
    return [  # DUIS: the device is known and of a valid type, then the sender is eligible for it
        outcome("rejected_invalid_device", d not in m.devices or m.model_of(d) != model),
        outcome("rejected_not_authorised", m.registered_supplier != m.signer(by)),
        outcome("rejected_hash_mismatch", not hash_ok),
        outcome("rejected_not_on_cpl", ~on_cpl),
        outcome("rejected_version_mismatch", not version_ok),
    ]


def _service_requests(m: Secmp0007State) -> None:
    sup, imgs = m.b.machine("Supplier"), tuple(m.IMAGE.values[1:])
    targets = (*m.devices, "unknown")
    device_model = {d: m.model_of(d) for d in m.devices}
    smi = m.smi

    def sr11_4(by: str, d: str, img: str, hash_ok: bool, version_ok: bool, future: bool) -> Case | None:
        # SR 11.4 Update PPMID Firmware: DSP validates hash and CPL listing, then CS05c; the
        # execution date-time (``future``: still to come) becomes the hub's upgrade time.
        checks = _validations(m, by, d, img, hash_ok, version_ok, "PPMID")
        if d not in m.ppmids:
            return case(_may_submit(m, by), *checks[:2])
        status = smi[d].DeviceFirmwareVersionStatus
        return case(_may_submit(m, by), *checks,
                    outcome("rejected_update_in_progress", status == "update_in_progress"),
                    outcome("accepted", m.wan_down[d].has_room(), assign(status, "update_in_progress"),
                            m.wan_down[d].send(kind="CS05c", img=img, future=future, g_validated=img,
                                               g_authoriser=_authoriser(by))))

    sup.action("SR11_4_update_PPMID_firmware",
               representative_image_requests(m.catalogue, device_model, "PPMID", sr11_4), role="environment",
               joint=("DSP",), category="service_request",
               params={"by": _submitters(m), "d": targets, "img": imgs, "hash_ok": (True, False),
                       "version_ok": (True, False), "future": (False, True)},
               doc="SR 11.4 Update PPMID Firmware (DSP validation; GBCS CS05c to the hub)")

    def sr11_1(by: str, d: str, img: str, hash_ok: bool, version_ok: bool) -> Case | None:
        # SR 11.1 Update Firmware (HCALCS): distribution, not a critical command.
        checks = _validations(m, by, d, img, hash_ok, version_ok, "HCALCS")
        if d not in m.hcalcs:
            return case(_may_submit(m, by), *checks[:2])
        return case(_may_submit(m, by), *checks,
                    outcome("accepted", m.wan_down[d].has_room(),
                            m.wan_down[d].send(kind="FW_DISTRIBUTION", img=img, g_validated=img,
                                               g_authoriser=_authoriser(by))))

    sup.action("SR11_1_update_firmware",
               representative_image_requests(m.catalogue, device_model, "HCALCS", sr11_1), role="environment",
               joint=("DSP",), category="service_request",
               params={"by": _submitters(m), "d": targets, "img": imgs, "hash_ok": (True, False),
                       "version_ok": (True, False)},
               doc="SR 11.1 Update Firmware (HCALCS distribution)")

    def sr11_3(by: str, d: str, img: str, future: bool, signed_by: str) -> Case | None:
        # SR 11.3 Activate Firmware: GBCS CS06 critical command, signed, originator counter.
        # DUIS: the sender is the device's supplier and the CS06 originator is the sender.
        signer = m.signer(by)
        if signed_by != signer and not _relays_foreign_signature(m, by):
            return None
        ctr, status = m.originator_counter[signer], smi[d].DeviceFirmwareVersionStatus
        return case(_may_submit(m, by) & (ctr < m.p.counter_max),
                    outcome("rejected_not_authorised",
                            (m.registered_supplier != signer) | (signed_by != signer)),
                    outcome("rejected_update_in_progress", status == "update_in_progress"),
                    outcome("accepted", m.wan_down[d].has_room(),
                            assign(ctr, ctr + 1), assign(status, "update_in_progress"),
                            m.wan_down[d].send(kind="CS06", img=img, originator=signer, counter=ctr + 1,
                                               future=future, g_authoriser=_authoriser(by))))

    sup.action("SR11_3_activate_firmware", activation_requests(m.catalogue, sr11_3), role="environment",
               joint=("DSP",), category="service_request",
               params={"by": _submitters(m), "d": m.hcalcs, "img": imgs, "future": (False, True),
                       "signed_by": SUPPLIERS},
               doc="SR 11.3 Activate Firmware (GBCS CS06 critical command)")

    def sr11_2(by: str, d: str) -> Case | None:
        # SR 11.2 Read Firmware Version (GBCS CS08).
        return case(_may_submit(m, by),
                    outcome("rejected_not_authorised", m.registered_supplier != by),
                    outcome("accepted", m.wan_down[d].has_room(), m.wan_down[d].send(kind="CS08_READ")))

    sup.action("SR11_2_read_firmware_version", sr11_2, role="environment", joint=("DSP",),
               category="service_request", params={"by": SUPPLIERS, "d": m.devices},
               doc="SR 11.2 Read Firmware Version (GBCS CS08)")

    def sr8_2(by: str, d: str) -> Case | None:
        # SR 8.2 Read Inventory: answered by the DSP from the SMI.
        return case(_may_submit(m, by),
                    outcome("rejected_not_authorised", m.registered_supplier != by),
                    otherwise("answered"))

    sup.action("SR8_2_read_inventory", sr8_2, role="environment", joint=("DSP",), category="service_request",
               params={"by": SUPPLIERS, "d": m.devices}, doc="SR 8.2 Read Inventory")


def _dsp(m: Secmp0007State) -> None:
    dsp, smi = m.b.machine("DSP"), m.smi

    def head_is(d: str, kind: str) -> Expr:
        return m.wan_up[d].nonempty() & (m.wan_up[d].head("kind") == kind)

    def ccs08(d: str) -> Case:
        # CCS08 Firmware Transfer Alert from the hub (0x8F8A success, 0x8F89 failure).
        up = m.wan_up[d]
        return case(head_is(d, "CCS08"),
                    outcome("transfer_success", up.head("outcome") == "success", up.receive()),
                    otherwise("transfer_failed", up.receive(), assign(smi[d].DeviceFirmwareVersionStatus, "failed")))

    def cs09(d: str) -> Case:
        # CS09 PPMID Firmware Activation Alert: the DSP updates the SMI.
        up = m.wan_up[d]
        return case(head_is(d, "CS09"), up.receive(), assign(smi[d].DeviceFirmwareVersion, up.head("img")),
                    assign(smi[d].DeviceFirmwareVersionStatus, "current"))

    def distribution_receipt(d: str) -> Case:
        # Firmware Distribution Receipt (0x8F72 verification successful / 0x8F1C failed).
        up = m.wan_up[d]
        return case(head_is(d, "FW_DISTRIBUTION_RECEIPT"),
                    outcome("verification_successful", up.head("outcome") == "verification_successful",
                            up.receive()),
                    otherwise("verification_failed", up.receive()))

    def cs06_response(d: str) -> Case:
        # Response to the CS06 activation: on success the DSP updates the SMI version.
        up = m.wan_up[d]
        return case(head_is(d, "CS06_RESPONSE"),
                    outcome("activation_success", up.head("outcome") == "success", up.receive(),
                            assign(smi[d].DeviceFirmwareVersion, up.head("img")),
                            assign(smi[d].DeviceFirmwareVersionStatus, "current")),
                    otherwise("activation_failed", up.receive(),
                              assign(smi[d].DeviceFirmwareVersionStatus, "failed")))

    def cs08_response(d: str) -> Case:
        return case(head_is(d, "CS08_RESPONSE"), m.wan_up[d].receive())

    dsp.action("DSP_receive_CCS08_alert", ccs08, params={"d": m.ppmids}, doc="CCS08 Firmware Transfer Alert")
    dsp.action("DSP_receive_CS09_alert", cs09, params={"d": m.ppmids},
               doc="CS09 PPMID Firmware Activation Alert: the SMI records the version")
    dsp.action("DSP_receive_distribution_receipt", distribution_receipt, params={"d": m.hcalcs},
               doc="Firmware Distribution Receipt Alert (verification result)")
    dsp.action("DSP_receive_CS06_response", cs06_response, params={"d": m.hcalcs},
               doc="CS06 Activate Firmware Response: on success the SMI records the version")
    dsp.action("DSP_receive_CS08_response", cs08_response, params={"d": m.devices},
               doc="CS08 Read Firmware Version Response")

    def cos(new: str) -> Case:
        # Change of supplier: the DCC registration moves to the new supplier; every device's
        # trust anchor must then be replaced by a GBCS CS02b (sent below, one per device).
        return case(m.registered_supplier != new, assign(m.registered_supplier, new),
                    [assign(m.CS02b_due[d], True) for d in m.devices])

    def cs02b(d: str) -> Case:
        return case(m.CS02b_due[d] & m.wan_down[d].has_room(), assign(m.CS02b_due[d], False),
                    m.wan_down[d].send(kind="CS02b", originator=m.registered_supplier))

    dsp.action("CoS_change_of_supplier", cos, role="environment", params={"new": SUPPLIERS},
               category="change_of_supplier", doc="change of supplier: registration moves, CS02b due on every device")
    dsp.action("DSP_send_CS02b", cs02b, params={"d": m.devices},
               doc="GBCS CS02b Update Security Credentials: the new supplier's trust anchor, to the device")


def _cpl(m: Secmp0007State) -> None:
    cpl, imgs = m.b.machine("CPL"), tuple(m.IMAGE.values[1:])

    def listing(img: str) -> Case | None:
        # The CPL listing gateway lists only manufacturer-signed (certified) images.
        if not m.catalogue[img].signed:
            return None
        return case(~m.listed[img], assign(m.listed[img], True), assign(m.ever_listed[img], True))

    def removal(img: str) -> Case | None:
        if img not in m.listed:
            return None
        return case(m.listed[img], assign(m.listed[img], False))

    cpl.action("CPL_list_entry", listing, role="environment", params={"img": imgs}, category="cpl_change",
               doc="a certified image's hash enters the CPL")
    cpl.action("CPL_remove_entry", removal, role="environment", params={"img": imgs}, category="cpl_change",
               doc="an entry is removed from the CPL")
