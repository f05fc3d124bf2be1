"""Coverage goals and covering traces (generators/goals.py, generators/coverage.py).

Goals come from the model (every SR 11.4 rejection branch, the outcome codes the hub relays, the
state a branch must leave alone, recovery after a refusal, inputs at their edges); every covered
goal's trace really covers it when replayed independently in the explicit semantics (each goal's
event evaluated on every step); a goal that is dead by construction is reported unreachable,
never covered, and a reachable goal beyond the bound is unknown, never unreachable; minimisation
keeps the coverage; two runs give the same goals and traces; the search is bounded by solver
resource limits, not by the clock, so no assertion here depends on how busy the machine is.
"""

from __future__ import annotations

import multiprocessing as mp
from types import SimpleNamespace

import pytest
import z3

from otaproof.generators import coverage
from otaproof.generators.coverage import (
    CoverageResult,
    cover,
    coverage_goals,
    coverage_table,
    greedy_cover,
    query_rlimit,
)
from otaproof.generators.explore import explore, search_cone
from otaproof.generators.goals import (
    KINDS,
    changed_actions,
    design_change,
    goal_lemmas,
    goal_set,
    refusals,
)
from otaproof.model.config import Parameters, Scenario
from otaproof.model.explicit import Interpreter, compile_expr
from otaproof.model.lang import EnumSort, IntSort
from otaproof.model.slicing import cone_of_influence
from otaproof.model.system import SystemBuilder, assign, case, otherwise, outcome
from otaproof.model.variants import BuiltModel, build, get_variant
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.engines.strengthen import model_lemmas
from otaproof.properties.pool import ForkPool
from otaproof.properties.solver import Deadline
from otaproof.properties.verdict import Budget, Unknown

# ---- a toy model with every kind of goal, where the truth is known -----------------------------


def toy() -> BuiltModel:
    """A device reports to a DSP over a one-message queue. ``work`` has a branch that contradicts
    its guard (dead by construction); ``report`` needs n == 3 (seven steps away: each ``work``
    must be received before the next); the ALERT kind and the "none" code are never sent, so they
    give no outcome goal."""
    b = SystemBuilder("toy")
    dev, dsp, env = b.machine("Dev"), b.machine("DSP"), b.machine("Env")
    kinds = EnumSort("Kind", ("REPORT", "ALERT"))
    codes = EnumSort("Code", ("none", "ok", "failed", "late"))
    up = b.channel("Dev->DSP", "Dev", "DSP", {"kind": kinds, "outcome": codes}, 1)
    n = dev.var("n", IntSort(0, 3), 0)
    bad = env.var("bad", EnumSort("Flag", ("no", "yes")), "no")
    env.action("toggle", lambda: case(True, assign(bad, "yes")), role="environment")
    dev.action("work", lambda: case(up.has_room() & (n < 3),
                                    outcome("impossible", ~up.has_room(), assign(n, 0)),
                                    outcome("fail", bad == "yes", up.send(kind="REPORT", outcome="failed")),
                                    otherwise("ok", assign(n, n + 1), up.send(kind="REPORT", outcome="ok"))))
    dev.action("report", lambda: case(up.has_room() & (n == 3), up.send(kind="REPORT", outcome="late")))
    dsp.action("receive", lambda: case(up.nonempty(),
                                       outcome("good", up.head("outcome") == "ok", up.receive()),
                                       otherwise("bad", up.receive())))
    model = SimpleNamespace(b=b, wan_up={"D": up})
    return BuiltModel(Scenario(), get_variant("secmp0007"), model, b.build(), ())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def toy_result() -> tuple[BuiltModel, CoverageResult]:
    bm = toy()
    return bm, cover(bm, depth=8)


REQUEST = "SR11_4_update_PPMID_firmware"


@pytest.fixture(scope="module")
def small_real() -> tuple[BuiltModel, CoverageResult]:
    """The approved design with one PPMID, a short bound, and the goals of the DSP's request
    checks (every kind) and of the CPL boundary. Every solver query (lemmas, BMC, proofs) is
    bounded by Z3 resource units, not seconds, so the result is the same however busy the machine
    is; the wall-clock caps are left at their safety-net defaults and never bind."""
    bm = build(Scenario(parameters=Parameters(ppmids=1, hcalcs=0)))
    return bm, cover(bm, depth=3, rlimit=5_000_000, proof_rlimit=2_000_000,
                     select=lambda g: g.action == REQUEST or g.id.startswith("boundary:P-CPL-NOW/"))


