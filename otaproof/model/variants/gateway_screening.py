"""``gateway-screening``: local PPMID updates only through a DCC screening step: the DSP checks
that the registered supplier authorises it, that the image is on the CPL for the model and that
no update is in progress, marks the SMI "update in progress", and the PPMID reports the
activation by CS09 as in the OTA flow. The plain local port is closed (no screening, no update).
Source: "DCC gateway screening mechanism", SECMP0007 Working Group meeting summary, August 2019 (SECAS);
it does not exist, so its checks here are modelling assumptions.
"""

from otaproof.model.secmp0007 import SUPPLIERS, Secmp0007
from otaproof.model.system import assign, case
from otaproof.model.variants import Variant, register


def _screened(m: Secmp0007) -> None:
    for d in m.ppmids:
        images = tuple(i for i, info in m.catalogue.items() if info.model == "PPMID")

        def update(by: str, img: str, d: str = d):  # type: ignore[no-untyped-def]
            image = m.const_image(img)
            return case((m.registered == by) & m.on_cpl(image) & m.fits(image, "PPMID") & (m.running[d] != img)
                        & (m.version_of(image) >= m.version_of(m.running[d]))
                        & (m.smi_status[d] != "update_in_progress") & m.han_up[d].has_room(),
                        assign(m.running[d], img), assign(m.held[d], "none"), assign(m.g_act_auth[d], by),
                        assign(m.g_act_req[d], img), assign(m.smi_status[d], "update_in_progress"),
                        m.han_up[d].send(kind="CS09", img=img, g_genuine=True))
        m.b.machine("PPMID").action(f"LOCAL_screened_update[{d}]", update, role="environment", joint=("DSP",),
                                    params={"by": SUPPLIERS, "img": images},
                                    doc="an installer's local update, screened and recorded by the DCC")


register(Variant(
    "gateway-screening",
    "Local PPMID updates only through a DCC screening step (authorised party, CPL check, SMI marked "
    "in progress, CS09 on activation); no unscreened local port.",
    "'DCC gateway screening mechanism', SECMP0007 Working Group meeting summary, August 2019 (SECAS); "
    "not designed yet: the screening checks are modelling assumptions",
    {}, _screened,
))
