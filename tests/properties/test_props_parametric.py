"""The representative-device abstraction and the "for all N" route (``--all-n``).

A small hub model (devices copy a shared published version; the first update of each device is
counted on the hub) has a per-device property that the abstraction proves for every N and a
property that fails only with two devices, which the abstraction must not claim. On SECMP0007, a
random walk at 3 PPMIDs and 2 HCALCSs checks that every concrete step is simulated by a step of
the abstraction built with one other device of each type.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import deque
from pathlib import Path

import pytest

from otaproof.cli import main
from otaproof.model.abstraction import Abstraction, abstract, uncovered
from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import BOOL, Expr, Fired, IntSort, Next, Var, all_of, implies, ite
from otaproof.model.slicing import reads
from otaproof.model.system import Case, System, SystemBuilder, assign, case
from otaproof.properties.catalogue import BY_ID, Property
from otaproof.properties.engines import bmc, pdr
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import Invariant, StepInvariant, to_safety
from otaproof.properties.obligations import invariant_obligations
from otaproof.properties.parametric import (
    NO_PART,
    NOT_PROVED_ALL_N,
    PROVED_ALL_N,
    Representative,
    check_type,
    representative,
    restrict,
    sized,
)
from otaproof.properties.recheck import ACCEPTED, Limits, recheck_obligations
from otaproof.properties.verdict import Budget, Proved, Violated

BUDGET = Budget(timeout=600.0, depth=12)


def hub(n: int) -> System:
    """A hub publishing versions 0..2 and ``n`` devices D1.. that each update to the published
    version; a device's first update counts one more served device on the hub (saturating at 3)."""
    b = SystemBuilder("toy-hub")
    h = b.machine("Hub")
    version = h.var("version", IntSort(0, 2), 0)
    served = h.var("served", IntSort(0, 3), 0)
    h.action("publish", lambda: case(version < 2, assign(version, version + 1)), role="environment")
    dev = b.machine("Device")
    for k in range(1, n + 1):
        fw = dev.var(f"D{k}.fw", IntSort(0, 2), 0)
        first = dev.var(f"D{k}.updated", BOOL, False)

        def update(fw: Var = fw, first: Var = first) -> Case:
            return case(fw < version, assign(fw, version), assign(first, True),
                        assign(served, ite(~first & (served < 3), served + 1, served)))

        dev.action(f"update[D{k}]", update, joint=("Hub",))
    return b.build()


def toy_abstraction(n: int) -> Abstraction:
    """The abstraction of ``hub(n)`` for representative D1: whatever ``hub(1)`` lacks is another device's."""
    mine = {v.name for v in hub(1).variables}
    concrete = hub(n)
    return abstract(concrete, frozenset(v.index for v in concrete.variables if v.name not in mine))


