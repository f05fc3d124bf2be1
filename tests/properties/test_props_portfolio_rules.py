"""The portfolio's race rules, played with a fake executor (no processes, no solver): each job is
answered as a script says, in the order the jobs started, so every schedule is deterministic."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import pytest

from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.engines.problem import Problem
from otaproof.properties.jobs import FIRST_STAGE, EngineRun, FirstStages, LemmaSearch, Staged, parts
from otaproof.properties.pool import ENDED, Work
from otaproof.properties.portfolio import GRACE_SECONDS, Portfolio, Row
from otaproof.properties.trace import Trace
from otaproof.properties.verdict import (
    Budget,
    Certificate,
    CertificateKind,
    Proved,
    Unknown,
    Verdict,
    VerdictKind,
    Violated,
)

BUDGET = Budget(timeout=60, depth=5)
SILENT = object()  # a job that never answers
PLAIN, OLD = Scenario(), Scenario(threats=frozenset({"old_supplier"}))
INV, BR = get_property("P-LOCAL-BANNED"), get_property("P-SMI-BOUNDED")  # BR: one part per device (two)


def proved(engine: str, kind: CertificateKind = CertificateKind.INDUCTIVE_INVARIANT) -> Proved:
    return Proved(engine, 1.0, Certificate(kind, "true", 1, True, 0.0, (f"{engine}-lemma",)))


def violated(engine: str) -> Violated:
    return Violated(engine, 1.0, Trace("secmp0007", [], [], {}, "P", {}, []))


def unknown(engine: str) -> Unknown:
    return Unknown(engine, 1.0, f"{engine} gave up")


Script = Callable[[EngineRun], object]


class FakePool:
    """An executor whose jobs answer at once (``script``), first started, first answered."""

    def __init__(self, script: Script, lemmas: object = ("no-lemma",)) -> None:
        self.script, self.lemmas = script, lemmas
        self.jobs: list[Work] = []  # as started
        self.started: list[EngineRun | LemmaSearch] = []  # the same, with a batch's runs one by one
        self.answers: deque[tuple[int, object]] = deque()
        self.live: set[int] = set()
        self.stopped: list[int] = []
        self.most = 0  # most jobs running at once

    def start(self, key: int, job: Work) -> None:
        assert isinstance(job, EngineRun | LemmaSearch | FirstStages)
        self.jobs.append(job)
        self.live.add(key)
        self.most = max(self.most, len(self.live))
        if isinstance(job, FirstStages):  # its runs answer one after the other, until one is silent or dies
            for index, run in enumerate(job.runs):
                self.started.append(run)
                answer = self.script(run)
                if answer is SILENT or answer is ENDED:
                    self.answers.extend([(key, answer)] if answer is ENDED else [])
                    return
                self.answers.append((key, Staged(index, answer)))
            return
        self.started.append(job)
        answer = self.lemmas if isinstance(job, LemmaSearch) else self.script(job)
        if answer is not SILENT:
            self.answers.append((key, answer))

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        while self.answers:
            key, answer = self.answers.popleft()
            if key in self.live:
                if answer is ENDED:  # as the real pool: a dead worker is stopped when its end is read
                    self.live.discard(key)
                return key, answer
        return None

    def stop(self, key: int) -> None:
        self.live.discard(key)
        self.stopped.append(key)


class Played:
    """A portfolio run with a fake pool: the outcomes, the pool, and each engine run as
    (threats, property, part number, engine), in start order."""

    def __init__(self, rows: list[Row], script: Script, workers: int = 2, engine: str = "portfolio",
                 lemmas: object = ("no-lemma",), swarm: bool = False) -> None:
        self.pool = FakePool(script, lemmas)
        self.portfolio = Portfolio(rows, engine, BUDGET, workers, self.pool, swarm=swarm)
        self.outcomes = self.portfolio.run()
        number = {id(p.job.task): p.number for p in self.portfolio.parts if isinstance(p.job, Problem)}
        self.runs = [("+".join(sorted(j.built.scenario.threats)) or "none", j.prop.id,
                      number[id(j.job.task)] if isinstance(j.job, Problem) else 0, j.engine)
                     for j in self.pool.started if isinstance(j, EngineRun)]
        self.engine_runs = [j for j in self.pool.started if isinstance(j, EngineRun)]

    def engines(self, threats: str = "none") -> list[str]:
        return [e for t, _, _, e in self.runs if t == threats]


def by_engine(answers: dict[str, Callable[[str], Verdict]]) -> Script:
    return lambda job: answers.get(job.engine, unknown)(job.engine)


def test_first_stages_come_first_bounded_responses_first_then_each_part_races_side_by_side() -> None:
    """One worker shows the queue order itself: every first stage, then part by part its racers,
    k-induction last of all."""
    run = Played([(PLAIN, [INV, BR])], by_engine({}), workers=1)
    assert isinstance(run.pool.started[0], LemmaSearch)
    assert [(p, n) for _, p, n, e in run.runs if e == FIRST_STAGE] == [(BR.id, 0), (BR.id, 1), (INV.id, 0)]
    races = [(p, n, e) for _, p, n, e in run.runs if e != FIRST_STAGE]
    assert races == [(INV.id, 0, "bmc"), (INV.id, 0, "pdr"),  # part-major, in property order
                     (BR.id, 0, "bmc"), (BR.id, 0, "pdr"), (BR.id, 0, "tail"),  # tail joins BR
                     (BR.id, 1, "bmc"), (BR.id, 1, "pdr"), (BR.id, 1, "tail"),
                     (INV.id, 0, "kind"), (BR.id, 0, "kind"), (BR.id, 1, "kind")]
    [[inv, br]] = run.outcomes
    assert inv.verdict.verdict == VerdictKind.UNKNOWN and inv.verdict.engine == "lemmas+bmc+pdr+kind"
    assert "bmc: bmc gave up" in inv.verdict.detail
    assert br.verdict.verdict == VerdictKind.UNKNOWN and "2 of 2 parts unknown" in br.verdict.detail


@pytest.mark.parametrize("searched, races", [(BUDGET.depth, False), (BUDGET.depth - 1, True), (-1, True)])
def test_a_probe_that_searched_the_whole_depth_stands_for_the_parts_bmc(searched: int, races: bool) -> None:
    """A first stage whose BMC probe found no counterexample up to the budget's depth: the
    racing BMC would ask the same queries, so it is not started, and its reason is the probe's."""
    def script(job: EngineRun) -> object:
        first = job.engine == FIRST_STAGE
        return Unknown(job.engine, 1.0, "gave up", searched=searched) if first else unknown(job.engine)

    run = Played([(PLAIN, [INV])], script)
    assert ("bmc" in run.engines()) == races
    [[inv]] = run.outcomes
    assert inv.verdict.verdict == VerdictKind.UNKNOWN and "bmc" in inv.verdict.engine
    assert (f"no counterexample up to depth {BUDGET.depth} (the first stage's probe" in inv.verdict.detail) != races


