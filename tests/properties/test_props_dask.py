"""The Dask executor: every job the portfolio starts travels as a picklable description that
rebuilds the same job in the worker; a stopped engine is killed in its worker; a worker that
dies makes its job Unknown (naming what happened), never a hang; mutants run on the cluster."""

from __future__ import annotations

import os
import pickle
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import distributed  # imported before dask.config.set, which then keeps its defaults
import psutil
import pytest

from otaproof.generators.mutation import Status, run_mutants
from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.executors import Cluster, DaskExecutor, describe, scheduler
from otaproof.properties.jobs import EngineRun, FirstStages, LemmaSearch, Staged, parts
from otaproof.properties.pool import ENDED, Work
from otaproof.properties.portfolio import Portfolio
from otaproof.properties.templates import with_templates
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Unknown, Verdict

PLAIN, OLD = Scenario(), Scenario(threats=frozenset({"old_supplier"}))
INV, BR = get_property("P-LOCAL-BANNED"), get_property("P-SMI-BOUNDED")  # BR: one part per device (two)
PATIENCE = 120.0  # seconds to wait for a worker to act: generous, a busy machine never reaches it


class Recorder:
    """An executor that records each job and answers at once: PDR proves, the rest give up."""

    def __init__(self, lemmas: tuple[str, ...]) -> None:
        self.lemmas, self.started, self.answers = lemmas, list[Work](), list[tuple[int, object]]()

    def start(self, key: int, work: Work) -> None:
        self.started.append(work)
        if isinstance(work, FirstStages):
            self.answers += [(key, Staged(index, self.verdict(run))) for index, run in enumerate(work.runs)]
            return
        answer: object = self.lemmas if isinstance(work, LemmaSearch) else self.verdict(work)
        self.answers.append((key, answer))

    @staticmethod
    def verdict(work: Work) -> Verdict:
        assert isinstance(work, EngineRun)
        if work.engine == "pdr":
            return Proved("pdr", 1.0, Certificate(CertificateKind.INDUCTIVE_INVARIANT, "true", 1, True, 0.0))
        return Unknown(work.engine, 1.0, "gave up")

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        return self.answers.pop(0) if self.answers else None

    def stop(self, key: int) -> None:
        pass


def _shape(job: object) -> str:
    """A job as text, without the addresses of the model's functions (rebuilt, so elsewhere)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(job))


def test_every_job_the_portfolio_starts_is_rebuilt_the_same_from_its_description() -> None:
    budget = Budget(timeout=60, depth=5)
    names = tuple(lm.name for lm in with_templates(build(PLAIN), budget.seed).lemmas[::3])
    pool = Recorder(names)
    Portfolio([(PLAIN, [INV, BR]), (OLD, [INV, BR])], "portfolio", budget, 2, pool).run()
    runs = [w for w in pool.started if isinstance(w, EngineRun)] + \
        [run for w in pool.started if isinstance(w, FirstStages) for run in w.runs]
    assert any(isinstance(w, FirstStages) for w in pool.started)  # the row without attacker's first stages
    assert all(run.probe for w in pool.started if isinstance(w, FirstStages) for run in w.runs)
    assert any(r.job.known is not None for r in runs if not isinstance(r.job, list))  # the shared lemmas travel
    assert any(r.job.reused is not None for r in runs if not isinstance(r.job, list))  # and a reused proof
    assert {r.part for r in runs} == {0, 1, 2}  # a whole property and both parts of the per-device one
    for work in pool.started:
        description = describe(work)
        assert pickle.loads(pickle.dumps(description)) == description
        again = description.work()
        if isinstance(work, LemmaSearch):
            assert isinstance(again, LemmaSearch) and again.built.scenario == work.built.scenario
            assert again.budget == work.budget
            continue
        if isinstance(work, FirstStages):
            assert isinstance(again, FirstStages) and len(again.runs) == len(work.runs)
            pairs = list(zip(again.runs, work.runs, strict=True))
            assert len({id(run.built) for run in again.runs}) == 1  # the model is built once for the batch
        else:
            assert isinstance(again, EngineRun) and isinstance(work, EngineRun)
            pairs = [(again, work)]
        for rebuilt, run in pairs:
            assert (rebuilt.prop, rebuilt.engine, rebuilt.budget, rebuilt.part, rebuilt.probe) == \
                (run.prop, run.engine, run.budget, run.part, run.probe)
            assert _shape(rebuilt.job) == _shape(run.job)


def test_a_job_the_description_cannot_carry_is_refused() -> None:
    from otaproof.properties.executors import SchedulerError

    with pytest.raises(SchedulerError, match="cannot be sent to a Dask worker"):
        describe(lambda report: report(None))


def test_a_scheduler_without_workers_is_refused_before_any_work() -> None:
    from otaproof.properties.executors import SchedulerError

    with distributed.LocalCluster(n_workers=0, dashboard_address=None) as empty, \
            pytest.raises(SchedulerError, match="no Dask worker joined within 1 s"), \
            scheduler(empty.scheduler_address, wait=1):
        pytest.fail("the run started without a worker")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A LocalCluster of two worker processes that gives up a task at the first worker death."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), scheduler("local", 2) as opened:
        assert opened is not None
        yield opened


def _long_run() -> EngineRun:
    """BMC to depth 200 on a property that holds: it runs far longer than any test waits."""
    built = with_templates(build(PLAIN), 0)
    [job] = parts(built, INV)
    return EngineRun(built, job, INV, "bmc", Budget(timeout=600, depth=200))


def _engines(cluster: Cluster) -> dict[str, list[int]]:
    """Each worker's child processes (its engine processes)."""
    found: dict[str, list[int]] = cluster.client.run(lambda: [c.pid for c in psutil.Process().children()])
    return found


