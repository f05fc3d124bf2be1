"""Design variants as configuration switches. The defaults are the approved SECMP0007 behaviour.

Each switch names the design change it represents and where it comes from (``docs/domain.md``,
"The design questions from the working group (August 2019)").
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from otaproof.refimpl.errors import UsageError


@dataclass(frozen=True)
class Variants:
    """Behaviour switches of one premises; ``Variants()`` is the approved design."""

    # Installer's local update port on PPMIDs/IHDs. SECMP0007 bans local updates (False);
    # True is the pre-SECMP0007 world and the manufacturer's 2019 proposal.
    local_update_port: bool = False
    # The same port on HCALCSs: pre-SECMP0007 installers updated every device locally; the 2019
    # proposals keep the port on PPMIDs/IHDs only.
    hcalcs_local_update_port: bool = False
    # "DCC gateway screening": a local update needs a DCC-signed authorisation obtained from the
    # DSP (authorised party, CPL check, SMI update). Mentioned in 2019; does not exist yet.
    gateway_screening: bool = False
    # Proposal (a): the CH stores each PPMID/IHD firmware version and answers SR 11.2 from it.
    hub_stores_versions: bool = False
    # Proposal (b): PPMIDs/IHDs report their version to the CH daily; the CH forwards it to the DCC.
    daily_version_alert: bool = False
    # IHD OTA updates through SR 11.4 (IHDs were dropped from SECMP0007's scope in 2019).
    ihd_in_scope: bool = False
    # Devices refuse an image whose file version is lower than the running one.
    anti_rollback: bool = True
    # CS02b (change of supplier) resets the device's counter for the new supplier to 0.
    cos_resets_counters: bool = True
    # Seconds the CH waits for the ZigBee OTA exchange before CCS08 outcome 3 File Transfer Failure.
    ota_timeout: int = 3600
    # Bytes of image data per ZigBee OTA Image Block Response.
    block_size: int = 64

    def __post_init__(self) -> None:
        if self.gateway_screening and not self.local_update_port:
            raise UsageError("gateway_screening screens local updates: it needs local_update_port=True")
        if self.ota_timeout < 1 or not 1 <= self.block_size <= 255:
            raise UsageError("ota_timeout must be >= 1 s and block_size in 1..255 bytes")

    @classmethod
    def named(cls, name: str) -> Variants:
        """A preset by name (see PRESETS)."""
        if name not in PRESETS:
            raise UsageError(f"unknown variant {name!r}; known: {', '.join(PRESETS)}")
        return PRESETS[name]

    def switches(self) -> dict[str, object]:
        """Every switch and its value (for reports and the demo banner)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_APPROVED = Variants()
PRESETS: dict[str, Variants] = {
    "secmp0007": _APPROVED,
    "pre-secmp0007": replace(_APPROVED, local_update_port=True, hcalcs_local_update_port=True),
    "geo-local-hub-stores": replace(_APPROVED, local_update_port=True, hub_stores_versions=True),
    "geo-local-daily-alert": replace(_APPROVED, local_update_port=True, daily_version_alert=True),
    "gateway-screening": replace(_APPROVED, local_update_port=True, gateway_screening=True),
    "ihd-in-scope": replace(_APPROVED, ihd_in_scope=True),
}
