"""The relational template families (properties/templates_relational.py) on toy systems: each
system's property is inductive with the family's candidates and not without them, so each test
fails if its family stops generating the lemma (or generates a wrong one Houdini must drop)."""

from __future__ import annotations

import dataclasses
import os

import pytest
import z3

from otaproof.model.invariants import Lemma
from otaproof.model.lang import BoolSort, EnumSort, Expr, IntSort, all_of, implies
from otaproof.model.system import System, SystemBuilder, assign, case
from otaproof.properties.engines import strengthen
from otaproof.properties.engines.pdr import check_by_lemmas, relatively_inductive
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import inductive_subset
from otaproof.properties.formulas import Invariant, to_safety
from otaproof.properties.solver import Deadline, GaveUp
from otaproof.properties.templates import FAMILIES, family, mined, sample
from otaproof.properties.verdict import Budget, Proved

IMAGES = EnumSort("image", ("none", "a", "b"))
UP = EnumSort("up_kind", ("none", "report", "echo"))
DOWN = EnumSort("down_kind", ("none", "activate", "ping"))
STATUS = EnumSort("status", ("idle", "busy"))
ORIGINS = EnumSort("origin", ("none", "S1"))
KINDS = EnumSort("cmd_kind", ("none", "cmd", "info"))
BUDGET = Budget(timeout=300, depth=5, rlimit=200_000_000)


def reporting(with_status: bool) -> System:
    """A head end asks a device to activate image a or b (or pings it) over ``down``; the device
    answers with a report naming what it now runs (or an echo naming nothing) over ``up``; the
    head end records the reported image. One exchange at a time; ``with_status``: the head end
    is busy from its request to the report (a ping leaves it idle)."""
    b = SystemBuilder("reporting")
    head, device = b.machine("Head"), b.machine("Device")
    record = head.var("record", IMAGES, "a")
    status = head.var("status", STATUS, "idle") if with_status else None
    running = device.var("running", IMAGES, "a")
    down = b.channel("down", "Head", "Device", {"kind": DOWN, "img": IMAGES}, 1)
    up = b.channel("up", "Device", "Head", {"kind": UP, "img": IMAGES}, 1)
    quiet = (down.length == 0) & (up.length == 0)
    busy = [assign(status, "busy")] if status is not None else []
    idle = [assign(status, "idle")] if status is not None else []
    for x in ("a", "b"):
        head.action(f"activate_{x}", lambda x=x: case(quiet, *busy, down.send(kind="activate", img=x)))
    head.action("ping", lambda: case(quiet, down.send(kind="ping", img="none")))
    device.action("activate", lambda: case(
        (down.head("kind") == "activate") & down.nonempty() & up.has_room(),
        assign(running, down.head("img")), down.receive(), up.send(kind="report", img=down.head("img"))))
    device.action("echo", lambda: case(
        (down.head("kind") == "ping") & down.nonempty() & up.has_room(),
        down.receive(), up.send(kind="echo", img="none")))
    head.action("record", lambda: case(up.nonempty() & (up.head("kind") == "report"),
                                       assign(record, up.head("img")), *idle, up.receive()))
    head.action("drop_echo", lambda: case(up.nonempty() & (up.head("kind") == "echo"), up.receive()))
    return b.build()


def _proved_with(system: System, prop: Expr, without: str | None) -> tuple[bool, list[str]]:
    """Whether Houdini's subset of the mined candidates (less the family ``without``) makes
    ``prop`` inductive in one step (no CTI search), and the kept candidates' names."""
    candidates = mined(system, sample(system, 10_000, 0, 0, seed=0))
    if without is not None:
        candidates = [(n, e) for n, e in candidates if family(n) != without]
    task = to_safety(system, Invariant(prop))
    kept = inductive_subset(task.system, candidates, Deadline(300))
    return relatively_inductive(task, kept, BUDGET, Deadline(300)) is not None, list(kept.names)


