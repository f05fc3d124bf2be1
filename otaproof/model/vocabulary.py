"""The SECMP0007 model's vocabulary: abstract firmware images, the message kinds of each link,
the outcome families that alerts and responses carry (each outcome with its GBCS or ZigBee
code), and the categories that group actions for properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from otaproof.model.config import Parameters
from otaproof.model.lang import EnumSort, ModelError

SUPPLIERS = ("S1", "S2")
DEVICE_MODELS = ("PPMID", "HCALCS")


@dataclass(frozen=True)
class ImageInfo:
    """The static attributes of an abstract firmware image."""

    model: str      # device model it is built (and CPL-listable) for: PPMID or HCALCS
    version: int
    hw_ok: bool     # built for the hardware revision in the field
    signed: bool    # carries a valid manufacturer signature
    header_ok: bool = True  # its OTA header names its model's manufacturer code and image type

    def runs_on(self, model: str) -> bool:
        """A device of ``model`` in the field accepts the image's model, hardware range and header."""
        return self.model == model and self.hw_ok and self.header_ok


def image_catalogue(p: Parameters) -> dict[str, ImageInfo]:
    """Every abstract firmware image of the model, with its static attributes: ``PPMID_v1`` ..,
    ``*_hwB`` (genuine, for another hardware revision), ``*_rogue`` (no valid signature), and
    ``PPMID_otherType`` (genuine and listable for the PPMID, but its ZigBee OTA header names
    another image type: what the hub's image-type check at Query Next Image refuses; the HCALCS
    has no OTA server in front of it, so it gets no such image)."""
    out: dict[str, ImageInfo] = {}
    for model in DEVICE_MODELS:
        for v in range(1, p.versions + 1):
            out[f"{model}_v{v}"] = ImageInfo(model, v, True, True)
        out[f"{model}_hwB"] = ImageInfo(model, p.versions, False, True)
        out[f"{model}_rogue"] = ImageInfo(model, p.versions, True, False)
    out["PPMID_otherType"] = ImageInfo("PPMID", p.versions, True, True, header_ok=False)
    return out


# ---- message kinds, per link (one logical queue per device and direction) -------------------
# GBCS use cases on the DSP-hub link; ZigBee OTA Upgrade cluster commands and relayed GBCS
# commands on the HAN. The SR 11.1 image travels as FW_DISTRIBUTION on both links.
WAN_DOWN = ("CS05c", "FW_DISTRIBUTION", "CS06", "CS08_READ", "CS02b")
WAN_UP = ("CCS08", "CS09", "FW_DISTRIBUTION_RECEIPT", "CS06_RESPONSE", "CS08_RESPONSE")
HAN_DOWN = ("IMAGE_NOTIFY", "IMAGE_BLOCK", "UPGRADE_END_RESPONSE", "FW_DISTRIBUTION", "CS06", "CS08_READ", "CS02b")
HAN_UP = ("QUERY_NEXT_IMAGE", "UPGRADE_END", "CS09", "FW_DISTRIBUTION_RECEIPT", "CS06_RESPONSE", "CS08_RESPONSE")
RELAYED_DOWN = {"PPMID": ("CS08_READ", "CS02b"), "HCALCS": ("FW_DISTRIBUTION", "CS06", "CS08_READ", "CS02b")}
RELAYED_UP = ("CS09", "FW_DISTRIBUTION_RECEIPT", "CS06_RESPONSE", "CS08_RESPONSE")
# han_mitm only: a copy of another device's CS02b on this device's link (its business target is
# that other device)
MISADDRESSED_CS02B = "CS02b_for_other_device"
# what a device reports its activation with: the DSP updates the SMI from it
ACTIVATION_REPORT = {"PPMID": "CS09", "HCALCS": "CS06_RESPONSE"}


# ---- outcome families ----------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeFamily:
    """The outcomes one message family reports, each with the code its specification gives it."""

    message: str               # the message (and field) that carries them
    codes: Mapping[str, int]   # outcome -> code
    success: str | None        # the outcome that means success (None: the family reports failures only)
    source: str                # where the codes are defined

    def outcome_of(self, code: int) -> str:
        """The outcome with this code (an implementation's report read back into the model)."""
        for name, c in self.codes.items():
            if c == code:
                return name
        return f"unmodelled code {code:#x}"


UPGRADE_END_STATUS = OutcomeFamily(
    "ZigBee OTA Upgrade End Request, status", {"success": 0x00, "invalid_image": 0x96}, "success",
    "ZigBee Cluster Library, OTA Upgrade cluster: status SUCCESS / INVALID_IMAGE")
CCS08_OUTCOME = OutcomeFamily(
    "CCS08 Firmware Transfer Alert, outcome",
    {"success": 0, "image_discarded": 1, "hardware_version_mismatch": 2, "file_transfer_failure": 3}, "success",
    "GBCS CCS08 (alert codes 0x8F8A success, 0x8F89 failure)")
FW_DISTRIBUTION_RECEIPT_RESULT = OutcomeFamily(
    "Firmware Distribution Receipt Alert, verification result",
    {"verification_successful": 0x8F72, "verification_failed": 0x8F1C}, "verification_successful",
    "GBCS alert codes 0x8F72 Firmware Verification Successful, 0x8F1C Firmware Verification Failed")
# GBCS's fourth outcome, 3 Activation Failure, is not modelled: activation is an atomic A/B swap
CS06_OUTCOME = OutcomeFamily(
    "CS06 Activate Firmware Response, outcome", {"success": 0, "no_image_held": 1, "hash_mismatch": 2}, "success",
    "GBCS CS06 (0 Success, 1 No Image Held, 2 Hash Mismatch)")
DEVICE_REFUSAL = OutcomeFamily(
    "a critical command refused before its use case runs (error response)",
    {"authentication_failure": 1, "counter_failure": 2}, None,
    "GBCS: a refused critical command gets an error response, not a CS06 outcome; numbered in the order a "
    "device checks (signature, then originator counter), as otaproof.refimpl.messages.CommandError")

# which family each link's ``outcome`` field carries (a queue holds every message of its link)
UPGRADE_END_OUTCOMES = (UPGRADE_END_STATUS,)
CCS08_OUTCOMES = (CCS08_OUTCOME,)
HCALCS_REPORT_OUTCOMES = (FW_DISTRIBUTION_RECEIPT_RESULT, CS06_OUTCOME, DEVICE_REFUSAL)
OUTCOME_OF_KIND = {"UPGRADE_END": UPGRADE_END_STATUS, "CCS08": CCS08_OUTCOME,
                   "FW_DISTRIBUTION_RECEIPT": FW_DISTRIBUTION_RECEIPT_RESULT, "CS06_RESPONSE": CS06_OUTCOME}


def outcome_sort(name: str, families: tuple[OutcomeFamily, ...]) -> EnumSort:
    """The sort of a link's outcome field: ``none`` (a message that carries no outcome) and every
    outcome of the families the link carries."""
    values = ["none"]
    for f in families:
        for outcome in f.codes:
            if outcome in values:
                raise ModelError(f"outcome {outcome!r} of {f.message} is also an outcome of another family on {name}")
            values.append(outcome)
    return EnumSort(name, tuple(values))


# ---- action categories (ActionDef.category): what properties select actions by ---------------
ACTION_CATEGORIES = {
    "service_request": "a DUIS Service Request a DCC User submits (with the DSP's synchronous validation)",
    "local_update": "a firmware update through a device's local port (installer, attacker or screened)",
    "power_loss": "a hub or device loses power",
    "change_of_supplier": "the premises' registration moves to another supplier",
    "cpl_change": "an entry enters or leaves the Certified Products List",
}