def check_traces(bm: BuiltModel, result: CoverageResult) -> None:
    """Replay every kept trace independently and confirm each goal it claims (and each goal the
    result says it covers) happens on some step: action and branch goals by the steps taken, the
    others by evaluating their events on every step (sequence goals: on the model with monitors)."""
    gs = goal_set(bm)
    system = gs.system
    interp = Interpreter(system)
    goals = {g.id: g for g in result.goals}
    edges = {g.id: compile_expr(e) for g, e in gs.goals if g.kind not in ("action", "branch", "outcome")}
    for ct in result.traces:
        state = interp.initial_state()
        seen: set[str] = set()
        for step in ct.trace.steps:
            inst = system.instances[step.instance]
            assert (inst.action, dict(inst.params)) == (step.action, step.parameters)
            branch = interp.branch_taken(state, step.instance)
            assert branch == step.branch
            seen |= {f"action:{inst.action}", f"branch:{inst.action}/{branch}"}
            after = interp.step(state, step.instance)
            seen |= {gid for gid, event in edges.items() if event(state, after, step.instance)}
            for ch in bm.model.wan_up.values():  # the DSP took the head message off a hub-to-DSP queue
                if inst.machine == ch.dst and after[ch.length.index] == state[ch.length.index] - 1:
                    head = {f: ch.fields[f].decode(state[ch.slots[0][f].index]) for f in ("kind", "outcome")}
                    seen.add(f"outcome:{head['kind']}/{head['outcome']}@{inst.action}")
            state = after
        for gid in ct.goals:
            g = goals[gid]
            if g.kind == "outcome":
                assert any(s.startswith(f"{gid}@") and s.split("@")[1] in g.action.split("|") for s in seen), gid
            else:
                assert gid in seen, gid
    for gid, n in result.covered.items():
        assert gid in result.traces[n].goals


def check_partition(result: CoverageResult) -> None:
    ids = [g.id for g in result.goals]
    parts = [set(result.covered), set(result.unreachable), set(result.unknown)]
    assert sum(map(len, parts)) == len(ids) == len(set(ids))
    assert set().union(*parts) == set(ids)


# ---- goals ------------------------------------------------------------------------------------


def test_goals_are_every_action_branch_and_relayed_outcome_of_the_model() -> None:
    bm = build(Scenario())
    s, goals = bm.system, coverage_goals(bm)
    ids = [g.id for g in goals]
    assert len(ids) == len(set(ids)) and goals == coverage_goals(bm)
    assert {g.action for g in goals if g.kind == "action"} == {a for a in s.actions if s.instances_of(a)}
    branches = {b.name for i in s.instances_of("SR11_4_update_PPMID_firmware") for b in i.branches}
    assert {n for n in branches if n.startswith("rejected_")} >= {"rejected_not_on_cpl", "rejected_hash_mismatch",
                                                                  "rejected_invalid_device"}
    assert {f"branch:SR11_4_update_PPMID_firmware/{n}" for n in branches} <= set(ids)
    for g in goals:
        if g.kind == "branch":  # only actions with a choice of branches have branch goals
            assert len({b.name for i in s.instances_of(g.action) for b in i.branches}) > 1
    outcomes = {g.id for g in goals if g.kind == "outcome"}
    assert {"outcome:FW_DISTRIBUTION_RECEIPT/verification_successful",
            "outcome:FW_DISTRIBUTION_RECEIPT/verification_failed", "outcome:CCS08/success",
            "outcome:CCS08/image_discarded", "outcome:CCS08/hardware_version_mismatch", "outcome:CS06_RESPONSE/success",
            "outcome:CS06_RESPONSE/authentication_failure", "outcome:CS06_RESPONSE/no_image_held",
            "outcome:CS06_RESPONSE/hash_mismatch"} <= outcomes
    assert not any(g.startswith("outcome:CS08_RESPONSE/") or g.startswith("outcome:CS09/") for g in outcomes)
    for g in goals:
        if g.kind == "outcome":
            assert all(a.startswith("DSP_receive_") for a in g.action.split("|")), g
    rank = {k: n for n, k in enumerate(KINDS)}
    assert ids == [g.id for g in sorted(goals, key=lambda g: (rank[g.kind], g.id))]


