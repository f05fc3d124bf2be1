"""Where a pack's obligation files come from: the bytes and Z3 answers the portfolio's worker kept
on the certificate (``jobs.recheck``), taken only when each file decompresses to the text Z3
answered on and Z3 accepted it; otherwise the pack prints the obligations itself and has a fresh
Z3 process solve every file no Z3 answered on. Solver runs are faked here: this is the plumbing,
the real solving is tested end to end in test_evidence_pack.py."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from otaproof.model.config import Scenario
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import check_rows
from otaproof.properties.obligations import Obligation, obligations
from otaproof.properties.recheck import ACCEPTED, REJECTED, UNDECIDED, Limits
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, FileCheck, Proved, SolverRun
from otaproof.reports.evidence.certificates import decompress, derived, shipped
from otaproof.reports.evidence.collect import check_matrix
from otaproof.reports.evidence.findings import built_model

KEY = "secmp0007/none/P-LOCAL-BANNED"
PROP = get_property("P-LOCAL-BANNED")
CERT = Certificate(CertificateKind.INDUCTIVE_INVARIANT, "true", 1)


def _obligations() -> list[Obligation]:
    return obligations(built_model(Scenario("secmp0007")), PROP, CERT)


def _check(ob: Obligation, answer: str = ACCEPTED, packed: bytes | None = None) -> FileCheck:
    """What a worker keeps on the certificate for one file: its digest, Z3's answer and its bytes."""
    digest = hashlib.sha256(ob.text.encode()).hexdigest()
    return FileCheck(ob.filename, ob.label, ob.claim, len(ob.text.encode()), digest,
                     (SolverRun("z3", answer, 0.5, 1000, answer),), ob.packed if packed is None else packed)


def test_a_workers_files_are_taken_as_they_are() -> None:
    obs = _obligations()
    cert = dataclasses.replace(CERT, obligations=tuple(_check(ob) for ob in obs))
    proof = shipped(KEY, PROP.id, cert)
    assert proof is not None and proof.shipped and proof.recheck.status == ACCEPTED
    assert list(proof.files) == [f"certificates/{KEY}/{name}.smt2.gz" for name in ("init", "step", "safe")]
    for (path, data), ob in zip(proof.files.items(), obs, strict=True):
        assert data == ob.packed and decompress(data) == ob.text and proof.checks[path].label == ob.name


@pytest.mark.parametrize("spoil", ["other text", "z3 rejected", "z3 undecided", "not kept"])
def test_a_workers_files_are_not_taken_unless_z3_accepted_exactly_those_bytes(spoil: str) -> None:
    obs = _obligations()
    checks = [_check(ob) for ob in obs]
    checks[1] = {"other text": _check(obs[1], packed=obs[0].packed), "z3 rejected": _check(obs[1], REJECTED),
                 "z3 undecided": _check(obs[1], UNDECIDED), "not kept": _check(obs[1], packed=b"")}[spoil]
    assert shipped(KEY, PROP.id, dataclasses.replace(CERT, obligations=tuple(checks))) is None


def test_the_pack_prints_and_solves_only_what_no_z3_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[str] = []

    def solver(name: str, path: Path, limits: Limits) -> SolverRun:
        solved.append(path.name)
        return SolverRun(name, ACCEPTED, 0.1, 10, "unsat")

    monkeypatch.setattr("otaproof.properties.recheck.run_solver", solver)
    obs = _obligations()
    model = built_model(Scenario("secmp0007"))
    # the worker's answers without its bytes: the pack prints the same texts and asks no solver again
    known = dataclasses.replace(CERT, obligations=tuple(_check(ob, packed=b"") for ob in obs))
    proof = derived(KEY, model, PROP, known, tmp_path, Limits())
    assert solved == [] and not proof.shipped and proof.recheck.status == ACCEPTED
    assert [proof.files[p] for p in proof.files] == [ob.packed for ob in obs]
    # no answer known (a proof that did not come from a worker): every file is solved here
    proof = derived(KEY, model, PROP, CERT, tmp_path / "fresh", Limits())
    assert solved == ["init.smt2", "step.smt2", "safe.smt2"] and proof.recheck.status == ACCEPTED


def test_the_packs_checks_keep_every_proofs_files_and_a_plain_check_does_not() -> None:
    """The workers gzip a proof's files onto its certificate only when an evidence pack asks
    (``Budget.keep_obligations``, set by ``collect.check_matrix``): the pack then ships them."""
    rows = [(Scenario("secmp0007"), [PROP])]
    [[packed]] = check_matrix(rows, Budget(), workers=2)
    [[plain]] = check_rows(rows, "portfolio", Budget(), workers=2)
    assert isinstance(packed.verdict, Proved) and isinstance(plain.verdict, Proved)
    files = packed.verdict.certificate.obligations
    assert files and all(decompress(f.packed) for f in files)
    assert shipped(KEY, PROP.id, packed.verdict.certificate) is not None
    assert plain.verdict.certificate.obligations and not any(f.packed for f in plain.verdict.certificate.obligations)
