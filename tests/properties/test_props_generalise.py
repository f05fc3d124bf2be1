"""Counterexamples to induction generalised into lemmas (properties/engines/generalise.py) and
the ``order`` template family, on toy systems: the lemmas engine proves properties no template
states, with re-checked certificates, and never proves a violated one."""

from __future__ import annotations

import dataclasses

import pytest
import z3
from test_props_templates import exchange

from otaproof.model.config import Scenario
from otaproof.model.invariants import Lemma
from otaproof.model.lang import BoolSort, EnumSort, IntSort, all_of, implies
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System, SystemBuilder, assign, case
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import check
from otaproof.properties.engines.generalise import Blocker, block_ctis
from otaproof.properties.engines.pdr import check_by_lemmas
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import NONE, inductive_subset
from otaproof.properties.formulas import Invariant, to_safety
from otaproof.properties.solver import Deadline
from otaproof.properties.templates import FAMILIES, indexed, mined, sample, value_pairs
from otaproof.properties.verdict import Budget, Proved, Unknown

BOOL, IMAGES = BoolSort(), EnumSort("image", ("none", "a", "b"))
SUPPLIERS = EnumSort("supplier", ("none", "S1", "S2"))
BUDGET = Budget(timeout=600, depth=5, rlimit=200_000_000)


def counters() -> System:
    """A supplier issues commands with increasing counters (up to 3) over ``cmd``; the device
    accepts a command only if its counter is above the last one it accepted."""
    b = SystemBuilder("counters")
    supplier, device = b.machine("Supplier"), b.machine("Device")
    issued = supplier.var("issued", IntSort(0, 3), 0)
    last = device.var("last", IntSort(0, 3), 0)
    cmd = b.channel("cmd", "Supplier", "Device", {"counter": IntSort(0, 3)}, 1)
    supplier.action("issue", lambda: case((issued < 3) & cmd.has_room(), assign(issued, issued + 1),
                                          cmd.send(counter=issued + 1)))
    device.action("accept", lambda: case(cmd.nonempty() & (cmd.head("counter") > last),
                                         assign(last, cmd.head("counter")), cmd.receive()))
    device.action("reject", lambda: case(cmd.nonempty() & (cmd.head("counter") <= last), cmd.receive()))
    return b.build()


def listing() -> System:
    """A catalogue lists images a or b (a flag per image, never unlisted); a device installs
    only a listed image."""
    b = SystemBuilder("listing")
    catalogue, device = b.machine("Catalogue"), b.machine("Device")
    listed = {x: catalogue.var(f"listed[{x}]", BOOL, False) for x in ("a", "b")}
    held = device.var("held", IMAGES, "none")
    for x in ("a", "b"):
        catalogue.action(f"list_{x}", lambda x=x: case(~listed[x], assign(listed[x], True)))
        device.action(f"install_{x}", lambda x=x: case(listed[x], assign(held, x)))
    return b.build()


def test_flags_indexed_by_a_value_are_mined_and_prove_the_listing_property() -> None:
    system = listing()
    candidates = dict(indexed(system, sample(system, 1000, 0, 0, seed=0)))
    assert set(candidates) == {f"indexed:Device.held={x}->Catalogue.listed[{x}]" for x in ("a", "b")}
    held = system.var("Device.held")
    only_listed = all_of(implies(held == x, system.var(f"Catalogue.listed[{x}]")) for x in ("a", "b"))
    task = to_safety(system, Invariant(only_listed))
    lemmas = tuple(Lemma(n, FAMILIES["indexed"], e) for n, e in candidates.items())
    verdict = check_by_lemmas(Problem(dataclasses.replace(task, lemmas=lemmas), "toy", (), ()), BUDGET)
    assert isinstance(verdict, Proved) and verdict.certificate.checked, verdict
    assert set(candidates) <= set(verdict.certificate.lemmas)


def test_ctis_are_generalised_into_a_proof_without_any_candidate() -> None:
    """No candidate lemma at all: the engine learns clauses from counterexamples to induction
    and proves 'the client never gets c' with a re-checked certificate naming them."""
    system = exchange()
    task = to_safety(system, Invariant(system.var("Client.got") != "c"))
    verdict = check_by_lemmas(Problem(task, "toy", (), ()), BUDGET)
    assert isinstance(verdict, Proved) and verdict.certificate.checked, verdict
    learned = [n for n in verdict.certificate.lemmas if n.startswith("cti:")]
    assert learned and len(learned) == len(set(learned))


def test_a_learned_clause_is_generalised_below_the_whole_state() -> None:
    system = exchange()
    task = to_safety(system, Invariant(system.var("Client.got") != "c"))
    blocker = Blocker(task, NONE, 0, Deadline(600, BUDGET.rlimit))
    cube = blocker.cti()
    assert cube is not None and len(cube) < len(system.variables)  # lifted: only what forces the bad step
    blocker.block(cube)
    assert blocker.learned and all(len(cube) < len(system.variables) for cube in blocker.learned)
    assert blocker.cti() is None or len(blocker.learned) < 10