def test_every_property_has_a_boundary_where_its_actions_exist() -> None:
    """Each catalogue property has a boundary goal; the local-update ban's and the power-loss
    boundaries exist only in designs with local updates and power faults."""
    def edges(sc: Scenario) -> set[str]:
        return {g.id.split(":")[1].split("/")[0] for g in coverage_goals(build(sc)) if g.kind == "boundary"}
    approved = edges(Scenario())
    assert approved == {p.id for p in CATALOGUE} - {"P-LOCAL-BANNED", "P-BOOTABLE"}
    assert {"P-LOCAL-BANNED", "P-BOOTABLE"} <= edges(Scenario("geo-local-daily-alert", faults=frozenset({"power"})))
    ids = {g.id for g in coverage_goals(build(Scenario()))}
    assert {"boundary:P-CPL-NOW/removed-entry", "boundary:P-REPLAY/equal-counter",
            "boundary:P-COMPAT/other-model"} <= ids


def test_outcome_codes_follow_messages_through_the_hub_relay() -> None:
    """An HCALCS's reports reach the hub-to-DSP queue only through the hub's relay, which copies
    their outcome: their goals come from the device's sends, followed through it. A spoofed CS09
    (han_mitm) carries no outcome, like a genuine one: it adds no outcome goal."""
    plain = {g.id for g in coverage_goals(build(Scenario()))}
    mitm = {g.id for g in coverage_goals(build(Scenario(threats=frozenset({"han_mitm"}))))}
    assert {"outcome:CS06_RESPONSE/counter_failure", "outcome:FW_DISTRIBUTION_RECEIPT/verification_failed"} <= plain
    assert not [g for g in mitm - plain if g.startswith("outcome:")]


def test_frame_sequence_and_input_goals_come_from_the_model() -> None:
    """Frame goals name the state another branch writes and this one must keep; refusals are the
    branches that do a strict subset of another's writes; sequence goals need a monitor flag each;
    input goals put each compared message field below, at and above what it is compared with."""
    bm = build(Scenario())
    gs = goal_set(bm)
    ids = {g.id for g, _ in gs.goals}
    assert {"frame:SR11_4_update_PPMID_firmware/rejected_not_on_cpl/DSP.SMI[d].DeviceFirmwareVersionStatus",
            "frame:verify_image[P1]/rollback_discarded/PPMID.d.held",
            "frame:activate_on_CS06[H1]/counter_failure/HCALCS.d.last_counter"} <= ids
    assert not any(g.startswith("frame:SR11_4_update_PPMID_firmware/accepted/") for g in ids)
    refused, accepting = refusals(bm.system, "SR11_4_update_PPMID_firmware")
    assert accepting == ["accepted"] and "rejected_not_on_cpl" in refused
    assert refusals(bm.system, "verify_image[P1]")[1] == ["image_held"]
    assert {"sequence:SR11_4_update_PPMID_firmware/rejected_update_in_progress>SR11_4_update_PPMID_firmware/accepted",
            "sequence:CPL_remove_entry>CPL_list_entry/CPL.listed[img]",
            "sequence:DSP_receive_CCS08_alert>SR11_4_update_PPMID_firmware/"
            "DSP.SMI[d].DeviceFirmwareVersionStatus"} <= ids
    assert len(gs.system.variables) == len(bm.system.variables) + len(gs.monitors) > len(bm.system.variables)
    assert {"input:activate_on_CS06[H1]/counter=HCALCS.d.last_counter",
            "input:activate_on_CS06[H1]/counter>HCALCS.d.last_counter", "input:activate_on_CS06[H1]/counter=0",
            "input:verify_image[P1]/value(img)=value(PPMID.d.running)", "input:verify_image[P1]/img=HCALCS_v2",
            "input:SR11_4_update_PPMID_firmware/img=PPMID_hwB",
            "input:verify_image[P1]/bad_signature_discarded-alone"} <= ids


