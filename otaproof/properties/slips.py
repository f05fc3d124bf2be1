"""Modelling slips as a one-state predicate: a step that would assign a value outside its
variable's domain, or compute a difference below zero, is enabled.

The explicit semantics raises ``ModelError`` on such a step; the Z3 encoding cannot (it keeps
its states in the domains, so the step is simply missing from Trans). Every safety task carries
this predicate among its bad states, so a proof also shows that no reachable state has a slip
(then both semantics agree on every reachable step), and a counterexample ending in a slip is
reported as a model error with its trace, never as a verdict.

Only what an interval analysis cannot rule out is listed: the value range of each assigned
expression (narrowed by the guard's and branch's comparisons with constants, and by each
``ite``'s condition) must lie in the variable's domain, and each difference must stay at or
above zero. On the built-in designs nothing is listed, so the predicate is ``false`` and costs
nothing.
"""

from __future__ import annotations

from otaproof.model.lang import (
    FALSE,
    And,
    Arith,
    Cmp,
    Const,
    Expr,
    IntSort,
    Ite,
    Lookup,
    Next,
    Not,
    Select,
    Var,
    all_of,
    any_of,
    walk,
)
from otaproof.model.system import System

Range = tuple[int, int]
Env = dict[int, Range]  # variable index -> its range where the expression is evaluated

_CACHE: dict[int, tuple[System, Expr]] = {}


def domain_slips(system: System) -> Expr:
    """When some enabled step of ``system`` assigns outside a domain or subtracts below zero
    (``FALSE`` when the interval analysis rules out every slip)."""
    hit = _CACHE.get(id(system.instances))
    if hit is not None and hit[0].instances is system.instances:
        return hit[1]
    slips: list[Expr] = []
    for inst in system.instances:
        slips += [all_of([inst.guard, lt]) for lt in _below_zero(inst.guard, {})]
        guard_env = _refine(inst.guard, {}, True)
        for k, b in enumerate(inst.branches):
            taken = inst.takes(k)
            slips += [all_of([*taken[:-1], lt]) for lt in _below_zero(b.cond, guard_env)]
            env = _refine(b.cond, guard_env, True)
            for a in b.assigns:
                out = _below_zero(a.value, env) + _outside(a.value, a.var, env)
                if out:
                    slips.append(all_of([*taken, any_of(out)]))
    result = any_of(slips) if slips else FALSE
    if len(_CACHE) >= 32:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(system.instances)] = (system, result)
    return result


def _outside(value: Expr, var: Var, env: Env) -> list[Expr]:
    """The conditions under which ``value`` lies outside ``var``'s int domain (none if its range
    fits; enums, bools and sets are closed under the language's operations)."""
    sort = var.sort
    r = _range(value, env)
    if not isinstance(sort, IntSort) or r is None:
        return []
    out: list[Expr] = []
    if r[1] > sort.hi:
        out.append(Cmp("<", Const(IntSort(0, sort.hi), sort.hi), value))
    if r[0] < sort.lo:
        out.append(Cmp("<", value, Const(IntSort(0, sort.lo), sort.lo)))
    return out


def _below_zero(e: Expr, env: Env) -> list[Expr]:
    """``left < right`` for each difference in ``e`` that may go below zero (listed first in a
    slip, so the explicit semantics tests it before it evaluates the difference)."""
    out: list[Expr] = []
    for n in walk(e):
        if isinstance(n, Arith) and n.op == "-":
            r = _range(n, env)
            if r is not None and r[0] < 0:
                out.append(Cmp("<", n.left, n.right))
    return out


def _range(e: Expr, env: Env) -> Range | None:
    """The values an int expression can take (None for other sorts)."""
    sort = e.sort
    if not isinstance(sort, IntSort):
        return None
    match e:
        case Const():
            return e.code, e.code
        case Var():
            return env.get(e.index, (sort.lo, sort.hi))
        case Arith():
            a, b = _range(e.left, env), _range(e.right, env)
            assert a is not None and b is not None
            return (a[0] + b[0], a[1] + b[1]) if e.op == "+" else (a[0] - b[1], a[1] - b[0])
        case Ite():
            x, y = _range(e.then, _refine(e.cond, env, True)), _range(e.other, _refine(e.cond, env, False))
            assert x is not None and y is not None
            return min(x[0], y[0]), max(x[1], y[1])
        case Select():
            items = [r for r in (_range(x, env) for x in e.items) if r is not None]
            return min(r[0] for r in items), max(r[1] for r in items)
        case Lookup():
            return min(e.table), max(e.table)
        case Next():
            return sort.lo, sort.hi
        case _:
            return sort.lo, sort.hi


def _refine(cond: Expr, env: Env, holds: bool) -> Env:
    """``env`` narrowed by what ``cond`` (or its negation) says about a variable and a constant."""
    match cond:
        case And(args) if holds:
            for x in args:
                env = _refine(x, env, True)
            return env
        case Not(arg):
            return _refine(arg, env, not holds)
        case Cmp(op, Var() as v, Const(code=k)) if isinstance(v.sort, IntSort):
            return {**env, v.index: _bound(env.get(v.index, (v.sort.lo, v.sort.hi)), op, k, True, holds)}
        case Cmp(op, Const(code=k), Var() as v) if isinstance(v.sort, IntSort):
            return {**env, v.index: _bound(env.get(v.index, (v.sort.lo, v.sort.hi)), op, k, False, holds)}
        case _:
            return env


def _bound(r: Range, op: str, k: int, var_left: bool, holds: bool) -> Range:
    """A variable's range narrowed by ``v op k`` (``var_left``) or ``k op v``, or its negation."""
    lo, hi = r
    if op in ("==", "!="):
        if (op == "==") == holds:
            return max(lo, k), min(hi, k)
        return (lo + 1, hi) if k == lo else (lo, hi - 1) if k == hi else (lo, hi)
    strict = op == "<"
    upper = var_left == holds  # v < k, v <= k, ¬(k < v), ¬(k <= v): an upper bound
    if upper:
        bound = k - 1 if strict == holds else k
        return lo, min(hi, bound)
    bound = k + 1 if strict == holds else k
    return max(lo, bound), hi
