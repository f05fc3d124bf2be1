"""``pre-secmp0007``: before the modification, PPMIDs and HCALCSs had no OTA path through the DCC;
installers updated their firmware locally (no CPL check, nothing reported to the SMI).
Source: SECAS, SECMP0007 modification page ("What is the issue?"); August 2019 Working Group summary.
"""

from otaproof.model.secmp0007 import Secmp0007

NAME = "pre-secmp0007"
DOC = ("Before SECMP0007: no OTA for PPMIDs and HCALCSs (SR 11.1/11.3/11.4 absent); installers update "
       "firmware through the local port.")
SOURCE = ("SECAS, SECMP0007 modification page, 'What is the issue?' (OTA through the DCC only for CH, ESME, "
          "GSME); SECMP0007 Working Group summary, August 2019 (local updates banned once OTA is in place)")
PARAMETERS = {"local_updates": True}

OTA_SERVICE_REQUESTS = ("SR11_4_update_PPMID_firmware", "SR11_1_update_firmware", "SR11_3_activate_firmware")


def apply(m: Secmp0007) -> None:
    """No OTA Service Requests (the hub's and devices' OTA steps are then unreachable)."""
    for action in OTA_SERVICE_REQUESTS:
        m.withdraw(action)
