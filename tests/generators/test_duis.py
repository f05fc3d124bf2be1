"""DUIS Service Requests derived from model traces, and compared with the refimpl's DSP on replay."""

from __future__ import annotations

from typing import Any

import pytest

from otaproof.generators.duis import OBSERVATION, requests_after
from otaproof.generators.replay import Divergence
from otaproof.refimpl import dsp as dsp_module
from tests.generators.test_generate import HCALCS_UPDATE, PPMID_UPDATE, _sr11_4, replay, trace_of

COS = [("CoS_change_of_supplier", {"new": "S2"}), ("DSP_send_CS02b", {"d": "P1"}), ("CH_relay_to_device", {"d": "P1"}),
       ("replace_supplier_anchor[P1]", {"d": "P1"}), ("DSP_send_CS02b", {"d": "H1"}),
       ("CH_relay_to_device", {"d": "H1"}), ("replace_supplier_anchor[H1]", {"d": "H1"})]
HW_MISMATCH = [("CPL_list_entry", {"img": "PPMID_hwB"}), _sr11_4("PPMID_hwB"), ("CH_receive_CS05c", {"d": "P1"}),
               ("query_next_image[P1]", {"d": "P1"}), ("CH_answer_query_next_image", {"d": "P1"}),
               ("DSP_receive_CCS08_alert", {"d": "P1"})]


def states(steps: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, ...]]:
    data = trace_of(steps).to_json()
    return [requests_after(data, n) for n in range(len(steps) + 1)]


def test_an_sr11_4_request_completes_on_the_cs09_not_on_the_successful_ccs08() -> None:
    seen = states(PPMID_UPDATE)
    assert seen[1] == () and seen[2] == ("accepted",)
    assert seen[-3] == ("accepted",)  # after the CCS08 success alert
    assert seen[-1] == ("completed (P1 ok)",)


def test_an_sr11_4_request_fails_on_a_ccs08_failure() -> None:
    seen = states(HW_MISMATCH)
    assert seen[-2] == ("accepted",) and seen[-1] == ("failed (P1 failed)",)


def test_sr11_1_and_sr11_3_each_end_on_their_own_report() -> None:
    seen = states(HCALCS_UPDATE)
    assert seen[5] == ("accepted",) and seen[6] == ("completed (H1 ok)",)
    assert seen[7] == ("completed (H1 ok)", "accepted") and seen[-1] == ("completed (H1 ok)", "completed (H1 ok)")


def test_a_change_of_supplier_ends_when_every_device_has_answered() -> None:
    seen = states(COS)
    assert seen[1] == ("accepted",) and seen[4] == ("accepted (P1 ok)",) and seen[-1] == ("completed (H1 ok, P1 ok)",)


def test_a_rejected_request_is_recorded_as_rejected() -> None:
    assert states([_sr11_4("PPMID_v2")])[-1] == ("rejected",)  # PPMID_v2 is not on the CPL


@pytest.mark.parametrize("steps", [PPMID_UPDATE, HCALCS_UPDATE, COS, HW_MISMATCH],
                         ids=["sr11_4", "sr11_1_and_sr11_3", "cos", "ccs08_failure"])
def test_the_refimpls_dsp_agrees_and_a_dsp_that_never_closes_a_request_does_not(
        monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, dict[str, Any]]]) -> None:
    trace = trace_of(steps)
    run = replay(trace)
    assert run.observed[OBSERVATION] == run.expected(len(steps))[OBSERVATION] != ()
    monkeypatch.setattr(dsp_module.DSP, "_close", lambda self, device_id, track, ok: None)
    with pytest.raises(Divergence, match=rf"{OBSERVATION}: model \[.*(ok|failed)\)\], SUT \[.*accepted\]"):
        replay(trace)


def test_an_sr8_2_answer_that_is_not_the_smis_record_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = trace_of([("SR8_2_read_inventory", {"by": "S1", "d": "P1"})])
    assert trace.steps[0].branch == "answered"
    replay(trace)
    monkeypatch.setattr(dsp_module.SMI, "read_inventory", lambda self, device_id, cpl: None)
    with pytest.raises(Divergence, match=r"SR 8\.2 answers"):
        replay(trace)
