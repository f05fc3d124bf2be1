"""The certificate cache: content-addressed, finds an earlier model's entry, never trusts a file."""

from __future__ import annotations

from pathlib import Path

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.cache import Cell, CertificateCache, part_digest
from otaproof.properties.catalogue import BY_ID
from otaproof.properties.jobs import parts
from otaproof.properties.trace import Trace, TraceStep
from otaproof.properties.verdict import Certificate, CertificateKind, Proved, Unknown, Violated


def _part(scenario: Scenario, pid: str) -> str:
    built = build(scenario)
    (job, *_) = parts(built, BY_ID[pid])
    return part_digest(job, built.system, pid, 0)


PROOF = Proved("lemmas", 1.0, Certificate(CertificateKind.INDUCTIVE_INVARIANT, "(and true)", 1, True, 0.1,
                                          ("running-signed[P1]",)))


def test_the_digest_is_the_content() -> None:
    a = _part(Scenario(), "P-CPL")
    assert a == _part(Scenario(), "P-CPL")  # the same model, printed again
    assert a != _part(Scenario(), "P-AUTH")  # another property's monitors
    assert a != _part(Scenario(parameters=Parameters(ppmids=2)), "P-CPL")  # another model
    assert a != _part(Scenario(variant="gateway-screening"), "P-CPL")


def test_an_entry_is_found_exactly_then_for_an_edited_design(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-CPL", 0)
    digest = _part(Scenario(), "P-CPL")
    assert cache.lookup(cell, digest) is None
    cache.store(cell, digest, PROOF)
    hit = cache.lookup(cell, digest)
    assert hit is not None and hit.exact and hit.verdict == "proved" and hit.certificate is not None
    assert hit.certificate.lemmas == ("running-signed[P1]",) and not hit.certificate.checked  # to be re-checked
    edited = cache.lookup(cell, "0" * 64)  # the design changed: the cell's latest entry, marked as not exact
    assert edited is not None and not edited.exact


def test_counterexamples_are_kept_as_steps_and_unknowns_not_at_all(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-AUTH", 0)
    step = TraceStep(1, "Supplier", "SR11_4_update_PPMID_firmware", {"by": "S1"}, "accepted", {}, {})
    trace = Trace("secmp0007", [], [], {}, "P-AUTH", {}, [step])
    cache.store(cell, "a" * 64, Violated("bmc", 2.0, trace))
    hit = cache.lookup(cell, "a" * 64)
    assert hit is not None and hit.steps == (("SR11_4_update_PPMID_firmware", {"by": "S1"}),)
    cache.store(Cell(Scenario(), "P-SMI", 0), "b" * 64, Unknown("pdr", 9.0, "out of time"))
    assert cache.lookup(Cell(Scenario(), "P-SMI", 0), "b" * 64) is None


def test_a_corrupt_entry_is_ignored_and_clear_empties(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-CPL", 0)
    cache.store(cell, "c" * 64, PROOF)
    (tmp_path / "objects" / f"{'c' * 64}.json").write_text("{not json")
    assert cache.lookup(cell, "c" * 64) is None
    assert cache.clear() == 2 and not tmp_path.exists()
    assert CertificateCache(tmp_path / "never").clear() == 0


def test_an_unwritable_cache_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = CertificateCache(blocker / "cache")  # a file where the directory should be
    cache.store(Cell(Scenario(), "P-CPL", 0), "d" * 64, PROOF)
    assert cache.lookup(Cell(Scenario(), "P-CPL", 0), "d" * 64) is None