# ---- covering -----------------------------------------------------------------------------------


def test_toy_goals_and_verdicts(toy_result: tuple[BuiltModel, CoverageResult]) -> None:
    bm, r = toy_result
    assert [g.id for g in r.goals] == [
        "action:receive", "action:report", "action:toggle", "action:work",
        "branch:receive/bad", "branch:receive/good", "branch:work/fail", "branch:work/impossible", "branch:work/ok",
        "outcome:REPORT/failed", "outcome:REPORT/late", "outcome:REPORT/ok",
        "frame:work/fail/Dev.n", "frame:work/impossible/Dev->DSP",
        "sequence:work/fail>work/ok", "sequence:work/impossible>work/ok", "input:work/impossible-alone"]
    # dead by construction: the impossible branch, so its frame, its recovery and its refusal for
    # that reason alone (bad not set); and once "bad" is
    # set, work always fails, so it never succeeds after a failure (a proof about a monitor)
    assert r.unreachable == ("branch:work/impossible", "frame:work/impossible/Dev->DSP",
                             "sequence:work/fail>work/ok", "sequence:work/impossible>work/ok",
                             "input:work/impossible-alone")
    assert set(r.covered) == {g.id for g in r.goals} - set(r.unreachable)
    assert r.unknown == ()
    frame = r.traces[r.covered["frame:work/fail/Dev.n"]].trace.steps  # a failure while n is above 0
    fail = next(st for st in frame if st.branch == "fail")
    assert any(st.action == "work" and st.branch == "ok" for st in frame[:fail.step - 1])
    check_partition(r)
    check_traces(bm, r)
    late = r.traces[r.covered["outcome:REPORT/late"]].trace.steps  # (work, receive) x 3, report, receive
    assert [st.action for st in late] == ["work", "receive"] * 3 + ["report", "receive"]


def test_a_goal_beyond_the_bound_is_unknown_never_unreachable() -> None:
    """Without the search of each goal's own cone (``cone_states=0``), a goal deeper than the
    solver's bound stays unknown."""
    r = cover(toy(), depth=3, proof_rlimit=5_000_000, cone_states=0)
    assert "outcome:REPORT/late" in r.unknown and "action:report" in r.unknown
    assert "frame:work/fail/Dev.n" in r.unknown  # four steps away
    assert "branch:work/impossible" in r.unreachable
    check_partition(r)


def test_a_goal_beyond_the_bound_is_covered_by_its_cone_search() -> None:
    """The search of a goal's own cone has no depth bound: the goals beyond a bound of 3 get
    traces longer than it, which replay and hit them; a dead branch is still proved dead."""
    bm = toy()
    r = cover(bm, depth=3, proof_rlimit=5_000_000)
    assert {"outcome:REPORT/late", "action:report", "frame:work/fail/Dev.n"} <= r.covered.keys()
    assert len(r.traces[r.covered["action:report"]].trace.steps) > 3
    assert "branch:work/impossible" in r.unreachable
    check_traces(bm, r)
    check_partition(r)


