"""The certificate cache: content-addressed, finds an earlier model's entry, never trusts a file;
a lookup (``recall.Recall``, what a worker runs) re-checks a cached proof and replays a cached trace."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.cache import CacheUse, Cell, CertificateCache, part_digest
from otaproof.properties.catalogue import BY_ID
from otaproof.properties.check import run_engine
from otaproof.properties.jobs import EngineRun, FirstStages, LemmaSearch, Staged, parts
from otaproof.properties.pool import ENDED
from otaproof.properties.portfolio import Portfolio
from otaproof.properties.recall import MISSED, REUSED, STALE, Recall, Recalled, Recalls
from otaproof.properties.trace import Trace, TraceStep
from otaproof.properties.verdict import (
    CACHED,
    CACHED_EARLIER,
    PARTLY_CACHED,
    Budget,
    Certificate,
    CertificateKind,
    Proved,
    Unknown,
    Verdict,
    Violated,
)


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
    assert cache.lookup(cell, digest).hit is None
    cache.store(cell, digest, PROOF)
    hit = cache.lookup(cell, digest).hit
    assert hit is not None and hit.exact and hit.verdict == "proved" and hit.certificate is not None
    assert hit.certificate.lemmas == ("running-signed[P1]",) and not hit.certificate.checked  # to be re-checked
    edited = cache.lookup(cell, "0" * 64).hit  # the design changed: the cell's latest entry, marked as not exact
    assert edited is not None and not edited.exact
    assert cache.lookup(cell, "0" * 64, exact_only=True).hit is None  # evidence packs: exact hits only


def test_counterexamples_are_kept_as_steps_and_unknowns_not_at_all(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-AUTH", 0)
    step = TraceStep(1, "Supplier", "SR11_4_update_PPMID_firmware", {"by": "S1"}, "accepted", {}, {})
    trace = Trace("secmp0007", [], [], {}, "P-AUTH", {}, [step])
    cache.store(cell, "a" * 64, Violated("bmc", 2.0, trace))
    hit = cache.lookup(cell, "a" * 64).hit
    assert hit is not None and hit.steps == (("SR11_4_update_PPMID_firmware", {"by": "S1"}),)
    cache.store(Cell(Scenario(), "P-SMI", 0), "b" * 64, Unknown("pdr", 9.0, "out of time"))
    assert cache.lookup(Cell(Scenario(), "P-SMI", 0), "b" * 64).hit is None


def test_a_corrupt_entry_is_ignored_and_clear_empties(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-CPL", 0)
    cache.store(cell, "c" * 64, PROOF)
    (tmp_path / "objects" / f"{'c' * 64}.json").write_text("{not json")
    found = cache.lookup(cell, "c" * 64)
    assert found.hit is None and len(found.problems) == 2  # the object, then the cell's latest (the same file)
    assert "unreadable" in found.problems[0] and "ignored" in found.problems[0]
    cache.store(Cell(Scenario(), "P-AUTH", 0), "e" * 64, PROOF)  # another property's entry under this cell
    (tmp_path / "cells" / f"{cell.key()}.txt").write_text("e" * 64)
    assert cache.lookup(cell, "f" * 64).hit is None
    assert cache.info().entries == 2
    assert cache.clear() == 4 and not tmp_path.exists()
    assert CertificateCache(tmp_path / "never").clear() == 0


def test_an_unwritable_cache_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = CertificateCache(blocker / "cache")  # a file where the directory should be
    cache.store(Cell(Scenario(), "P-CPL", 0), "d" * 64, PROOF)
    assert cache.lookup(Cell(Scenario(), "P-CPL", 0), "d" * 64).hit is None


def _recall(cache: CertificateCache, scenario: Scenario, pid: str) -> Recalled:
    """What a worker's lookup of the property's first part answers, run in this process."""
    built = build(scenario)
    answers: list[object] = []
    Recall(cache, False, built, parts(built, BY_ID[pid])[0], BY_ID[pid], 0, 0, Budget(depth=3))(answers.append)
    (answer,) = answers
    assert isinstance(answer, Recalled)
    return answer


def test_a_certificate_that_proves_nothing_is_rechecked_and_refused(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    cell = Cell(Scenario(), "P-CPL", 0)
    missed = _recall(cache, Scenario(), "P-CPL")
    assert (missed.outcome, missed.verdict) == (MISSED, None)
    cache.store(cell, missed.digest, PROOF)  # "(and true)": Init and step hold, but it does not exclude Bad
    stale = _recall(cache, Scenario(), "P-CPL")
    assert (stale.outcome, stale.verdict) == (STALE, None) and "no longer holds" in stale.note
    enumeration = Certificate(CertificateKind.ENUMERATION, "(states 1)", 1)
    cache.store(cell, missed.digest, Proved("swarm", 1.0, enumeration))
    assert _recall(cache, Scenario(), "P-CPL").outcome == MISSED  # no obligations of its own: proved again


def test_a_cached_counterexample_is_replayed_on_the_model(tmp_path: Path) -> None:
    cache = CertificateCache(tmp_path)
    scenario = Scenario("pre-secmp0007")  # local updates: P-LOCAL-BANNED is violated in one step
    built = build(scenario)
    found = run_engine(built, BY_ID["P-LOCAL-BANNED"], "bmc", Budget(depth=3))
    assert isinstance(found, Violated)
    cell = Cell(scenario, "P-LOCAL-BANNED", 0)
    cache.store(cell, "0" * 64, found)  # an earlier model's entry of the cell
    replayed = _recall(cache, scenario, "P-LOCAL-BANNED")
    assert replayed.outcome == REUSED and isinstance(replayed.verdict, Violated)
    assert replayed.verdict.trace == found.trace and replayed.verdict.provenance == CACHED_EARLIER
    cache.store(cell, replayed.digest, replayed.verdict)
    assert _recall(cache, scenario, "P-LOCAL-BANNED").verdict.provenance == CACHED  # type: ignore[union-attr]
    approved = Cell(Scenario(), "P-LOCAL-BANNED", 0)  # the approved design refuses the step: no longer violated
    cache.store(approved, "1" * 64, found)
    stale = _recall(cache, Scenario(), "P-LOCAL-BANNED")
    assert (stale.outcome, stale.verdict) == (STALE, None) and "counterexample" in stale.note


class RecallPool:
    """A fake executor: a lookup answers as ``cached`` says (by part number; ENDED: its worker
    died), the lemma search finds nothing, every engine proves its part at once."""

    def __init__(self, cached: dict[int, object]) -> None:
        self.cached = cached
        self.started: list[object] = []
        self.answers: list[tuple[int, object]] = []

    def start(self, key: int, job: object) -> None:
        self.started += job.runs if isinstance(job, (FirstStages, Recalls)) else (job,)  # a batch: its runs
        if isinstance(job, Recalls):  # each lookup answers in turn; one that died (ENDED) ends the batch
            for index, lookup in enumerate(job.runs):
                answer = self.cached.get(lookup.number, Recalled(f"{lookup.number}" * 64, MISSED, None, "", ()))
                self.answers.append((key, answer if answer is ENDED else Staged(index, answer)))
                if answer is ENDED:
                    break
            return
        if isinstance(job, EngineRun):
            answer = PROOF
        elif isinstance(job, FirstStages):
            self.answers += [(key, Staged(index, PROOF)) for index in range(len(job.runs) - 1)]
            answer = Staged(len(job.runs) - 1, PROOF)
        else:
            answer = None
        self.answers.append((key, answer))

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        return self.answers.pop(0) if self.answers else None

    def stop(self, key: int) -> None:
        self.answers = [(k, a) for k, a in self.answers if k != key]


def _race(tmp_path: Path, cached: dict[int, object]) -> tuple[Verdict, RecallPool, CacheUse]:
    pool, use = RecallPool(cached), CacheUse(CertificateCache(tmp_path))
    (outcome,), = Portfolio([(Scenario(), [BY_ID["P-SMI-BOUNDED"]])], "portfolio", Budget(depth=3), 2, pool,
                            cache=use).run()  # a bounded response: one part per device (two)
    return outcome.verdict, pool, use


def test_a_row_the_cache_decides_runs_no_engine(tmp_path: Path) -> None:
    cached = dataclasses.replace(PROOF, provenance=CACHED)
    hits: dict[int, object] = {n: Recalled(f"{n}" * 64, REUSED, cached, "", ()) for n in (0, 1)}
    verdict, pool, use = _race(tmp_path, hits)
    assert isinstance(verdict, Proved) and verdict.provenance == CACHED
    assert all(isinstance(job, Recall) for job in pool.started)  # no lemma search, no engine
    assert (use.reused, use.stale, use.missed) == (2, 0, 0)


def test_only_the_parts_the_cache_does_not_decide_are_proved_and_stored(tmp_path: Path) -> None:
    hit = Recalled("0" * 64, REUSED, dataclasses.replace(PROOF, provenance=CACHED_EARLIER), "", ("a warning",))
    verdict, pool, use = _race(tmp_path, {0: hit, 1: ENDED})  # part 2's lookup died: proved by the engines
    assert isinstance(verdict, Proved) and verdict.provenance == PARTLY_CACHED
    engines = [job for job in pool.started if isinstance(job, EngineRun)]
    assert engines and {job.part for job in engines} == {2}
    assert any(isinstance(job, LemmaSearch) for job in pool.started)
    assert (use.reused, use.missed, use.problems) == (1, 1, ["a warning"])
    assert (tmp_path / "objects" / f"{'0' * 64}.json").is_file()  # the earlier model's proof, now this model's
    assert len(list((tmp_path / "objects").iterdir())) == 1  # part 2 has no digest (its lookup died): not stored
