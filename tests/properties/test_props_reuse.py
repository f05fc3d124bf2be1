"""Proof reuse: a part proved without the attacker lends its certificate's clauses, as candidate
lemmas, to the same part under a threat model; only the clauses that stay inductive are kept and
the new certificate is re-checked in full."""

from __future__ import annotations

import dataclasses

from otaproof.model.config import Scenario
from otaproof.model.symbolic import Encoder
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.certificate import TAG
from otaproof.properties.check import check_rows
from otaproof.properties.engines import pdr
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import Reused
from otaproof.properties.jobs import EngineRun, FirstStages, whole
from otaproof.properties.pool import ForkPool, Work
from otaproof.properties.portfolio import Portfolio
from otaproof.properties.verdict import Budget, Proved, Unknown

# On the pre-SECMP0007 design the model's lemmas do not prove P-COMPAT: PDR is needed, with or
# without the old supplier's key. The old supplier cannot reach the PPMID, so PDR's proof without
# the attacker carries over.
PROP = get_property("P-COMPAT")


def _task(threats: frozenset[str] = frozenset()) -> Problem:
    job = whole(build(Scenario("pre-secmp0007", threats)), PROP)
    assert isinstance(job, Problem)
    return job


def test_a_proof_without_the_attacker_proves_the_part_under_a_threat_that_keeps_its_clauses() -> None:
    plain, target = _task(), _task(frozenset({"old_supplier"}))
    source = pdr.check(plain, Budget(timeout=60))
    assert isinstance(source, Proved) and source.certificate.kind == "inductive-invariant"
    assert isinstance(pdr.check_by_lemmas(target, Budget(timeout=60)), Unknown)  # its own lemmas are not enough
    reused = Reused("reused from no attacker", plain.task.system, source.certificate.smtlib)
    verdict = pdr.check_by_lemmas(dataclasses.replace(target, reused=reused), Budget(timeout=60))
    assert isinstance(verdict, Proved) and verdict.certificate.checked
    assert any(n.startswith("reused from no attacker#") for n in verdict.certificate.lemmas)


def test_clauses_over_variables_the_target_lacks_or_sorts_differently_are_dropped() -> None:
    source = build(Scenario("geo-local-daily-alert")).system
    target = build(Scenario("secmp0007", parameters=dataclasses.replace(Scenario().parameters, capacity=2))).system
    certificate = ("(and (= |CH.daily_alert_sent[P1]@c| false)"  # the daily alert exists only in the source
                   " (= |DSP.CS02b_due[P1]@c| false)"            # the same Bool in both
                   " (= |P1->CH.len@c| |P1->CH.len@c|))")        # a queue length: 0..1 there, 0..2 here
    enc = Encoder(target)
    kept = Reused("test", source, certificate).clauses(enc, enc.state(TAG))
    assert [str(c) for c in kept] == ["DSP.CS02b_due[P1]@c == False"]


def test_the_matrix_reuses_the_proof_without_the_attacker_and_waits_for_it() -> None:
    rows = [(Scenario("pre-secmp0007"), [PROP]), (Scenario("pre-secmp0007", frozenset({"old_supplier"})), [PROP]),
            (Scenario("pre-secmp0007", frozenset({"local_physical"})), [PROP])]
    [[plain], [old], [local]] = check_rows(rows, "portfolio", Budget(timeout=60, depth=8), workers=2)
    assert isinstance(plain.verdict, Proved) and plain.verdict.engine != "lemmas"
    for outcome in (old, local):
        assert isinstance(outcome.verdict, Proved) and outcome.verdict.engine == "lemmas", outcome.verdict
        assert any(n.startswith("reused from no attacker#") for n in outcome.verdict.certificate.lemmas)


def test_no_proof_is_reused_from_a_later_row() -> None:
    rows = [(Scenario("pre-secmp0007", frozenset({"old_supplier"})), [PROP]), (Scenario("pre-secmp0007"), [PROP])]
    [[old], [plain]] = check_rows(rows, "portfolio", Budget(timeout=60, depth=8), workers=2)
    assert isinstance(old.verdict, Proved) and isinstance(plain.verdict, Proved)
    assert not any(n.startswith("reused") for n in old.verdict.certificate.lemmas)


class _Logged(ForkPool):
    """The real pool, logging which engine starts on which scenario."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []

    def start(self, key: int, job: Work) -> None:
        for run in job.runs if isinstance(job, FirstStages) else [job] if isinstance(job, EngineRun) else []:
            probe = " + probe" if run.probe else ""
            self.started.append(f"{'+'.join(sorted(run.built.scenario.threats)) or 'none'} {run.engine}{probe}")
        super().start(key, job)


def test_under_a_threat_a_first_stage_outside_a_batch_probes_for_a_violation_too() -> None:
    """P-CPL-NOW is violated on the approved design with or without the old supplier: the first
    stage's probe finds it without the attacker (nothing else runs), and under the threat too,
    although that row's first stage waits for the source part and runs outside a batch (before,
    the race ran there, with the source part's decider alone first: a PDR that took 129 s on
    geo-local-daily-alert's 5-step P-ALERT-BUDGET violation under han_mitm held up BMC)."""
    prop = get_property("P-CPL-NOW")
    rows = [(Scenario(), [prop]), (Scenario(threats=frozenset({"old_supplier"})), [prop])]
    with _Logged() as pool:
        [[plain], [old]] = Portfolio(rows, "portfolio", Budget(timeout=60, depth=12), 2, pool).run()
    assert plain.verdict.engine == "bmc" and old.verdict.engine == "bmc"
    assert [s for s in pool.started if s.startswith("none")] == ["none lemmas + probe"]
    assert [s for s in pool.started if s.startswith("old_supplier")] == ["old_supplier lemmas + probe"]
