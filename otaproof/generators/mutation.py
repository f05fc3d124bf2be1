"""Mutation analysis: run a generated suite once per seeded fault of the reference implementation
(:mod:`otaproof.generators.mutants`) and score it.

Each run is its own pytest process with ``OTAPROOF_MUTANT=<name>`` set (the suite's ``conftest.py``
switches the mutant on). The score is killed over all seeded mutants: none is set aside as
"equivalent", and a run that times out or crashes is reported as such, never as a kill (a kill
is a test that fails).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.table import Table

from otaproof.generators.mutants import ENV_VAR, MUTANTS, mutant
from otaproof.properties.executors import die_with_task, forked_task, task_pool

SCHEMA = "otaproof.mutants/2"
GAP = "not killed: a gap in the suite's coverage"
NOT_A_KILL = "not counted as killed"


class SuiteFailsWithoutMutants(RuntimeError):
    """The suite does not pass on the correct refimpl, so killing a mutant would mean nothing."""


class Status(StrEnum):
    """How a suite run with a mutant on ended: only a failing test is a kill."""

    KILLED = "killed"          # some test failed
    SURVIVED = "survived"      # every test passed
    TIMED_OUT = "timed out"    # no result within the time allowed
    CRASHED = "crashed"        # pytest ended without test results (collection or internal error, signal)


@dataclass(frozen=True)
class SuiteRun:
    """One pytest run of the suite: its status, the failing test node ids (sorted, relative to the
    suite), what went wrong when it timed out or crashed, and how long it took."""

    status: Status
    failing: tuple[str, ...]
    detail: str
    seconds: float


@dataclass(frozen=True)
class MutantResult:
    """One mutant's run of the suite: the failing (killing) test node ids, relative to the suite."""

    name: str
    fault: str
    where: str
    status: Status
    killing_tests: tuple[str, ...]
    seconds: float
    detail: str = ""

    @property
    def killed(self) -> bool:
        """Some test failed with the mutant on."""
        return self.status is Status.KILLED

    @property
    def verdict(self) -> str:
        """'killed', the coverage-gap verdict, or what stopped the run (not a kill)."""
        if self.status is Status.KILLED:
            return "killed"
        if self.status is Status.SURVIVED:
            return GAP
        return f"{self.status}: {self.detail} ({NOT_A_KILL})"


@dataclass(frozen=True)
class MutationReport:
    """Every mutant's result, in the order they were asked for."""

    suite: str
    results: tuple[MutantResult, ...]
    oracle: bool = True  # False: the suite ran with ``-k "not oracle"`` (the deterministic tests only)

    @property
    def killed(self) -> int:
        """How many mutants some test killed."""
        return sum(r.killed for r in self.results)

    @property
    def kill_rate(self) -> float:
        """The mutation score: killed mutants over every mutant seeded into the run (0.0 when none ran)."""
        return self.killed / len(self.results) if self.results else 0.0

    def count(self, status: Status) -> int:
        """How many runs ended with ``status``."""
        return Counter(r.status for r in self.results)[status]

    @property
    def survivors(self) -> tuple[MutantResult, ...]:
        """The mutants no test killed: survived, or their run timed out or crashed."""
        return tuple(r for r in self.results if not r.killed)


def _node_id(classname: str, name: str, root: Path) -> str:
    """The pytest node id of a JUnit testcase: the longest dotted prefix that names a test file under ``root``."""
    if classname:
        parts, tail = classname.split("."), [name]
    else:  # a collection error: the name is the dotted module path
        parts, tail = name.split("."), []
    for k in range(len(parts), 0, -1):
        path = "/".join(parts[:k]) + ".py"
        if (root / path).is_file():
            return "::".join([path, *parts[k:], *tail])
    return "::".join(p for p in (classname, name) if p)


def _failed_tests(junit: Path, root: Path) -> set[str]:
    """Node ids of the testcases with a failure or an error in a JUnit XML report."""
    failed = set()
    for case in ET.parse(junit).getroot().iter("testcase"):
        if any(child.tag in ("failure", "error") for child in case):
            failed.add(_node_id(case.get("classname", ""), case.get("name", ""), root))
    return failed


PYTEST_TESTS_FAILED = 1  # pytest's exit status when tests ran and some failed (0: all passed)


WITHOUT_ORACLE = ("-k", "not oracle")  # pytest's selection of the deterministic tests (no Hypothesis walks)


