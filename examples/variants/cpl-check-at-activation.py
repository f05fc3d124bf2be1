"""Does a CPL check when the hub activates close the window behind P-CPL-NOW?

The DSP checks the CPL when it accepts SR 11.4 / SR 11.1 (SECMP0007 modification report), and
an entry removed afterwards does not stop the activation. Hypothetical proposal: the DSP tells
the hub when a CPL entry is removed; the hub sends no Upgrade End Response for a PPMID image no
longer listed (it drops the image and raises CCS08 outcome 1) and discards, unrelayed, a CS06
naming an image no longer listed. The notice is taken as instant (the hub reads the CPL as it
stands): the most favourable timing; a later notice only widens the window.
"""

from otaproof.model.variants.api import Case, Expr, Secmp0007, assign, case

NAME = "cpl-check-at-activation"
DOC = ("The DSP tells the hub of CPL removals; the hub refuses the Upgrade End Response and the CS06 relay for an "
       "image no longer listed.")
SOURCE = "Hypothetical proposal against P-CPL-NOW; CPL check as in the SECMP0007 modification report"


def apply(m: Secmp0007) -> None:
    def listed_success(d: str) -> Expr:  # an Upgrade End that is a failure, or for a listed image
        return (m.han_up[d].head("outcome") != "success") | m.on_cpl(m.ota_image[d])

    def refuse_upgrade_end(d: str) -> Case:
        up, wan, image = m.han_up[d], m.wan_up[d], m.ota_image[d]
        return case(up.nonempty() & (up.head("kind") == "UPGRADE_END") & ~listed_success(d) & wan.has_room(),
                    up.receive(), assign(image, "none"),
                    wan.send(kind="CCS08", img=image, outcome="image_discarded", g_genuine=True))

    def refuse_cs06(d: str) -> Case:
        down = m.wan_down[d]
        return case(down.nonempty() & (down.head("kind") == "CS06") & ~m.on_cpl(down.head("img")), down.receive())

    ch = m.b.machine("CH")
    m.b.strengthen_guard("CH_receive_upgrade_end", listed_success)
    ch.action("CH_refuse_delisted_image", refuse_upgrade_end, params={"d": m.ppmids},
              doc="the image left the CPL: no Upgrade End Response, CCS08 outcome 1")
    m.b.strengthen_guard("CH_relay_to_device", lambda d: (m.wan_down[d].head("kind") != "CS06")
                         | m.on_cpl(m.wan_down[d].head("img")))
    ch.action("CH_refuse_delisted_CS06", refuse_cs06, params={"d": m.hcalcs},
              doc="the CS06 names an image no longer on the CPL: discarded, not relayed")
