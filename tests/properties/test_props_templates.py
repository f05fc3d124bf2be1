"""Generated lemma candidates (properties/templates.py) on a toy request/response exchange: the
templates find its invariants without any hand-written candidate, Houdini keeps the true ones,
and a wrong guess from a too-small sample is dropped, never assumed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from otaproof.model.config import Scenario
from otaproof.model.invariants import Lemma
from otaproof.model.lang import EnumSort
from otaproof.model.system import System, SystemBuilder, assign, case
from otaproof.model.variant_files import load_variants
from otaproof.model.variants import REGISTRY, build, registered
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.check import check
from otaproof.properties.engines.pdr import check_by_lemmas
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import inductive_subset
from otaproof.properties.formulas import Invariant, to_safety
from otaproof.properties.solver import Deadline
from otaproof.properties.templates import (
    FAMILIES,
    SAMPLE_STATES,
    WALK_LENGTH,
    WALKS,
    channels,
    family,
    mined,
    sample,
    template_lemmas,
)
from otaproof.properties.verdict import Budget, Proved

IMAGES = EnumSort("image", ("none", "a", "b", "c"))
PHASE = EnumSort("phase", ("idle", "waiting"))


def exchange() -> System:
    """A client asks for image a or b (never c) over ``req``; the server answers over ``resp``;
    the client records what it got. One request at a time."""
    b = SystemBuilder("exchange")
    client, server = b.machine("Client"), b.machine("Server")
    phase = client.var("phase", PHASE, "idle")
    asked = client.var("asked", IMAGES, "none")
    got = client.var("got", IMAGES, "none")
    served = server.var("served", IMAGES, "none")
    req = b.channel("req", "Client", "Server", {"img": IMAGES}, 1)
    resp = b.channel("resp", "Server", "Client", {"img": IMAGES}, 1)
    for x in ("a", "b"):
        client.action(f"ask_{x}", lambda x=x: case((phase == "idle") & req.has_room(),
                                                   assign(phase, "waiting"), assign(asked, x), req.send(img=x)))
    server.action("serve", lambda: case(req.nonempty() & resp.has_room(), assign(served, req.head("img")),
                                        req.receive(), resp.send(img=req.head("img"))), joint=("Client",))
    client.action("done", lambda: case(resp.nonempty(), assign(phase, "idle"), assign(got, resp.head("img")),
                                       resp.receive()))
    return b.build()


def test_channels_are_read_off_the_variables() -> None:
    shapes = {ch.name: ch for ch in channels(exchange())}
    assert set(shapes) == {"req", "resp"}
    assert shapes["req"].length.name == "req.len" and set(shapes["req"].slots[0]) == {"img"}


def test_the_exchange_invariants_are_generated_and_houdini_keeps_them() -> None:
    system = exchange()
    found = sample(system, 1000, 0, 0, seed=0)
    assert found.complete  # the toy's whole state graph
    candidates = dict(mined(system, found))
    expected = {
        "never:Client.got=c", "never:req[0].img=c",  # a value never taken
        "blank:req[0].img",  # an empty slot holds no data
        "exclusive:req[0]-present,resp[0]-present",  # one stage of the exchange at a time
        "implies:req[0]-present->Client.phase=waiting",  # a message in flight and the sender's state
        "equal:req[0].img==Client.asked",  # a field in flight agrees with the sender
    }
    assert expected <= set(candidates), expected - set(candidates)
    assert all(family(name) in FAMILIES for name in candidates)
    kept = inductive_subset(system, list(candidates.items()), Deadline(60))
    assert expected <= set(kept.names)


def test_a_guess_from_a_small_sample_is_dropped_and_the_property_is_proved_with_the_rest() -> None:
    """Two sampled states miss most of the graph: their wrong guesses fail Houdini, and the
    lemmas engine still proves 'the client never gets c' with a re-checked certificate."""
    system = exchange()
    small = dict(mined(system, sample(system, 2, 0, 0, seed=0)))
    assert "never:Client.got=a" in small  # false: two states are too few to see a delivery
    kept = set(inductive_subset(system, list(small.items()), Deadline(60)).names)
    assert "never:Client.got=a" not in kept
    lemmas = tuple(Lemma(n, FAMILIES[family(n)], e) for n, e in mined(system, sample(system, 1000, 0, 0, 0)))
    task = to_safety(system, Invariant(system.var("Client.got") != "c"))
    task = dataclasses.replace(task, lemmas=lemmas + task.lemmas)
    verdict = check_by_lemmas(Problem(task, "toy", (), ()), Budget(timeout=60, depth=5))
    assert isinstance(verdict, Proved) and verdict.certificate.checked
    assert any(name.startswith("never:") for name in verdict.certificate.lemmas)


def test_generation_is_deterministic() -> None:
    assert [lm.name for lm in template_lemmas(exchange(), 0)] == [lm.name for lm in template_lemmas(exchange(), 0)]


# ---- the default design without its hand-written candidates (slow: template mining and Houdini on 102 variables) ----

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "results" / "matrix.json"


@pytest.mark.slow
@pytest.mark.parametrize("variant", [name for name, v in REGISTRY.items() if v.origin == "built-in"])
def test_builtin_designs_are_decided_with_generated_candidates_only(variant: str) -> None:
    """Every property of each built-in design gets a definite verdict without any design lemma,
    the verdict of the committed matrix (run with them), and no proof names a design lemma."""
    scenario = Scenario(variant=variant, design_lemmas=False)
    assert build(scenario).lemmas == ()  # no hand-written candidate left
    design = {lm.name for lm in build(Scenario(variant=variant)).lemmas}
    expected = {e["property"]: e["verdict"] for e in json.loads(MATRIX.read_text())["entries"]
                if e["variant"] == variant and not e["threats"] and not e["faults"]}
    assert len(expected) == len(CATALOGUE)
    for outcome in check(scenario, list(CATALOGUE), "portfolio", Budget(timeout=1800, depth=25), workers=2):
        v = outcome.verdict
        assert v.verdict.value == expected[outcome.property.id], (outcome.property.id, v)
        if isinstance(v, Proved):
            assert v.certificate.checked and not design & set(v.certificate.lemmas), outcome.property.id


EXAMPLES = sorted((ROOT / "examples" / "variants").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("faults", [(), ("loss",)], ids=["no-faults", "loss"])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_changes_are_decided_with_generated_candidates_only(path: Path, faults: tuple[str, ...]) -> None:
    """Every property of each worked design change, without faults and under message loss, gets
    a definite verdict without the design's lemmas, the verdict of the run with them where that
    one is definite (results/variants.json)."""
    runs = json.loads((ROOT / "results" / "variants.json").read_text())["runs"]
    with_design = {v["property"]: v["verdict"] for r in runs
                   if r["variant"] == path.stem and tuple(r["faults"]) == faults for v in r["verdicts"]}
    with registered(load_variants([path])) as (variant,):
        scenario = Scenario(variant=variant.name, faults=frozenset(faults), design_lemmas=False)
        for outcome in check(scenario, list(CATALOGUE), "portfolio", Budget(timeout=1800, depth=25), workers=2):
            verdict = outcome.verdict.verdict.value
            assert verdict in ("proved", "violated"), (outcome.property.id, outcome.verdict)
            assert with_design.get(outcome.property.id, "unknown") in ("unknown", verdict), outcome.property.id


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_the_sample_reaches_a_future_dated_activation(seed: int) -> None:
    """The walks reach the HCALCS's future-dated activation (a CS06 with a future date after a
    verified transfer) on the approved design and on each worked change, whatever the seed:
    candidates about that stage are mined only if some sampled state shows it."""
    for path in [None, *EXAMPLES]:
        with registered(load_variants([path] if path else [])) as files:
            system = build(Scenario(variant=files[0].name if files else "secmp0007", design_lemmas=False)).system
        scheduled = system.var("HCALCS.H1.scheduled").index
        assert sample(system, SAMPLE_STATES, WALKS, WALK_LENGTH, seed).states[:, scheduled].any(), (path, seed)


def _reports_success(system: System, states: npt.NDArray[np.int64]) -> bool:
    """Some state has a successful CS06 response from H1 in flight to the hub."""
    length, kind, outcome = (system.var(f"H1->CH{n}") for n in (".len", "[0].kind", "[0].outcome"))
    assert isinstance(kind.sort, EnumSort) and isinstance(outcome.sort, EnumSort)
    return bool(((states[:, length.index] > 0) & (states[:, kind.index] == kind.sort.values.index("CS06_RESPONSE"))
                 & (states[:, outcome.index] == outcome.sort.values.index("success"))).any())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_sample_reaches_a_successful_activation_under_loss(path: Path) -> None:
    """Under message loss the walks still reach an HCALCS's successful CS06 response on each
    worked change (the half of the archive walks without environment, attacker or fault
    actions): without it, the facts about a success report are never mined, and P-SMI and
    P-INVENTORY on the CPL-check change were unknown after 120 s."""
    with registered(load_variants([path])) as (variant,):
        system = build(Scenario(variant=variant.name, faults=frozenset({"loss"}), design_lemmas=False)).system
    assert _reports_success(system, sample(system, SAMPLE_STATES, WALKS, WALK_LENGTH, 0).states)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_sample_reaches_a_future_dated_activation_under_loss(path: Path) -> None:
    """Under message loss too the walks reach the HCALCS's future-dated activation on each worked
    change (the quiet walks that leave out faults and attacks but keep half the supplier's and
    the CPL's actions): without it, the facts about that stage are not mined, and BMC, pruned by
    fewer lemmas, took 54 s to find signed-ppmid-activation's 25-step P-INVENTORY trace."""
    with registered(load_variants([path])) as (variant,):
        system = build(Scenario(variant=variant.name, faults=frozenset({"loss"}), design_lemmas=False)).system
    scheduled = system.var("HCALCS.H1.scheduled").index
    assert sample(system, SAMPLE_STATES, WALKS, WALK_LENGTH, 0).states[:, scheduled].any()
