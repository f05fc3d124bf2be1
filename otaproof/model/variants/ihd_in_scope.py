"""``ihd-in-scope``: In-Home Displays updated over the air too (SR 11.4 extended to IHDs), as in
SECMP0007 before IHDs were dropped from its scope in 2019. An IHD is served by the hub exactly
like a PPMID (ZigBee OTA, CCS08, CS09), so it is modelled as a second OTA client of that kind:
the model's device ``P2`` stands for the IHD. Source: SECAS, SECMP0007 modification page (scope).
"""

from otaproof.model.secmp0007 import Secmp0007

NAME = "ihd-in-scope"
DOC = ("IHDs updated over the air as well: the hub serves a second ZigBee OTA client (device P2 is the IHD) "
       "through SR 11.4.")
SOURCE = "SECAS, SECMP0007 modification page: IHDs in scope as raised (2016), left out by the Working Group in 2019"
PARAMETERS = {"ppmids": 2}


def apply(m: Secmp0007) -> None:
    """No change to the flows: the second PPMID (``PARAMETERS``) is the IHD."""
