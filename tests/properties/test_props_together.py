"""A row's cached proofs re-checked by one Z3 process on one script (``obligations.together``,
``jobs.recheck_together``): each claim is checked on exactly its file's conjuncts, gets the
answer its file gets, and an error or a false certificate touches only its own claims."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import z3

from otaproof.model.config import Scenario
from otaproof.model.lang import BoolSort
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.cache import Cell, CertificateCache
from otaproof.properties.catalogue import BY_ID
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import model_lemmas
from otaproof.properties.jobs import FIRST_STAGE, Staged, parts, recheck, recheck_together, run
from otaproof.properties.obligations import Segment, Together, invariant_obligations, together
from otaproof.properties.recall import REUSED, STALE, Recall, Recalled, Recalls
from otaproof.properties.recheck import ACCEPTED, REJECTED, TOGETHER, UNDECIDED, Limits, run_z3_script
from otaproof.properties.solver import Deadline
from otaproof.properties.verdict import Budget, Proved, Unknown

BUDGET = Budget(timeout=300, depth=3)
PROPERTIES = ("P-CPL", "P-INTEGRITY", "P-SMI-BOUNDED", "P-BOOTABLE")

Row = tuple[BuiltModel, list[tuple[Problem, str, Proved, int]]]


@pytest.fixture(scope="module")
def row() -> Row:
    """The approved design's lemma-stage proofs of a few properties' parts (two parts of a
    bounded response), each with the row's lemmas as its base."""
    built = build(Scenario())
    known = model_lemmas(built.system, built.lemmas, Deadline(600, 0))
    proofs = []
    for pid in PROPERTIES:
        jobs = parts(built, BY_ID[pid], known)
        for n, job in enumerate(jobs):
            assert isinstance(job, Problem)
            verdict = run(built, job, BY_ID[pid], FIRST_STAGE, BUDGET)
            assert isinstance(verdict, Proved) and verdict.certificate.base, pid
            proofs.append((job, pid, verdict, n + 1 if len(jobs) > 1 else 0))
    return built, proofs


def _in_force(script: Together) -> list[str]:
    """For each claim, the script's commands in force at its check: every shared segment not yet
    popped, and the claim's own scope."""
    stack: list[list[str]] = [[]]
    found = []
    for segment in script.segments:
        for line in segment.text.splitlines():
            if line == "(push 1)":
                stack.append([])
            elif line == "(pop 1)":
                stack.pop()
            elif not line.startswith(";"):
                stack[-1].append(line)
        if segment.check is not None:
            found.append("\n".join(x for level in stack for x in level))
            stack.pop()  # the runner pops the claim's scope after its check
    return found


def _conjuncts(text: str, ctx: z3.Context) -> dict[int, z3.ExprRef]:
    """The top-level conjuncts of the text's assertions as Z3 parses them (macros expanded),
    by their ids in ``ctx`` (equal terms, equal ids; the terms are kept, so no id is reused)."""
    out: dict[int, z3.ExprRef] = {}
    todo = list(z3.parse_smt2_string(text, ctx=ctx))
    while todo:
        term = todo.pop()
        if z3.is_and(term):
            todo += term.children()
        elif not z3.is_true(term):
            out[term.get_id()] = term
    return out


def test_each_claim_of_the_script_is_its_files_conjunct_for_conjunct(row: Row) -> None:
    """The script's scopes with what they share are the files' assertions, conjunct for
    conjunct; dropping the monitors' step from the script is caught."""
    _, proofs = row
    script = together([(job.task, proof.certificate) for job, _, proof, _ in proofs])
    assert sorted(name for _, name in script.checks) == sorted(["init", "safe", "step"] * len(proofs) + ["base-step"])
    files = {(n, ob.name): ob.text for n, (job, pid, proof, part) in enumerate(proofs)
             for ob in invariant_obligations(job.task, proof.certificate, pid, part)}
    strip = ("(set-logic", "(check-sat", "(exit")
    for (n, name), text in zip(script.checks, _in_force(script), strict=True):
        ctx = z3.Context()
        mine = "\n".join(x for x in files[n, name].splitlines() if not x.startswith(strip))
        assert _conjuncts(text, ctx).keys() == _conjuncts(mine, ctx).keys(), (proofs[n][1], name)
    n = next(n for n, (_, pid, _, _) in enumerate(proofs) if pid == "P-SMI-BOUNDED")  # a response's monitors
    step = _in_force(script)[script.checks.index((n, "step"))]
    monitor_free = "\n".join(x for x in step.splitlines() if not x.startswith("(assert (= |monitor."))
    assert monitor_free != step
    ctx = z3.Context()
    assert _conjuncts(monitor_free, ctx).keys() != _conjuncts(
        "\n".join(x for x in files[n, "step"].splitlines() if not x.startswith(strip)), ctx).keys()


