"""The premises side of the SECMP0007 process: the Communications Hub (ZigBee OTA server for
PPMIDs, relay for HCALCSs, CCS08 alerts) and the HAN devices (PPMID, HCALCS), each action named
after what the hub or device does."""

from __future__ import annotations

from otaproof.model.lang import FALSE, EnumSort, Expr, ExprLike, Sort, any_of, ite, lookup
from otaproof.model.state import Secmp0007State
from otaproof.model.system import Assign, Case, assign, case, otherwise, outcome
from otaproof.model.vocabulary import MISADDRESSED_CS02B, RELAYED_DOWN, RELAYED_UP, SUPPLIERS


def declare_hub(m: Secmp0007State) -> None:
    """The Communications Hub: ZigBee OTA server for PPMIDs, relay for everything else."""
    ch = m.b.machine("CH")

    def ccs08(d: str, img: ExprLike, outcome: ExprLike) -> list[Assign]:
        return m.wan_up[d].send(kind="CCS08", img=img, outcome=outcome, g_genuine=True)

    def cs05c(d: str) -> Case:
        # GBCS CS05c: the hub takes the image and offers it (ZigBee OTA Image Notify); while
        # it holds another, it discards the new one (CCS08 outcome 1).
        down, han, image = m.wan_down[d], m.han_down[d], m.ota_image[d]
        return case(down.nonempty() & (down.head("kind") == "CS05c"),
                    outcome("busy_image_discarded", (image != "none") & m.wan_up[d].has_room(), down.receive(),
                            ccs08(d, down.head("img"), "image_discarded")),
                    outcome("image_notify", (image == "none") & han.has_room(), down.receive(),
                            assign(image, down.head("img")), assign(m.ota_upgrade_time_future[d], down.head("future")),
                            assign(m.ota_image_validated[d], down.head("g_validated")),
                            assign(m.ota_image_authoriser[d], down.head("g_authoriser")),
                            han.send(kind="IMAGE_NOTIFY")))

    def relay_down(d: str) -> Case:
        # Relay of HCALCS distribution, critical commands, reads and CS02b to the device.
        down, han = m.wan_down[d], m.han_down[d]
        is_kind = any_of(down.head("kind") == k for k in RELAYED_DOWN[m.model_of(d)])
        if d in m.ppmids:  # a read waits for the PPMID's OTA exchange to end (see docs/model.md)
            is_kind = is_kind & ~((down.head("kind") == "CS08_READ") & (m.ota_image[d] != "none"))
        fields = {f: down.head(f) for f in ("img", "originator", "counter", "future", "g_authoriser", "g_validated")}
        return case(down.nonempty() & is_kind & han.has_room(), down.receive(),
                    han.send(kind=_kind_map(down.head("kind"), han.fields["kind"]), **fields))

    def drop_image(d: str) -> list[Assign]:
        # the transfer ends: the hub keeps neither the image nor its upgrade time
        return [assign(m.ota_image[d], "none"), assign(m.ota_upgrade_time_future[d], False)]

    def query_next_image(d: str) -> Case:
        # ZigBee OTA: answer Query Next Image (it carries the device's manufacturer code, image
        # type and hardware version) with the image (blocks abstracted to one). An image whose
        # header names another image type ends the transfer with CCS08 outcome 1, a hardware
        # mismatch with outcome 2; with no image held the answer is "no image available".
        han, up, image = m.han_down[d], m.han_up[d], m.ota_image[d]
        return case(up.nonempty() & (up.head("kind") == "QUERY_NEXT_IMAGE"),
                    outcome("no_image_available", image == "none", up.receive()),
                    outcome("image_type_mismatch", ~m.header_names(image, "PPMID") & m.wan_up[d].has_room(),
                            up.receive(), drop_image(d), ccs08(d, image, "image_discarded")),
                    outcome("hardware_version_mismatch", ~m.fits(image, "PPMID") & m.wan_up[d].has_room(),
                            up.receive(), drop_image(d), ccs08(d, image, "hardware_version_mismatch")),
                    outcome("image_block", m.fits(image, "PPMID") & han.has_room(), up.receive(),
                            han.send(kind="IMAGE_BLOCK", img=image, g_validated=m.ota_image_validated[d],
                                     g_authoriser=m.ota_image_authoriser[d])))

    def upgrade_end(d: str) -> Case:
        # ZigBee OTA Upgrade End Request from the PPMID: the hub raises CCS08 (its status
        # INVALID_IMAGE is outcome 1 Image Discarded) and, on success, sends the Upgrade End
        # Response that tells the PPMID when to activate (now, or an upgrade time to come).
        han, up, image = m.han_down[d], m.han_up[d], m.ota_image[d]
        status = up.head("outcome")
        reported = lookup(status, {"none": "none", "success": "success", "invalid_image": "image_discarded"},
                          m.wan_up[d].fields["outcome"])
        return case(up.nonempty() & (up.head("kind") == "UPGRADE_END") & m.wan_up[d].has_room(),
                    outcome("success_upgrade_end_response", (status == "success") & han.has_room(), up.receive(),
                            drop_image(d), han.send(kind="UPGRADE_END_RESPONSE", future=m.ota_upgrade_time_future[d]),
                            ccs08(d, image, "success")),
                    outcome("failure_alert", status != "success", up.receive(), drop_image(d),
                            ccs08(d, image, reported)))

    def timeout(d: str) -> Case:
        # The OTA exchange stalled (message lost, device reset): CCS08 outcome 3.
        return case((m.ota_image[d] != "none") & ~m.han_down[d].nonempty() & ~m.han_up[d].nonempty()
                    & m.wan_up[d].has_room(),
                    drop_image(d), ccs08(d, m.ota_image[d], "file_transfer_failure"))

    def relay_up(d: str) -> Case:
        up, wan = m.han_up[d], m.wan_up[d]
        is_kind = any_of(up.head("kind") == k for k in RELAYED_UP)
        # a PPMID's relayed messages (CS09, CS08 response) carry no outcome
        outcomes = {"outcome": up.head("outcome")} if d in m.hcalcs else {}
        return case(up.nonempty() & is_kind & wan.has_room(), up.receive(),
                    wan.send(kind=_kind_map(up.head("kind"), wan.fields["kind"]), img=up.head("img"),
                             g_genuine=up.head("g_genuine"), **outcomes),
                    m.count_unsolicited_alert(d, m.unsolicited_report(d)))

    ch.action("CH_receive_CS05c", cs05c, params={"d": m.ppmids},
              doc="GBCS CS05c Distribute Firmware to PPMID: the hub holds the image and sends Image Notify")
    ch.action("CH_answer_query_next_image", query_next_image, params={"d": m.ppmids},
              doc="ZigBee OTA: the hub serves the image (or ends the transfer: CCS08 outcome 2)")
    ch.action("CH_receive_upgrade_end", upgrade_end, params={"d": m.ppmids},
              doc="ZigBee OTA Upgrade End Request: CCS08 Firmware Transfer Alert, Upgrade End Response")
    ch.action("CH_transfer_timeout", timeout, params={"d": m.ppmids},
              doc="the OTA exchange stalls: CCS08 outcome 3 File Transfer Failure")
    ch.action("CH_relay_to_device", relay_down, params={"d": m.devices})
    ch.action("CH_relay_to_DSP", relay_up, params={"d": m.devices})