def test_the_learned_clauses_do_not_depend_on_what_the_process_encoded_before() -> None:
    """A batch runs first stages one after another in one process: the CTI search must learn the
    same clauses after other work as in a fresh process (it has a Z3 context of its own)."""
    system = exchange()
    task = to_safety(system, Invariant(system.var("Client.got") != "c"))

    def learned() -> tuple[str, ...]:
        return block_ctis(task, NONE, 0, Deadline(600, BUDGET.rlimit)).names

    fresh = learned()
    enc = Encoder(task.system)  # the search's own terms already in the process's context, made in another order
    s, a, t = enc.state("g"), enc.action("g"), enc.state("g'")
    for k in reversed(range(len(s))):
        z3.Solver().check(t[k] != s[k], enc.trans(t, a, s), z3.Not(enc.expr(task.bad, t)))
    assert learned() == fresh
    assert Blocker(task, NONE, 0, Deadline(600, BUDGET.rlimit)).enc.ctx is not z3.main_ctx()


def test_a_violated_property_is_never_proved_by_generalisation() -> None:
    system = exchange()
    task = to_safety(system, Invariant(system.var("Client.got") != "a"))
    verdict = check_by_lemmas(Problem(task, "toy", (), ()), BUDGET)
    assert isinstance(verdict, Unknown), verdict
    assert "initial state" in verdict.reason or "predecessors" in verdict.reason


def test_counter_orders_are_mined_and_prove_the_replay_bound() -> None:
    system = counters()
    candidates = dict(mined(system, sample(system, 1000, 0, 0, seed=0)))
    assert "order:Device.last<=Supplier.issued" in candidates
    assert "order:cmd[0].counter<=Supplier.issued" in candidates
    kept = inductive_subset(system, list(candidates.items()), Deadline(600, BUDGET.rlimit))
    assert "order:Device.last<=Supplier.issued" in kept.names
    task = to_safety(system, Invariant(system.var("Device.last") <= system.var("Supplier.issued")))
    verdict = check_by_lemmas(Problem(task, "toy", (), ()), BUDGET)  # no candidates: the CTIs teach the order
    assert isinstance(verdict, Proved) and verdict.certificate.checked, verdict


def test_value_pairs_never_seen_together_are_mined_and_houdini_keeps_the_true_one() -> None:
    """The client asks before it waits: 'waiting with nothing asked' is a ``pair`` candidate
    (two variables of one owner) that Houdini keeps; 'nothing asked yet got a' is true too but
    not inductive on its own (a response in flight can deliver a), so Houdini drops it."""
    system = exchange()
    candidates = dict(value_pairs(system, sample(system, 1000, 0, 0, seed=0)))
    assert "pair:Client.phase=waiting,Client.asked=none" in candidates
    assert all(name.startswith("pair:") for name in candidates)
    kept = inductive_subset(system, list(candidates.items()), Deadline(600, BUDGET.rlimit)).names
    assert "pair:Client.phase=waiting,Client.asked=none" in kept
    assert set(kept) < set(candidates)  # asked=none with got=a: unreachable but not inductive alone


# ---- the default design without its hand-written candidates (slow: mining and whole-model Houdini) ----

PROVED_BY_GENERATED_AND_LEARNED = ("P-CPL", "P-INTEGRITY", "P-HUB-TRANSIENT")


@pytest.mark.slow
def test_default_design_properties_need_no_design_lemma_with_templates_and_ctis() -> None:
    """Unknown with the first generated families alone: proved by the lemmas engine with the
    pair/indexed families and learned clauses, re-checked, naming no design lemma."""
    design = {lm.name for lm in build(Scenario()).lemmas}
    props = [get_property(p) for p in PROVED_BY_GENERATED_AND_LEARNED]
    for outcome in check(Scenario(design_lemmas=False), props, "lemmas", Budget(timeout=1800, depth=25), workers=2):
        v = outcome.verdict
        assert isinstance(v, Proved) and v.certificate.checked, (outcome.property.id, v)
        assert not design & set(v.certificate.lemmas)


def two_suppliers() -> System:
    """Two suppliers issue commands with their own counters (up to 2) over one channel; a
    command carries its originator and counter."""
    b = SystemBuilder("two_suppliers")
    supplier, device = b.machine("Supplier"), b.machine("Device")
    issued = {s: supplier.var(f"issued[{s}]", IntSort(0, 2), 0) for s in ("S1", "S2")}
    cmd = b.channel("cmd", "Supplier", "Device", {"originator": SUPPLIERS, "counter": IntSort(0, 2)}, 1)
    for s in ("S1", "S2"):
        supplier.action(f"issue_{s}", lambda s=s: case((issued[s] < 2) & cmd.has_room(),
                                                       assign(issued[s], issued[s] + 1),
                                                       cmd.send(originator=s, counter=issued[s] + 1)))
    device.action("accept", lambda: case(cmd.nonempty(), cmd.receive()))
    return b.build()


def test_counter_orders_indexed_by_the_originator_are_mined_and_kept() -> None:
    system = two_suppliers()
    candidates = dict(indexed(system, sample(system, 1000, 0, 0, seed=0)))
    wanted = {f"order:cmd[0].originator={s}->cmd[0].counter<=Supplier.issued[{s}]" for s in ("S1", "S2")}
    assert wanted <= set(candidates)
    kept = inductive_subset(system, list(candidates.items()), Deadline(600, BUDGET.rlimit))
    assert wanted <= set(kept.names)
