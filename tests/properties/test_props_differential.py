"""Differential tests of the systems the engines really check: the explicit interpreter and the Z3
encoding agree step by step on every design variant, under rotating threat and fault models, on

* the property's task system (the model with the property's monitors),
* its cone-of-influence slice (with the ``STUTTER`` instance when a monitor moves on every step),
* its constant-folded copy, and the slice of that (what the REACH engines search).

One random explicit run of the task system drives all views: each step is replayed on every view
explicitly (projected to the slice's variables, a dropped instance as a stutter) and must give the
projected successor; on the view whose turn it is, Z3 must have that step as the only successor
by that instance, and (every 4th step) agree with the interpreter on whether a random probe
instance is enabled.
The default run checks >= 2,000 steps in Z3 (a few seconds); the ``slow`` run >= 100,000.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import z3

from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.slicing import STUTTER, Slice, cone_of_influence, constant_folded
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.model.variants import REGISTRY, build
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.formulas import Reach, reach_slice, to_safety

VARIANTS = sorted(REGISTRY)
# each threat and each fault occurs in some scenario; delay and reordering need capacity 2
THREAT_SETS = [frozenset(), frozenset({"han_mitm"}), frozenset({"old_supplier", "compromised_key"}),
               frozenset({"local_physical"}), frozenset(THREATS), frozenset({"han_mitm", "local_physical"})]
FAULT_SETS = [frozenset({"loss"}), frozenset(), frozenset({"delay", "reordering"}), frozenset({"duplication", "power"}),
              frozenset(FAULTS), frozenset({"power"})]
assert set().union(*THREAT_SETS) == set(THREATS) and set().union(*FAULT_SETS) == set(FAULTS)


def scenario(k: int) -> Scenario:
    """The ``k``-th scenario of the rotation: variant, threat model and fault set each cycle (the
    threat model shifted by one each round, so a variant meets another one)."""
    threats, faults = THREAT_SETS[(k + k // len(VARIANTS)) % len(THREAT_SETS)], FAULT_SETS[k % len(FAULT_SETS)]
    params = Parameters(capacity=2 if faults & {"delay", "reordering"} else 1,
                        local_updates="local_physical" in threats)
    return Scenario(VARIANTS[k % len(VARIANTS)], threats, faults, params)


@dataclass
class View:
    """One system the engines check, with its Z3 relation and how a task-system step maps to it."""

    name: str
    system: System
    interp: Interpreter
    enc: Encoder
    s: list[z3.ExprRef]
    a: z3.BitVecRef
    t: list[z3.ExprRef]
    trans: z3.BoolRef
    keep: tuple[int, ...]  # task-system variable index of each of the view's variables
    index: dict[int, int]  # task-system instance -> the view's instance (absent: dropped)
    stutter: int | None  # the view's STUTTER instance, if it has one
    values: dict[tuple[int, int], z3.ExprRef] = field(default_factory=dict)
    unequal: dict[tuple[int, int], z3.BoolRef] = field(default_factory=dict)
    fired: dict[int, z3.ExprRef] = field(default_factory=dict)

    def project(self, state: State) -> State:
        return tuple(state[k] for k in self.keep)

    def instance(self, i: int) -> int | None:
        """The view's instance for task-system instance ``i`` (its stutter, or None: no step)."""
        return self.index.get(i, self.stutter)

    def pins(self, vs: list[z3.ExprRef], state: State) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return [(x, self.value(k, code)) for k, (x, code) in enumerate(zip(vs, state, strict=True))]

    def value(self, k: int, code: int) -> z3.ExprRef:
        """The Z3 constant of code ``code`` of variable ``k`` (cached: the same few values recur)."""
        if (k, code) not in self.values:
            self.values[k, code] = self.enc.value(self.system.variables[k], code)
        return self.values[k, code]

    def differs(self, state: State) -> z3.BoolRef:
        """``t ≠ state`` (the disequalities cached, the disjunction made through the C API)."""
        terms = []
        for k, code in enumerate(state):
            if (k, code) not in self.unequal:
                self.unequal[k, code] = self.t[k] != self.value(k, code)
            terms.append(self.unequal[k, code])
        args = (z3.Ast * len(terms))(*[x.as_ast() for x in terms])
        return z3.BoolRef(z3.Z3_mk_or(self.enc.ctx.ref(), len(terms), args), self.enc.ctx)

    def by_instance(self, i: int) -> z3.ExprRef:
        """``Trans(s, i, t)``, simplified (cached: a run fires the same instances again)."""
        if i not in self.fired:
            act = z3.BitVecVal(i, self.enc.action_width, self.enc.ctx)
            self.fired[i] = z3.simplify(_substitute(self.trans, (self.a, act)))
        return self.fired[i]

    def check_z3(self, pre: State, i: int, post: State | None) -> None:
        """Z3's ``Trans(pre, i, ·)``: unsatisfiable when ``post`` is None, else exactly ``post``."""
        label = f"{self.name}: {self.system.instances[i].label}"
        fixed = z3.simplify(_substitute(self.by_instance(i), *self.pins(self.s, pre)))
        solver = z3.Solver(ctx=self.enc.ctx)
        solver.add(fixed)
        if post is None:
            assert solver.check() == z3.unsat, f"Z3 enables {label}, which the interpreter does not"
            return
        assert z3.is_true(z3.simplify(_substitute(fixed, *self.pins(self.t, post)))), \
            f"the explicit step {label} is not a Z3 transition"
        solver.add(self.differs(post))
        assert solver.check() == z3.unsat, f"Z3 has a second successor by {label}"


