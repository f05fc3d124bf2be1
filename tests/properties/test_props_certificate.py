"""The certificate checker accepts genuine certificates and rejects corrupted ones, naming the
obligation that fails; every rejection is confirmed independently with a concrete witness run
through the explicit semantics (a state, and for the step obligation the step from it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import z3

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import IntSort, Var, walk
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System, SystemBuilder, assign, case, otherwise, outcome
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.certificate import TAG, check_certificate, parse_invariant
from otaproof.properties.check import run_engine
from otaproof.properties.formulas import SafetyTask, to_safety
from otaproof.properties.verdict import Budget, Proved

INIT, TRANS, PROP = "obligation Init => Inv fails", "obligation Inv & Trans => Inv' fails", "obligation Inv => P fails"


# ---- independent confirmation of a rejection ---------------------------------------------------


def _holds(enc: Encoder, inv: z3.BoolRef, vars_: list[z3.ExprRef], state: State) -> bool:
    pins = [(x, enc.value(v, state[v.index])) for x, v in zip(vars_, enc.system.variables, strict=True)]
    value = z3.simplify(z3.substitute(inv, *pins))
    assert z3.is_true(value) or z3.is_false(value), "the invariant does not evaluate on a concrete state"
    return bool(z3.is_true(value))


_RELATIONS: dict[int, tuple[System, Encoder, z3.BoolRef]] = {}


def _relation(system: System) -> tuple[Encoder, z3.BoolRef]:
    """An encoder and its Trans(s, a, next) over the certificate's variables, built once."""
    if id(system) not in _RELATIONS:
        enc = Encoder(system)
        _RELATIONS[id(system)] = (system, enc, enc.trans(enc.state(TAG), enc.action(TAG), enc.state("next")))
    _, enc, trans = _RELATIONS[id(system)]
    return enc, trans


