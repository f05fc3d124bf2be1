"""Wire rules: the refimpl's own messages keep them; each broken rule is named; a replay fails on
the first malformed message even where the model's abstract state cannot see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otaproof.generators.replay import Divergence
from otaproof.generators.wire import CATALOGUE, WireRules
from otaproof.refimpl import Premises, PremisesConfig, Variants
from otaproof.refimpl import hub as hub_module
from otaproof.refimpl import messages as m
from otaproof.refimpl.messages import Message
from tests.generators.test_generate import HCALCS_UPDATE, PPMID_UPDATE, replay, trace_of


def _exchanges(premises: Premises) -> list[Message]:
    """Every message of an OTA update, a hardware mismatch, SR 11.1 + 11.3, SR 11.2 and a CoS."""
    p = premises
    p.update_ppmid(p.firmware("PPMID", 2))
    p.update_ppmid(p.firmware("PPMID", 3, hardware=(0x0900, 0x0999)))
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.activate(image)
    p.read_firmware_version(p.ppmid.device_id)
    p.change_of_supplier("S2")
    return list(p.network.sent)


def _check_all(messages: list[Message]) -> list[str]:
    rules, faults = WireRules(), []
    for msg in messages:
        faults += rules.check(msg)
        rules.note(msg)
    return faults


@pytest.fixture(scope="module")
def sent() -> list[Message]:
    return _exchanges(Premises(PremisesConfig(seed=1)))


def test_the_reference_implementation_keeps_every_rule(sent: list[Message]) -> None:
    assert {msg.kind for msg in sent} >= {m.CS05C, m.IMAGE_NOTIFY, m.QUERY_NEXT_IMAGE, m.QUERY_NEXT_IMAGE_RESPONSE,
                                          m.IMAGE_BLOCK_REQUEST, m.IMAGE_BLOCK_RESPONSE, m.UPGRADE_END,
                                          m.UPGRADE_END_RESPONSE, m.CCS08, m.CS09, m.FW_DISTRIBUTION, m.FDR,
                                          m.CS06, m.CS06_RESPONSE, m.CS08_READ, m.CS08_RESPONSE, m.CS02B,
                                          m.CS02B_RESPONSE}
    assert _check_all(sent) == []


def test_the_hubs_own_version_answer_keeps_every_rule() -> None:
    p = Premises(PremisesConfig(seed=1, variants=Variants(hub_stores_versions=True)))
    p.update_ppmid(p.firmware("PPMID", 2))
    p.read_firmware_version(p.ppmid.device_id)
    assert any(msg.kind == m.CS08_RESPONSE and msg.body.get("answered_by") == "CH" for msg in p.network.sent)
    assert _check_all(list(p.network.sent)) == []


def _edit(kind: str, change: Callable[[dict[str, Any]], None],
          nth: int = 0) -> Callable[[list[Message]], list[Message]]:
    def apply(messages: list[Message]) -> list[Message]:
        out, seen = [], 0
        for msg in messages:
            if msg.kind == kind:
                if seen == nth:
                    body = dict(msg.body)
                    change(body)
                    msg = Message(msg.kind, msg.src, msg.dst, msg.device, body)
                seen += 1
            out.append(msg)
        return out
    return apply


BROKEN = {  # what is changed -> (edit, the fault it must be reported as)
    "CCS08 alert code says failure on success": (
        _edit(m.CCS08, lambda b: b.update(alert_code=hex(m.ALERT_FIRMWARE_TRANSFER_FAILURE))), "contradicts outcome"),
    "CCS08 without the image's version": (
        _edit(m.CCS08, lambda b: b.update(firmware_version=None)), "is not that of an image"),
    "CCS08 reason missing": (_edit(m.CCS08, lambda b: b.pop("reason")), "field reason is missing"),
    "Image Notify payload type 4": (_edit(m.IMAGE_NOTIFY, lambda b: b.update(payload_type=4)), "payload_type"),
    "Image Notify without image type": (_edit(m.IMAGE_NOTIFY, lambda b: b.pop("image_type")), "image_type is missing"),
    "Image Notify of another version": (_edit(m.IMAGE_NOTIFY, lambda b: b.update(file_version=7)), "not the image"),
    "Query response offers another image type": (
        _edit(m.QUERY_NEXT_IMAGE_RESPONSE, lambda b: b.update(image_type=0x0BAD)), "the device asked for"),
    "Query response without a size": (_edit(m.QUERY_NEXT_IMAGE_RESPONSE, lambda b: b.pop("image_size")),
                                      "image_size is missing"),
    "Block response at another offset": (_edit(m.IMAGE_BLOCK_RESPONSE, lambda b: b.update(offset=1)),
                                         "does not answer the request"),
    "Block response without data": (_edit(m.IMAGE_BLOCK_RESPONSE, lambda b: b.update(data=b"")), "field data"),
    "ABORT block response with data": (_edit(m.IMAGE_BLOCK_RESPONSE, lambda b: b.update(status=m.ZCL_ABORT)),
                                       "only SUCCESS carries data"),
    "ABORT block response with data None": (
        _edit(m.IMAGE_BLOCK_RESPONSE, lambda b: b.update(status=m.ZCL_ABORT, data=None)), "only SUCCESS carries data"),
    "Upgrade End Response for another version": (
        _edit(m.UPGRADE_END_RESPONSE, lambda b: b.update(file_version=9)), "does not answer the Upgrade End"),
    "Upgrade End without manufacturer": (_edit(m.UPGRADE_END, lambda b: b.update(manufacturer_code=None)),
                                         "manufacturer_code holds None"),
    "receipt text contradicts its code": (
        _edit(m.FDR, lambda b: b.update(result="Firmware Verification Failed")), "contradicts alert code"),
    "receipt without the hash": (_edit(m.FDR, lambda b: b.update(firmware_hash=None)), "firmware_hash"),
    "CS09 without the hash": (_edit(m.CS09, lambda b: b.pop("firmware_hash")), "firmware_hash is missing"),
    "CS02b response in capitals": (_edit(m.CS02B_RESPONSE, lambda b: b.update(result="SUCCESS")), "field result"),
    "CS06 response with neither outcome nor error": (_edit(m.CS06_RESPONSE, lambda b: b.pop("outcome")),
                                                     "neither an activation outcome"),
    "CS08 response without the hash": (_edit(m.CS08_RESPONSE, lambda b: b.pop("firmware_hash")),
                                       "neither the device's firmware hash"),
    "CS05c without the stated version": (_edit(m.CS05C, lambda b: b.pop("firmware_version")),
                                         "firmware_version is missing"),
    "CS02b without the command": (_edit(m.CS02B, lambda b: b.update(command=None)), "field command"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_rule_is_reported(sent: list[Message], name: str) -> None:
    edit, fault = BROKEN[name]
    faults = _check_all(edit(sent))
    assert any(fault in f for f in faults), faults


def test_an_unknown_kind_and_a_message_to_nobody_are_reported(sent: list[Message]) -> None:
    first = sent[0]
    rules = WireRules()
    assert "unknown kind" in rules.check(Message("OTA Frobnicate", first.src, first.dst, first.device))[0]
    assert "not addressed" in rules.check(Message(first.kind, first.src, None, first.device, first.body))[0]  # type: ignore[arg-type]


def test_every_catalogued_kind_is_a_refimpl_message_kind() -> None:
    kinds = {v for k, v in vars(m).items() if k.isupper() and isinstance(v, str) and not k.endswith("ENDPOINT")}
    assert set(CATALOGUE) == kinds


@pytest.mark.parametrize("steps", [PPMID_UPDATE, HCALCS_UPDATE], ids=["sr11_4", "sr11_1_and_sr11_3"])
def test_a_replay_fails_on_a_malformed_message_the_abstract_state_cannot_see(
        monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, dict[str, Any]]]) -> None:
    trace = trace_of(steps)
    replay(trace)
    send = hub_module.CommsHub._send

    def without_reason(self: hub_module.CommsHub, dst: str, kind: str, device: str | None = None, **body: Any) -> None:
        body.pop("reason", None)
        body.pop("image_size", None)
        send(self, dst, kind, device, **body)

    monkeypatch.setattr(hub_module.CommsHub, "_send", without_reason)
    if steps is HCALCS_UPDATE:  # no CCS08 and no Query response in this flow: nothing to catch
        replay(trace)
        return
    with pytest.raises(Divergence, match=r"step 5 \(CH: CH_answer_query_next_image.*\n?.*a malformed message "
                                         r"on the wire: .*image_size is missing"):
        replay(trace)
