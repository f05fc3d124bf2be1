"""``--with-tests``: conformance coverage and mutation score of a suite generated for the pack's
reference design (as ``otaproof generate`` and ``otaproof mutants`` would), in sentences and
tables for the report.

The suite holds the conformance tests (action, branch, outcome and boundary coverage of the
reference design without an attacker and with every attacker at once) and the model-as-oracle
test; it is written to a temporary directory, run once without mutants (it must pass) and once
per seeded fault of the reference implementation, and removed. No property is checked again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from otaproof.generators.coverage import KINDS, CoverageResult
from otaproof.generators.mutants import MUTANTS
from otaproof.generators.mutation import MutationReport, Status, run_mutants
from otaproof.generators.plan import plan_suite
from otaproof.generators.suite import DEFAULT_SUT, write_suite
from otaproof.model.config import THREATS, Scenario
from otaproof.properties.catalogue import Property
from otaproof.properties.verdict import Budget

COVERAGE_SECONDS = 120.0  # per scenario, as ``otaproof generate``
SUITE_TIMEOUT = 600.0     # per run of the suite, as ``otaproof mutants``


def _coverage_rows(results: list[tuple[Scenario, CoverageResult]]) -> list[dict[str, Any]]:
    """Goals per kind over the scenarios: how many, covered, proved unreachable, undecided."""
    rows = []
    for kind in KINDS:
        goals = [(g.id, r) for _, r in results for g in r.goals if g.kind == kind]
        rows.append({"kind": kind, "goals": len(goals), "covered": sum(g in r.covered for g, r in goals),
                     "unreachable": sum(g in r.unreachable for g, r in goals),
                     "unknown": sum(g in r.unknown for g, r in goals)})
    return rows


def conformance(reference: Scenario, props: list[Property], budget: Budget, workers: int | None,
                mutants: list[str] | None = None, jobs: int = 2) -> dict[str, Any]:
    """Generate, run and mutate the suite; the figures the report shows."""
    scenarios = [reference, Scenario(reference.variant, frozenset(THREATS) - {"local_physical"}, reference.faults,
                                     reference.parameters)]
    plan = plan_suite([], scenarios, [reference], props, budget, coverage_seconds=COVERAGE_SECONDS,
                      workers=workers, sut=DEFAULT_SUT)
    with tempfile.TemporaryDirectory(prefix="otaproof-evidence-suite-") as tmp:
        summary = write_suite(plan, Path(tmp) / "suite")
        report: MutationReport = run_mutants(Path(tmp) / "suite", mutants or list(MUTANTS), jobs=jobs,
                                             timeout=SUITE_TIMEOUT)
    rows = _coverage_rows(plan.coverage)
    goals = sum(r["goals"] for r in rows)
    covered = sum(r["covered"] for r in rows)
    dead = sum(r["unreachable"] for r in rows)
    survivors = [r.name for r in report.survivors]
    sentences = [
        f"The generated suite ({summary.tests} tests on {reference.variant}: conformance tests for action, branch, "
        f"outcome and boundary coverage without an attacker and with {'+'.join(sorted(scenarios[1].threats))}, and "
        f"the model as oracle) covers {covered} of {goals} coverage goals; {dead} more are proved unreachable and "
        f"{goals - covered - dead} are undecided within the search budget.",
        f"Run against {len(report.results)} seeded fault{'s' if len(report.results) != 1 else ''} of the reference "
        f"implementation it kills {report.killed} of {len(report.results)} ({report.kill_rate:.0%}, killed / all "
        f"seeded; {report.count(Status.TIMED_OUT)} timed out, {report.count(Status.CRASHED)} crashed)"
        + (f"; not killed: {', '.join(survivors)}." if survivors else "."),
    ]
    return {"sentences": sentences, "coverage": rows,
            "mutants": [{"name": r.name, "fault": r.fault, "killed": r.killed,
                         "verdict": r.verdict} for r in report.results]}
