"""Wire-edge tests: each edge's prefix is a model trace, the refimpl answers every edge as the
standards fix, and a party that answers otherwise fails the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from otaproof.generators.edges import EDGES, edge_traces
from otaproof.generators.refimpl_adapter import RefimplAdapter
from otaproof.generators.replay import Divergence, Replay
from otaproof.generators.suite import SuitePlan, write_suite
from otaproof.model.config import Scenario
from otaproof.properties.trace import Trace
from otaproof.refimpl import hub as hub_module
from otaproof.refimpl.hub import OtaTransfer

TRACES = {edge.name: trace for edge, trace in edge_traces(Scenario("secmp0007"))}


def run_edge(name: str) -> Replay:
    run = Replay(RefimplAdapter(), TRACES[name].to_json())
    run.start()
    for s in TRACES[name].steps:
        run.step(s.step)
    run.edge(name)
    return run


def test_every_edge_has_a_model_trace_to_its_state() -> None:
    assert set(TRACES) == set(EDGES)
    assert all(isinstance(t, Trace) and len(t.steps) == len(EDGES[n].prefix) for n, t in TRACES.items())


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_refimpl_answers_each_edge_as_the_standards_fix(name: str) -> None:
    run = run_edge(name)
    assert all(run.observed[k] == v for k, v in EDGES[name].changes.items())


def test_a_hub_that_takes_an_undefined_status_for_success_fails_its_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(hub_module._END_STATUS, 0x99, hub_module.TransferOutcome.SUCCESS)
    with pytest.raises(Divergence, match=r"upgrade_end_with_an_undefined_status.*answers OTA Upgrade End Response"):
        run_edge("upgrade_end_with_an_undefined_status")


def test_a_hub_that_serves_a_second_query_fails_its_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OtaTransfer, "can", lambda self, event: True)
    monkeypatch.setattr(OtaTransfer, "fire", lambda self, event: None)
    with pytest.raises(Divergence, match=r"query_repeated_while_serving.*answers .*status 0"):
        run_edge("query_repeated_while_serving")


def test_a_hub_that_serves_past_the_image_end_fails_its_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module.m, "ZCL_ABORT", hub_module.m.ZCL_SUCCESS)
    with pytest.raises(Divergence):
        run_edge("block_at_the_image_end")


def test_the_suite_has_a_module_of_edge_tests(tmp_path: Path) -> None:
    plan = SuitePlan(edges=edge_traces(Scenario("secmp0007")))
    summary = write_suite(plan, tmp_path / "suite")
    assert summary.modules["test_wire_edges"] == len(EDGES)
    text = (tmp_path / "suite" / "test_wire_edges.py").read_text()
    assert "run.edge('block_at_the_image_end')" in text