def test_lags_a_record_agrees_or_a_report_of_the_new_value_is_in_flight() -> None:
    """'Quiet -> record == running' needs 'record == running or a report naming running is in
    flight' (``lags``), whose disjunct needs the kind guard (an echo names no image)."""
    system = reporting(with_status=False)
    record, running = system.var("Head.record"), system.var("Device.running")
    prop = implies((system.var("down.len") == 0) & (system.var("up.len") == 0), record == running)
    proved, kept = _proved_with(system, prop, None)
    assert proved
    assert any(n.startswith("lags:Head.record==Device.running|up[0].kind=report->img==Device.running") for n in kept)
    assert "guarded:up[0].kind=report->img==Device.running" in kept
    assert not _proved_with(system, prop, "lags")[0]


def test_guarded_an_idle_head_end_records_the_running_image() -> None:
    """'Idle -> no record a with running b, nor b with a' (value clauses over three variables)
    needs 'status = idle -> record == running' (``guarded``, a value of a third variable)."""
    system = reporting(with_status=True)
    record, running, status = system.var("Head.record"), system.var("Device.running"), system.var("Head.status")
    prop = all_of(~((status == "idle") & (record == x) & (running == y)) for x, y in (("a", "b"), ("b", "a")))
    proved, kept = _proved_with(system, prop, None)
    assert proved
    assert "guarded:Head.status=idle->Head.record==Device.running" in kept
    assert not _proved_with(system, prop, "guarded")[0]


def replaying() -> System:
    """A supplier issues commands with increasing counters and sends information messages
    (counter 0) to a device that accepts any command; a ghost flag records a command accepted
    with a counter not above the last one accepted from its originator (a replay)."""
    b = SystemBuilder("replaying")
    supplier, device = b.machine("Supplier"), b.machine("Device")
    issued = supplier.var("issued[S1]", IntSort(0, 3), 0)
    accepted = device.var("accepted[S1]", IntSort(0, 3), 0)
    replayed = device.var("replayed", BoolSort(), False)
    ch = b.channel("cmd", "Supplier", "Device", {"kind": KINDS, "origin": ORIGINS, "counter": IntSort(0, 3)}, 1)
    supplier.action("issue", lambda: case(ch.has_room() & (issued < 3), assign(issued, issued + 1),
                                          ch.send(kind="cmd", origin="S1", counter=issued + 1)))
    supplier.action("inform", lambda: case(ch.has_room(), ch.send(kind="info", origin="S1", counter=0)))
    device.action("accept", lambda: case(
        ch.nonempty() & (ch.head("kind") == "cmd"),
        assign(replayed, replayed | (ch.head("counter") <= accepted)), assign(accepted, ch.head("counter")),
        ch.receive()))
    device.action("read", lambda: case(ch.nonempty() & (ch.head("kind") == "info"), ch.receive()))
    return b.build()


def test_kind_order_a_command_in_flight_carries_a_fresh_counter() -> None:
    """'Never replayed' needs 'a command from S1 in flight carries a counter above the one
    accepted from S1' (``kind-order``: information messages carry counter 0)."""
    system = replaying()
    proved, kept = _proved_with(system, ~system.var("Device.replayed"), None)
    assert proved
    assert "kind-order:cmd[0].kind=cmd,origin=S1->counter>Device.accepted[S1]" in kept
    assert not _proved_with(system, ~system.var("Device.replayed"), "kind-order")[0]


def test_cti_generalisation_learns_a_disequality_clause() -> None:
    """Without the relational families, the lemmas engine's CTI search proves 'quiet -> record ==
    running' by a learned clause over a disequality (the same clause for every image), with a
    re-checked certificate."""
    system = reporting(with_status=False)
    record, running = system.var("Head.record"), system.var("Device.running")
    prop = implies((system.var("down.len") == 0) & (system.var("up.len") == 0), record == running)
    relational = ("guarded", "lags", "kind-order")
    lemmas = tuple(Lemma(n, FAMILIES[family(n)], e) for n, e in mined(system, sample(system, 10_000, 0, 0, seed=0))
                   if family(n) not in relational)
    task = to_safety(system, Invariant(prop))
    task = dataclasses.replace(task, lemmas=lemmas + task.lemmas)
    verdict = check_by_lemmas(Problem(task, "toy", (), ()), BUDGET)
    assert isinstance(verdict, Proved) and verdict.certificate.checked, verdict
    assert any(n.startswith("cti:") and "Head.record!=Device.running" in n for n in verdict.certificate.lemmas), \
        verdict.certificate.lemmas