def declare_ppmid(m: Secmp0007State, d: str) -> None:
    """PPMID ``d``: the ZigBee OTA client side of SR 11.4, activation at the upgrade time."""
    device, down, up = m.b.machine("PPMID"), m.han_down[d], m.han_up[d]

    def query(d: str) -> Case:
        # ZigBee OTA: a new offer replaces any held image (one download slot), so a PPMID waiting
        # for its upgrade time gives the wait up, as the refimpl's does
        return case(down.nonempty() & (down.head("kind") == "IMAGE_NOTIFY") & up.has_room(), down.receive(),
                    assign(m.held[d], "none"), assign(m.scheduled[d], False),
                    up.send(kind="QUERY_NEXT_IMAGE", g_genuine=True))

    def verify(d: str) -> Case:
        # The PPMID verifies the manufacturer signature, model/hardware and version, then holds
        # the image; its Upgrade End Request says which (ZigBee has no hardware status: a
        # refused image is INVALID_IMAGE whatever the reason).
        img = down.head("img")
        def end(status: str) -> list[Assign]:
            return up.send(kind="UPGRADE_END", img=img, outcome=status, g_genuine=True)
        older = (m.version_of(img) < m.version_of(m.running[d])) if m.p.anti_rollback else FALSE
        return case(down.nonempty() & (down.head("kind") == "IMAGE_BLOCK") & up.has_room(),
                    outcome("bad_signature_discarded", ~m.signed(img), down.receive(), end("invalid_image")),
                    outcome("hardware_mismatch_discarded", ~m.fits(img, "PPMID"), down.receive(),
                            end("invalid_image")),
                    outcome("rollback_discarded", older, down.receive(), end("invalid_image")),
                    otherwise("image_held", down.receive(), assign(m.held[d], img),
                              assign(m.held_validated[d], down.head("g_validated")),
                              assign(m.held_authoriser[d], down.head("g_authoriser")), end("success")))

    def activated(d: str) -> list[Assign]:
        # activate the held image, raise CS09
        return [*m.activate(d, m.held[d], m.held_authoriser[d], m.held_validated[d]),
                *up.send(kind="CS09", img=m.held[d], g_genuine=True)]

    def activate(d: str) -> Case:
        # The Upgrade End Response gives the upgrade time: activate now, or wait for it. A device
        # already waiting refuses another response, as one that holds nothing does.
        return case(down.nonempty() & (down.head("kind") == "UPGRADE_END_RESPONSE") & up.has_room(),
                    outcome("no_image_held", (m.held[d] == "none") | m.scheduled[d], down.receive()),
                    outcome("scheduled", down.head("future"), down.receive(), assign(m.scheduled[d], True)),
                    otherwise("activated", down.receive(), activated(d)))

    def upgrade_time(d: str) -> Case:
        # The upgrade time the Upgrade End Response gave arrives.
        return case(m.scheduled[d] & up.has_room(), activated(d))

    params = {"d": (d,)}
    device.action(f"query_next_image[{d}]", query, params=params,
             doc="ZigBee OTA Image Notify received: Query Next Image Request")
    device.action(f"verify_image[{d}]", verify, params=params,
             doc="verify the image, hold it, ZigBee OTA Upgrade End Request")
    device.action(f"activate_at_upgrade_time[{d}]", activate, params=params,
             doc="Upgrade End Response: activate the held image (CS09 alert), or wait for its upgrade time")
    device.action(f"activate_at_scheduled_upgrade_time[{d}]", upgrade_time, params=params,
             doc="the upgrade time an Upgrade End Response gave arrives: activate the held image, CS09 alert")
    _common_device_actions(m, d)


