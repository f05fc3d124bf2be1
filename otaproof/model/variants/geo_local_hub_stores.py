"""``geo-local-hub-stores``: a manufacturer's 2019 proposal (a): keep local PPMID firmware updates
alongside OTA; the Communications Hub stores the PPMID's firmware version and the DCC reads it
on demand (SR 11.2 is answered by the hub from its store, and the DSP updates the SMI).
Source: Green Energy Options' proposal (a), SECMP0007 Working Group meeting summary, August 2019 (SECAS).
"""

from otaproof.model.lang import TRUE
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import assign, case
from otaproof.model.variants import Variant, register
from otaproof.model.variants.geo_local_daily_alert import local_updates_for_ppmids_only, smi_from_version_reads


def _hub_stores(m: Secmp0007) -> None:
    local_updates_for_ppmids_only(m)
    smi_from_version_reads(m)
    ch = m.b.machine("CH")
    stored = {d: ch.var(f"stored_version[{d}]", m.IMAGE, m.IMAGE.decode(m.running[d].init)) for d in m.ppmids}
    m.hub_records += stored.values()
    ch.action("CH_store_version", lambda d: case(stored[d] != m.running[d], assign(stored[d], m.running[d])),
              params={"d": m.ppmids}, doc="the hub learns the PPMID's firmware version over the HAN and stores it")
    m.b.strengthen_guard("CH_relay_to_device", lambda d: m.wan_down[d].head("kind") != "CS08_READ"
                         if d in m.ppmids else TRUE)
    ch.action("CH_answer_version_read", lambda d: case(
        m.wan_down[d].nonempty() & (m.wan_down[d].head("kind") == "CS08_READ") & m.wan_up[d].has_room(),
        m.wan_down[d].receive(), m.wan_up[d].send(kind="CS08_RESPONSE", img=stored[d], g_genuine=True)),
        params={"d": m.ppmids}, doc="SR 11.2 for a PPMID answered from the hub's store")


register(Variant(
    "geo-local-hub-stores",
    "Local PPMID updates alongside OTA; the hub stores the PPMID firmware version and the DCC reads "
    "it on demand (SR 11.2 answered by the hub, SMI updated from the answer).",
    "Green Energy Options' proposal (a), SECMP0007 Working Group meeting summary, August 2019 (SECAS)",
    {"local_updates": True}, _hub_stores,
))
