"""Does a supplier-signed activation command for PPMIDs stop an old supplier's update (P-AUTH)?

Hypothetical proposal, after the HCALCS's GBCS CS06 (SR 11.3): a PPMID keeps the image SR 11.4 sent and activates
it only on a CS06 the registered supplier requests, relayed by the hub after the transfer and checked against the
PPMID's trust anchor (CS02b replaces it on a change of supplier); CS09 reports it. Counters are not modelled.
"""

from otaproof.model.variants.api import SUPPLIERS, Case, Secmp0007, case, outcome

NAME = "signed-ppmid-activation"
DOC = "A PPMID activates an OTA image only on a supplier-signed CS06 checked against its trust anchor."
SOURCE = "Hypothetical proposal against P-AUTH, modelled on the HCALCS's GBCS CS06 (SR 11.3)"


def apply(m: Secmp0007) -> None:
    def request(by: str, d: str, img: str) -> Case:  # the DSP checks that the sender is the registered supplier
        return case((m.registered_supplier == by) & m.wan_down[d].has_room(),
                    m.wan_down[d].send(kind="CS06", img=img, originator=by, g_authoriser=by))

    def relay(d: str) -> Case:  # once the hub holds no image for the PPMID (its transfer is over)
        down, han, fields = m.wan_down[d], m.han_down[d], ("img", "originator", "g_authoriser")
        return case(down.nonempty() & (down.head("kind") == "CS06") & (m.ota_image[d] == "none") & han.has_room(),
                    down.receive(), han.send(kind="CS06", **{f: down.head(f) for f in fields}))

    def on_cs06(d: str) -> Case:
        down, up, held = m.han_down[d], m.han_up[d], m.held[d]
        return case(down.nonempty() & (down.head("kind") == "CS06"),
                    outcome("authentication_failure", down.head("originator") != m.supplier_anchor[d], down.receive()),
                    outcome("hash_mismatch", (held == "none") | (held != down.head("img")), down.receive()),
                    outcome("activated", up.has_room(), down.receive(), up.send(kind="CS09", img=held, g_genuine=True),
                            m.activate(d, held, down.head("g_authoriser"), m.held_validated[d])))

    images = [i for i, info in m.catalogue.items() if info.model == "PPMID"]
    m.b.machine("Supplier").action("SR11_3_activate_PPMID_firmware", request, role="environment", joint=("DSP",),
                                   category="service_request", params={"by": SUPPLIERS, "d": m.ppmids, "img": images})
    m.b.machine("CH").action("CH_relay_CS06_to_PPMID", relay, params={"d": m.ppmids})
    for d in m.ppmids:  # the Upgrade End Response no longer activates: the PPMID keeps the image held
        m.b.replace_action(f"activate_at_upgrade_time[{d}]", lambda d: case(
            m.han_down[d].nonempty() & (m.han_down[d].head("kind") == "UPGRADE_END_RESPONSE"), m.han_down[d].receive()))
        m.b.machine("PPMID").action(f"activate_on_CS06[{d}]", on_cs06, params={"d": (d,)})
