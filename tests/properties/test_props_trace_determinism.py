"""A counterexample depends on the question alone, not on what the process solved before.

Z3's choice among counterexamples of the same depth depends on every term its context has seen.
BMC once used the process-wide context, so a worker that had run the lemma search (or another
engine) before reported a different trace of P-CPL-NOW than a fresh process: an evidence pack
built twice from the same command differed in its traces (CI, 2026-12-06). Each BMC search now
has a context of its own; these tests compare a trace found after other solver work with the one
a fresh Python process finds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties import jobs
from otaproof.properties.catalogue import get_property
from otaproof.properties.engines import bmc, pdr
from otaproof.properties.engines.pdr import CTI
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import shared_lemmas
from otaproof.properties.jobs import (
    FIRST_STAGE,
    EngineRun,
    FirstStages,
    Staged,
    canonical_budget,
    inductive_names,
    parts,
)
from otaproof.properties.solver import GaveUp
from otaproof.properties.verdict import Budget, Proved, Unknown, Verdict, Violated

FRESH = """
import json
from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.engines import bmc
from otaproof.properties.jobs import parts
from otaproof.properties.verdict import Budget
job = parts(build(Scenario()), get_property("P-CPL-NOW"))[0]
print(json.dumps([[s.action, s.parameters] for s in bmc.check(job, Budget()).trace.steps]))
"""


def _steps(verdict: object) -> list[list[object]]:
    assert isinstance(verdict, Violated), verdict
    return [[s.action, s.parameters] for s in verdict.trace.steps]


def test_bmc_trace_is_the_fresh_process_trace_after_other_solver_work() -> None:
    built = build(Scenario())
    job = parts(built, get_property("P-CPL-NOW"))[0]
    assert inductive_names(built, Budget()) is not None  # the lemma search fills the process's context
    after = _steps(bmc.check(job, Budget()))
    # the portfolio's re-derivation of another engine's trace: a smaller bound and budget
    rederived = _steps(bmc.check(job, canonical_budget(Budget(), len(after), 1.0)))
    fresh = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True)
    assert after == json.loads(fresh.stdout) == rederived


def test_a_first_stage_probe_reports_the_fresh_process_trace_and_only_for_a_violation() -> None:
    """A batch runs first stages one after another in one process; the BMC probe after one that
    gave up must still report the trace a fresh process finds (and a safe part's probe nothing)."""
    built = build(Scenario())
    cpl_now, local = get_property("P-CPL-NOW"), get_property("P-LOCAL-BANNED")
    answers: list[object] = []
    batch = FirstStages(tuple(EngineRun(built, parts(built, prop)[0], prop, FIRST_STAGE, Budget(), probe=True)
                              for prop in (local, cpl_now)))
    batch(answers.append)
    [proof, found] = [a.answer for a in answers if isinstance(a, Staged)]
    assert isinstance(proof, Proved) and proof.engine == FIRST_STAGE
    assert isinstance(found, Violated) and found.engine == "bmc"
    fresh = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, check=True)
    assert _steps(found) == json.loads(fresh.stdout)
    alone: list[object] = []
    EngineRun(built, parts(built, cpl_now)[0], cpl_now, FIRST_STAGE, Budget())(alone.append)
    assert [type(a) for a in alone] == [Unknown]  # without the probe the first stage only gives up


def test_a_probe_without_a_counterexample_says_how_deep_it_searched() -> None:
    """P-CPL-NOW's violation takes 9 steps: with a depth bound of 5 the probe searches all of it
    and says so (the portfolio then starts no BMC on the part); without a probe, nothing is said."""
    built = build(Scenario())
    cpl_now = get_property("P-CPL-NOW")
    names = inductive_names(built, Budget())
    assert names is not None
    job = parts(built, cpl_now, known=shared_lemmas(built.lemmas, names))[0]
    for probe, searched in ((True, 5), (False, -1)):
        answers: list[object] = []
        EngineRun(built, job, cpl_now, FIRST_STAGE, Budget(depth=5), probe=probe)(answers.append)
        [verdict] = answers
        assert isinstance(verdict, Unknown) and verdict.searched == searched


def test_with_generated_candidates_the_search_for_clauses_races_instead_of_holding_up_the_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the design's lemmas the search for clauses from counterexamples to induction takes
    seconds (in vain on a violated part): a first stage in a batch never runs it, only its BMC
    probe, and the search races beside BMC and PDR as the ``cti`` engine, which does run it."""
    built = build(Scenario(design_lemmas=False))
    calls: list[str] = []

    def searched(*args: object, **kwargs: object) -> object:
        calls.append("clauses")
        raise GaveUp("not searched in this test")

    real_bmc = jobs.ENGINES["bmc"]

    def probed(problem: Problem, budget: Budget) -> Verdict:
        calls.append("bmc")
        return real_bmc(problem, budget)

    monkeypatch.setattr(pdr, "block_ctis", searched)
    monkeypatch.setitem(jobs.ENGINES, "bmc", probed)
    for pid, verdict in (("P-CPL-NOW", Violated), ("P-NO-ROLLBACK", Unknown)):
        calls.clear()
        answers: list[object] = []
        prop = get_property(pid)
        job = parts(built, prop)[0]
        EngineRun(built, job, prop, FIRST_STAGE, Budget(depth=9), probe=True)(answers.append)
        assert calls == ["bmc"] and [type(a) for a in answers] == [verdict], (pid, calls, answers)
        assert jobs.racers(job) == ("bmc", "pdr", CTI, "kind")
        calls.clear()
        raced: list[object] = []
        EngineRun(built, job, prop, CTI, Budget(depth=9))(raced.append)
        assert calls == ["clauses"] and isinstance(raced[0], Unknown) and raced[0].engine == CTI
    designed = build(Scenario())
    assert CTI not in jobs.racers(parts(designed, get_property("P-NO-ROLLBACK"))[0])
