"""Model parameters, threat models and fault models: names, meanings, defaults and validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from otaproof.model.lang import ModelError

THREATS: dict[str, str] = {
    "local_physical": "attacker with physical access to a HAN device (its local update port)",
    "han_mitm": "attacker on the HAN: can drop, modify, inject and replay ZigBee messages "
                "(assumes HAN link security is broken)",
    "compromised_key": "attacker holding the registered supplier's signing key and DCC User "
                       "credentials: submits Service Requests as that supplier",
    "old_supplier": "the previous supplier keeps its key and keeps acting after a change of supplier",
}

FAULTS: dict[str, str] = {
    "loss": "a message in a DSP-hub or hub-device channel is lost",
    "duplication": "a message is delivered twice",
    "reordering": "the two oldest messages of a channel swap places",
    "delay": "the oldest message of a channel is overtaken by the others",
    "power": "a hub or device loses power (RAM state cleared; the running image survives)",
}


@dataclass(frozen=True)
class Parameters:
    """Size and behaviour parameters of the SECMP0007 model (defaults: fast checks)."""

    ppmids: int = 1            # PPMIDs per Communications Hub
    hcalcs: int = 1            # HCALCSs per Communications Hub
    versions: int = 2          # genuine firmware versions 1..versions per device model
    capacity: int = 1          # capacity of every channel (messages in flight)
    counter_max: int = 2       # largest originator counter a supplier can use
    anti_rollback: bool = True   # devices refuse an image older than the running one
    local_updates: bool = False  # installers may update firmware through a local port
    response_bound: int = 8    # k for bounded-response properties (system steps)
    alert_budget: int = 1      # B for P-ALERT-BUDGET: unsolicited alerts per device per day

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {
        "ppmids": (0, 8), "hcalcs": (0, 8), "versions": (1, 4), "capacity": (1, 3), "counter_max": (1, 7),
        "response_bound": (1, 40), "alert_budget": (1, 6)}

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.LIMITS.items():
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
                raise ModelError(f"parameter {name}={val!r} must be an integer in {lo}..{hi}")
        if self.ppmids + self.hcalcs == 0:
            raise ModelError("parameters ppmids and hcalcs are both 0: the hub has no device to update")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_values(self, values: Mapping[str, str | int | bool]) -> Parameters:
        """A copy with parameters set from ``name=value`` strings or values (CLI ``--param``)."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in self.names():
                raise ModelError(f"unknown parameter {name!r}; known: {', '.join(self.names())}")
            default = getattr(self, name)
            changes[name] = _convert(name, raw, default)
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {n: getattr(self, n) for n in self.names()}


def _convert(name: str, raw: object, default: object) -> object:
    if not isinstance(raw, str):
        return raw
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ModelError(f"parameter {name}={raw!r} must be true or false")
    try:
        return int(raw)
    except ValueError:
        raise ModelError(f"parameter {name}={raw!r} must be an integer") from None


@dataclass(frozen=True)
class Scenario:
    """What to check: a variant, threat and fault models, and parameters."""

    variant: str = "secmp0007"
    threats: frozenset[str] = frozenset()
    faults: frozenset[str] = frozenset()
    parameters: Parameters = field(default_factory=Parameters)
    # True: model/invariants.py's hand-written lemma candidates; False: candidates generated from the
    # model's structure (properties/templates.py) instead; None: the hand-written ones for a built-in
    # variant, generated ones for a design change from a file or plugin (``variants.uses_design_lemmas``)
    design_lemmas: bool | None = None

    def __post_init__(self) -> None:
        for t in self.threats:
            if t not in THREATS:
                raise ModelError(f"unknown threat {t!r}; known: {', '.join(THREATS)}")
        for f in self.faults:
            if f not in FAULTS:
                raise ModelError(f"unknown fault {f!r}; known: {', '.join(FAULTS)}")

    def describe(self) -> str:
        t = "+".join(sorted(self.threats)) or "no attacker"
        f = "+".join(sorted(self.faults)) or "no faults"
        return f"{self.variant} | {t} | {f}"
