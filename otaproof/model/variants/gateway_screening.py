"""``gateway-screening``: local PPMID updates only through a DCC screening step: the DSP checks
that the registered supplier authorises it, that the image is on the CPL for the model and that
no update is in progress, marks the SMI "update in progress", and the PPMID reports the
activation by CS09 as in the OTA flow. The plain local port is closed (no screening, no update).
Source: "DCC gateway screening mechanism", SECMP0007 Working Group meeting summary, August 2019 (SECAS);
it does not exist, so its checks here are modelling assumptions.
"""

from otaproof.model.lang import Expr
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import Case, assign, case
from otaproof.model.vocabulary import SUPPLIERS

NAME = "gateway-screening"
DOC = ("Local PPMID updates only through a DCC screening step (authorised party, CPL check, SMI marked in "
       "progress, CS09 on activation); no unscreened local port.")
SOURCE = ("'DCC gateway screening mechanism', SECMP0007 Working Group meeting summary, August 2019 (SECAS); "
          "not designed yet: the screening checks are modelling assumptions")


def apply(m: Secmp0007) -> None:
    """An installer's local PPMID update that the DSP screens and records."""
    images = tuple(i for i, info in m.catalogue.items() if info.model == "PPMID")
    for d in m.ppmids:
        def update(by: str, img: str, d: str = d) -> Case:
            image: Expr = m.const_image(img)
            status = m.smi[d].DeviceFirmwareVersionStatus
            return case((m.registered_supplier == by) & m.on_cpl(image) & m.fits(image, "PPMID")
                        & (m.running[d] != img) & (m.version_of(image) >= m.version_of(m.running[d]))
                        & (status != "update_in_progress") & m.han_up[d].has_room(),
                        m.activate(d, img, by, img), assign(status, "update_in_progress"),
                        m.han_up[d].send(kind="CS09", img=img, g_genuine=True))

        m.b.machine("PPMID").action(f"LOCAL_screened_update[{d}]", update, role="environment", joint=("DSP",),
                                    params={"by": SUPPLIERS, "img": images}, category="local_update",
                                    doc="an installer's local update, screened and recorded by the DCC")