def _common_device_actions(m: Secmp0007State, d: str) -> None:
    device, down, up = m.b.machine(m.model_of(d)), m.han_down[d], m.han_up[d]

    def read_version(d: str) -> Case:
        return case(down.nonempty() & (down.head("kind") == "CS08_READ") & up.has_room(), down.receive(),
                    up.send(kind="CS08_RESPONSE", img=m.running[d], g_genuine=True))

    def cs02b(d: str) -> Case:
        # CS02b: the new supplier's trust anchor replaces the old; counters reset. GBCS: a
        # command whose business target is another device is refused.
        effects = [*down.receive(), assign(m.supplier_anchor[d], down.head("originator"))]
        if d in m.hcalcs:
            effects.append(assign(m.last_counter[d], 0))
        if MISADDRESSED_CS02B not in m.han_down_kinds():
            return case(down.nonempty() & (down.head("kind") == "CS02b"), effects)
        misaddressed = down.head("kind") == MISADDRESSED_CS02B
        return case(down.nonempty() & ((down.head("kind") == "CS02b") | misaddressed),
                    outcome("wrong_target", misaddressed, down.receive()),
                    otherwise("anchor_replaced", effects))

    device.action(f"report_firmware_version[{d}]", read_version, params={"d": (d,)},
             doc="GBCS CS08 Read Firmware Version: answer with the running version")
    device.action(f"replace_supplier_anchor[{d}]", cs02b, params={"d": (d,)},
             doc="GBCS CS02b Update Security Credentials: trust the new supplier's key")


