"""One dispatch per pass: every pass handles every node class, and the semantics agree on each.

``Expr`` is a closed union of node classes and each pass is one ``match`` ending in
``assert_never``. These tests take one sample of every node class (every operator, an
out-of-range ``Select`` index) on a toy system and check, state by state, that the explicit
closures, the Z3 terms (bit-vectors and Ints), constant folding and coverage's abstract evaluation
give each the same meaning; that the operator table has one meaning on codes and on Z3 terms;
that branch selection is the same in the interpreter, ``Instance.takes``, ``System.took`` and
``Encoder.steps``; and, when mypy is installed, that a pass missing a node class fails mypy.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import z3

import otaproof
from otaproof.generators.outcomes import values as _values
from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.lang import (
    ARITHMETIC,
    BOOL,
    COMPARISONS,
    TRUE,
    And,
    Const,
    EnumSort,
    Expr,
    Fired,
    IntSort,
    ModelError,
    Next,
    Node,
    Or,
    SetSort,
    Var,
    all_of,
    children,
    const,
    ite,
    lookup,
    map_children,
    readers,
    select,
    select_index,
    simplify,
    walk,
)
from otaproof.model.slicing import reads
from otaproof.model.symbolic import Encoder, Term
from otaproof.model.system import System, SystemBuilder, assign, case, otherwise, outcome

PHASE = EnumSort("Phase", ("idle", "busy", "done"))
TAG = EnumSort("Tag", ("a", "b", "c"))


def _toy(sets: bool = True) -> tuple[System, dict[str, Expr]]:
    """A machine with a variable of every sort (``sets``: the integer encoding has none), an
    action whose branches overlap, and a sample expression of every node class (each operator,
    both set updates, a select whose index can pass the end)."""
    b = SystemBuilder("toy")
    m = b.machine("M")
    flag = m.var("flag", BOOL, False)
    phase = m.var("phase", PHASE, "idle")
    n = m.var("n", IntSort(0, 3), 0)
    m.action("step", lambda: case(n < 3,
                                  outcome("low", n < 2, assign(n, n + 1)),
                                  outcome("flagged", flag, assign(flag, False)),
                                  otherwise("rest", assign(phase, "done"))))
    samples: dict[str, Expr] = {
        "Var": n,
        "Next": Next(n),
        "Fired": Fired("step", frozenset({0})),
        "Const": const(PHASE, "busy"),
        "Cmp ==": phase == "busy",
        "Cmp == of bools": flag == True,  # noqa: E712 (builds a comparison node)
        "Cmp !=": n != 2,
        "Cmp <": n < 2,
        "Cmp <=": 1 <= n,
        "Cmp > of two expressions": n > ite(flag, n, 1),
        "Arith +": n + 2,
        "Arith -": n - 1,  # below zero at n = 0: a model error in the explicit semantics
        "And": flag & (n > 0),
        "Or": flag | (phase == "done"),
        "Not": ~flag,
        "Ite": ite(flag, n, 3),
        "Lookup": lookup(phase, {"idle": 1, "busy": 2, "done": 0}, IntSort(0, 2)),
        "Select": select([const(TAG, "c"), const(TAG, "a"), const(TAG, "b")], phase),
        "Select past the end": select([n, const(IntSort(0, 3), 2)], ite(flag, n, 0)),  # 2, 3: the last item
    }
    if sets:
        tags = m.var("tags", SetSort(TAG), frozenset())
        m.action("tag", lambda: case(True, assign(tags, tags.with_added("b"))))
        samples |= {"Member": tags.contains("a"), "SetUpdate add": tags.with_added("c"),
                    "SetUpdate remove": tags.with_removed("a")}
    return b.build(), samples


SYSTEM, SAMPLES = _toy()


def _states(system: System) -> list[State]:
    return [tuple(c) for c in itertools.product(*(range(v.sort.size) for v in system.variables))]


def _code(term: Term) -> int:
    value = z3.simplify(term)
    return int(z3.is_true(value)) if z3.is_bool(value) else int(value.as_long())


def test_expr_is_the_closed_union_of_the_node_classes_and_every_one_is_sampled() -> None:
    members = set(get_args(Expr))
    assert set(Node.__subclasses__()) == members
    sampled = {type(e) for e in SAMPLES.values()}
    assert sampled == members, f"no sample of {sorted(c.__name__ for c in members - sampled)}"


def test_the_structural_passes_handle_every_node() -> None:
    def copy(x: Expr) -> Expr:
        return Const(x.sort, x.code) if isinstance(x, Const) else x

    for name, e in SAMPLES.items():
        assert map_children(e, lambda x: x) is e, name
        rebuilt = map_children(e, copy)
        assert type(rebuilt) is type(e), name
        assert [type(x) for x in children(rebuilt)] == [type(x) for x in children(e)], name
        assert (rebuilt is e) == (not any(isinstance(x, Const) for x in children(e))), name
        nodes = list(walk(e))
        assert nodes[0] is e and all(any(c is n for n in nodes) for c in children(e)), name
        assert list(readers(e)) == [x for x in nodes if isinstance(x, Var | Next | Fired)], name
        assert reads(e) == {x.index for x in nodes if isinstance(x, Var)}, name


@pytest.mark.parametrize("encoding", ["bv", "int"])
def test_every_node_means_the_same_in_every_pass(encoding: str) -> None:
    """Explicit closure, Z3 term, folded expression and coverage's abstract values agree on
    every sample in every state of the toy system."""
    system, samples = _toy(sets=encoding == "bv")
    states = _states(system)
    enc = Encoder(system, integer=encoding == "int", ctx=z3.Context())
    s, t, a = enc.state("s"), enc.state("t"), enc.action("a")
    for name, e in samples.items():
        f, folded = compile_expr(e), compile_expr(simplify(e))
        term = enc.expr(e, s, t, a)
        for k, pre in enumerate(states):
            post, act = states[-1 - k], k % len(system.instances)
            try:
                want = f(pre, post, act)
            except ModelError:
                assert name == "Arith -" and pre[2] == 0, name
                continue
            pins = [(x, enc.value(v, c)) for x, v, c in zip(s, system.variables, pre, strict=True)]
            pins += [(x, enc.value(v, c)) for x, v, c in zip(t, system.variables, post, strict=True)]
            got = _code(z3.substitute(term, *pins, (a, z3.BitVecVal(act, enc.action_width, enc.ctx))))
            assert got == want, f"{name} in {pre}: Z3 {got}, explicit {want}"
            assert folded(pre, post, act) == want, name
            may = _values(e, {v.index: frozenset({pre[v.index]}) for v in system.variables})
            assert may is None or want in may, f"{name} in {pre}: coverage says {sorted(may)}, explicit {want}"


def test_the_operator_table_has_one_meaning_on_codes_and_on_z3_terms() -> None:
    ctx = z3.Context()
    for x, y in itertools.product(range(8), repeat=2):
        bx, by = z3.BitVecVal(x, 3, ctx), z3.BitVecVal(y, 3, ctx)
        ix, iy = z3.IntVal(x, ctx), z3.IntVal(y, ctx)
        for cmp in COMPARISONS.values():
            want = int(cmp.codes(x, y))
            assert _code(cmp.bits(bx, by)) == want == _code(cmp.ints(ix, iy)), (cmp.name, x, y)
        for arith in ARITHMETIC.values():
            want = arith.codes(x, y)
            if want < 0:
                continue
            wide = arith.bits(z3.ZeroExt(1, bx), z3.ZeroExt(1, by))
            assert _code(wide) == want == _code(arith.ints(ix, iy)), (arith.name, x, y)
            assert want <= arith.top(x, y)


def test_a_select_index_past_the_end_reads_the_last_item_everywhere() -> None:
    items = [const(TAG, "a"), const(TAG, "b")]
    enc = Encoder(SYSTEM, ctx=z3.Context())
    for index in range(5):
        want = TAG.values.index("ab"[select_index(index, len(items))])
        at = const(IntSort(0, 4), index)
        for e in (select(items, at), select(items, at + 0)):  # folded, and not folded
            assert compile_expr(e)((), (), -1) == want
            assert compile_expr(simplify(e))((), (), -1) == want
            assert _code(enc.expr(e, enc.state("s"))) == want


def test_folding_keeps_the_shape_of_what_it_cannot_fold() -> None:
    """Folding changes a tree only where a constant decides (the Z3 terms built from folded
    systems, and so the solvers' runs, depend on the shape): a connective of one argument is
    that argument, an empty one its neutral constant, a tree without constants itself."""
    flag, n = SYSTEM.variables[0], SYSTEM.variables[2]
    assert simplify(And((flag,))) is flag and simplify(Or((flag,))) is flag
    empty = [simplify(And(())), simplify(Or(()))]
    assert [(type(x), getattr(x, "code", None)) for x in empty] == [(Const, 1), (Const, 0)]
    partly = simplify(And((flag, TRUE, n > 1)))
    assert isinstance(partly, And) and len(partly.args) == 2 and partly.args[0] is flag
    unfoldable = [e for e in SAMPLES.values() if not any(isinstance(x, Const) for x in walk(e))]
    assert len(unfoldable) >= 4 and all(simplify(e) is e for e in unfoldable)


def test_branch_selection_is_one_rule_in_every_semantics() -> None:
    """``step`` has overlapping branches (n < 2 and flag both hold): in every state the
    interpreter, ``Instance.takes``, ``System.took`` and ``Encoder.steps`` pick the same one."""
    interp, states = Interpreter(SYSTEM), _states(SYSTEM)
    inst = SYSTEM.instances_of("step")[0]
    names = [b.name for b in inst.branches]
    takes = [compile_expr(all_of(inst.takes(k))) for k in range(len(names))]
    took = [compile_expr(SYSTEM.took("step", [name])) for name in names]
    enc = Encoder(SYSTEM, ctx=z3.Context())
    s = enc.state("s")
    steps = [cond for i, _, cond, _ in enc.steps(s) if i == inst.index]
    overlapping = 0
    for pre in states:
        taken = interp.branch_taken(pre, inst.index)
        pins = [(x, enc.value(v, c)) for x, v, c in zip(s, SYSTEM.variables, pre, strict=True)]
        for k, name in enumerate(names):
            fires = int(taken == name)
            assert takes[k](pre, pre, inst.index) == fires == took[k](pre, pre, inst.index), (pre, name)
            assert _code(z3.substitute(steps[k], *pins)) == fires, (pre, name)
            assert took[k](pre, pre, inst.index + 1) == 0  # another instance fired
        overlapping += pre[0] == 1 and pre[2] < 2
    assert overlapping > 0


PASSES = """
from typing import assert_never

from otaproof.model.lang import (And, Arith, Cmp, Const, Expr, Fired, Ite, Lookup, Member, Next, Not, Or, Select,
                                 SetUpdate, Var)


def complete(e: Expr) -> int:
    match e:
        case Var() | Next() | Fired() | Const() | Cmp() | Arith() | And() | Or() | Not() | Ite() | Member():
            return 1
        case SetUpdate() | Lookup() | Select():
            return 2
        case _:
            assert_never(e)


def missing(e: Expr) -> int:
    match e:
        case Var() | Next() | Fired() | Const() | Cmp() | Arith() | And() | Or() | Not() | Ite() | Member():
            return 1
        case Lookup() | Select():
            return 2
        case _:
            assert_never(e)
"""


def test_mypy_names_a_pass_that_misses_a_node_class(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    (tmp_path / "passes.py").write_text(PASSES)
    root = Path(otaproof.__file__).parent.parent
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                             "--ignore-missing-imports", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
                             "passes.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "MYPYPATH": str(root)})
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    line = int(errors[0].split(":")[1])
    assert PASSES.splitlines()[line - 1].strip() == "assert_never(e)", errors
    assert line > PASSES[:PASSES.index("def missing")].count("\n"), "the error is in the pass that misses a node"
    assert '"SetUpdate"' in errors[0], errors
