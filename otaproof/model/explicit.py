"""Explicit semantics: exact interpretation of a System over concrete states.

States are tuples of integer codes (one per variable, in ``System.variables`` order). Every
expression is compiled once into a Python closure ``f(pre, post, action_index)``; this is the
reference meaning the Z3 encoding is tested against.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import assert_never

from otaproof.model.lang import (
    ARITHMETIC,
    COMPARISONS,
    And,
    Arith,
    Cmp,
    Const,
    Expr,
    Fired,
    Ite,
    Lookup,
    Member,
    ModelError,
    Next,
    Not,
    Or,
    Select,
    SetUpdate,
    Var,
    select_index,
)
from otaproof.model.system import Instance, System

State = tuple[int, ...]
Fn = Callable[[State, State, int], int]


def compile_expr(e: Expr, where: str = "") -> Fn:
    """A closure evaluating ``e`` on (pre-state, post-state, action index) to an integer code.

    ``where`` (the action instance, for instance) is named by evaluation errors."""

    def sub(x: Expr) -> Fn:
        return compile_expr(x, where)

    match e:  # bare class patterns, most frequent first (see ``lang.children``)
        case Const():
            c = e.code
            return lambda s, t, a: c
        case Var():
            i = e.index
            return lambda s, t, a: s[i]
        case Cmp():
            holds, left, right = COMPARISONS[e.op].codes, e.left, e.right
            if isinstance(left, Var) and isinstance(right, Const):  # `v == "idle"`: read the state directly
                i, c = left.index, right.code
                return lambda s, t, a: int(holds(s[i], c))
            lf, rf = sub(left), sub(right)
            return lambda s, t, a: int(holds(lf(s, t, a), rf(s, t, a)))
        case Ite():
            cf, tf, of = sub(e.cond), sub(e.then), sub(e.other)
            return lambda s, t, a: tf(s, t, a) if cf(s, t, a) else of(s, t, a)
        case And():
            fs = [sub(x) for x in e.args]
            return lambda s, t, a: int(all(f(s, t, a) for f in fs))
        case Or():
            fs = [sub(x) for x in e.args]
            return lambda s, t, a: int(any(f(s, t, a) for f in fs))
        case Not():
            f = sub(e.arg)
            return lambda s, t, a: 1 - f(s, t, a)
        case Arith():
            return _arith(e, sub(e.left), sub(e.right), where)
        case Lookup():
            kf, table = sub(e.key), e.table
            return lambda s, t, a: table[kf(s, t, a)]
        case Select():
            fs, idx, n = [sub(x) for x in e.items], sub(e.index), len(e.items)
            return lambda s, t, a: fs[select_index(idx(s, t, a), n)](s, t, a)
        case Fired():
            chosen = e.instances
            return lambda s, t, a: int(a in chosen)
        case Next():
            j = e.var.index
            return lambda s, t, a: t[j]
        case Member():
            sf, ef = sub(e.set_expr), sub(e.element)
            return lambda s, t, a: (sf(s, t, a) >> ef(s, t, a)) & 1
        case SetUpdate():
            sf, ef = sub(e.set_expr), sub(e.element)
            if e.add:
                return lambda s, t, a: sf(s, t, a) | (1 << ef(s, t, a))
            return lambda s, t, a: sf(s, t, a) & ~(1 << ef(s, t, a))
        case _:
            assert_never(e)


def _arith(e: Arith, lf: Fn, rf: Fn, where: str) -> Fn:
    """An arithmetic node: its operator's meaning on codes, and an error below zero (ints are
    non-negative: the Z3 encoding would wrap around there)."""
    op = ARITHMETIC[e.op]

    def value(s: State, t: State, a: int) -> int:
        x, y = lf(s, t, a), rf(s, t, a)
        r = op.codes(x, y)
        if r < 0:
            raise ModelError(f"{op.name} {e.left!r} {e.op} {e.right!r} goes below zero ({x} {e.op} {y}); "
                             "guard it or use ite(...)", where)
        return r

    return value


@dataclass(frozen=True)
class _CompiledBranch:
    name: str
    cond: Fn
    writes: tuple[tuple[int, Fn], ...]


Selector = Callable[[State], _CompiledBranch | None]


@dataclass(frozen=True)
class _CompiledInstance:
    instance: Instance
    guard: Fn
    branches: tuple[_CompiledBranch, ...]
    taken: Selector  # the branch taken in a state, None when the instance is disabled


def _selector(index: int, guard: Fn, branches: tuple[_CompiledBranch, ...], always: bool) -> Selector:
    """The branch an instance takes: once its guard holds, the first branch whose condition
    holds (``system.branch_selected``). ``always``: a single branch without a condition."""
    if always:
        only = branches[0]
        return lambda s: only if guard(s, s, index) else None

    def taken(s: State) -> _CompiledBranch | None:
        if not guard(s, s, index):
            return None
        for b in branches:
            if b.cond(s, s, index):
                return b
        return None

    return taken


class Interpreter:
    """Initial state, enabled actions and ``step`` for one System: the explicit semantics."""

    def __init__(self, system: System) -> None:
        self.system = system
        self._some: dict[int, _CompiledInstance] = {}  # compiled on first use: a replay needs few
        self._monitors = tuple((m.var.index, compile_expr(m.value, f"monitor {m.var.name}"))
                               for m in system.monitors)
        self._sorts = tuple(v.sort for v in system.variables)

    def _instance(self, index: int) -> _CompiledInstance:
        ci = self._some.get(index)
        if ci is None:
            ci = self._some[index] = self._compile_instance(self.system.instances[index])
        return ci

    @functools.cached_property
    def _compiled(self) -> tuple[_CompiledInstance, ...]:
        return tuple(self._instance(i) for i in range(len(self.system.instances)))

    @staticmethod
    def _compile_instance(inst: Instance) -> _CompiledInstance:
        where = f"{inst.machine}.{inst.label}"
        guard = compile_expr(inst.guard, where)
        branches = tuple(_CompiledBranch(b.name, compile_expr(b.cond, where),
                                         tuple((asg.var.index, compile_expr(asg.value, where)) for asg in b.assigns))
                         for b in inst.branches)
        only = inst.branches[0].cond if len(inst.branches) == 1 else None
        always = isinstance(only, Const) and only.code == 1
        return _CompiledInstance(inst, guard, branches, _selector(inst.index, guard, branches, always))

    def initial_state(self) -> State:
        return tuple(v.init for v in self.system.variables)

    def branch_taken(self, s: State, index: int) -> str | None:
        """Name of the branch instance ``index`` takes in ``s``, or None if it is disabled."""
        b = self._instance(index).taken(s)
        return None if b is None else b.name

    def enabled(self, s: State) -> list[int]:
        """Indices of the action instances enabled in ``s``."""
        return [ci.instance.index for ci in self._compiled if ci.taken(s) is not None]

    def step(self, s: State, index: int) -> State:
        """The successor of ``s`` by instance ``index``; raises ModelError if it is not enabled."""
        ci = self._instance(index)
        b = ci.taken(s)
        if b is None:
            why = "no branch applies" if ci.guard(s, s, index) else "guard false"
            raise ModelError(f"action {ci.instance.label} is not enabled ({why})")
        return self._apply(s, ci, b)

    def successors(self, s: State, among: Sequence[int] | None = None) -> Iterator[tuple[int, State]]:
        """(instance, successor) for every enabled instance (of ``among`` only, if given)."""
        for ci in self._compiled if among is None else (self._instance(i) for i in among):
            b = ci.taken(s)
            if b is not None:
                yield ci.instance.index, self._apply(s, ci, b)

    def _apply(self, s: State, ci: _CompiledInstance, b: _CompiledBranch) -> State:
        new = list(s)
        i = ci.instance.index
        for idx, f in b.writes:
            val = f(s, s, i)
            if not self._sorts[idx].contains_code(val):
                var = self.system.variables[idx]
                raise ModelError(f"assigns {var.name} := {val}, outside its domain {var.sort}",
                                 f"{ci.instance.machine}.{ci.instance.label}")
            new[idx] = val
        if self._monitors:
            post = tuple(new)
            for idx, f in self._monitors:
                val = f(s, post, i)
                if not self._sorts[idx].contains_code(val):
                    raise ModelError(f"monitor sets {self.system.variables[idx].name} := {val}, "
                                     "outside its domain")
                new[idx] = val
        return tuple(new)

    def holds(self, e: Expr, s: State) -> bool:
        """Evaluate a one-state predicate."""
        return bool(compile_expr(e)(s, s, -1))

    def decode(self, s: State) -> dict[str, object]:
        """Variable name → readable value."""
        return {v.name: v.sort.decode(s[v.index]) for v in self.system.variables}


def diff(system: System, before: State, after: State) -> dict[str, tuple[object, object]]:
    """The variables a step changed, with old and new readable values."""
    out = {}
    for v in system.variables:
        if before[v.index] != after[v.index]:
            out[v.name] = (v.sort.decode(before[v.index]), v.sort.decode(after[v.index]))
    return out


def run(interp: Interpreter, choices: Sequence[int]) -> list[State]:
    """The states visited when firing ``choices`` from the initial state."""
    states = [interp.initial_state()]
    for c in choices:
        states.append(interp.step(states[-1], c))
    return states