def confirm(task: SafetyTask, text: str, reason: str) -> None:
    """The obligation named by ``reason`` really fails: show a witness in the explicit semantics."""
    enc, interp = Encoder(task.system), Interpreter(task.system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    inv = parse_invariant(enc, text, s)
    if reason == INIT:
        assert not _holds(enc, inv, s, interp.initial_state()), "the initial state satisfies Inv"
        return
    solver = z3.Solver()
    if reason == TRANS:
        solver.add(inv, enc.domain(s), _relation(task.system)[1], z3.Not(parse_invariant(enc, text, t)))
        assert solver.check() == z3.sat
        pre, i = enc.decode_state(solver.model(), s), enc.decode_action(solver.model(), a)
        post = interp.step(pre, i)  # the explicit semantics takes the same step
        assert _holds(enc, inv, s, pre) and not _holds(enc, inv, s, post), "the step keeps Inv"
        return
    assert reason == PROP, reason
    solver.add(inv, enc.domain(s), enc.expr(task.bad, s))
    assert solver.check() == z3.sat
    pre = enc.decode_state(solver.model(), s)
    assert _holds(enc, inv, s, pre) and interp.holds(task.bad, pre), "no state satisfies Inv and Bad"


def rejected(task: SafetyTask, text: str, *reasons: str) -> str:
    """The checker rejects ``text`` for one of ``reasons``, and that obligation really fails."""
    result = check_certificate(task, text, timeout=60)
    assert not result.ok, "a corrupted certificate was accepted"
    assert result.reason in reasons, result.reason
    confirm(task, text, result.reason)
    return result.reason


# ---- a genuine certificate of the SECMP0007 model -----------------------------------------------


@dataclass(frozen=True)
class Genuine:
    task: SafetyTask  # the cone-of-influence slice the engine proved the property on
    text: str

    def conjuncts(self) -> list[z3.BoolRef]:
        enc = Encoder(self.task.system)
        inv = parse_invariant(enc, self.text, enc.state(TAG))
        return list(inv.children()) if z3.is_and(inv) else [inv]

    def bad_names(self) -> set[str]:
        return {f"{n.name}@{TAG}" for n in walk(self.task.bad) if isinstance(n, Var)}


@pytest.fixture(scope="module")
def genuine() -> Genuine:
    built = build(Scenario())
    prop = get_property("P-LOCAL-BANNED")
    verdict = run_engine(built, prop, "pdr", Budget(timeout=60, depth=10))
    assert isinstance(verdict, Proved), verdict
    full = to_safety(built.system, prop.formula(built))
    sliced = cone_of_influence(full.system, full.bad)
    return Genuine(SafetyTask(sliced.system, sliced.predicate), verdict.certificate.smtlib)


def test_the_genuine_certificate_is_accepted(genuine: Genuine) -> None:
    assert check_certificate(genuine.task, genuine.text).ok


def test_true_is_rejected_because_it_does_not_imply_the_property(genuine: Genuine) -> None:
    assert rejected(genuine.task, "true", PROP, TRANS) == PROP


def test_false_is_rejected_because_the_initial_state_violates_it(genuine: Genuine) -> None:
    rejected(genuine.task, "false", INIT)


def test_weakened_to_allow_bad_states_is_rejected_at_the_property(genuine: Genuine) -> None:
    """Inv ∨ Bad still holds initially and is inductive (the HIST monitor is sticky), but no
    longer implies P."""
    enc = Encoder(genuine.task.system)
    c = enc.state(TAG)
    weak = z3.Or(parse_invariant(enc, genuine.text, c), enc.expr(genuine.task.bad, c)).sexpr()
    rejected(genuine.task, weak, PROP)


def test_dropping_the_conjuncts_about_the_property_is_rejected(genuine: Genuine) -> None:
    names = genuine.bad_names()
    kept = [c for c in genuine.conjuncts() if not any(n in c.sexpr() for n in names)]
    assert 0 < len(kept) < len(genuine.conjuncts())
    text = z3.And(kept).sexpr()
    # without them the rest may fail to be inductive, or may be inductive but allow Bad
    rejected(genuine.task, text, TRANS, PROP)


def test_a_non_inductive_strengthening_is_rejected_at_the_step(genuine: Genuine) -> None:
    """Inv ∧ (x = its initial value) for a variable that some first step changes."""
    system = genuine.task.system
    interp = Interpreter(system)
    init = interp.initial_state()
    changed = next(k for _, post in interp.successors(init) for k in range(len(init)) if post[k] != init[k])
    v = system.variables[changed]
    enc = Encoder(system)
    c: list[Any] = enc.state(TAG)
    strong = z3.And(parse_invariant(enc, genuine.text, c), c[v.index] == enc.value(v, init[v.index])).sexpr()
    rejected(genuine.task, strong, TRANS)


@pytest.mark.parametrize("text", [
    "",
    "(and (",
    "#b1",                                # not a formula
    "true false",                         # two terms
    "(bvule monitor.violated@c #b1)",     # ill-sorted
])
def test_text_that_does_not_parse_is_rejected(genuine: Genuine, text: str) -> None:
    result = check_certificate(genuine.task, text)
    assert not result.ok and result.reason.startswith("certificate does not parse"), result.reason


def test_unknown_variables_are_rejected(genuine: Genuine) -> None:
    name = sorted(genuine.bad_names())[0]
    assert name in genuine.text
    for text in (genuine.text.replace(name, name.replace("@c", "@next")),  # the post-state's tag
                 genuine.text.replace(name, name.replace("@c", "X@c")),  # a misspelt name
                 f"(and {genuine.text} (= |PPMID.P9.running@c| #x1))"):  # a device the model lacks
        result = check_certificate(genuine.task, text)
        assert not result.ok and "unknown constant" in result.reason, result.reason


LITERAL = re.compile(r"#b[01]+|#x[0-9a-f]+")


def _mutants(text: str) -> list[tuple[str, str]]:
    """Each bit-vector literal of the text in turn with its lowest bit flipped (same width)."""
    out = []
    for m in LITERAL.finditer(text):
        lit = m.group()
        if lit.startswith("#b"):
            new = lit[:-1] + ("1" if lit[-1] == "0" else "0")
        else:
            new = lit[:-1] + format(int(lit[-1], 16) ^ 1, "x")
        out.append((f"{lit} -> {new} at {m.start()}", text[:m.start()] + new + text[m.end():]))
    return out


def _reachable(system: System, limit: int) -> list[State]:
    """Up to ``limit`` reachable states, breadth first."""
    interp = Interpreter(system)
    seen = [interp.initial_state()]
    known = set(seen)
    for state in seen:
        for _, post in interp.successors(state):
            if post not in known and len(seen) < limit:
                known.add(post)
                seen.append(post)
    return seen


def test_a_mutated_constant_is_rejected(genuine: Genuine) -> None:
    """Flip literals of the text in turn until one excludes a reachable state (found with the
    explicit semantics; many flips give another valid invariant). The checker must reject that
    mutant: at Init if it excludes the initial state, otherwise at the step (some step of the
    path to the excluded state leaves it)."""
    system = genuine.task.system
    enc = Encoder(system)
    c = enc.state(TAG)
    states = _reachable(system, 200)
    solver = z3.Solver()
    solver.add(z3.Or([enc.state_equals(c, r) for r in states]))
    for where, text in _mutants(genuine.text):
        solver.push()
        solver.add(z3.Not(parse_invariant(enc, text, c)))
        excludes = solver.check() == z3.sat
        solver.pop()
        if excludes:
            expected = TRANS if _holds(enc, parse_invariant(enc, text, c), c, states[0]) else INIT
            assert rejected(genuine.task, text, INIT, TRANS) == expected, where
            return
    pytest.fail("no flipped literal excludes a reachable state")


# ---- a toy system whose inductive invariant is known exactly ------------------------------------


def counter() -> System:
    """n counts 1, 2, 3, 4, 1, ... inside int 1..7: reachable {1..4}; 5 and 6 are unreachable
    but 5 steps to 6, and 7 is a dead end."""
    b = SystemBuilder("toy")
    m = b.machine("M")
    n = m.var("n", IntSort(1, 7), 1)
    m.action("tick", lambda: case(n < 7, outcome("wrap", n == 4, assign(n, 1)), otherwise("inc", assign(n, n + 1))))
    return b.build()


@pytest.fixture(scope="module")
def toy() -> SafetyTask:
    system = counter()
    return SafetyTask(system, system.var("M.n") == 6)  # P: n never reaches 6


def test_toy_exact_invariant_is_accepted(toy: SafetyTask) -> None:
    assert check_certificate(toy, "(and (bvule #b001 M.n@c) (bvule M.n@c #b100))").ok
    assert check_certificate(toy, "(bvule M.n@c #b100)").ok  # n >= 1 comes from the domain
    assert check_certificate(toy, "(or (bvule M.n@c #b100) (= M.n@c #b111))").ok  # the dead end is harmless


def test_toy_true_but_not_inductive_invariant_is_rejected_at_the_step(toy: SafetyTask) -> None:
    """n ≠ 6 holds in every reachable state, but the unreachable 5 steps to 6."""
    reachable = {(1,), (2,), (3,), (4,)}
    interp = Interpreter(toy.system)
    state, seen = interp.initial_state(), set()
    for _ in range(10):
        seen.add(state)
        [(_, state)] = list(interp.successors(state))
    assert seen == reachable and all(not interp.holds(toy.bad, s) for s in seen)
    rejected(toy, "(distinct M.n@c #b110)", TRANS)


@pytest.mark.parametrize("text, reason", [
    ("false", INIT),
    ("true", PROP),
    ("(bvule #b010 M.n@c)", INIT),                          # lower bound 1 -> 2: excludes n = 1
    ("(and (bvule #b001 M.n@c) (bvule M.n@c #b011))", TRANS),  # upper bound 4 -> 3: 3 steps to 4
    ("(and (bvule #b001 M.n@c) (bvule M.n@c #b101))", TRANS),  # upper bound 4 -> 5: 5 steps to 6
    ("(bvule M.n@c #b111)", PROP),                          # inductive (7 is a dead end), allows 6
])
def test_toy_corruptions_fail_the_expected_obligation(toy: SafetyTask, text: str, reason: str) -> None:
    rejected(toy, text, reason)
