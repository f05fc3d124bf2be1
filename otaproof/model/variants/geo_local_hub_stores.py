"""``geo-local-hub-stores``: a manufacturer's 2019 proposal (a): keep local PPMID firmware updates
alongside OTA; the Communications Hub stores the PPMID's firmware version and the DCC reads it
on demand (SR 11.2 is answered by the hub from its store, and the DSP updates the SMI).
Source: Green Energy Options' proposal (a), SECMP0007 Working Group meeting summary, August 2019 (SECAS).
"""

from otaproof.model.lang import TRUE, Expr
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import Case, assign, case
from otaproof.model.variants.geo_local_daily_alert import local_updates_for_ppmids_only, smi_from_version_reads

NAME = "geo-local-hub-stores"
DOC = ("Local PPMID updates alongside OTA; the hub stores the PPMID firmware version and the DCC reads it on "
       "demand (SR 11.2 answered by the hub, SMI updated from the answer).")
SOURCE = "Green Energy Options' proposal (a), SECMP0007 Working Group meeting summary, August 2019 (SECAS)"
PARAMETERS = {"local_updates": True}


def apply(m: Secmp0007) -> None:
    """The hub stores each PPMID's version and answers SR 11.2 for it from the store."""
    local_updates_for_ppmids_only(m)
    smi_from_version_reads(m)
    ch = m.b.machine("CH")
    stored = {d: ch.var(f"stored_version[{d}]", m.IMAGE, m.IMAGE.decode(m.running[d].init)) for d in m.ppmids}
    m.hub_records += stored.values()

    def store(d: str) -> Case:
        return case(stored[d] != m.running[d], assign(stored[d], m.running[d]))

    def not_a_ppmid_read(d: str) -> Expr:
        return m.wan_down[d].head("kind") != "CS08_READ" if d in m.ppmids else TRUE

    def answer(d: str) -> Case:
        down, up = m.wan_down[d], m.wan_up[d]
        return case(down.nonempty() & (down.head("kind") == "CS08_READ") & up.has_room(),
                    down.receive(), up.send(kind="CS08_RESPONSE", img=stored[d], g_genuine=True))

    ch.action("CH_store_version", store, params={"d": m.ppmids},
              doc="the hub learns the PPMID's firmware version over the HAN and stores it")
    m.b.strengthen_guard("CH_relay_to_device", not_a_ppmid_read)
    ch.action("CH_answer_version_read", answer, params={"d": m.ppmids},
              doc="SR 11.2 for a PPMID answered from the hub's store")