def _until(what: Callable[[], Any], why: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while not (found := what()):
        assert time.monotonic() < deadline, why
        time.sleep(0.2)
    return found


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_a_stopped_engine_is_killed_in_its_worker(cluster: Cluster) -> None:
    with DaskExecutor(cluster.client) as executor:
        executor.start(0, _long_run())
        [pid] = _until(lambda: [p for pids in _engines(cluster).values() for p in pids], "the engine never started")
        executor.stop(0)
        _until(lambda: _gone(pid), "the stopped engine still runs")
        assert executor.next_answer(0.1) is None


def test_a_worker_that_dies_makes_its_job_unknown_naming_it(cluster: Cluster) -> None:
    pids = cluster.client.run(os.getpid)
    with DaskExecutor(cluster.client) as executor:
        executor.start(7, _long_run())
        where, [engine] = _until(lambda: next(((w, e) for w, e in _engines(cluster).items() if e), None),
                                 "the engine never started")
        os.kill(pids[where], signal.SIGKILL)
        key, answer = _until(lambda: executor.next_answer(0.5), "no answer after the worker died")
        assert key == 7 and isinstance(answer, Unknown) and answer.engine == "bmc"
        assert "Dask worker lost" in answer.reason and where in answer.reason  # names the worker that died
        assert executor.next_answer(0.1) == (7, ENDED)
        _until(lambda: _gone(engine), "the engine outlived its worker")


SUITE = {  # a throwaway conformance suite: it kills skip-cpl-check, and keep-image-on-hub survives it
    "conftest.py": "from otaproof.generators.mutants import apply_from_env\n\napply_from_env()\n",
    "test_cpl.py": """
from otaproof.refimpl import NotOnCPL, Premises, PremisesConfig
import pytest


def test_unlisted_image_is_refused():
    p = Premises(PremisesConfig(seed=1))
    with pytest.raises(NotOnCPL):
        p.update_ppmid(p.firmware("PPMID", 2, list_on_cpl=False))
""",
}


def test_mutants_run_on_the_cluster_with_the_local_verdicts(cluster: Cluster, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name, text in SUITE.items():
        (tmp_path / name).write_text(text)
    report = run_mutants(tmp_path, ["skip-cpl-check", "keep-image-on-hub"], jobs=2, timeout=120)
    assert [(r.name, r.status) for r in report.results] == [("skip-cpl-check", Status.KILLED),
                                                            ("keep-image-on-hub", Status.SURVIVED)]
    assert report.results[0].killing_tests == ("test_cpl.py::test_unlisted_image_is_refused",)
    ran = cluster.client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "run_forked" in ran  # the runs went to the cluster