def test_the_script_gives_every_file_the_answer_of_its_own_process(row: Row) -> None:
    """Accepted proofs, one whose invariant is false initially (its init claim is sat), and one
    whose invariant Z3 cannot read (an error in its scopes): each gets the verdict the
    file-by-file re-check gives, and the others are not touched."""
    built, proofs = row
    flag = next(v for v in proofs[2][0].task.system.variables if isinstance(v.sort, BoolSort))
    false = dataclasses.replace(proofs[1][2], certificate=dataclasses.replace(proofs[1][2].certificate, smtlib="false"))
    unreadable = dataclasses.replace(proofs[2][2], certificate=dataclasses.replace(
        proofs[2][2].certificate, smtlib=f"(= |{flag.name}@c| #b0)"))  # a Bool compared with a bit-vector
    mixed = [proofs[0], (*proofs[1][:2], false, proofs[1][3]), (*proofs[2][:2], unreadable, proofs[2][3]), *proofs[3:]]
    props = [(job, BY_ID[pid], proof, part) for job, pid, proof, part in mixed]
    together_verdicts = recheck_together(built, props)
    alone = [recheck(built, job, prop, proof, part) for job, prop, proof, part in props]
    assert [type(v) for v in together_verdicts] == [type(v) for v in alone]
    assert isinstance(together_verdicts[1], Unknown) and "rejected" in together_verdicts[1].detail
    assert isinstance(together_verdicts[2], Unknown) and UNDECIDED in together_verdicts[2].detail
    for mine, theirs in zip(together_verdicts, alone, strict=True):
        if isinstance(mine, Proved) and isinstance(theirs, Proved):
            assert [(f.filename, f.digest, f.size, f.runs[0].answer) for f in mine.certificate.obligations] == \
                [(f.filename, f.digest, f.size, f.runs[0].answer) for f in theirs.certificate.obligations]
            assert all(TOGETHER in f.runs[0].detail for f in mine.certificate.obligations)
    assert sum(isinstance(v, Proved) for v in together_verdicts) == len(proofs) - 2


def test_an_error_in_what_the_claims_share_leaves_every_later_claim_undecided() -> None:
    script = Together((
        Segment("(declare-fun x () Bool)"),
        Segment("(push 1)\n(assert x)\n(assert (not x))", (0, "a")),
        Segment("(push 1)\n(assert (foo x))", (1, "b")),  # an error in a scope
        Segment("(push 1)\n(assert x)", (2, "c")),
        Segment("(assert (bar x))"),  # an error in what the claims share
        Segment("(push 1)\n(assert x)\n(assert (not x))", (3, "d"))))
    runs = run_z3_script(script, Limits())
    assert [r.answer for r in runs] == [ACCEPTED, UNDECIDED, REJECTED, UNDECIDED]
    assert "error" in runs[1].detail and "what the claims share" in runs[3].detail
    assert all(r.resources >= 0 and TOGETHER in r.detail for r in runs)


def test_a_claim_the_incremental_core_does_not_decide_is_solved_from_scratch(row: Row) -> None:
    """With no incremental units at all, every claim is solved from scratch, with the same answers."""
    _, proofs = row
    script = together([(job.task, proof.certificate) for job, _, proof, _ in proofs[:3]])
    quick, scratch = run_z3_script(script, Limits()), run_z3_script(script, Limits(), incremental=1)
    assert [r.answer for r in quick] == [r.answer for r in scratch] == [ACCEPTED] * len(script.checks)
    assert all("from scratch" in r.detail for r, (_, name) in zip(scratch, script.checks, strict=True)
               if name != "base-step")  # a base-step is solved from scratch at once


def test_a_rows_lookups_recheck_its_cached_proofs_together_and_refuse_a_tampered_one(row: Row,
                                                                                      tmp_path: Path) -> None:
    built, proofs = row
    cache = CertificateCache(tmp_path)
    lookups = tuple(Recall(cache, False, built, job, BY_ID[pid], part - 1 if part else 0, part, BUDGET)
                    for job, pid, _, part in proofs)
    for lookup, (_, _, proof, _) in zip(lookups, proofs, strict=True):
        digest, _ = lookup.find()
        tampered = lookup is lookups[-1]
        cache.store(Cell(built.scenario, lookup.prop.id, lookup.number), digest, dataclasses.replace(
            proof, certificate=dataclasses.replace(proof.certificate, smtlib="false")) if tampered else proof)
    answers: list[object] = []
    Recalls(lookups)(answers.append)
    recalled = [a.answer for a in answers if isinstance(a, Staged) and isinstance(a.answer, Recalled)]
    assert [r.outcome for r in recalled] == [REUSED] * (len(proofs) - 1) + [STALE]
    assert "no longer holds" in recalled[-1].note
    for r in recalled[:-1]:
        assert isinstance(r.verdict, Proved) and r.verdict.certificate.checked
        assert any(TOGETHER in f.runs[0].detail for f in r.verdict.certificate.obligations)