def test_cone_search_finds_deep_steps_is_complete_on_dead_ones_and_starts_from_seeds() -> None:
    """``search_cone``: the toy's ``report`` (seven steps away) is found with a shortest trace of
    the full system; the dead branch's cone is enumerated completely without a hit; a state limit
    below the cone's size stops it incomplete; seeds never change whether a goal is found, nor
    make a search visit more; goals with one cone searched at once get the traces each gets
    alone."""
    bm = toy()
    gs = goal_set(bm)
    events = dict((g.id, e) for g, e in gs.goals)
    [found] = search_cone(gs.system, [events["action:report"]])
    assert found.trace is not None and len(found.trace) == 7  # three work + receive, then report
    interp = Interpreter(gs.system)
    s = interp.initial_state()
    for c in found.trace:
        s = interp.step(s, c)
    assert gs.system.instances[found.trace[-1]].action == "report"
    [dead] = search_cone(gs.system, [events["branch:work/impossible"]])
    assert dead.trace is None and dead.complete and dead.states > 1
    assert not search_cone(gs.system, [events["branch:work/impossible"]], states=2)[0].complete
    seq = [g for g in events if g.startswith("sequence:")]
    assert seq
    plain = {g: search_cone(gs.system, [events[g]])[0] for g in seq}
    seeds = [f.trace for f in plain.values() if f.trace]
    seeded = {g: search_cone(gs.system, [events[g]], seeds=seeds)[0] for g in seq}
    for g in seq:
        assert (plain[g].trace is None) == (seeded[g].trace is None)
        assert seeded[g].states <= plain[g].states or plain[g].trace is None
    alone = [search_cone(gs.system, [events[g]])[0] for g in events]
    cones: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = {}
    for g, e in events.items():
        cones.setdefault(cone_of_influence(gs.system, e).signature, []).append(g)
    shared = max(cones.values(), key=len)
    assert len(shared) > 1
    together = search_cone(gs.system, [events[g] for g in shared])
    by_goal = dict(zip(events, alone, strict=True))
    assert [t.trace for t in together] == [by_goal[g].trace for g in shared]


def test_a_search_out_of_solver_resources_reports_unknown_never_drops_a_goal() -> None:
    """With a resource limit of one unit no BMC query, lemma search or proof query is answered:
    no goal is covered or proved unreachable, every goal is unknown, deterministically (the clock
    plays no part). The explicit searches are off (no states, no walks, no cone states)."""
    r = cover(toy(), depth=8, rlimit=1, proof_rlimit=1, states=0, walks=0, cone_states=0)
    assert r.traces == () and r.unreachable == ()
    assert set(r.unknown) == {g.id for g in r.goals}
    again = cover(toy(), depth=8, rlimit=1, proof_rlimit=1, states=0, walks=0, cone_states=0)
    assert (again.unknown, again.unreachable) == (r.unknown, r.unreachable)
    check_partition(r)