def declare_hcalcs(m: Secmp0007State, d: str) -> None:
    """HCALCS ``d``: SR 11.1 distribution and CS06 activation."""
    device, down, up = m.b.machine("HCALCS"), m.han_down[d], m.han_up[d]

    def respond(result: str, image: ExprLike) -> list[Assign]:
        return up.send(kind="CS06_RESPONSE", img=image, outcome=result, g_genuine=True)

    def verify(d: str) -> Case:
        # The device hashes what it received and reports the verification result.
        img = down.head("img")
        older = (m.version_of(img) < m.version_of(m.running[d])) if m.p.anti_rollback else FALSE
        def receipt(result: str) -> list[Assign]:
            return up.send(kind="FW_DISTRIBUTION_RECEIPT", img=img, outcome=result, g_genuine=True)
        return case(down.nonempty() & (down.head("kind") == "FW_DISTRIBUTION") & up.has_room(),
                    outcome("verification_failed", ~m.signed(img) | ~m.fits(img, "HCALCS") | older,
                            down.receive(), receipt("verification_failed")),
                    otherwise("verification_successful", down.receive(), assign(m.held[d], img),
                              assign(m.held_validated[d], down.head("g_validated")),
                              assign(m.held_authoriser[d], down.head("g_authoriser")),
                              receipt("verification_successful")))

    def cs06(d: str) -> Case:
        # GBCS CS06 critical command: signature, counter, then hash of the held image.
        originator, counter, img = down.head("originator"), down.head("counter"), down.head("img")
        accept = [assign(m.last_counter[d], counter)] + [
            assign(m.max_accepted_counter[d, s], ite(originator == s, counter, m.max_accepted_counter[d, s]))
            for s in SUPPLIERS]
        return case(down.nonempty() & (down.head("kind") == "CS06") & up.has_room(),
                    outcome("authentication_failure", originator != m.supplier_anchor[d], down.receive(),
                            respond("authentication_failure", m.running[d])),
                    outcome("counter_failure", counter <= m.last_counter[d], down.receive(),
                            respond("counter_failure", m.running[d])),
                    outcome("no_image_held", m.held[d] == "none", down.receive(), accept,
                            respond("no_image_held", m.running[d])),
                    outcome("hash_mismatch", m.held[d] != img, down.receive(), accept,
                            respond("hash_mismatch", m.running[d])),
                    outcome("scheduled", down.head("future"), down.receive(), accept,
                            assign(m.scheduled[d], True), assign(m.scheduled_image[d], img),
                            assign(m.scheduled_authoriser[d], down.head("g_authoriser"))),
                    otherwise("activated", down.receive(), accept,
                              m.activate(d, m.held[d], down.head("g_authoriser"), m.held_validated[d]),
                              assign(m.scheduled[d], False), assign(m.scheduled_image[d], "none"),
                              respond("success", m.held[d])))

    def execute(d: str) -> Case:
        # The execution date-time of a future-dated CS06 arrives.
        done = [assign(m.scheduled[d], False), assign(m.scheduled_image[d], "none")]
        return case(m.scheduled[d] & up.has_room(),
                    outcome("hash_mismatch", m.held[d] != m.scheduled_image[d], done,
                            respond("hash_mismatch", m.running[d])),
                    otherwise("activated", done,
                              m.activate(d, m.held[d], m.scheduled_authoriser[d], m.held_validated[d]),
                              respond("success", m.held[d])))

    params = {"d": (d,)}
    device.action(f"verify_image[{d}]", verify, params=params,
             doc="SR 11.1 image received: verify it, hold it, Firmware Distribution Receipt Alert")
    device.action(f"activate_on_CS06[{d}]", cs06, params=params,
             doc="GBCS CS06 Activate Firmware: check signature, counter and hash; activate or schedule")
    device.action(f"activate_at_execution_time[{d}]", execute, params=params,
             doc="the execution date-time of a future-dated CS06 arrives: activate the held image")
    _common_device_actions(m, d)


def _kind_map(src: Expr, target: Sort) -> Expr:
    """Translate a message kind to the same-named kind of another link (a kind the target link
    lacks maps to its first kind; the relays never forward one)."""
    assert isinstance(src.sort, EnumSort) and isinstance(target, EnumSort)
    table: dict[object, object] = {v: v if v in target.values else target.values[0] for v in src.sort.values}
    return lookup(src, table, target)