def _run_suite(suite: Path, mutant: str | None, timeout: float, oracle: bool = True) -> SuiteRun:
    """Run the suite in a pytest subprocess with ``mutant`` on (``oracle`` False: without the oracle test).

    Killed: pytest ran the tests and some failed (exit status 1 with failing testcases). Survived:
    exit status 0. Anything else is no verdict on the mutant: a run over ``timeout`` timed out; one
    that ended otherwise (collection or internal error, usage error, no tests, a signal) crashed.
    """
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if mutant is not None:
        env[ENV_VAR] = mutant
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="otaproof-mutant-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
                   f"--rootdir={suite}", f"--junitxml={junit}", *(() if oracle else WITHOUT_ORACLE)]
        try:
            proc = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=timeout,
                                  preexec_fn=die_with_task if forked_task() else None)  # ends with its Dask task
        except subprocess.TimeoutExpired:
            return SuiteRun(Status.TIMED_OUT, (), f"no result within {timeout:g} s", time.perf_counter() - start)
        failed = tuple(sorted(_failed_tests(junit, suite))) if junit.is_file() else ()
    seconds = time.perf_counter() - start
    if proc.returncode == 0 and not failed:
        return SuiteRun(Status.SURVIVED, (), "", seconds)
    if proc.returncode == PYTEST_TESTS_FAILED and failed:
        return SuiteRun(Status.KILLED, failed, "", seconds)
    last = next((line.strip() for line in reversed((proc.stdout + proc.stderr).splitlines()) if line.strip()), "")
    return SuiteRun(Status.CRASHED, failed, f"pytest exit status {proc.returncode}" + (f", {last}" if last else ""),
                    seconds)


def run_mutants(suite_dir: Path, names: Sequence[str] | None = None, jobs: int = 2, timeout: float = 600,
                progress: Callable[[MutantResult], None] | None = None, oracle: bool = True) -> MutationReport:
    """Run the suite once without mutants (it must pass), then once per mutant, ``jobs`` runs at a time.

    ``progress`` is called with each result as it completes; the report lists them in ``names`` order.
    ``oracle`` False: every run leaves the oracle test out (a kill by the deterministic tests alone).
    """
    chosen = [mutant(n) for n in dict.fromkeys(MUTANTS if names is None else names)]
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    suite = Path(suite_dir).resolve()
    baseline = _run_suite(suite, None, timeout, oracle)
    if baseline.status is not Status.SURVIVED:
        why = f"failing: {', '.join(baseline.failing)}" if baseline.status is Status.KILLED \
            else f"{baseline.status}: {baseline.detail}"
        raise SuiteFailsWithoutMutants(f"the suite {suite} does not pass without mutants ({why}); "
                                       "fix it before mutation analysis")
    results: dict[str, MutantResult] = {}
    with task_pool(jobs) as pool:  # threads here, or the Dask cluster of --scheduler
        futures = {pool.submit(_run_suite, suite, seeded.name, timeout, oracle): seeded for seeded in chosen}
        for future in as_completed(futures):
            seeded, run = futures[future], future.result()
            result = MutantResult(seeded.name, seeded.fault, seeded.where, run.status, run.failing, run.seconds,
                                  run.detail)
            results[seeded.name] = result
            if progress is not None:
                progress(result)
    return MutationReport(str(suite), tuple(results[seeded.name] for seeded in chosen), oracle)


def report_table(report: MutationReport) -> Table:
    """A rich Table: mutant | fault | killed by (count, first test) | verdict, titled with the score."""
    table = Table(title=f"Mutation analysis of {report.suite}: {describe_score(report)}", title_justify="left")
    for column in ("mutant", "fault", "killed by", "verdict"):
        table.add_column(column)
    for r in report.results:
        by = f"{len(r.killing_tests)}: {r.killing_tests[0]}" if r.killed else "-"
        table.add_row(r.name, r.fault, by, r.verdict)
    return table


def describe_score(report: MutationReport) -> str:
    """One line: killed / all seeded, and how the others ended."""
    others = ", ".join(f"{report.count(s)} {s}" for s in (Status.SURVIVED, Status.TIMED_OUT, Status.CRASHED))
    without = "" if report.oracle else ", without the oracle test"
    return (f"mutation score {report.killed}/{len(report.results)} = {report.kill_rate:.1%} "
            f"(killed / all seeded mutants{without}; {others})")


def to_json(report: MutationReport) -> dict[str, Any]:
    """The report as JSON-ready data, schema ``otaproof.mutants/2``."""
    return {
        "schema": SCHEMA,
        "suite": report.suite,
        "oracle": report.oracle,
        "kill_rate": report.kill_rate,
        "killed": report.killed,
        "total": len(report.results),
        **{str(s).replace(" ", "_"): report.count(s) for s in (Status.SURVIVED, Status.TIMED_OUT, Status.CRASHED)},
        "survivors": [r.name for r in report.survivors],
        "mutants": [{"name": r.name, "fault": r.fault, "where": r.where, "status": str(r.status), "killed": r.killed,
                     "killing_tests": list(r.killing_tests), "seconds": round(r.seconds, 3), "verdict": r.verdict,
                     "detail": r.detail} for r in report.results],
    }