def test_every_proof_runs_under_the_per_query_limit_not_an_engine_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proof's engine gets no pooled budget of its own (which would replace ``--proof-rlimit`` and
    leave the wall clock to decide): each of its queries is bounded by the proof limit."""
    seen: list[tuple[int, str]] = []

    def engine(bm: BuiltModel, prop: object, name: str, budget: Budget, known: object = None) -> Unknown:
        seen.append((budget.rlimit, z3.get_param("rlimit")))
        return Unknown(name, 0.0, "recorded")

    monkeypatch.setattr(coverage, "run_engine", engine)
    cover(toy(), depth=8, proof_rlimit=12_345, states=0, walks=0)
    assert seen and set(seen) == {(0, "12345")}


def test_query_rlimit_bounds_the_solvers_made_inside_and_only_those() -> None:
    """The proofs' budget: a solver made inside ``query_rlimit`` stops at its resource limit (in
    any Z3 context); one made after it is unlimited again."""
    def solve() -> z3.CheckSatResult:
        ctx = z3.Context()
        x, y = z3.Int("x", ctx), z3.Int("y", ctx)
        s = z3.Solver(ctx=ctx)
        s.add(x * x + y * y == 25, x > 0, y > 0)
        return s.check()

    with query_rlimit(1):
        assert solve() == z3.unknown
    assert solve() == z3.sat


def test_minimisation_keeps_the_coverage(toy_result: tuple[BuiltModel, CoverageResult]) -> None:
    _, r = toy_result
    kept = [set(ct.goals) for ct in r.traces]
    assert set().union(*kept) == set(r.covered)
    assert r.traces_found >= len(r.traces)
    for i, goals in enumerate(kept):  # every kept trace covers a goal no other kept trace covers
        assert goals - set().union(*(k for j, k in enumerate(kept) if j != i))
    assert greedy_cover([{"a"}, {"b"}, {"a", "b"}, {"c"}, set()], [1, 1, 3, 1, 0]) == [2, 3]
    assert greedy_cover([{"a", "b"}, {"a"}, {"b"}], [5, 1, 1]) == [0]
    assert greedy_cover([], []) == []


def test_same_model_same_result(toy_result: tuple[BuiltModel, CoverageResult]) -> None:
    bm, first = toy_result
    again = cover(bm, depth=8)
    assert [g.id for g in again.goals] == [g.id for g in first.goals]
    assert again.covered == first.covered and again.unreachable == first.unreachable
    assert [ct.goals for ct in again.traces] == [ct.goals for ct in first.traces]
    assert [ct.trace.to_json() for ct in again.traces] == [ct.trace.to_json() for ct in first.traces]


@pytest.mark.parametrize("daemon", [True, False])
def test_a_search_in_a_pool_worker_finds_the_same_whether_or_not_it_may_fork_a_prover(
        toy_result: tuple[BuiltModel, CoverageResult], daemon: bool) -> None:
    """In a daemonic pool worker the search proves in its own process alone; ``generate`` runs it
    in a non-daemonic one, which may fork its prover (``coverage._Prover``): the same result."""
    bm, first = toy_result
    with ForkPool(daemon=daemon) as pool:
        pool.start(0, lambda report: report((cover(bm, depth=8), mp.current_process().daemon)))
        answer = pool.next_answer(600.0)
    assert answer is not None and isinstance(answer[1], tuple)
    again, was_daemon = answer[1]
    assert isinstance(again, CoverageResult) and was_daemon == daemon
    assert again.covered == first.covered and again.unreachable == first.unreachable and again.unknown == ()
    assert [ct.trace.to_json() for ct in again.traces] == [ct.trace.to_json() for ct in first.traces]


def test_real_model_traces_replay_and_dead_rejections_are_proved(
        small_real: tuple[BuiltModel, CoverageResult]) -> None:
    bm, r = small_real
    check_partition(r)
    check_traces(bm, r)
    # _may_submit lets only the registered supplier submit, so the DSP never rejects it as not authorised
    assert "branch:SR11_4_update_PPMID_firmware/rejected_not_authorised" in r.unreachable
    assert {"branch:SR11_4_update_PPMID_firmware/rejected_not_on_cpl",
            "branch:SR11_4_update_PPMID_firmware/accepted"} <= set(r.covered)  # 1 step
    # the CPL boundary: an entry removed, then named by a request (2 steps), not an image never listed
    removed = r.traces[r.covered["boundary:P-CPL-NOW/removed-entry"]].trace.steps
    assert [st.action for st in removed][-2:] == ["CPL_remove_entry", "SR11_4_update_PPMID_firmware"]
    assert removed[-1].branch == "rejected_not_on_cpl"
    assert removed[-1].parameters["img"] == removed[-2].parameters["img"]
    for ct in r.traces:
        assert ct.trace.property == "coverage" and ct.trace.variant == "secmp0007"
    assert {g.id.split(":")[0] for g in r.goals} >= {"action", "branch", "frame", "input", "boundary"}
    assert {g.action for g in r.goals if g.kind != "boundary"} == {REQUEST}


def test_coverage_table_counts(toy_result: tuple[BuiltModel, CoverageResult]) -> None:
    _, r = toy_result
    table = coverage_table(r)
    cells = [[str(c) for c in col.cells] for col in table.columns]
    rows = list(zip(*cells, strict=True))
    assert [c.header for c in table.columns] == ["criterion", "goals", "covered", "unreachable", "unknown"]
    assert [row[0] for row in rows] == [*KINDS, "total"]
    assert rows[-1] == ("total", "17", "12", "5", "0")
    assert rows[1] == ("branch", "5", "4", "1", "0")
    assert rows[4] == ("frame", "2", "1", "1", "0") and rows[5] == ("sequence", "2", "0", "2", "0")
    assert rows[6] == ("input", "1", "0", "1", "0")  # the impossible branch for that reason alone


def test_explicit_search_alone_gives_shortest_traces_within_its_counted_budget() -> None:
    """The explicit first pass (generators/explore.py): breadth first, the toy's goal seven steps
    away gets a shortest trace; with no states and no walks it finds nothing; with walks only (no
    enumeration) the same seed gives the same traces, and each trace's last step hits a goal."""
    bm = toy()
    gs = goal_set(bm)
    events = [(g.id, e) for g, e in gs.goals]
    interp = Interpreter(gs.system)
    compiled = {g: compile_expr(e, g) for g, e in events}

    def covers(choices: list[int]) -> tuple[str, ...]:
        s, hit = interp.initial_state(), set()
        for c in choices:
            t = interp.step(s, c)
            hit |= {g for g, f in compiled.items() if f(s, t, c)}
            s = t
        return tuple(sorted(hit))

    bfs = explore(gs.system, events, covers, depth=8, seed=0, walks=0)
    late = [tr for tr in bfs.traces if "outcome:REPORT/late" in covers(list(tr))]
    assert late and min(len(tr) for tr in late) == 8
    assert explore(gs.system, events, covers, depth=8, seed=0, states=0, walks=0).traces == ()
    walked = explore(gs.system, events, covers, depth=8, seed=3, states=0, walks=50)
    assert walked.traces and walked.steps > 0
    assert walked == explore(gs.system, events, covers, depth=8, seed=3, states=0, walks=50)
    for tr in walked.traces:
        assert covers(list(tr)) != covers(list(tr[:-1]))


