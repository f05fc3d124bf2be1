"""Properties and boundaries name actions strictly: an unknown name is an error, a declared action
without instances never fires, and categories replace name prefixes."""

from __future__ import annotations

import pytest

from otaproof.model.config import Scenario
from otaproof.model.lang import FALSE, ModelError
from otaproof.model.variants import build
from otaproof.properties import catalogue
from otaproof.properties.boundaries import boundaries
from otaproof.properties.catalogue import get_property
from otaproof.properties.events import in_category, instances_about, took


def test_an_action_the_model_never_declared_is_an_error() -> None:
    bm = build(Scenario())
    with pytest.raises(ModelError, match="declares no action 'CS09_activate\\[P1\\]'"):
        took(bm, "CS09_activate[P1]")
    with pytest.raises(ModelError, match="declares no action 'DSP_receive_FDR'"):
        instances_about(bm, ("DSP_receive_FDR",), "H1")


def test_a_declared_action_without_instances_never_fires() -> None:
    assert took(build(Scenario()), "HAN_drop[P1]") is FALSE  # han_mitm off: declared, filtered
    assert took(build(Scenario(threats=frozenset({"han_mitm"}))), "HAN_drop[P1]") is not FALSE
    assert took(build(Scenario("pre-secmp0007")), "SR11_4_update_PPMID_firmware", ("accepted",)) is FALSE  # withdrawn


def test_a_renamed_action_in_a_property_is_an_error_not_a_vacuous_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    bm = build(Scenario())
    monkeypatch.setattr(catalogue, "REPORT_HOPS", (*catalogue.REPORT_HOPS, "DSP_receive_CS09"))
    with pytest.raises(ModelError, match="DSP_receive_CS09"):
        get_property("P-SMI-BOUNDED").formula(bm)


def test_categories_select_actions_and_unknown_categories_are_errors() -> None:
    assert in_category(build(Scenario()), "local_update") == ()  # declared, no instance without local_updates
    assert in_category(build(Scenario("pre-secmp0007")), "local_update") == (
        "LOCAL_installer_update[P1]", "LOCAL_installer_update[H1]")
    assert in_category(build(Scenario("gateway-screening")), "local_update") == ("LOCAL_screened_update[P1]",)
    assert set(in_category(build(Scenario()), "service_request")) == {
        "SR11_4_update_PPMID_firmware", "SR11_1_update_firmware", "SR11_3_activate_firmware",
        "SR11_2_read_firmware_version", "SR8_2_read_inventory"}
    with pytest.raises(ModelError, match="unknown action category 'LOCAL_'"):
        in_category(build(Scenario()), "LOCAL_")


def test_the_local_attempt_boundary_exists_only_where_a_local_port_does() -> None:
    def local_attempt(variant: str) -> list[str]:
        return [b.name for b in boundaries(build(Scenario(variant))) if b.property == "P-LOCAL-BANNED"]
    assert local_attempt("secmp0007") == []
    assert local_attempt("pre-secmp0007") == ["local-attempt"]
