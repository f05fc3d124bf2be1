"""Wire-edge tests: frames the model abstracts away, at the edges of their fields, sent to a party
in a state a model trace reaches, with the answer the standards fix.

The model's HAN exchange is abstract (an offer, a download, an Upgrade End), so no model trace
sends an Image Block Request at the image's last offset, a Query Next Image when nothing is on
offer, an Upgrade End for another file version or with a status ZCL does not define, an Upgrade
End Response to a device that holds nothing, or a CS05c whose image is truncated. Each
:class:`Edge` replays a model trace (checked against the model when the suite is generated),
then has the adapter put one such frame on the wire as ``sender`` (``Adapter.send_frame``), and
checks the answer (kind and ZCL status, or no answer) and the abstract state after it: unchanged,
except the observations ``changes`` names.

Field values starting with ``@`` are resolved by the adapter from the premises: ``@device.<f>``
(the device's manufacturer_code, image_type, hardware_version, running_version),
``@offer.<f>`` (file_version, image_size of the image the hub holds for the device;
``other_version`` is file_version + 1), ``@image.truncated`` (that image cut in half).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import build
from otaproof.properties.trace import Trace, make_trace
from otaproof.refimpl import messages as m

_SR11_4 = ("SR11_4_update_PPMID_firmware",
           {"by": "S1", "d": "P1", "img": "PPMID_v2", "hash_ok": True, "version_ok": True, "future": False})
NOTIFIED = (("CPL_list_entry", {"img": "PPMID_v2"}), _SR11_4, ("CH_receive_CS05c", {"d": "P1"}))
SERVING = (*NOTIFIED, ("query_next_image[P1]", {"d": "P1"}), ("CH_answer_query_next_image", {"d": "P1"}))
HELD = (*SERVING, ("verify_image[P1]", {"d": "P1"}))
_DEVICE = {"manufacturer_code": "@device.manufacturer_code", "image_type": "@device.image_type"}
_QUERY = {**_DEVICE, "current_file_version": "@device.running_version",
          "hardware_version": "@device.hardware_version"}
_BLOCK = {"file_version": "@offer.file_version", "max_data_size": 64}


@dataclass(frozen=True)
class Edge:
    """One frame at an edge, the model trace that reaches the state it is sent in, and the answer."""

    name: str
    rule: str                          # the rule it checks, one sentence
    prefix: tuple[tuple[str, dict[str, Any]], ...]
    sender: str                        # a device name (P1), "CH" or "DSP": who the frame claims to be from
    kind: str                          # the frame (refimpl.messages names)
    fields: Mapping[str, Any]
    answer: str | None = None          # the kind the receiver answers with (None: no answer at all)
    status: int | None = None          # its ZCL status, if it has one
    changes: Mapping[str, Any] = field(default_factory=dict)  # observations that change, and to what


EDGES: dict[str, Edge] = {e.name: e for e in (
    Edge("query_with_nothing_on_offer", "a Query Next Image while the hub holds no image for the device is "
         "answered NO_IMAGE_AVAILABLE and changes nothing", (), "P1", m.QUERY_NEXT_IMAGE, _QUERY,
         m.QUERY_NEXT_IMAGE_RESPONSE, m.ZCL_NO_IMAGE_AVAILABLE),
    Edge("query_repeated_while_serving", "a second Query Next Image during a transfer is answered "
         "NO_IMAGE_AVAILABLE and leaves the transfer as it was", SERVING, "P1", m.QUERY_NEXT_IMAGE, _QUERY,
         m.QUERY_NEXT_IMAGE_RESPONSE, m.ZCL_NO_IMAGE_AVAILABLE),
    Edge("block_at_the_image_end", "an Image Block Request at the offset just past the image is answered "
         "ABORT, with no data", SERVING, "P1", m.IMAGE_BLOCK_REQUEST, {**_BLOCK, "offset": "@offer.image_size"},
         m.IMAGE_BLOCK_RESPONSE, m.ZCL_ABORT),
    Edge("block_for_another_version", "an Image Block Request for a file version not on offer is ignored",
         SERVING, "P1", m.IMAGE_BLOCK_REQUEST, {**_BLOCK, "file_version": "@offer.other_version", "offset": 0}),
    Edge("block_before_the_query", "an Image Block Request before the device has queried the offer is ignored",
         NOTIFIED, "P1", m.IMAGE_BLOCK_REQUEST, {**_BLOCK, "offset": 0}),
    Edge("upgrade_end_with_an_undefined_status", "an Upgrade End whose status ZCL does not define ends the "
         "transfer as a failure: the hub drops the image and raises CCS08 file transfer failure", SERVING, "P1",
         m.UPGRADE_END, {**_DEVICE, "file_version": "@offer.file_version", "status": 0x99}, m.CCS08,
         changes={"CH.ota_image[P1]": "none", "CH->DSP[P1]": ("CCS08(file_transfer_failure)",)}),
    Edge("upgrade_end_before_the_query", "an Upgrade End before the device has queried the offer is ignored",
         NOTIFIED, "P1", m.UPGRADE_END, {**_DEVICE, "file_version": "@offer.file_version", "status": m.ZCL_SUCCESS}),
    Edge("upgrade_end_for_another_version", "an Upgrade End for a file version not on offer is ignored", SERVING,
         "P1", m.UPGRADE_END, {**_DEVICE, "file_version": "@offer.other_version", "status": m.ZCL_SUCCESS}),
    Edge("cs05c_with_a_truncated_image", "a CS05c whose image is truncated is discarded with CCS08 image "
         "discarded", (), "DSP", m.CS05C, {"image": "@image.truncated", "firmware_version": 2,
                                           "activation_time": None}, m.CCS08,
         changes={"CH->DSP[P1]": ("CCS08(image_discarded)",)}),
    Edge("upgrade_end_response_with_nothing_held", "an Upgrade End Response to a device that holds no image is "
         "ignored", (), "CH", m.UPGRADE_END_RESPONSE, {"file_version": 2, "current_time": 0, "upgrade_time": 0}),
    Edge("upgrade_end_response_for_another_version", "an Upgrade End Response for a version other than the "
         "one the device holds is ignored", HELD, "CH", m.UPGRADE_END_RESPONSE,
         {"file_version": "@offer.other_version", "current_time": 0, "upgrade_time": 0}),
)}
DEVICE = "P1"  # every edge concerns this device


def edge_traces(scenario: Scenario) -> list[tuple[Edge, Trace]]:
    """Each edge with its prefix as a trace of ``scenario``'s model (the approved design), checked
    step by step in the explicit semantics; an edge whose prefix the model cannot take is left out."""
    system = build(scenario).system
    out = []
    for edge in EDGES.values():
        interp, choices = Interpreter(system), []
        state = interp.initial_state()
        for action, params in edge.prefix:
            index = next((i.index for i in system.instances if i.action == action and dict(i.params) == params), None)
            if index is None or index not in interp.enabled(state):
                break
            state = interp.step(state, index)
            choices.append(index)
        else:
            out.append((edge, make_trace(system, None, choices, f"edge:{edge.name}", sorted(scenario.threats),
                                         sorted(scenario.faults))))
    return out
