"""``pre-secmp0007``: before the modification, PPMIDs and HCALCSs had no OTA path through the DCC;
installers updated their firmware locally (no CPL check, nothing reported to the SMI).
Source: SECAS, SECMP0007 modification page ("What is the issue?"); August 2019 Working Group summary.
"""

from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.variants import Variant, register

OTA_SERVICE_REQUESTS = ("SR11_4_submit", "SR11_1_submit", "SR11_3_submit")


def _no_ota(m: Secmp0007) -> None:
    for action in OTA_SERVICE_REQUESTS:  # the hub and device OTA steps are then unreachable
        m.b.remove_action(action)


register(Variant(
    "pre-secmp0007",
    "Before SECMP0007: no OTA for PPMIDs and HCALCSs (SR 11.1/11.3/11.4 absent); installers update "
    "firmware through the local port.",
    "SECAS, SECMP0007 modification page, 'What is the issue?' (OTA through the DCC only for CH, ESME, GSME); "
    "SECMP0007 Working Group summary, August 2019 (local updates banned once OTA is in place)",
    {"local_updates": True}, _no_ota,
))