def _substitute(term: z3.ExprRef, *pairs: tuple[z3.ExprRef, z3.ExprRef]) -> z3.ExprRef:
    """``z3.substitute`` through the C API (the Python wrapper type-checks every pair, which
    dominates the run time here)."""
    n = len(pairs)
    src, dst = (z3.Ast * n)(), (z3.Ast * n)()
    for k, (x, v) in enumerate(pairs):
        src[k], dst[k] = x.as_ast(), v.as_ast()
    return z3.z3._to_expr_ref(z3.Z3_substitute(term.ctx.ref(), term.as_ast(), n, src, dst), term.ctx)


def _view(name: str, system: System, task_system: System, sliced: Slice | None) -> View:
    enc = Encoder(system)
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    if sliced is None:
        keep = tuple(range(len(system.variables)))
        index = {i: i for i in range(len(system.instances))}
        stutter = None
    else:
        keep = tuple(sorted(sliced.kept_variables))
        index = {o: n for n, o in enumerate(sliced.original_instance) if o != STUTTER}
        stutter = next((n for n, o in enumerate(sliced.original_instance) if o == STUTTER), None)
    assert [task_system.variables[k].name for k in keep] == [v.name for v in system.variables]
    return View(name, system, Interpreter(system), enc, s, a, t, enc.trans(s, a, t), keep, index, stutter)


@functools.cache
def views(k: int, prop_number: int) -> tuple[View, ...]:
    """The task system of the ``prop_number``-th catalogue property in scenario ``k`` and the
    systems derived from it that the engines check."""
    built = build(scenario(k))
    formula = CATALOGUE[prop_number % len(CATALOGUE)].formula(built)
    items = formula if isinstance(formula, list) else [formula]
    reach = [f for f in items if isinstance(f, Reach)]
    if reach:  # REACH: the model itself, folded, and the folded target's slice
        task_system = built.system
        folded = constant_folded(task_system)
        rs = reach_slice(folded, reach[0]).slice
        return (_view("model", task_system, task_system, None), _view("folded", folded, task_system, None),
                _view("folded slice", rs.system, task_system, rs))
    task = to_safety(built.system, formula)
    folded = constant_folded(task.system)
    sliced, folded_sliced = cone_of_influence(task.system, task.bad), cone_of_influence(folded, task.bad)
    return (_view("task", task.system, task.system, None), _view("slice", sliced.system, task.system, sliced),
            _view("folded", folded, task.system, None),
            _view("folded slice", folded_sliced.system, task.system, folded_sliced))


Tally = Callable[[str], None]
PROBE_EVERY = 4  # a random probe instance's enabledness is compared every 4th step (a Z3 query each)


