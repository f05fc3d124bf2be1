"""The adapter interface between model traces and a system under test (SUT).

A generated test drives a SUT through an :class:`Adapter`: ``start`` builds the SUT configured
as a variant under a threat and fault model, ``perform`` carries out one abstract action of the
model (its name and parameters, as in a trace step), and ``observe`` reads the SUT back as an
*abstract state*: a flat mapping from observation names to values in the model's vocabulary.
The same names are computed from a model state by :func:`abstract_state`, so the two can be
compared after every step (:func:`divergences`).

Observations (``d`` a device such as ``P1``/``H1``; ``M`` its machine ``PPMID``/``HCALCS``;
images are the model's abstract names, e.g. ``PPMID_v2``, ``PPMID_hwB``, ``PPMID_rogue``,
``PPMID_otherType``)::

    M.d.running, M.d.held            image running / held for activation ("none")
    M.d.supplier_anchor              supplier whose key the device trusts for critical commands
    M.d.scheduled                    waiting for a time: a PPMID for the upgrade time of its Upgrade
                                     End Response, an HCALCS for a future-dated CS06's execution time
    DSP.SMI[d].DeviceFirmwareVersion the SMI's recorded firmware *version number* (int)
    DSP.SMI[d].DeviceFirmwareVersionStatus
                                     current | update_in_progress | failed (SR 8.2 names)
    DSP.registered_supplier          supplier registered for the premises
    CPL.listed[img]                  the image's hash is listed on the CPL
    CH.ota_image[d]                  image the hub holds for a PPMID's OTA transfer ("none")
    channel names (DSP->CH[d], CH->DSP[d], CH->d, d->CH)
                                     message kinds in flight, oldest first (a tuple); a device's
                                     version report also states its version and an alert or
                                     response its outcome: "CS09(v2)", "CS06_RESPONSE(v1, counter_failure)"

Optional, when the SUT can report it (compared only if ``observe`` returns it)::

    DUIS.requests                    every Service Request made, oldest first, with the devices that
                                     have reported: "accepted (P1 ok)", "failed (H1 failed)", "rejected"
                                     (derived from the trace by ``generators.duis``)

An adapter may also implement ``send_frame(sender, kind, fields)`` for the wire-edge tests
(``generators.edges``); one that does not declares ``frame:<kind>`` in ``unsupported``. The
reference adapter fails a test on any message that breaks a wire rule (``generators.wire``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from otaproof.model.config import Parameters
from otaproof.model.vocabulary import image_catalogue

_DEVICE_VARS = re.compile(r"^(PPMID|HCALCS)\.(\w+)\.(running|held|supplier_anchor|scheduled)$")
_PLAIN_VARS = re.compile(
    r"^(DSP\.SMI\[\w+\]\.DeviceFirmwareVersionStatus|DSP\.registered_supplier|CPL\.listed\[\w+\]|CH\.ota_image\[\w+\])$")
_SMI_VERSION = re.compile(r"^DSP\.SMI\[\w+\]\.DeviceFirmwareVersion$")
_CHANNEL_LEN = re.compile(r"^(.+)\.len$")
REPORTS = ("CS09", "CS06_RESPONSE", "CS08_RESPONSE")  # messages whose stated version is observed
OUTCOMES = ("CCS08", "FW_DISTRIBUTION_RECEIPT", "CS06_RESPONSE")  # whose outcome is observed


@dataclass(frozen=True)
class Setup:
    """What the SUT must be configured as: a variant, threat and fault models, model parameters."""

    variant: str
    threats: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One abstract action of the model, as a trace names it."""

    number: int
    machine: str
    action: str
    parameters: Mapping[str, Any]

    def label(self) -> str:
        """``action(p=v, ...)`` as printed in reports and failure messages."""
        args = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        return f"{self.action}({args})"


class Unsupported(Exception):
    """The SUT cannot be configured this way or cannot carry out this action. The test is skipped
    only when the adapter declares the gap in its ``unsupported`` mapping; otherwise it fails."""


class Refused(Exception):
    """The SUT refused an action outright (e.g. a local update on a device whose port is closed)."""


@runtime_checkable
class Adapter(Protocol):
    """What a system under test implements to run generated suites (see README, "Adapters")."""

    # Optionally, an attribute ``unsupported: Mapping[str, str]`` declares what the adapter cannot
    # drive, each with its reason: keys ``variant:NAME``, ``threat:NAME``, ``fault:NAME`` and
    # ``action:NAME``. Unsupported raised for a declared key skips the test; for any other, it fails.

    def start(self, setup: Setup) -> None:
        """Build a fresh SUT configured as ``setup``; raise Unsupported if it cannot be."""

    def perform(self, step: Step) -> str | None:
        """Carry out ``step``. Return the outcome the SUT reported for it when it reports one
        (a Service Request's acceptance or rejection, named as the model's branch), else None.
        Raise Refused if the SUT refuses the action, Unsupported if it cannot drive it."""

    def observe(self) -> dict[str, Any]:
        """The SUT's current abstract state (names and values as in this module's docstring)."""


def abstract_state(state: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The observations a SUT must match, computed from a model state (trace ``state``)."""
    versions = {name: info.version for name, info in image_catalogue(_parameters(parameters)).items()}
    versions["none"] = 0
    out: dict[str, Any] = {}
    for name, value in state.items():
        if _DEVICE_VARS.match(name) or _PLAIN_VARS.match(name):
            out[name] = value
        elif _SMI_VERSION.match(name):
            out[name] = versions[value]
        elif (m := _CHANNEL_LEN.match(name)) and f"{(chan := m.group(1))}[0].kind" in state:
            out[chan] = tuple(_in_flight(state, f"{chan}[{i}]", versions) for i in range(value))
    return out


def in_flight_label(kind: str, version: int | None, outcome: str | None) -> str:
    """How a message in flight is observed: ``CS06_RESPONSE(v1, counter_failure)``, ``CS09(v2)``, ``CS05c``."""
    parts = ([f"v{version}"] if kind in REPORTS else []) + ([str(outcome)] if kind in OUTCOMES else [])
    return f"{kind}({', '.join(parts)})" if parts else kind


def _in_flight(state: Mapping[str, Any], slot: str, versions: Mapping[str, int]) -> str:
    kind = state[f"{slot}.kind"]
    return in_flight_label(kind, versions[state[f"{slot}.img"]] if kind in REPORTS else None,
                           state.get(f"{slot}.outcome"))


def _parameters(parameters: Mapping[str, Any]) -> Parameters:
    return Parameters().with_values(dict(parameters)) if parameters else Parameters()


def divergences(expected: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    """Every observation on which the SUT differs from the model, one readable line each."""
    lines = []
    for name in sorted(expected):
        if name not in observed:
            lines.append(f"{name}: model {_show(expected[name])}, the SUT does not report it")
        elif _norm(observed[name]) != _norm(expected[name]):
            lines.append(f"{name}: model {_show(expected[name])}, SUT {_show(observed[name])}")
    return lines


def _norm(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]" if value else "[] (nothing in flight)"
    return str(value)
