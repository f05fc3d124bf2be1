"""``secmp0007``: the approved solution, the baseline every other variant changes.

OTA updates of PPMIDs (SR 11.4, CS05c, hub as ZigBee OTA server, CCS08, CS09) and HCALCSs
(SR 11.1 distribution + SR 11.3 / GBCS CS06 activation) through the DCC; local firmware updates
banned. Source: SECAS, SECMP0007 modification page (approved 27 October 2020; November 2021 SEC Release).
"""

from otaproof.model.secmp0007 import Secmp0007

NAME = "secmp0007"
DOC = ("The approved SECMP0007 solution: OTA updates of PPMIDs (SR 11.4) and HCALCSs (SR 11.1 + SR 11.3) "
       "through the DCC; local firmware updates banned.")
SOURCE = ("SECAS, SECMP0007 'Firmware updates to IHDs and PPMIDs' modification page: approved 27 October 2020, "
          "November 2021 SEC Release")


def apply(m: Secmp0007) -> None:
    """The baseline itself: no change."""
