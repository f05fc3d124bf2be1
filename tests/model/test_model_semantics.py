"""Differential tests: the explicit interpreter and the Z3 encoding give one meaning to the model.

Both directions, on the SECMP0007 model under several scenarios:

(a) every step of a random explicit run (Hypothesis picks one enabled successor at each step) is a
    transition of the Z3 relation, and the *only* one for that pre-state and action: the
    semantics is deterministic once the action instance is fixed (``Trans(s, a, ·)`` is a
    function, see ``Encoder.trans``), so ``Trans(s, i, t) ∧ t ≠ s'`` must be unsat. A probe
    instance drawn at random must be enabled in Z3 exactly when the interpreter enables it.
(b) Z3 models of ``Trans(s, a, t)`` from a reachable state, under random extra constraints on
    the action and the successor, are steps the interpreter lists (same instance, same next
    state); when the enumeration runs dry, Z3 has found every explicit step meeting them.

Init models decode to the interpreter's (single) initial state. A quick variant runs in the
default suite; the ``slow`` variant runs >= 10,000 explicit steps and counts them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import z3
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import IntSort, ModelError
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System, SystemBuilder, assign, case, otherwise, outcome
from otaproof.model.variants import build

SCENARIOS: dict[str, Scenario] = {
    "default": Scenario(),
    "all-threats": Scenario(threats=frozenset(THREATS)),
    # capacity 2 so that reordering and delay are present too
    "all-faults": Scenario(faults=frozenset(FAULTS), parameters=Parameters(capacity=2)),
    "local-updates": Scenario(threats=frozenset({"local_physical"}), parameters=Parameters(local_updates=True)),
    "two-ppmids": Scenario(parameters=Parameters(ppmids=2)),
}
ENCODINGS = ("bv", "int")  # the default bit-vector encoding and Encoder(integer=True)

Pred = Callable[[int, State], bool]  # explicit meaning of an extra constraint on (action, next state)


@dataclass
class Semantics:
    """Both semantics of one system, with the Z3 relation built once."""

    system: System
    interp: Interpreter
    enc: Encoder
    s: list[z3.ExprRef]
    a: z3.BitVecRef
    t: list[z3.ExprRef]
    trans: z3.BoolRef
    solver: z3.Solver  # holds Trans(s, a, t); queries push/pop around it

    values: dict[tuple[int, int], z3.ExprRef]  # (variable index, code) -> Z3 constant, cached
    eqs: dict[tuple[str, int, int], z3.BoolRef]  # ("s" or "t", variable index, code) -> equality

    def value(self, index: int, code: int) -> z3.ExprRef:
        key = (index, code)
        if key not in self.values:
            self.values[key] = self.enc.value(self.system.variables[index], code)
        return self.values[key]

    def pin(self, vars_: list[z3.ExprRef], state: State) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return [(x, self.value(k, code)) for k, (x, code) in enumerate(zip(vars_, state, strict=True))]

    def equals(self, vars_: list[z3.ExprRef], state: State) -> z3.BoolRef:
        """``vars_ == state`` (the equalities are cached: the same few values recur)."""
        tag = "s" if vars_ is self.s else "t"
        eqs = []
        for k, (x, code) in enumerate(zip(vars_, state, strict=True)):
            key = (tag, k, code)
            if key not in self.eqs:
                self.eqs[key] = x == self.value(k, code)
            eqs.append(self.eqs[key])
        return _and(eqs)

    def action_val(self, i: int) -> z3.BitVecRef:
        return z3.BitVecVal(i, self.enc.action_width, self.enc.ctx)

    # ---- direction (a) ------------------------------------------------------------------------
    def check_step(self, pre: State, i: int, post: State | None) -> None:
        """Z3 agrees on instance ``i`` in ``pre``: disabled (post None) or exactly ``pre -> post``."""
        label = self.system.instances[i].label
        fixed = z3.simplify(_substitute(self.trans, *self.pin(self.s, pre), (self.a, self.action_val(i))))
        solver = z3.Solver(ctx=self.enc.ctx)
        solver.add(fixed)
        if post is None:
            assert solver.check() == z3.unsat, f"Z3 enables {label}, which the interpreter does not"
            return
        exact = z3.simplify(_substitute(fixed, *self.pin(self.t, post)))
        assert z3.is_true(exact), f"the explicit step {label} is not a Z3 transition"
        solver.add(z3.Not(self.equals(self.t, post)))
        result = solver.check()
        assert result == z3.unsat, f"Z3 has a second successor by {label}: {self._diff(solver, post)}"

    def _diff(self, solver: z3.Solver, post: State) -> dict[str, object]:
        other = self.enc.decode_state(solver.model(), self.t)
        return {v.name: (v.sort.decode(post[v.index]), other[v.index])
                for v in self.system.variables if post[v.index] != other[v.index]}

    # ---- direction (b) ------------------------------------------------------------------------
    def check_models(self, pre: State, extra: z3.BoolRef, pred: Pred, limit: int) -> int:
        """Enumerate up to ``limit`` Z3 steps from ``pre`` meeting ``extra`` (blocking each action
        found); each must be an explicit step meeting ``pred``. If Z3 runs out first, the explicit
        steps meeting ``pred`` must be exactly the ones found. Returns the number of models."""
        succ = dict(self.interp.successors(pre))
        wanted = {i for i, post in succ.items() if pred(i, post)}
        found: set[int] = set()
        self.solver.push()
        try:
            self.solver.add(self.equals(self.s, pre), extra)
            while len(found) < limit:
                result = self.solver.check()
                assert result in (z3.sat, z3.unsat), self.solver.reason_unknown()
                if result == z3.unsat:
                    missing = sorted(self.system.instances[i].label for i in wanted - found)
                    assert not missing, f"Z3 finds no transition for explicit steps {missing}"
                    break
                model = self.solver.model()
                i, post = self.enc.decode_action(model, self.a), self.enc.decode_state(model, self.t)
                assert i < len(self.system.instances), f"Z3 chose action index {i} of no instance"
                label = self.system.instances[i].label
                assert i in succ, f"Z3 fires {label}, which the interpreter does not enable"
                assert post == succ[i], f"Z3 and the interpreter disagree on the successor by {label}"
                assert pred(i, post), f"Z3's step by {label} does not meet the extra constraint"
                found.add(i)
                self.solver.add(self.a != self.action_val(i))
        finally:
            self.solver.pop()
        return len(found)


# The z3 Python wrappers type-check every argument; these two run hundreds of thousands of times
# in the long run, so they call the C API directly (same result as z3.substitute and z3.And).


def _substitute(term: z3.ExprRef, *pairs: tuple[z3.ExprRef, z3.ExprRef]) -> z3.ExprRef:
    n = len(pairs)
    src, dst = (z3.Ast * n)(), (z3.Ast * n)()
    for k, (x, v) in enumerate(pairs):
        src[k], dst[k] = x.as_ast(), v.as_ast()
    return z3.z3._to_expr_ref(z3.Z3_substitute(term.ctx.ref(), term.as_ast(), n, src, dst), term.ctx)


def _and(items: list[z3.BoolRef]) -> z3.BoolRef:
    ctx = items[0].ctx
    args = (z3.Ast * len(items))(*[x.as_ast() for x in items])
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(items), args), ctx)


@functools.cache
def semantics(name: str, encoding: str = "bv") -> Semantics:
    return _semantics(build(SCENARIOS[name]).system, encoding)


def _semantics(system: System, encoding: str = "bv") -> Semantics:
    enc = Encoder(system, integer=encoding == "int")
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    trans = enc.trans(s, a, t)
    solver = z3.Solver(ctx=enc.ctx)
    solver.set("random_seed", 0)
    solver.add(trans)
    return Semantics(system, Interpreter(system), enc, s, a, t, trans, solver, {}, {})


def constraint(sem: Semantics, pre: State, data: st.DataObject) -> tuple[z3.BoolRef, Pred]:
    """A random extra constraint on (action, next state), in Z3 and in its explicit meaning."""
    system, enc, a, t = sem.system, sem.enc, sem.a, sem.t
    n = len(system.instances)
    kind = data.draw(st.sampled_from(["none", "action", "range", "changes", "value", "machine"]), label="kind")
    if kind == "action":
        i = data.draw(st.integers(0, n - 1), label="action")
        return a == sem.action_val(i), lambda j, post: j == i
    if kind == "range":
        lo = data.draw(st.integers(0, n - 1), label="lo")
        hi = data.draw(st.integers(lo, n - 1), label="hi")
        return z3.And(z3.UGE(a, lo), z3.ULE(a, hi)), lambda j, post: lo <= j <= hi
    if kind in ("changes", "value"):
        v = system.variables[data.draw(st.integers(0, len(system.variables) - 1), label="variable")]
        if kind == "changes":
            return t[v.index] != sem.s[v.index], lambda j, post: post[v.index] != pre[v.index]
        codes = [c for c in range(v.sort.size) if v.sort.contains_code(c)]
        c = data.draw(st.sampled_from(codes), label=f"value of {v.name}")
        return t[v.index] == enc.value(v, c), lambda j, post: post[v.index] == c
    if kind == "machine":
        m = data.draw(st.sampled_from(sorted({i.machine for i in system.instances})), label="machine")
        chosen = {i.index for i in system.instances if i.machine == m}
        return z3.Or([a == sem.action_val(i) for i in sorted(chosen)]), lambda j, post: j in chosen
    return z3.BoolVal(True, enc.ctx), lambda j, post: True


def differential_run(sem: Semantics, data: st.DataObject, max_steps: int, queries: int, limit: int) -> int:
    """One random explicit run checked in both directions; returns the explicit steps executed."""
    interp, n = sem.interp, len(sem.system.instances)
    state = interp.initial_state()
    init = z3.simplify(_substitute(sem.enc.init(sem.s), *sem.pin(sem.s, state)))
    assert z3.is_true(init), "the explicit initial state does not satisfy Init"
    length = data.draw(st.integers(0, max_steps), label="run length")
    steps = 0
    for _ in range(length):
        succ = list(interp.successors(state))
        assert sorted(i for i, _ in succ) == interp.enabled(state)
        probe = data.draw(st.integers(0, n - 1), label="probe instance")
        sem.check_step(state, probe, dict(succ).get(probe))
        if not succ:
            break  # a deadlock: Z3 must agree that nothing is enabled (probe checked above)
        i, post = succ[data.draw(st.integers(0, len(succ) - 1), label="successor")]
        assert interp.branch_taken(state, i) is not None
        sem.check_step(state, i, post)
        state = post
        steps += 1
    for _ in range(queries):  # direction (b) from the state the run reached
        extra, pred = constraint(sem, state, data)
        sem.check_models(state, extra, pred, limit)
    return steps


# No shrinking: an example costs up to a second of Z3 time, so shrinking a failure would take
# minutes; the failing example is reproducible (derandomized) and its draws are printed.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
QUICK = settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=PHASES,
                 suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_explicit_runs_and_z3_models_agree(name: str) -> None:
    sem = semantics(name)

    @QUICK
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        differential_run(sem, data, max_steps=8, queries=2, limit=2)

    run()


def test_integer_encoding_agrees_with_the_interpreter() -> None:
    sem = semantics("default", "int")

    @QUICK
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        differential_run(sem, data, max_steps=6, queries=2, limit=2)

    run()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_init_models_decode_to_the_explicit_initial_state(name: str) -> None:
    system = build(SCENARIOS[name]).system
    for encoding in ENCODINGS:
        enc = Encoder(system, integer=encoding == "int")
        s = enc.state("0")
        solver = z3.Solver()
        solver.add(enc.init(s), enc.domain(s))
        assert solver.check() == z3.sat
        init = enc.decode_state(solver.model(), s)
        assert init == Interpreter(system).initial_state()
        solver.add(z3.Not(enc.state_equals(s, init)))
        assert solver.check() == z3.unsat, "Init has a second model"


# ---- regressions on toy systems ---------------------------------------------------------------


def _wrapping_counter() -> System:
    b = SystemBuilder("toy")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 3)
    m.action("tick", lambda: case(True, outcome("wrap", n == 3, assign(n, 0)), otherwise("inc", assign(n, n + 1))))
    return b.build()


def test_an_overflowing_branch_that_is_not_taken_does_not_disable_the_action() -> None:
    """``otherwise`` would assign 4 to an int 0..3, but at n=3 the first branch is taken: both
    semantics fire it (the Z3 domain check used to bind every branch, disabling the action)."""
    sem = _semantics(_wrapping_counter())
    assert list(sem.interp.successors((3,))) == [(0, (0,))]
    sem.check_step((3,), 0, (0,))
    for pre in range(4):
        assert sem.check_models((pre,), z3.BoolVal(True), lambda j, post: True, limit=5) == 1


def test_an_overflow_in_the_branch_taken_is_a_model_error_or_no_transition() -> None:
    """The explicit semantics reports the overflow; Z3 keeps its states in the domain."""
    b = SystemBuilder("toy")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 3)
    m.action("inc", lambda: case(True, assign(n, n + 1)))
    sem = _semantics(b.build())
    with pytest.raises(ModelError, match=r"M\.inc\(\).*n := 4, outside its domain"):
        sem.interp.step((3,), 0)
    sem.solver.push()
    sem.solver.add(sem.equals(sem.s, (3,)))
    assert sem.solver.check() == z3.unsat
    sem.solver.pop()


# ---- the long run -----------------------------------------------------------------------------

SLOW_TARGET = 10_000


@pytest.mark.slow
def test_slow_differential_run_of_at_least_10000_steps() -> None:
    """Every scenario with the bit-vector encoding, two with the integer encoding; the plan is
    repeated with longer runs (other derandomized draws) until 10,000 steps have run."""
    total = {"steps": 0, "examples": 0}
    per_scenario: dict[str, int] = {}
    start = time.monotonic()
    plan = [(name, "bv") for name in sorted(SCENARIOS)] + [("default", "int"), ("all-threats", "int")]
    for round_ in range(3):
        for name, encoding in plan:
            if total["steps"] >= SLOW_TARGET and round_ > 0:
                break
            sem = semantics(name, encoding)
            before = total["steps"]
            max_steps = 200 + 50 * round_

            @settings(max_examples=20, deadline=None, derandomize=True, database=None, phases=PHASES,
                      suppress_health_check=list(HealthCheck))
            @given(data=st.data())
            def run(data: st.DataObject) -> None:
                # run() is called at once, inside this iteration: the loop variables are current
                total["steps"] += differential_run(sem, data, max_steps=max_steps, queries=4, limit=4)  # noqa: B023
                total["examples"] += 1

            run()
            key = f"{name}/{encoding}"
            per_scenario[key] = per_scenario.get(key, 0) + total["steps"] - before
        if total["steps"] >= SLOW_TARGET:
            break
    elapsed = time.monotonic() - start
    print(f"\ndifferential run: {total['steps']} explicit steps in {total['examples']} examples, "
          f"{elapsed:.1f} s; per scenario: {per_scenario}")
    assert total["steps"] >= SLOW_TARGET, f"only {total['steps']} steps ran"