def test_a_goals_cone_keeps_its_own_monitor_and_no_other_goals() -> None:
    """Slicing (model/slicing.py) keeps a monitor only if the predicate reads it: the cone of one
    sequence goal of the approved design has that goal's flags (one per variable both actions
    write) and none of the other goals' (otherwise each goal's search would enumerate every
    flag's history)."""
    gs = goal_set(build(Scenario()))
    assert len(gs.monitors) > 10
    for g, e in gs.goals:
        if g.kind == "sequence":
            first = g.id.removeprefix("sequence:").split(">")[0]
            kept = [v.name for v in cone_of_influence(gs.system, e).system.variables if v.owner == "monitor"]
            assert kept and all(k.startswith(f"monitor.seen[{first}") for k in kept), (g.id, kept)
    action = next(e for g, e in gs.goals if g.kind == "action")
    assert not [v for v in cone_of_influence(gs.system, action).system.variables if v.owner == "monitor"]


def test_a_sequence_goal_after_a_dead_refusal_is_dead_by_its_unmoved_monitor() -> None:
    """The toy's ``impossible`` branch of ``work`` is a dead refusal: the candidate "its monitor
    never moves" (generators/goals.py) is inductive, and with it "the sequence goal's step is never
    enabled", so the lemma screen proves the goal dead; the live refusal ``fail``'s monitor moves."""
    bm = toy()
    gs = goal_set(bm)
    candidates = goal_lemmas(bm, gs)
    kept = set(model_lemmas(gs.system, candidates, Deadline(600), 0).names)
    assert "unseen[monitor.seen[work/impossible]]" in kept
    assert "never[sequence:work/impossible>work/ok]" in kept
    assert "unseen[monitor.seen[work/fail]]" in {c.name for c in candidates} - kept


def test_a_design_change_gets_the_goals_of_the_actions_it_adds_or_redefines() -> None:
    base = build(Scenario("secmp0007"))
    stores = build(Scenario("geo-local-hub-stores"))
    assert changed_actions(stores, base) == {"CH_store_version", "CH_answer_version_read", "CH_relay_to_device",
                                             "DSP_receive_CS08_response", "LOCAL_installer_update[P1]"}
    assert changed_actions(base, base) == frozenset()
    chosen = [g for g, _ in goal_set(stores).goals if design_change(stores, base)(g)]
    assert {g.kind for g in chosen} <= {"action", "branch", "outcome", "input"}
    assert "action:CH_answer_version_read" in {g.id for g in chosen}
    assert all(g.action.split("|")[0] in changed_actions(stores, base) or "|" in g.action for g in chosen)
    ihd = build(Scenario("ihd-in-scope", frozenset({"han_mitm"})))
    assert not any(a.startswith("HAN_") for a in changed_actions(ihd, base))  # an attacker's actions are not a design


