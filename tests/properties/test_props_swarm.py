"""The compiled semantics and the ``swarm`` engine.

(a) ``model.compiled`` agrees exactly with the reference interpreter (``model.explicit``): the
    same successors (instance and state) at every state of seeded random walks over several
    variants, threat and fault models, with and without property monitors; the same verdict of
    a bad-state predicate; the same ``ModelError`` for a disabled step, an out-of-domain
    assignment or monitor update and a subtraction below zero, and the interpreter's error
    first when several steps raise.
(b) Breadth-first enumeration of the compiled system reaches exactly the states the reference
    interpreter reaches (count and digest), and a complete enumeration is a re-checked proof.
(c) Full-enumeration verdicts agree with the symbolic engines (the portfolio) on every INV and
    HIST property of the approved design and of one variant, with one PPMID (the default
    parameters' state space is far larger than fits: docs/explicit.md); a quick subset runs in
    the default suite, all of them with ``-m slow``.
(d) A violation the swarm reports replays, is of minimal depth (BMC's), and is the same trace
    on every run, whether the enumeration or a walker found it first; in the portfolio the
    swarm's trace is the one reported, the same on every run (``-m slow``).
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from otaproof.model.compiled import CompiledSystem
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.lang import BOOL, FALSE, IntSort, ModelError, Next
from otaproof.model.slicing import cone_of_influence
from otaproof.model.system import MonitorUpdate, System, SystemBuilder, assign, case, monitor_var, otherwise, outcome
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import check, parts
from otaproof.properties.engines import bmc, swarm
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import BoundedResponse, Formula, Invariant, SafetyTask, StepInvariant, to_safety
from otaproof.properties.solver import Deadline
from otaproof.properties.trace import Trace, instance_index, replay
from otaproof.properties.verdict import Budget, Proved, Violated

SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "all-threats": Scenario(threats=frozenset(THREATS)),
    "all-faults": Scenario(faults=frozenset(FAULTS), parameters=Parameters(capacity=2)),
    "two-ppmids-local-updates": Scenario(threats=frozenset({"local_physical"}),
                                         parameters=Parameters(ppmids=2, local_updates=True)),
    "geo-local-daily-alert-han_mitm": Scenario("geo-local-daily-alert", frozenset({"han_mitm"})),
    "gateway-screening-loss": Scenario("gateway-screening", faults=frozenset({"loss"})),
}
# properties whose monitors read Next(...), Fired(...) and bounded-response counters
MONITORED = ("P-CPL-NOW", "P-REPLAY", "P-INVENTORY", "P-SMI-BOUNDED", "P-FAIL-VISIBLE", "P-ALERT-BUDGET")
ONE_PPMID = Parameters(ppmids=1, hcalcs=0)
GENEROUS = Budget(timeout=600, depth=30, max_states=2_000_000)


# ---- (a) the compiled semantics is the interpreter's --------------------------------------------


def _agree_on_walks(system: System, bad: object, walks: int, steps: int, seed: int) -> int:
    """Compare both semantics at every state of ``walks`` random walks; the states compared."""
    interp, compiled = Interpreter(system), CompiledSystem(system, bad)  # type: ignore[arg-type]
    holds = (lambda s: interp.holds(bad, s)) if bad is not None else None  # type: ignore[arg-type]
    rng = random.Random(seed)
    compared = 0
    for _ in range(walks):
        s = interp.initial_state()
        assert compiled.unpack(compiled.initial_state()) == s
        for _ in range(steps):
            packed = compiled.pack(s)
            expected = list(interp.successors(s))
            assert [(i, compiled.unpack(t)) for i, t in compiled.successors(packed)] == expected
            assert sorted((i, compiled.unpack(t)) for i, t in compiled.moves(packed)) == expected
            if holds is not None:
                assert compiled.is_bad(packed) == holds(s)
            probe = rng.randrange(len(system.instances))
            if probe not in {i for i, _ in expected}:
                with pytest.raises(ModelError) as reference:
                    interp.step(s, probe)
                with pytest.raises(ModelError, match="^" + _escaped(str(reference.value)) + "$"):
                    compiled.step(packed, probe)
            compared += 1
            if not expected:
                break
            s = expected[rng.randrange(len(expected))][1]
    return compared


def _escaped(text: str) -> str:
    return re.escape(text)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_compiled_successors_are_the_interpreters_on_random_walks(name: str) -> None:
    system = build(SCENARIOS[name]).system
    assert _agree_on_walks(system, None, walks=4, steps=60, seed=1) >= 100


@pytest.mark.parametrize("pid", MONITORED)
def test_compiled_monitors_and_bad_states_are_the_interpreters(pid: str) -> None:
    built = build(Scenario("geo-local-daily-alert", frozenset({"han_mitm"})))
    compared = 0
    for job in parts(built, get_property(pid)):
        assert isinstance(job, Problem)
        compared += _agree_on_walks(job.task.system, job.task.bad, walks=3, steps=50, seed=2)
        sliced = cone_of_influence(job.task.system, job.task.bad)
        compared += _agree_on_walks(sliced.system, sliced.predicate, walks=3, steps=50, seed=3)
    assert compared >= 100


def _counter(*actions: str, monitor: bool = False) -> tuple[System, CompiledSystem, Interpreter]:
    """A counter n in 0..3 starting at 0 with the named actions (most of them faulty); with
    ``monitor`` a step counter that overflows on the second step."""
    b = SystemBuilder("toy")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    flag = m.var("flag", BOOL, False)
    bodies = {
        "overflow": lambda: case(n == 0, assign(n, n + 4)),
        "below-zero": lambda: case(True, assign(n, n - 1)),
        "guard-below-zero": lambda: case((n - 1) <= 2, assign(flag, True)),
        "condition-below-zero": lambda: case(True, outcome("odd", (n - 1) == 0, assign(flag, True)),
                                             otherwise("even", assign(flag, False))),
        "wrap": lambda: case(True, outcome("wrap", n == 0, assign(n, 3)), otherwise("dec", assign(n, n - 1))),
        "fine": lambda: case(n < 3, assign(n, n + 1)),
    }
    for a in actions:
        m.action(a.replace("-", "_"), bodies[a])
    system = b.build()
    if monitor:
        seen = monitor_var("monitor.steps", IntSort(0, 1), 0)
        system = system.with_monitor([MonitorUpdate(seen, seen + 1)])
    return system, CompiledSystem(system), Interpreter(system)


def _same_error(run_reference: object, run_compiled: object) -> None:
    with pytest.raises(ModelError) as reference:
        run_reference()  # type: ignore[operator]
    with pytest.raises(ModelError, match="^" + _escaped(str(reference.value)) + "$"):
        run_compiled()  # type: ignore[operator]


@pytest.mark.parametrize("action", ["overflow", "below-zero", "guard-below-zero", "condition-below-zero"])
def test_a_step_that_raises_raises_the_interpreters_error(action: str) -> None:
    _, compiled, interp = _counter(action)
    s = interp.initial_state()
    _same_error(lambda: interp.step(s, 0), lambda: compiled.step(compiled.pack(s), 0))
    _same_error(lambda: list(interp.successors(s)), lambda: compiled.successors(compiled.pack(s)))
    _same_error(lambda: list(interp.successors(s)), lambda: compiled.expand(compiled.pack(s), {}, lambda t: None))


def test_the_first_instance_that_raises_is_the_one_reported() -> None:
    for order in (("below-zero", "overflow"), ("overflow", "below-zero"), ("fine", "guard-below-zero", "overflow")):
        _, compiled, interp = _counter(*order)
        s = interp.initial_state()
        _same_error(lambda: list(interp.successors(s)), lambda: compiled.successors(compiled.pack(s)))  # noqa: B023


def test_a_branch_not_taken_does_not_raise_and_a_monitor_overflow_does() -> None:
    _, compiled, interp = _counter("wrap", "fine")
    s = interp.initial_state()
    assert [(i, compiled.unpack(t)) for i, t in compiled.successors(compiled.pack(s))] == list(interp.successors(s))
    _, compiled, interp = _counter("fine", monitor=True)
    s = interp.step(interp.initial_state(), 0)
    _same_error(lambda: interp.step(s, 0), lambda: compiled.step(compiled.pack(s), 0))


def test_a_domain_wider_than_a_byte_gives_tuple_states_with_the_same_meaning() -> None:
    b = SystemBuilder("wide")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 300), 0)
    flag = m.var("flag", BOOL, False)
    m.action("add", lambda k: case(n + k <= 300, assign(n, n + k)), params={"k": (1, 7, 100)})
    m.action("flip", lambda: case(n > 250, assign(flag, ~flag)))
    system = b.build()
    compiled = CompiledSystem(system)
    assert not compiled.compact and isinstance(compiled.initial_state(), tuple)
    assert _agree_on_walks(system, n >= 299, walks=5, steps=60, seed=4) >= 100
    found = swarm.enumerate_states(compiled, 10_000)
    assert found.complete and found.states == 301 + 50  # the flag flips only above 250
    assert swarm.reenumerate(system, FALSE, 10_000, Deadline(GENEROUS.timeout)) == (found.states, found.digest)


# ---- (b) enumeration ------------------------------------------------------------------------------


def _small_task() -> SafetyTask:
    """P-CPL-NOW with one PPMID and one firmware version: about 14,000 states, all safe."""
    built = build(Scenario(parameters=Parameters(ppmids=1, hcalcs=0, versions=1)))
    return to_safety(built.system, get_property("P-CPL-NOW").formula(built))  # type: ignore[arg-type]


def test_enumeration_reaches_the_states_the_interpreter_reaches() -> None:
    task = _small_task()
    sliced = cone_of_influence(task.system, task.bad)
    found = swarm.enumerate_states(CompiledSystem(sliced.system, sliced.predicate), 1_000_000)
    assert found.complete and found.bad is None and found.states > 10_000
    again = swarm.reenumerate(sliced.system, sliced.predicate, 1_000_000, Deadline(GENEROUS.timeout))
    assert again == (found.states, found.digest)


def test_a_complete_enumeration_is_a_rechecked_reachable_set_proof() -> None:
    task = _small_task()
    verdict = swarm.check(Problem(task, "P-CPL-NOW", (), ()), GENEROUS)
    assert isinstance(verdict, Proved)
    cert = verdict.certificate
    assert cert.kind == "enumeration" and cert.checked and cert.size > 10_000
    assert f"{cert.size} states" in cert.smtlib


def test_a_state_limit_or_tiny_budget_never_proves() -> None:
    task = _small_task()
    for budget in (Budget(timeout=600, max_states=500), Budget(timeout=0.01)):
        assert swarm.check(Problem(task, "P-CPL-NOW", (), ()), budget).verdict == "unknown"


def _toy(formula: Callable[[System], Formula], dawdle: bool = False) -> Problem:
    """n counts up to 7 and wraps to 0 after 3, unless the environment resets it; an unrelated
    lamp toggles; with ``dawdle`` the machine may also idle instead of serving a request."""
    b = SystemBuilder("toy")
    m, env = b.machine("M"), b.machine("Env")
    n = m.var("n", IntSort(0, 7), 0)
    lamp = env.var("lamp", BOOL, False)
    asked = env.var("asked", BOOL, False)
    m.action("tick", lambda: case(True, outcome("wrap", n == 3, assign(n, 0)), otherwise("inc", assign(n, n + 1))))
    m.action("serve", lambda: case(asked, assign(asked, False)), joint=("Env",))
    if dawdle:
        m.action("idle", lambda: case(asked, assign(lamp, lamp)), joint=("Env",))
    env.action("ask", lambda: case(~asked, assign(asked, True)), role="environment")
    env.action("toggle", lambda: case(True, assign(lamp, ~lamp)), role="environment")
    system = b.build()
    return Problem(to_safety(system, formula(system)), "toy", (), ())


TOYS: dict[str, tuple[Callable[[], Problem], int | None]] = {
    "inv-holds": (lambda: _toy(lambda s: Invariant(s.var("M.n") <= 3)), None),
    "inv-fails-at-3": (lambda: _toy(lambda s: Invariant(s.var("M.n") != 3)), 3),
    "hist-fails-at-wrap": (lambda: _toy(lambda s: StepInvariant(Next(s.var("M.n")) >= s.var("M.n"))), 4),
    "br-holds": (lambda: _toy(lambda s: BoundedResponse(s.fired("ask"), s.fired("serve"), 5, s.fired("serve"))),
                 None),
    "br-fails-by-idling": (lambda: _toy(lambda s: BoundedResponse(s.fired("ask"), s.fired("serve"), 2), dawdle=True),
                           3),
}


@pytest.mark.parametrize("name", sorted(TOYS))
def test_toy_verdicts_and_depths_are_the_known_ones(name: str) -> None:
    problem, depth = TOYS[name]
    verdict = swarm.check(problem(), Budget(timeout=120, depth=10))
    if depth is None:
        assert isinstance(verdict, Proved), verdict
    else:
        assert isinstance(verdict, Violated), verdict
        assert len(verdict.trace.steps) == depth


# ---- (c) full-enumeration verdicts agree with the symbolic ones -------------------------------------

QUICK = {"secmp0007": ("P-CPL-NOW", "P-AUTH", "P-NO-ROLLBACK"), "geo-local-hub-stores": ("P-CPL", "P-NO-ROLLBACK")}
SAFETY = tuple(p.id for p in CATALOGUE if p.kind in ("INV", "HIST"))


def _enumeration_verdict(built: object, pid: str) -> str:
    verdicts = []
    for job in parts(built, get_property(pid)):  # type: ignore[arg-type]
        assert isinstance(job, Problem)
        sliced = cone_of_influence(job.task.system, job.task.bad)
        found = swarm.enumerate_states(CompiledSystem(sliced.system, sliced.predicate), 5_000_000)
        assert found.bad is not None or found.complete, f"{pid}: the enumeration did not finish"
        verdicts.append("violated" if found.bad is not None else "proved")
    return "violated" if "violated" in verdicts else "proved"


def _agree(variant: str, pids: tuple[str, ...]) -> None:
    scenario = Scenario(variant, parameters=ONE_PPMID)
    built = build(scenario)
    # a state limit of 1: the portfolio's own swarm cannot prove by enumeration (the comparison
    # would be circular); its violations are BMC's traces
    symbolic = check(scenario, [get_property(p) for p in pids], "portfolio", Budget(timeout=300, max_states=1))
    for outcome_ in symbolic:
        assert outcome_.verdict.verdict in ("proved", "violated"), outcome_
        assert not (isinstance(outcome_.verdict, Proved) and "swarm" in outcome_.verdict.engine), outcome_
        assert _enumeration_verdict(built, outcome_.property.id) == outcome_.verdict.verdict, outcome_.property.id


@pytest.mark.parametrize("variant", sorted(QUICK))
def test_enumeration_verdicts_agree_with_the_symbolic_ones_quick(variant: str) -> None:
    _agree(variant, QUICK[variant])


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(QUICK))
def test_enumeration_verdicts_agree_with_the_symbolic_ones_on_every_inv_and_hist_property(variant: str) -> None:
    _agree(variant, SAFETY)


# ---- (d) reported violations --------------------------------------------------------------------


def _cpl_now() -> Problem:
    built = build(Scenario(parameters=ONE_PPMID))
    (job,) = parts(built, get_property("P-CPL-NOW"))
    assert isinstance(job, Problem)
    return job


RUN = """
import json, sys
from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import parts
from otaproof.properties.engines import swarm
from otaproof.properties.verdict import Budget
(job,) = parts(build(Scenario(parameters=Parameters(ppmids=1, hcalcs=0))), get_property("P-CPL-NOW"))
verdict = swarm.check(job, Budget(timeout=600, depth=30, max_states=int(sys.argv[1])))
print(json.dumps(verdict.trace.to_json() if verdict.verdict == "violated" else verdict.detail))
"""


def _fresh_run(max_states: int) -> dict[str, object]:
    """The swarm's trace from a new interpreter: each engine run starts from a fresh Z3 state
    (as in the portfolio, whose engine processes are forked from a parent without Z3 terms)."""
    done = subprocess.run([sys.executable, "-c", RUN, str(max_states)], capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    assert isinstance(answer, dict), answer
    return answer


@pytest.mark.parametrize("max_states", [2_000_000, 300], ids=["enumeration-finds", "walkers-find"])
def test_a_violation_replays_is_minimal_and_is_the_same_on_every_run(max_states: int) -> None:
    """With a state limit of 300 the enumeration stops long before depth 9: a walker finds a
    longer trace, which is shortened, and BMC derives the shortest trace within its depth."""
    first, second = _fresh_run(max_states), _fresh_run(max_states)
    assert first == second
    problem = _cpl_now()
    choices = [instance_index(problem.task.system, step) for step in Trace.from_json(first).steps]
    replay(problem.task.system, problem.task.bad, choices)
    budget = Budget(timeout=600, depth=30)
    shortest = bmc.find_counterexample(problem, budget, Deadline(budget.timeout))
    assert isinstance(shortest, list) and len(choices) == len(shortest) == 9


def _check_in(problem: Problem, budget: Budget, answers: Any) -> None:
    answers.put(swarm.check(problem, budget).verdict)


def test_the_engine_runs_in_a_daemonic_process_as_the_portfolio_starts_it() -> None:
    ctx = multiprocessing.get_context("fork")
    answers = ctx.Queue()
    proc = ctx.Process(target=_check_in, args=(_cpl_now(), Budget(timeout=600), answers), daemon=True)
    proc.start()
    assert answers.get(timeout=600) == "violated"
    proc.join()


def _portfolio_trace() -> tuple[str, dict[str, object]]:
    [outcome_] = check(Scenario(parameters=ONE_PPMID), [get_property("P-CPL-NOW")], "portfolio", Budget(timeout=300),
                      swarm=True)
    verdict = outcome_.verdict
    assert isinstance(verdict, Violated), verdict
    return verdict.engine, verdict.trace.to_json()


def test_in_the_portfolio_the_swarms_trace_is_reported_replayed_and_minimal() -> None:
    engine, trace = _portfolio_trace()
    assert engine == "swarm"  # it ran from the first second; a BMC violation found first waits for it
    problem = _cpl_now()
    choices = [instance_index(problem.task.system, step) for step in Trace.from_json(trace).steps]
    replay(problem.task.system, problem.task.bad, choices)
    assert len(choices) == 9  # BMC's shortest depth (the test above)


@pytest.mark.slow
def test_the_portfolio_reports_the_same_trace_on_every_run() -> None:
    assert _portfolio_trace() == _portfolio_trace()
