"""The DUIS Service Requests a DSP holds after each step of a model trace: what its supplier is told.

The model decides each request's acceptance (the Service Request's branch) but keeps no request
records: DUIS fixes when a request ends, and that follows from the steps alone. A request ends
when every device it was accepted for has sent its final report, *completed* if each report
was a success and *failed* otherwise. The final reports are: for SR 11.4 a CCS08 failure alert
or the CS09 activation alert; for SR 11.1 the Firmware Distribution Receipt; for SR 11.3 the
CS06 response; for SR 11.2 the CS08 response; for a change of supplier each device's CS02b
response; for a screened local update the CS09. SR 8.2 is answered at once. A request is
observed with the devices that have reported so far: ``accepted (P1 ok)``, ``failed (H1 failed)``.

:func:`requests_after` gives the states, in the order the requests were made, after a trace's
first ``n`` steps; an adapter that reports ``DUIS.requests`` is compared with it after every step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OBSERVATION = "DUIS.requests"  # observation name: the state of every request made, oldest first

# Service Request action -> the report track its acceptance opens for its device
OPENS = {"SR11_4_update_PPMID_firmware": "transfer", "SR11_1_update_firmware": "distribution",
         "SR11_3_activate_firmware": "activation", "SR11_2_read_firmware_version": "read",
         "LOCAL_screened_update": "local"}
ANY = None  # "every branch" (closes) or "always a success" (succeeds)
# DSP receipt action -> each (track it closes, the branches that close it, the branches that succeed)
CLOSES: dict[str, tuple[tuple[str, frozenset[str] | None, frozenset[str] | None], ...]] = {
    "DSP_receive_CCS08_alert": (("transfer", frozenset({"transfer_failed"}), frozenset()),),
    "DSP_receive_CS09_alert": (("transfer", ANY, ANY), ("local", ANY, ANY)),
    "DSP_receive_distribution_receipt": (("distribution", ANY, frozenset({"verification_successful"})),),
    "DSP_receive_CS06_response": (("activation", ANY, frozenset({"activation_success"})),),
    "DSP_receive_CS08_response": (("read", ANY, ANY),),
    "replace_supplier_anchor": (("cos", ANY, frozenset({"anchor_replaced", "ok"})),),
}
_DEVICE = re.compile(r"^(?:PPMID|HCALCS)\.(\w+)\.running$")


@dataclass
class _Request:
    pending: set[str]
    state: str = "accepted"
    reports: dict[str, bool] = field(default_factory=dict)  # device -> its final report was a success

    def report(self, device: str, ok: bool) -> None:
        if device not in self.pending:
            return
        self.pending.discard(device)
        self.reports[device] = ok
        if not self.pending:
            self.state = "completed" if all(self.reports.values()) else "failed"

    def shown(self) -> str:
        """``completed (H1 ok, P1 ok)``: the state and each device's final report so far."""
        return show_request(self.state, self.reports)


def show_request(state: str, reports: Mapping[str, bool]) -> str:
    """How a request is observed: its state, then the devices that have reported and how."""
    if state == "rejected" or not reports:
        return state
    shown = ", ".join(f"{d} {'ok' if ok else 'failed'}" for d, ok in sorted(reports.items()))
    return f"{state} ({shown})"


@dataclass
class ServiceRequests:
    """The requests made so far and which (device, track) each open report will close."""

    devices: tuple[str, ...]
    made: list[_Request] = field(default_factory=list)
    open: dict[tuple[str, str], _Request] = field(default_factory=dict)

    def step(self, action: str, parameters: Mapping[str, Any], branch: str) -> None:
        """Apply one trace step (its action, parameters and the branch the model took)."""
        name = action.split("[")[0]
        d = parameters.get("d") or (action.split("[")[1].rstrip("]") if "[" in action else "")
        if name in OPENS or name == "SR8_2_read_inventory":
            if branch.startswith("rejected"):
                self.made.append(_Request(set(), "rejected"))
            elif name == "SR8_2_read_inventory":  # answered at once from the SMI
                self.made.append(_Request(set(), "completed", {d: True}))
            else:
                self._accept([d], OPENS[name])
        elif name == "CoS_change_of_supplier":
            self._accept(list(self.devices), "cos")
        for track, closes, succeeds in CLOSES.get(name, ()):
            if closes is ANY or branch in closes:
                self._close(d, track, succeeds is ANY or branch in succeeds)

    def _accept(self, devices: Sequence[str], track: str) -> None:
        request = _Request(set(devices))
        self.made.append(request)
        for d in devices:
            self.open[d, track] = request

    def _close(self, device: str, track: str, ok: bool) -> None:
        request = self.open.pop((device, track), None)
        if request is not None:
            request.report(device, ok)

    def states(self) -> tuple[str, ...]:
        """Each request, oldest first: accepted | completed | failed | rejected, with the devices
        that have reported (:func:`show_request`)."""
        return tuple(r.shown() for r in self.made)


def requests_after(trace: Mapping[str, Any], n: int) -> tuple[str, ...]:
    """The DUIS request states after the first ``n`` steps of a trace (JSON form)."""
    devices = tuple(sorted(m.group(1) for name in trace["initial_state"] if (m := _DEVICE.match(name))))
    requests = ServiceRequests(devices)
    for s in trace["steps"][:n]:
        requests.step(s["action"], s["parameters"], s["branch"])
    return requests.states()