def test_a_write_order_goal_needs_the_same_variable_written_twice() -> None:
    """CS06 responses write HCALCS records, CS09 alerts PPMID records: the two never write one
    variable, so there is no order to cover; two writers of one device's record keep their goal."""
    ids = {g.id for g in coverage_goals(build(Scenario()))}
    smi = "DSP.SMI[d].DeviceFirmwareVersion"
    assert f"sequence:DSP_receive_CS06_response>DSP_receive_CS09_alert/{smi}" not in ids
    assert f"sequence:DSP_receive_CS09_alert>DSP_receive_CS06_response/{smi}" not in ids
    assert f"sequence:DSP_receive_CCS08_alert>DSP_receive_CS09_alert/{smi}Status" in ids


def late_retry() -> BuiltModel:
    """``attempt`` can be tried from c = 3 on, is refused below 5 and accepted from 5: a refusal
    then an acceptance takes 7 steps from the start, but 3 from the end of the 4-step refusal."""
    b = SystemBuilder("late")
    dev = b.machine("Dev")
    c = dev.var("c", IntSort(0, 7), 0)
    done = dev.var("done", EnumSort("Done", ("no", "yes")), "no")
    dev.action("tick", lambda: case(c < 7, assign(c, c + 1)))
    dev.action("attempt", lambda: case(c >= 3, outcome("refused", c < 5), otherwise("accepted", assign(done, "yes"))))
    model = SimpleNamespace(b=b, wan_up={})
    return BuiltModel(Scenario(), get_variant("secmp0007"), model, b.build(), ())  # type: ignore[arg-type]


def test_a_recovery_beyond_the_bound_is_found_from_the_end_of_the_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no explicit search and no cone search, BMC to depth 5 cannot reach the 7-step recovery;
    the search from the end of the trace that covers the refusal finds it in 3 more steps. Without
    that stage the goal is left unknown."""
    goal = "sequence:attempt/refused>attempt/accepted"
    result = cover(late_retry(), depth=5, states=0, walks=0, cone_states=0)
    assert goal in result.covered
    check_traces(late_retry(), result)
    assert len(result.traces[result.covered[goal]].trace.steps) == 7
    monkeypatch.setattr(coverage._Search, "from_first_steps", lambda self: None)
    assert goal in cover(late_retry(), depth=5, states=0, walks=0, cone_states=0).unknown


def dead_refusal() -> BuiltModel:
    """``attempt`` is refused only when c > 3, which never happens (c stops at 3): the refusal, and
    a recovery after it, are dead."""
    b = SystemBuilder("dead")
    dev = b.machine("Dev")
    c = dev.var("c", IntSort(0, 7), 0)
    done = dev.var("done", EnumSort("Done", ("no", "yes")), "no")
    dev.action("tick", lambda: case(c < 3, assign(c, c + 1)))
    dev.action("attempt", lambda: case(True, outcome("refused", c > 3), otherwise("accepted", assign(done, "yes"))))
    model = SimpleNamespace(b=b, wan_up={})
    return BuiltModel(Scenario(), get_variant("secmp0007"), model, b.build(), ())  # type: ignore[arg-type]


def test_a_recovery_whose_refusal_is_dead_is_proved_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the recovery's own proof fails (here: forced to), the proof of it together with its
    refusal's branch goal decides it; without that pair it stays unknown."""
    goal, first = "sequence:attempt/refused>attempt/accepted", "branch:attempt/refused"
    prove = coverage._Search.prove

    def hard_alone(self: coverage._Search, gids: list[str], engine: str, max_states: int | None = None) -> bool:
        return False if goal in gids and first not in gids else prove(self, gids, engine, max_states)

    monkeypatch.setattr(coverage._Search, "prove", hard_alone)
    monkeypatch.setattr(coverage._Search, "prove_groups", lambda self, gids: [g for g in gids if g in self.remaining])
    monkeypatch.setattr(coverage, "goal_lemmas", lambda bm, gs: ())
    result = cover(dead_refusal(), depth=4, states=0, walks=0, cone_states=0)
    assert goal in result.unreachable and first in result.unreachable
    assert result.unreachable.count(first) == 1
    monkeypatch.setattr(coverage._Search, "prove_with_first_step", lambda self, g: False)
    assert goal in cover(dead_refusal(), depth=4, states=0, walks=0, cone_states=0).unknown
