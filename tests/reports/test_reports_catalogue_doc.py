"""docs/properties.md is the catalogue rendered by ``otaproof properties --markdown``, byte for byte."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from otaproof.cli import main
from otaproof.model.variants import REGISTRY
from otaproof.properties.catalogue import CATALOGUE
from otaproof.reports.catalogue_doc import DESIGNS, REGENERATE, catalogue_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "properties.md"


def test_docs_properties_md_matches_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == catalogue_markdown(), (
        f"docs/properties.md is out of date with the property catalogue: regenerate it with `{REGENERATE}`")


def test_a_changed_statement_makes_the_page_stale() -> None:
    changed = [dataclasses.replace(CATALOGUE[0], statement="No device ever activates anything."), *CATALOGUE[1:]]
    page = catalogue_markdown(changed)
    assert page != DOC.read_text(encoding="utf-8")
    assert "No device ever activates anything." in page


def test_every_property_is_rendered_with_its_statement_kind_and_rationale() -> None:
    page = catalogue_markdown()
    for p in CATALOGUE:
        section = page.split(f"### {p.id}\n", 1)[1].split("\n### ", 1)[0]
        assert p.statement in section and f"**Kind:** {p.kind}" in section and p.rationale in section


def test_the_designs_named_are_registered_variants_and_cover_the_catalogue() -> None:
    assert set(DESIGNS) == {p.id for p in CATALOGUE}
    named = {d for designs, _ in DESIGNS.values() if designs is not None for d in designs}
    assert named <= set(REGISTRY), f"unknown designs: {sorted(named - set(REGISTRY))}"


def test_a_property_without_a_designs_entry_is_refused() -> None:
    stray = dataclasses.replace(CATALOGUE[0], id="P-NEW")
    with pytest.raises(KeyError, match="P-NEW"):
        catalogue_markdown([*CATALOGUE, stray])


def test_the_cli_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["properties", "--markdown"]) == 0
    assert capsys.readouterr().out == catalogue_markdown()
