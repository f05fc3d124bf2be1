"""Explicit semantics: exact interpretation of a System over concrete states.

States are tuples of integer codes (one per variable, in ``System.variables`` order). Every
expression is compiled once into a Python closure ``f(pre, post, action_index)``; this is the
reference meaning the Z3 encoding is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from otaproof.model.lang import (
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
)
from otaproof.model.system import Instance, System

State = tuple[int, ...]
Fn = Callable[[State, State, int], int]


def compile_expr(e: Expr, where: str = "") -> Fn:
    """A closure evaluating ``e`` on (pre-state, post-state, action index) to an integer code.

    ``where`` (the action instance, for instance) is named by evaluation errors."""
    return _compile(e, where)


def _compile(e: Expr, where: str) -> Fn:
    compile_expr = lambda x: _compile(x, where)  # noqa: E731
    if isinstance(e, Var):
        i = e.index
        return lambda s, t, a: s[i]
    if isinstance(e, Next):
        i = e.var.index
        return lambda s, t, a: t[i]
    if isinstance(e, Const):
        c = e.code
        return lambda s, t, a: c
    if isinstance(e, Fired):
        chosen = e.instances
        return lambda s, t, a: int(a in chosen)
    if isinstance(e, Cmp):
        lf, rf = compile_expr(e.left), compile_expr(e.right)
        op = e.op
        if op == "==":
            return lambda s, t, a: int(lf(s, t, a) == rf(s, t, a))
        if op == "!=":
            return lambda s, t, a: int(lf(s, t, a) != rf(s, t, a))
        if op == "<":
            return lambda s, t, a: int(lf(s, t, a) < rf(s, t, a))
        return lambda s, t, a: int(lf(s, t, a) <= rf(s, t, a))
    if isinstance(e, Arith):
        lf, rf = compile_expr(e.left), compile_expr(e.right)
        if e.op == "+":
            return lambda s, t, a: lf(s, t, a) + rf(s, t, a)

        def minus(s: State, t: State, a: int) -> int:
            x, y = lf(s, t, a), rf(s, t, a)
            if x < y:  # ints are non-negative: the Z3 encoding would wrap around here
                raise ModelError(f"subtraction {e.left!r} - {e.right!r} goes below zero ({x} - {y}); "
                                 "guard it or use ite(...)", where)
            return x - y

        return minus
    if isinstance(e, And):
        fs = [compile_expr(x) for x in e.args]
        return lambda s, t, a: int(all(f(s, t, a) for f in fs))
    if isinstance(e, Or):
        fs = [compile_expr(x) for x in e.args]
        return lambda s, t, a: int(any(f(s, t, a) for f in fs))
    if isinstance(e, Not):
        f = compile_expr(e.arg)
        return lambda s, t, a: 1 - f(s, t, a)
    if isinstance(e, Ite):
        cf, tf, of = compile_expr(e.cond), compile_expr(e.then), compile_expr(e.other)
        return lambda s, t, a: tf(s, t, a) if cf(s, t, a) else of(s, t, a)
    if isinstance(e, Member):
        sf, ef = compile_expr(e.set_expr), compile_expr(e.element)
        return lambda s, t, a: (sf(s, t, a) >> ef(s, t, a)) & 1
    if isinstance(e, SetUpdate):
        sf, ef = compile_expr(e.set_expr), compile_expr(e.element)
        if e.add:
            return lambda s, t, a: sf(s, t, a) | (1 << ef(s, t, a))
        return lambda s, t, a: sf(s, t, a) & ~(1 << ef(s, t, a))
    if isinstance(e, Lookup):
        kf, table = compile_expr(e.key), e.table
        return lambda s, t, a: table[kf(s, t, a)]
    if isinstance(e, Select):
        items = [compile_expr(x) for x in e.items]
        idx = compile_expr(e.index)
        last = len(items) - 1
        return lambda s, t, a: items[min(idx(s, t, a), last)](s, t, a)
    raise ModelError(f"cannot evaluate expression node {type(e).__name__}")


@dataclass(frozen=True)
class _CompiledBranch:
    name: str
    cond: Fn
    writes: tuple[tuple[int, Fn], ...]


@dataclass(frozen=True)
class _CompiledInstance:
    instance: Instance
    guard: Fn
    branches: tuple[_CompiledBranch, ...]


class Interpreter:
    """Initial state, enabled actions and ``step`` for one System: the explicit semantics."""

    def __init__(self, system: System) -> None:
        self.system = system
        self._compiled = tuple(self._compile_instance(inst) for inst in system.instances)
        self._monitors = tuple((m.var.index, compile_expr(m.value, f"monitor {m.var.name}"))
                               for m in system.monitors)
        self._sorts = tuple(v.sort for v in system.variables)

    @staticmethod
    def _compile_instance(inst: Instance) -> _CompiledInstance:
        where = f"{inst.machine}.{inst.label}"
        return _CompiledInstance(
            inst,
            compile_expr(inst.guard, where),
            tuple(_CompiledBranch(b.name, compile_expr(b.cond, where),
                                  tuple((asg.var.index, compile_expr(asg.value, where)) for asg in b.assigns))
                  for b in inst.branches),
        )

    def initial_state(self) -> State:
        return tuple(v.init for v in self.system.variables)

    def branch_taken(self, s: State, index: int) -> str | None:
        """Name of the branch instance ``index`` takes in ``s``, or None if it is disabled."""
        ci = self._compiled[index]
        if not ci.guard(s, s, index):
            return None
        for b in ci.branches:
            if b.cond(s, s, index):
                return b.name
        return None

    def enabled(self, s: State) -> list[int]:
        """Indices of the action instances enabled in ``s``."""
        out = []
        for ci in self._compiled:
            if ci.guard(s, s, ci.instance.index) and any(b.cond(s, s, ci.instance.index) for b in ci.branches):
                out.append(ci.instance.index)
        return out

    def step(self, s: State, index: int) -> State:
        """The successor of ``s`` by instance ``index``; raises ModelError if it is not enabled."""
        ci = self._compiled[index]
        if not ci.guard(s, s, index):
            raise ModelError(f"action {ci.instance.label} is not enabled (guard false)")
        for b in ci.branches:
            if b.cond(s, s, index):
                return self._apply(s, ci, b)
        raise ModelError(f"action {ci.instance.label} is not enabled (no branch applies)")

    def successors(self, s: State, among: Sequence[int] | None = None) -> Iterator[tuple[int, State]]:
        """(instance, successor) for every enabled instance (of ``among`` only, if given)."""
        for ci in self._compiled if among is None else (self._compiled[i] for i in among):
            i = ci.instance.index
            if not ci.guard(s, s, i):
                continue
            for b in ci.branches:
                if b.cond(s, s, i):
                    yield i, self._apply(s, ci, b)
                    break

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