SIX_PARTS = [INV, BR, get_property("P-FAIL-VISIBLE"), get_property("P-SMI")]  # 1 + 2 + 2 + 1 parts


def _batches(pool: FakePool) -> list[list[tuple[str, int]]]:
    """Each ``FirstStages`` job started, as its runs' (property, part number)."""
    return [[(run.prop.id, run.part) for run in job.runs] for job in pool.jobs if isinstance(job, FirstStages)]


@pytest.mark.parametrize("workers, count", [(1, 1), (2, 2), (8, 2)])
def test_a_rows_first_stages_run_in_batches_by_turns_one_per_worker_of_at_least_three(workers: int,
                                                                                      count: int) -> None:
    run = Played([(PLAIN, SIX_PARTS)], by_engine({"lemmas": proved}), workers=workers)
    batches = _batches(run.pool)
    assert len(batches) == count and sorted(len(b) for b in batches) == [6 // count] * count
    queued = [(BR.id, 1), (BR.id, 2), ("P-FAIL-VISIBLE", 1), ("P-FAIL-VISIBLE", 2), (INV.id, 0), ("P-SMI", 0)]
    assert batches == [queued[k::count] for k in range(count)]  # bounded responses first, dealt by turns
    assert all(o.verdict.engine == "lemmas" for o in run.outcomes[0]) and not run.pool.live
    assert not any(isinstance(j, EngineRun) and j.engine == FIRST_STAGE for j in run.pool.jobs)  # no lone one


def test_under_a_threat_first_stages_are_batched_once_their_source_parts_are_decided_without_pdr() -> None:
    def pdr_proves_the_responses(job: EngineRun) -> object:
        response = job.prop.id == BR.id
        if job.engine == FIRST_STAGE:
            return unknown(job.engine) if response else proved(job.engine)
        return proved(job.engine) if response and job.engine == "pdr" else unknown(job.engine)

    run = Played([(PLAIN, SIX_PARTS), (OLD, SIX_PARTS)], pdr_proves_the_responses, workers=2)
    batched = [(r.built.scenario, r.prop.id, r.part) for job in run.pool.jobs if isinstance(job, FirstStages)
               for r in job.runs]
    others = [(p.id, n) for p, n in [(BR, 1), (BR, 2), (get_property("P-FAIL-VISIBLE"), 1),
                                     (get_property("P-FAIL-VISIBLE"), 2), (INV, 0), (get_property("P-SMI"), 0)]]
    assert sorted((pid, n) for sc, pid, n in batched if sc == PLAIN) == sorted(others)
    assert sorted((pid, n) for sc, pid, n in batched if sc == OLD) == sorted(o for o in others if o[0] != BR.id)
    alone = [j for j in run.pool.jobs if isinstance(j, EngineRun) and j.engine == FIRST_STAGE]
    assert sorted((j.prop.id, j.part) for j in alone) == [(BR.id, 1), (BR.id, 2)]  # each waited for PDR's proof
    assert all(j.built.scenario == OLD and isinstance(j.job, Problem) and j.job.reused is not None for j in alone)
    assert all(o.verdict.engine in ("lemmas", "pdr") for row in run.outcomes for o in row)


def test_k_induction_yields_to_the_next_row() -> None:
    other = Scenario(variant="gateway-screening")  # another design: its first stage waits for nothing
    run = Played([(PLAIN, [INV]), (other, [INV])], by_engine({}), workers=1)  # every engine gives up
    order = [(j.built.scenario.variant, j.engine) for j in run.engine_runs]
    assert order[:4] == [("secmp0007", "lemmas"), ("secmp0007", "bmc"), ("secmp0007", "pdr"),
                         ("gateway-screening", "lemmas")]  # the next row opened before k-induction started
    assert sorted(order[4:]) == sorted([("secmp0007", "kind"), ("gateway-screening", "bmc"),
                                        ("gateway-screening", "pdr"), ("gateway-screening", "kind")])
    assert all(isinstance(o.verdict, Unknown) for row in run.outcomes for o in row)


def test_a_batch_goes_on_past_a_part_whose_first_stage_gave_up_and_stops_once_it_owes_nothing() -> None:
    gives_up_first = {("P-SMI-BOUNDED", 1)}

    def script(job: EngineRun) -> object:
        if job.engine == FIRST_STAGE:
            return unknown(job.engine) if (job.prop.id, job.part) in gives_up_first else proved(job.engine)
        return violated(job.engine) if job.engine == "bmc" else unknown(job.engine)

    run = Played([(PLAIN, SIX_PARTS)], script, workers=2)
    [inv, br, fail, smi] = run.outcomes[0]
    assert isinstance(br.verdict, Violated) and br.verdict.engine == "bmc"
    assert all(o.verdict.engine == "lemmas" for o in (inv, fail, smi))
    assert [e for _, p, n, e in run.runs if (p, n) == (BR.id, 0)][:2] == [FIRST_STAGE, "bmc"]
    assert not run.pool.live  # every batch ended once it answered for all its parts


def test_a_batch_that_dies_midway_gives_up_the_parts_it_still_owed_and_the_others_race_on() -> None:
    def script(job: EngineRun) -> object:
        if job.engine == FIRST_STAGE:
            return ENDED if job.prop.id == "P-FAIL-VISIBLE" else proved(job.engine)
        return proved(job.engine) if job.engine == "pdr" else unknown(job.engine)

    run = Played([(PLAIN, SIX_PARTS)], script, workers=1)  # one batch: BR, BR, FAIL, FAIL, INV, SMI
    [inv, br, fail, smi] = run.outcomes[0]
    assert br.verdict.engine == "lemmas" and fail.verdict.engine == "pdr"
    assert inv.verdict.engine == "pdr" and smi.verdict.engine == "pdr"  # never reached by the batch
    assert all(isinstance(o.verdict, Proved) for o in run.outcomes[0]) and not run.pool.live


def test_a_batch_stops_once_every_part_it_still_owes_was_decided_elsewhere() -> None:
    """The batch goes silent on P-LOCAL-BANNED (its third run); the swarm's violations of that
    part and the next decide both, and the batch, owing nothing, is stopped at once."""
    now = [0.0]
    smi = get_property("P-SMI")

    def script(job: EngineRun) -> object:
        if job.engine == FIRST_STAGE:
            return SILENT if job.prop.id == INV.id else proved(job.engine)
        return violated(job.engine) if job.engine == "swarm" and job.prop.id in (INV.id, smi.id) else \
            unknown(job.engine)

    class Waiting(SwarmLast):
        def next_answer(self, timeout: float) -> tuple[int, object] | None:
            answer = super().next_answer(timeout)
            now[0] += answer is None
            return answer

    pool = Waiting(script)
    [[inv, br, smi_]] = Portfolio([(PLAIN, [INV, BR, smi])], "portfolio", BUDGET, 2, pool, swarm=True,
                                  clock=lambda: now[0]).run()
    assert isinstance(inv.verdict, Violated) and isinstance(smi_.verdict, Violated) and br.verdict.engine == "lemmas"
    assert _batches(pool) == [[(BR.id, 1), (BR.id, 2), (INV.id, 0), (smi.id, 0)]]
    assert not pool.live and now[0] == 0  # stopped, not waited for until overdue


def test_each_part_of_a_batch_gets_its_whole_budget_before_the_batch_is_overdue() -> None:
    """Every part's answer comes after four fifths of the budget: the batch is never stopped."""
    now = [0.0]

    class Slow(FakePool):
        def __init__(self, script: Script) -> None:
            super().__init__(script)
            self.pause = False

        def next_answer(self, timeout: float) -> tuple[int, object] | None:
            self.pause = not self.pause
            if self.pause and self.answers:
                now[0] += BUDGET.timeout * 0.8
                return None
            return super().next_answer(timeout)

    pool = Slow(by_engine({"lemmas": proved}))
    outcomes = Portfolio([(PLAIN, SIX_PARTS)], "portfolio", BUDGET, 1, pool, clock=lambda: now[0]).run()
    assert all(o.verdict.engine == "lemmas" for o in outcomes[0]) and now[0] > 2 * BUDGET.timeout


def test_with_the_swarm_every_safety_part_queues_its_swarm_when_the_row_opens() -> None:
    """With ``swarm``, the swarms come before the racers (queued when the row opened; the lemma
    search held the one worker)."""
    run = Played([(PLAIN, [INV, BR])], by_engine({}), workers=1, swarm=True)
    races = [(p, n, e) for _, p, n, e in run.runs if e != FIRST_STAGE]
    assert races[:4] == [(INV.id, 0, "swarm"), (BR.id, 0, "swarm"), (BR.id, 1, "swarm"), (INV.id, 0, "bmc")]
    assert run.outcomes[0][0].verdict.engine == "lemmas+swarm+bmc+pdr+kind"


def test_a_part_whose_first_stage_is_over_races_before_later_parts_in_the_queue() -> None:
    run = Played([(PLAIN, [INV, BR])], by_engine({}), workers=2)
    assert run.pool.most == 2
    assert run.runs.index(("none", INV.id, 0, "pdr")) < run.runs.index(("none", BR.id, 0, "pdr"))
    assert run.runs[3] == ("none", BR.id, 0, "bmc")  # INV's first stage still ran: BR's race started first


def test_the_first_definitive_answer_wins_and_stops_the_other_engines_of_the_part() -> None:
    run = Played([(PLAIN, [INV])], by_engine({"bmc": violated}), workers=3)
    [[inv]] = run.outcomes
    assert isinstance(inv.verdict, Violated) and inv.verdict.engine == "bmc"
    assert run.engines() == ["lemmas", "bmc", "pdr", "kind"]
    assert not run.pool.live and len(run.pool.stopped) == len(run.pool.started)  # pdr and kind stopped unanswered


def test_a_proof_ends_each_parts_race_and_parts_proved_make_a_conjunction() -> None:
    run = Played([(PLAIN, [BR])], by_engine({"pdr": proved}))
    [[br]] = run.outcomes
    v = br.verdict
    assert isinstance(v, Proved) and v.certificate.kind == CertificateKind.CONJUNCTION and v.certificate.size == 2
    assert v.engine == "pdr" and v.certificate.lemmas == ("pdr-lemma",)
    assert v.detail.startswith("conjunction of 2 parts: inductive-invariant, clauses=1")
    assert run.engines() == ["lemmas", "lemmas", "bmc", "pdr", "tail", "bmc", "pdr", "tail"]  # pdr's proof stops tail
    assert not run.pool.live


class LateLemmas(FakePool):
    """The row's lemma search answers after every engine that answered meanwhile."""

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        engines = [(k, a) for k, a in self.answers if k in self.live and not isinstance(a, tuple)]
        if engines:
            self.answers.remove(engines[0])
            return engines[0]
        return super().next_answer(timeout)


def test_the_swarm_of_every_safety_part_starts_while_the_lemma_search_runs() -> None:
    reach = get_property("P-NO-STRAND")
    run = Played([(PLAIN, [INV, BR, reach])], by_engine({}), workers=4, swarm=True)
    assert isinstance(run.pool.started[0], LemmaSearch)
    assert run.runs[:3] == [("none", INV.id, 0, "swarm"), ("none", BR.id, 0, "swarm"), ("none", BR.id, 1, "swarm")]
    assert ("none", reach.id, 0, "swarm") not in run.runs  # REACH: the recovery and explicit engines only
    assert sum(1 for _, _, _, e in run.runs if e == "swarm") == 3  # each part's swarm runs once


def test_a_swarm_violation_decides_before_the_lemma_search_ends_and_nothing_else_races() -> None:
    pool = LateLemmas(by_engine({"swarm": violated}))
    [[inv]] = Portfolio([(PLAIN, [INV])], "portfolio", BUDGET, 2, pool, swarm=True).run()
    assert isinstance(inv.verdict, Violated) and inv.verdict.engine == "swarm"
    assert [j.engine for j in pool.started if isinstance(j, EngineRun)] == ["swarm"]
    assert not pool.live and len(pool.stopped) == 2  # the lemma search too: the row has nothing left to decide


def test_a_row_decided_by_the_swarm_alone_still_teaches_the_rows_under_threats() -> None:
    rows: list[Row] = [(PLAIN, [INV]), (OLD, [INV])]

    def swarm_finds_without_the_attacker(job: EngineRun) -> object:
        finds = job.engine == "swarm" and not job.built.scenario.threats
        return violated(job.engine) if finds or job.engine == "bmc" else unknown(job.engine)

    pool = LateLemmas(swarm_finds_without_the_attacker)
    results = Portfolio(rows, "portfolio", BUDGET, 2, pool, swarm=True).run()  # row 2's first stage waits for row 1
    assert [o.verdict.engine for [o] in results] == ["swarm", "bmc"]


def test_a_swarm_that_gives_up_before_the_lemma_search_ends_leaves_the_part_to_the_others() -> None:
    pool = LateLemmas(by_engine({"pdr": proved}))
    [[inv]] = Portfolio([(PLAIN, [INV])], "portfolio", BUDGET, 2, pool, swarm=True).run()
    assert isinstance(inv.verdict, Proved) and inv.verdict.engine == "pdr"
    assert [j.engine for j in pool.started if isinstance(j, EngineRun)][:3] == ["swarm", "lemmas", "bmc"]
    pool = LateLemmas(by_engine({}))
    [[inv]] = Portfolio([(PLAIN, [INV])], "portfolio", BUDGET, 2, pool, swarm=True).run()
    assert isinstance(inv.verdict, Unknown) and inv.verdict.engine == "swarm+lemmas+bmc+pdr+kind"


class SwarmLast(FakePool):
    """The swarm answers after every other job that answered meanwhile."""

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.swarms: set[int] = set()

    def start(self, key: int, job: Work) -> None:
        if isinstance(job, EngineRun) and job.engine == "swarm":
            self.swarms.add(key)
        super().start(key, job)

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        others = [(k, a) for k, a in self.answers if k in self.live and k not in self.swarms]
        if others:
            self.answers.remove(others[0])
            return others[0]
        return super().next_answer(timeout)


@pytest.mark.parametrize("swarm_finds", [True, False])
def test_a_violation_found_first_by_another_engine_waits_for_the_swarms_trace(swarm_finds: bool) -> None:
    pool = SwarmLast(by_engine({"bmc": violated, "swarm": violated if swarm_finds else unknown}))
    [[inv]] = Portfolio([(PLAIN, [INV])], "portfolio", BUDGET, 3, pool, swarm=True).run()
    assert isinstance(inv.verdict, Violated) and inv.verdict.engine == ("swarm" if swarm_finds else "bmc")
    assert [j.engine for j in pool.started if isinstance(j, EngineRun)] == ["swarm", "lemmas", "bmc", "pdr"]
    assert not pool.live  # pdr was stopped when BMC's violation came; the swarm ran on


def test_a_violated_part_decides_the_property_and_its_other_parts_never_race() -> None:
    first, second = parts(build(PLAIN), BR)
    assert isinstance(first, Problem) and isinstance(second, Problem) and repr(first.task.bad) != repr(second.task.bad)

    def first_part_violated(job: EngineRun) -> object:
        on_first = isinstance(job.job, Problem) and repr(job.job.task.bad) == repr(first.task.bad)
        return violated(job.engine) if job.engine == "bmc" and on_first else unknown(job.engine)

    run = Played([(PLAIN, [BR])], first_part_violated)
    [[br]] = run.outcomes
    assert isinstance(br.verdict, Violated)
    assert [e for _, _, n, e in run.runs if n == 1] == [FIRST_STAGE]  # the second part's race never started


def test_under_a_threat_the_source_rows_decider_runs_alone_first() -> None:
    rows: list[Row] = [(PLAIN, [INV]), (OLD, [INV])]
    run = Played(rows, by_engine({"bmc": violated}), workers=3)
    assert [o.verdict.engine for [o] in run.outcomes] == ["bmc", "bmc"]
    assert run.engines("none") == ["lemmas", "bmc", "pdr", "kind"]
    assert run.engines("old_supplier") == ["lemmas", "bmc"]

    def bmc_gives_up_under_the_threat(job: EngineRun) -> object:
        decides = job.engine == "bmc" and not job.built.scenario.threats
        return violated(job.engine) if decides else unknown(job.engine)

    run = Played(rows, bmc_gives_up_under_the_threat, workers=3)
    assert run.engines("old_supplier") == ["lemmas", "bmc", "pdr", "kind"]
    assert isinstance(run.outcomes[1][0].verdict, Unknown)


def test_a_first_stage_waits_for_its_source_part_and_reuses_a_pdr_proof_only() -> None:
    rows: list[Row] = [(PLAIN, [INV]), (OLD, [INV])]
    run = Played(rows, by_engine({"pdr": proved}), workers=4)
    assert run.runs.index(("old_supplier", INV.id, 0, FIRST_STAGE)) > run.runs.index(("none", INV.id, 0, "pdr"))
    [reusing] = [j for j in run.engine_runs if j.engine == FIRST_STAGE and j.built.scenario.threats]
    assert isinstance(reusing.job, Problem) and reusing.job.reused is not None
    assert reusing.job.reused.source == "reused from no attacker"
    run = Played(rows, by_engine({"lemmas": proved}), workers=4)  # the lemmas alone: nothing to reuse
    [first] = [j for j in run.engine_runs if j.built.scenario.threats and j.engine == FIRST_STAGE]
    assert isinstance(first.job, Problem) and first.job.reused is None


def test_no_proof_is_reused_from_a_later_row() -> None:
    run = Played([(OLD, [INV]), (PLAIN, [INV])], by_engine({"pdr": proved}))
    assert all(isinstance(j.job, Problem) and j.job.reused is None for j in run.engine_runs)


def test_a_silent_worker_is_stopped_when_overdue_and_counts_as_unknown() -> None:
    now = [0.0]

    class Clocked(FakePool):
        def next_answer(self, timeout: float) -> tuple[int, object] | None:
            answer = super().next_answer(timeout)
            if answer is None:  # nothing came: time passes
                now[0] += BUDGET.timeout + GRACE_SECONDS + 1
            return answer

    pool = Clocked(lambda job: SILENT if job.engine == "kind" else unknown(job.engine))
    [[inv]] = Portfolio([(PLAIN, [INV])], "portfolio", BUDGET, 2, pool, clock=lambda: now[0]).run()
    assert isinstance(inv.verdict, Unknown) and "kind: engine process overran its budget or died" in inv.verdict.detail
    assert not pool.live


def test_a_dead_worker_counts_as_unknown_and_a_lost_lemma_search_leaves_the_row_without_lemmas() -> None:
    run = Played([(PLAIN, [INV])], lambda job: ENDED if job.engine == "pdr" else unknown(job.engine), lemmas=ENDED)
    [[inv]] = run.outcomes
    assert isinstance(inv.verdict, Unknown) and "pdr: engine process overran its budget or died" in inv.verdict.detail
    assert all(isinstance(j.job, Problem) and j.job.known is None for j in run.engine_runs)
    run = Played([(PLAIN, [INV])], by_engine({}))  # the swarm started before the lemmas were known
    assert all(isinstance(j.job, Problem) and (j.job.known is not None) == (j.engine != "swarm")
               for j in run.engine_runs)


def test_rows_come_back_in_row_and_property_order_and_each_property_is_reported_once() -> None:
    seen: list[tuple[int, str]] = []
    rows: list[Row] = [(PLAIN, [INV, BR]), (Scenario(variant="pre-secmp0007"), [BR, INV])]
    pool = FakePool(by_engine({"bmc": violated}))
    results = Portfolio(rows, "portfolio", BUDGET, 2, pool, lambda row, o: seen.append((row, o.property.id))).run()
    assert [[o.property.id for o in r] for r in results] == [[INV.id, BR.id], [BR.id, INV.id]]
    assert sorted(seen) == sorted([(0, INV.id), (0, BR.id), (1, BR.id), (1, INV.id)])


@pytest.mark.parametrize("engine", ["bmc", "explicit"])
def test_a_single_engine_runs_alone_without_a_lemma_search(engine: str) -> None:
    reach = get_property("P-NO-STRAND")
    run = Played([(PLAIN, [INV, reach])], by_engine({}), engine=engine)
    assert not any(isinstance(j, LemmaSearch) for j in run.pool.started)
    assert [(p, e) for _, p, _, e in run.runs] == [(INV.id, engine), (reach.id, "explicit")]


def test_a_stalled_queue_is_an_error_not_a_hang() -> None:
    class Stuck(Portfolio):
        def ready(self, job: tuple[int, str], engaged: dict[int, set[str]]) -> bool:
            return False

    with pytest.raises(RuntimeError, match="stalled"):
        Stuck([(PLAIN, [INV])], "portfolio", BUDGET, 2, FakePool(by_engine({}))).run()


class FirstPartLate(FakePool):
    """A pool that answers the first part's racing engines only when nothing else is left to answer."""

    def __init__(self, script: Script, first: Problem) -> None:
        super().__init__(script)
        self.first, self.late = first, deque[tuple[int, object]]()
        self.answered: list[str] = []  # the engines of the definitive answers, in answer order

    def start(self, key: int, job: Work) -> None:
        super().start(key, job)
        if isinstance(job, EngineRun) and job.engine != FIRST_STAGE and isinstance(job.job, Problem) and \
                repr(job.job.task.bad) == repr(self.first.task.bad):
            self.late.append(self.answers.pop())

    def next_answer(self, timeout: float) -> tuple[int, object] | None:
        answer = super().next_answer(timeout)
        while answer is None and self.late:
            key, value = self.late.popleft()
            answer = (key, value) if key in self.live else None
        if answer is not None and isinstance(answer[1], Violated | Proved):
            self.answered.append(answer[1].engine)
        return answer


@pytest.mark.parametrize("first_violated", [True, False])
def test_a_later_part_violated_first_waits_for_the_earlier_parts(first_violated: bool) -> None:
    """The second part's BMC answers before the first part's last engine: the property is still
    decided by the first violated part in part order, so the trace does not depend on the race."""
    first, _ = parts(build(PLAIN), BR)
    assert isinstance(first, Problem)

    def script(job: EngineRun) -> object:
        on_first = isinstance(job.job, Problem) and repr(job.job.task.bad) == repr(first.task.bad)
        if not on_first:
            return Violated("bmc", 1.0, Trace("secmp0007", [], [], {}, "second", {}, [])) \
                if job.engine == "bmc" else unknown(job.engine)
        if job.engine == "kind":  # the first part's last racer
            return Violated("kind", 1.0, Trace("secmp0007", [], [], {}, "first", {}, [])) \
                if first_violated else proved("kind")
        return unknown(job.engine)

    pool = FirstPartLate(script, first)
    [[br]] = Portfolio([(PLAIN, [BR])], "portfolio", BUDGET, 8, pool).run()
    assert pool.answered.index("bmc") < pool.answered.index("kind")  # the second part answered first
    assert isinstance(br.verdict, Violated)
    assert br.verdict.trace.property == ("first" if first_violated else "second")


@pytest.mark.parametrize(("workers", "swarm", "processes"), [(2, False, 2), (1, False, 1), (2, True, 1)])
def test_a_row_lemma_search_runs_in_two_processes_that_count_as_two_workers(workers: int, swarm: bool,
                                                                           processes: int) -> None:
    """The lemma search splits its steps between two processes when two workers are free for it
    (not with the swarm, which hunts beside it), and while it runs they are busy: the next
    row is not opened on the second worker."""
    pool = FakePool(by_engine({}), lemmas=SILENT)
    portfolio = Portfolio([(PLAIN, [INV]), (OLD, [INV])], "portfolio", BUDGET, workers, pool, swarm=swarm)
    portfolio.fill()
    searches = [job for job in pool.started if isinstance(job, LemmaSearch)]
    assert searches[0].processes == processes
    if processes == 2:
        assert pool.started == searches[:1]