def differential_run(vs: tuple[View, ...], rng: random.Random, length: int, tally: Tally) -> None:
    """One random run of the task system (``vs[0]``), every step replayed on every view; Z3
    checks the step (and a probe instance) on one view per step, in turn."""
    task = vs[0]
    state = task.interp.initial_state()
    for v in vs:
        init = z3.simplify(z3.substitute(v.enc.init(v.s), *v.pins(v.s, v.project(state))))
        assert z3.is_true(init), f"{v.name}: the explicit initial state does not satisfy Init"
    for n in range(length):
        succ = list(task.interp.successors(state))
        if not succ:
            break
        i, post = rng.choice(succ)
        for v in vs:
            j, pre_v, post_v = v.instance(i), v.project(state), v.project(post)
            if j is None:
                assert pre_v == post_v, f"{v.name}: a dropped instance changed the slice (no stutter instance)"
            else:
                assert v.interp.step(pre_v, j) == post_v, f"{v.name}: {v.system.instances[j].label} differs"
        v = vs[n % len(vs)]
        j = v.instance(i)
        if j is not None:
            pre_v = v.project(state)
            v.check_z3(pre_v, j, v.project(post))
            if n % PROBE_EVERY == 0:
                probe = rng.randrange(len(v.system.instances))
                v.check_z3(pre_v, probe, dict(v.interp.successors(pre_v, [probe])).get(probe))
            tally(v.name)
        state = post


def run_plan(target: int, seed: int, length: int, rotation: int, per_scenario: int) -> dict[str, int]:
    """Runs over the first ``rotation`` scenarios (``per_scenario`` properties each, the catalogue
    in turn, three apart) until ``target`` steps were checked in Z3; the count per view kind."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}

    def tally(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    k = 0
    while sum(counts.values()) < target:
        n = k % rotation
        for p in range(per_scenario):
            differential_run(views(n, 3 * n + p), rng, length, tally)
        k += 1
    return counts


def test_the_slow_rotation_covers_every_variant_threat_fault_and_property() -> None:
    scenarios = [scenario(k) for k in range(12)]
    assert {s.variant for s in scenarios} == set(VARIANTS)
    assert set().union(*(s.threats for s in scenarios)) == set(THREATS)
    assert set().union(*(s.faults for s in scenarios)) == set(FAULTS)
    assert {(3 * k + p) % len(CATALOGUE) for k in range(12) for p in range(3)} == set(range(len(CATALOGUE)))
    default = [scenario(k) for k in range(6)]  # the default run's rotation: every variant, threat and fault
    assert {s.variant for s in default} == set(VARIANTS)
    assert set().union(*(s.threats for s in default)) == set(THREATS)
    assert set().union(*(s.faults for s in default)) == set(FAULTS)


def test_at_least_2000_random_steps_agree_in_both_semantics() -> None:
    """Every variant once (one property each), sliced views with monitors and a stutter among them."""
    counts = run_plan(2_000, seed=0, length=60, rotation=6, per_scenario=1)
    print(f"\ndifferential steps checked in Z3: {sum(counts.values())} {counts}")
    assert sum(counts.values()) >= 2_000 and set(counts) >= {"task", "slice", "folded", "folded slice", "model"}
    shipped = [v for k in range(6) for v in views(k, 3 * k)]
    assert any(v.name == "slice" and v.system.monitors and v.stutter is not None for v in shipped)


@pytest.mark.slow
def test_at_least_100000_random_steps_agree_in_both_semantics() -> None:
    """Twelve scenarios (every variant twice), three properties each: the whole catalogue."""
    counts = run_plan(100_000, seed=1, length=200, rotation=12, per_scenario=3)
    print(f"\ndifferential steps checked in Z3: {sum(counts.values())} {counts}")
    assert sum(counts.values()) >= 100_000


def test_the_check_fails_on_a_wrong_successor_and_a_wrongly_enabled_instance() -> None:
    """The comparison can fail: a successor with one variable changed is not a Z3 transition,
    and an instance the interpreter disables must be unsatisfiable in Z3."""
    v = views(5, 15)[-1]  # secmp0007's folded slice for P-NO-STRAND: the smallest view
    state = v.interp.initial_state()
    i, post = next(iter(v.interp.successors(state)))
    k = next(k for k, var in enumerate(v.system.variables) if var.sort.size > 1)
    wrong = post[:k] + ((post[k] + 1) % v.system.variables[k].sort.size,) + post[k + 1:]
    with pytest.raises(AssertionError, match="not a Z3 transition"):
        v.check_z3(state, i, wrong)
    with pytest.raises(AssertionError, match="Z3 enables"):
        v.check_z3(state, i, None)