def reachable(system: System) -> set[State]:
    interp = Interpreter(system)
    start = interp.initial_state()
    seen, todo = {start}, deque([start])
    while todo:
        for _, t in interp.successors(todo.popleft()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def problem_on(a: Abstraction, pred: Expr, pid: str) -> Problem:
    projected = a.project(pred)
    assert projected is not None
    return Problem(to_safety(a.system, Invariant(projected)), pid, (), ())


def test_abstraction_contains_every_concrete_projection() -> None:
    """Every reachable state of 1..4 devices, projected onto D1 and the hub, is reachable in the
    abstraction; the abstraction built with two other devices adds no step to the one with one."""
    a = toy_abstraction(2)
    assert [v.name for v in a.system.variables] == ["Hub.version", "Hub.served", "Device.D1.fw", "Device.D1.updated"]
    abstract_states = reachable(a.system)
    for n in range(1, 5):
        concrete = hub(n)
        index = {v.name: v.index for v in concrete.variables}
        keep = [index[v.name] for v in a.system.variables]
        assert {tuple(s[i] for i in keep) for s in reachable(concrete)} <= abstract_states
    assert uncovered(a, toy_abstraction(3)) == []


def test_per_device_property_proved_for_all_n_with_a_rechecked_certificate() -> None:
    a = toy_abstraction(2)
    concrete = hub(2)
    fw, version = concrete.var("Device.D1.fw"), concrete.var("Hub.version")
    problem = problem_on(a, fw <= version, "TOY-FW")
    verdict = pdr.check(problem, BUDGET)
    assert isinstance(verdict, Proved)
    obligations = invariant_obligations(problem.task, verdict.certificate, "TOY-FW")
    with tempfile.TemporaryDirectory() as tmp:
        checked = recheck_obligations("TOY-FW", obligations, Path(tmp), ("z3",), Limits(), workers=1)
    assert checked.status == ACCEPTED


def test_property_failing_only_with_two_devices_is_not_proved_on_the_abstraction() -> None:
    """``Hub.served <= 1`` holds with one device and fails with two: the abstraction finds a
    counterexample, so the route must answer "not proved for all N" (never "proved")."""
    one = hub(1)
    assert isinstance(pdr.check(Problem(to_safety(one, Invariant(one.var("Hub.served") <= 1)), "T", (), ()), BUDGET),
                      Proved)
    two = hub(2)
    assert isinstance(bmc.check(Problem(to_safety(two, Invariant(two.var("Hub.served") <= 1)), "T", (), ()), BUDGET),
                      Violated)
    a = toy_abstraction(2)
    verdict = pdr.check(problem_on(a, two.var("Hub.served") <= 1, "TOY-SERVED"), BUDGET)
    assert isinstance(verdict, Violated)


def test_projection_refuses_a_property_that_reads_another_device() -> None:
    a = toy_abstraction(2)
    concrete = hub(2)
    assert a.project(concrete.var("Device.D1.fw") == concrete.var("Device.D2.fw")) is None
    assert a.project(all_of([implies(concrete.var("Device.D1.updated"), concrete.var("Device.D1.fw") > 0)])) is not None


def test_another_devices_step_in_a_property_is_projected_onto_its_copies() -> None:
    """"D2's first update counts one more served device" reads D2's state only as the condition of
    D2's step: over the abstraction it names the copies of that step taken in matching hole values,
    and it holds there (proved), as in every concrete model."""
    a, concrete = toy_abstraction(2), hub(2)
    (step,) = concrete.instances_of("update[D2]")
    served, first = concrete.var("Hub.served"), concrete.var("Device.D2.updated")
    pred = implies(all_of([Fired(step.label, frozenset({step.index})), ~first, served < 3]), Next(served) == served + 1)
    projected = a.project(pred)
    assert projected is not None
    assert isinstance(pdr.check(Problem(to_safety(a.system, StepInvariant(projected)), "T", (), ()), BUDGET), Proved)
    assert a.project(implies(Fired(step.label, frozenset({step.index})) & first, served > 0)) is None


# ---- SECMP0007 ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reps() -> dict[str, Representative]:
    return {t: representative(Scenario(), t) for t in ("PPMID", "HCALCS")}


def test_secmp0007_every_concrete_step_is_simulated(reps: dict[str, Representative]) -> None:
    """A seeded random walk at 3 PPMIDs and 2 HCALCSs (every device: P1's abstraction then has
    two other PPMIDs and two HCALCSs): each step, projected, is a step of some abstract instance."""
    concrete = sized(Scenario(), 3, 2).system
    for rep in reps.values():
        a = rep.abstraction
        assert rep.uncovered == ()
        index = {v.name: v.index for v in concrete.variables}
        keep = [index[v.name] for v in a.system.variables]
        interp, abs_interp = Interpreter(concrete), Interpreter(a.system)
        rng = random.Random(7)
        s = interp.initial_state()
        for _ in range(400):
            enabled = interp.enabled(s)
            if not enabled:
                break
            t = interp.step(s, rng.choice(enabled))
            before, after = tuple(s[i] for i in keep), tuple(t[i] for i in keep)
            assert any(abs_interp.step(before, i) == after for i in abs_interp.enabled(before))
            s = t


def test_secmp0007_per_device_invariant_proved_for_all_n(reps: dict[str, Representative]) -> None:
    for rep in reps.values():
        found = check_type(rep, BY_ID["P-BOOTABLE"], BUDGET)
        assert found.status == PROVED_ALL_N, found.reason
        assert isinstance(found.verdict, Proved) and found.verdict.certificate.obligations


def test_secmp0007_restriction_keeps_the_representatives_part(reps: dict[str, Representative]) -> None:
    """P-SMI restricted to P1 reads P1's running image and SMI record, and no other device's."""
    (formula,) = restrict(reps["PPMID"], BY_ID["P-SMI"])
    assert isinstance(formula, Invariant)
    names = {v.name for v in reps["PPMID"].built.system.variables if v.index in reads(formula.pred)}
    assert names == {"PPMID.P1.running", "DSP.SMI[P1].DeviceFirmwareVersion", "DSP.SMI[P1].DeviceFirmwareVersionStatus"}


def test_secmp0007_replay_has_no_ppmid_part(reps: dict[str, Representative]) -> None:
    assert check_type(reps["PPMID"], BY_ID["P-REPLAY"], BUDGET).status == NO_PART


def test_secmp0007_cross_device_and_reach_properties_are_not_claimed(reps: dict[str, Representative]) -> None:
    def same_firmware(bm: object) -> Invariant:
        m = bm.model  # type: ignore[attr-defined]
        return Invariant(m.running["P1"] == m.running["P2"])

    cross = Property("X-SAME", "two PPMIDs run the same image", "INV", "test", same_firmware)
    found = check_type(reps["PPMID"], cross, BUDGET)
    assert found.status == NOT_PROVED_ALL_N and "not per-device" in found.reason, found.reason
    def second_bootable(bm: object) -> Invariant:
        return Invariant(bm.model.running["P2"] != "none")  # type: ignore[attr-defined]

    only_p2 = Property("X-P2", "the second PPMID always runs an image", "INV", "test", second_bootable)
    found = check_type(reps["PPMID"], only_p2, BUDGET)
    assert found.status == NOT_PROVED_ALL_N and "no counterpart about P1" in found.reason, found.reason
    found = check_type(reps["HCALCS"], only_p2, BUDGET)  # its build has one PPMID: the property cannot be stated
    assert found.status == NOT_PROVED_ALL_N and "cannot be stated" in found.reason, found.reason
    strand = check_type(reps["PPMID"], BY_ID["P-NO-STRAND"], BUDGET)
    assert strand.status == NOT_PROVED_ALL_N and "REACH" in strand.reason


def test_cli_all_n_proves_replay_and_refuses_other_engines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "all-n.json"
    assert main(["check", "--all-n", "--property", "P-REPLAY", "--quiet", "--json", str(out)]) == 0
    found = json.loads(out.read_text())
    assert found["schema"] == "otaproof.all-n/1"
    (replay,) = found["properties"]
    assert replay["status"] == PROVED_ALL_N
    assert [p["status"] for p in replay["parts"]] == [NO_PART, PROVED_ALL_N]
    assert main(["check", "--all-n", "--engine", "bmc"]) == 2
    assert "--all-n does not take --engine" in capsys.readouterr().err