UP_OTA = EnumSort("ota_up_kind", ("none", "query", "end"))
DOWN_OTA = EnumSort("ota_down_kind", ("none", "notify", "block", "end_response"))
OUTCOME = EnumSort("ota_outcome", ("none", "success", "failure"))
HELD = EnumSort("held_image", ("none", "a"))


def ota_exchange() -> System:
    """A hub offers image a (notify, query, block); the device ends the transfer with success
    (holding the image) or failure (holding nothing); after a success the hub answers and the
    device schedules the activation, which drops the held image."""
    b = SystemBuilder("ota")
    hub, device = b.machine("Hub"), b.machine("Device")
    image = hub.var("image", HELD, "none")
    held = device.var("held", HELD, "none")
    scheduled = device.var("scheduled", BoolSort(), False)
    down = b.channel("down", "Hub", "Device", {"kind": DOWN_OTA}, 1)
    up = b.channel("up", "Device", "Hub", {"kind": UP_OTA, "outcome": OUTCOME}, 1)
    quiet = (down.length == 0) & (up.length == 0)
    hub.action("offer", lambda: case(quiet & (image == "none") & (held == "none") & ~scheduled,
                                     assign(image, "a"), down.send(kind="notify")))
    device.action("query", lambda: case(down.nonempty() & (down.head("kind") == "notify") & up.has_room(),
                                        down.receive(), up.send(kind="query", outcome="none")))
    hub.action("block", lambda: case(up.nonempty() & (up.head("kind") == "query") & (image != "none")
                                     & down.has_room(), up.receive(), down.send(kind="block")))
    for outcome in ("success", "failure"):
        keep = [assign(held, "a")] if outcome == "success" else []
        device.action(f"end_{outcome}", lambda outcome=outcome, keep=keep: case(
            down.nonempty() & (down.head("kind") == "block") & up.has_room(),
            *keep, down.receive(), up.send(kind="end", outcome=outcome)))
    hub.action("end_ok", lambda: case(up.nonempty() & (up.head("kind") == "end") & (up.head("outcome") == "success")
                                      & down.has_room(), assign(image, "none"), up.receive(),
                                      down.send(kind="end_response")))
    hub.action("end_bad", lambda: case(up.nonempty() & (up.head("kind") == "end") & (up.head("outcome") == "failure"),
                                       assign(image, "none"), up.receive()))
    device.action("schedule", lambda: case(down.nonempty() & (down.head("kind") == "end_response"),
                                           down.receive(), assign(scheduled, True)))
    device.action("activate", lambda: case(scheduled, assign(scheduled, False), assign(held, "none")))
    return b.build()


def test_witness_a_value_held_only_while_a_stage_seen_only_then_holds() -> None:
    """The hub holds the image only while the exchange's messages are in flight, and the device
    holds it only between its successful Upgrade End (the kind refined by its outcome, since a
    failed end is sent holding nothing), the hub's response and the scheduled activation: both
    are mined as ``witness`` candidates, Houdini keeps them, and 'a quiet device with nothing
    scheduled holds nothing' is inductive with them."""
    system = ota_exchange()
    candidates = dict(mined(system, sample(system, 10_000, 0, 0, seed=0)))
    assert "witness:Hub.image!=none->down[0].kind=notify|down[0].kind=block|up[0].kind=query|up[0].kind=end" \
        in candidates
    assert "witness:Device.held!=none->down[0].kind=end_response|up[0].kind=end,outcome=success|" \
        "Device.scheduled=True" in candidates
    # a failed end beside a held image: one exclusion for every value but the one seen (``exclusive``)
    assert "exclusive:up[0].kind=end,outcome!=success,Device.held!=none" in candidates
    quiet = (system.var("down.len") == 0) & (system.var("up.len") == 0)
    prop = implies(quiet & (system.var("Device.scheduled") == False), system.var("Device.held") == "none")  # noqa: E712
    proved, kept = _proved_with(system, prop, None)
    assert proved and sum(n.startswith("witness:") for n in kept) >= 2



def reporting_done() -> System:
    """A device reports the outcome of an update to the hub: a success also sets its ``done``
    flag, a failure is reported only while the flag is clear, and the device may clear the flag
    at any time."""
    b = SystemBuilder("done")
    hub, device = b.machine("Hub"), b.machine("Device")
    done = device.var("done", BoolSort(), False)
    up = b.channel("up", "Device", "Hub", {"kind": UP_OTA, "outcome": OUTCOME}, 1)
    device.action("succeed", lambda: case(up.has_room(), assign(done, True), up.send(kind="end", outcome="success")))
    device.action("fail", lambda: case(up.has_room() & ~done, up.send(kind="end", outcome="failure")))
    device.action("clear", lambda: case(done, assign(done, False)))
    hub.action("take", lambda: case(up.nonempty(), up.receive()))
    return b.build()


def test_one_value_exclusions_back_up_an_exclusion_an_unlucky_sample_suggests() -> None:
    """A sample that never shows a success report beside the device's flag (the walks missed it)
    suggests 'no report while the flag is set', which is false; the one-value exclusion 'no
    failure report while the flag is set' is mined beside it, so Houdini drops the first and
    keeps the second instead of losing the fact altogether."""
    system = reporting_done()
    full = sample(system, 10_000, 0, 0, seed=0)
    index = {v.name: v.index for v in system.variables}
    rows = full.states
    report = (rows[:, index["up.len"]] > 0) & (rows[:, index["up[0].kind"]] == UP_OTA.values.index("end"))
    unlucky = dataclasses.replace(full, states=rows[~(report & (rows[:, index["Device.done"]] == 1))])
    candidates = mined(system, unlucky)
    plain = "implies:up[0].kind=end->Device.done=False"  # the same clause as "not both"
    one_value = "exclusive:up[0].kind=end,outcome!=success,Device.done!=False"
    assert {plain, one_value} <= {n for n, _ in candidates}
    kept = inductive_subset(system, candidates, Deadline(300)).names
    assert one_value in kept and plain not in kept


@pytest.mark.parametrize("system", [reporting(True), ota_exchange(), reporting_done()],
                         ids=["reporting", "ota", "done"])
def test_houdini_step_by_step_keeps_what_one_query_over_trans_keeps(system: System,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of asking (``BY_STEP_FROM``) keep the same candidates, after dropping some
    that hold initially but not after some step (each variable stays at its initial value):
    the largest inductive subset is unique, so a difference is a bug in one of them."""
    candidates = mined(system, sample(system, 10_000, 0, 0, seed=0))
    candidates += [(f"initial:{v.name}", v == v.sort.decode(v.init)) for v in system.variables]
    kept: dict[str, tuple[str, ...]] = {}
    for mode, threshold in (("step", 0), ("whole", 10**9)):
        monkeypatch.setattr(strengthen, "BY_STEP_FROM", threshold)
        kept[mode] = inductive_subset(system, candidates, Deadline(300)).names
    monkeypatch.setattr(strengthen, "BY_STEP_FROM", 0)
    monkeypatch.setattr(strengthen, "STEPS_BETWEEN_EXCHANGES", 1)  # an exchange after every step
    for processes in (2, 3):
        kept[f"{processes} processes"] = inductive_subset(system, candidates, Deadline(300), processes=processes).names
    assert kept["step"] == kept["whole"] == kept["2 processes"] == kept["3 processes"]
    assert not any(n.startswith("initial:") for n in kept["step"])


def test_a_houdini_peer_that_stops_stops_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked peer whose solver gives up makes the whole search give up (never a result from
    the other processes' steps alone), and leaves no process behind."""
    system = ota_exchange()
    candidates = mined(system, sample(system, 10_000, 0, 0, seed=0))
    here = os.getpid()
    ask = strengthen._Houdini.ask

    def ask_in_this_process_only(search: strengthen._Houdini, broken: z3.BoolRef) -> z3.ModelRef | None:
        if os.getpid() != here:
            raise GaveUp("peer out of resources")
        return ask(search, broken)

    monkeypatch.setattr(strengthen, "BY_STEP_FROM", 0)
    monkeypatch.setattr(strengthen._Houdini, "ask", ask_in_this_process_only)
    forked: list[int] = []
    fork = os.fork

    def recorded_fork() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded_fork)
    with pytest.raises(GaveUp, match="peer out of resources"):
        inductive_subset(system, candidates, Deadline(300), processes=2)
    assert forked
    for pid in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped
