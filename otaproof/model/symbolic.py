"""Symbolic semantics: a System compiled to Z3 bit-vector terms, Init(s) and Trans(s, a, s').

Finite domains become bit-vectors of the sort's width (bools become Z3 Bools); the action is a
bit-vector selector ``a`` naming one grounded instance; each variable's next value is one
``If(a == i, value_i, ...)`` chain over the instances that write it (frame: the old value).
Next-state values are constrained to their domains, so the solver never leaves the state space
the explicit interpreter can reach. Meaning is identical to ``model.explicit`` (tested).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeAlias, assert_never

import z3

from otaproof.model.lang import (
    ARITHMETIC,
    COMPARISONS,
    And,
    Arith,
    BoolSort,
    Cmp,
    Const,
    Expr,
    Fired,
    IntSort,
    Ite,
    Lookup,
    Member,
    ModelError,
    Next,
    Not,
    Or,
    Select,
    SetSort,
    SetUpdate,
    Sort,
    Var,
)
from otaproof.model.system import Instance, System, Writers, branch_selected, writers

Term: TypeAlias = z3.ExprRef
Step: TypeAlias = tuple[int, str, z3.BoolRef, list[Term]]  # instance, branch, when it fires, successor
# instances, template pre-state, action and post-state, Trans over them (without monitors)
_Template: TypeAlias = tuple[tuple[Instance, ...], list[Term], z3.BitVecRef, list[Term], z3.BoolRef]
_TRANS_CACHE: dict[tuple[int, int, bool, int, bool], _Template] = {}
# system, template pre-state, action and post-state, the monitors' updates over them
_MONITORS_CACHE: dict[tuple[int, bool, int], tuple[System, list[Term], z3.BitVecRef, list[Term], z3.BoolRef]] = {}


def _max_code(sort: Sort) -> int:
    return sort.hi if isinstance(sort, IntSort) else sort.size - 1


# builds the model's step (no monitors) over an encoder's template pre-state, action and post-state
StepBuilder: TypeAlias = Callable[["Encoder", list[Term], z3.BitVecRef, list[Term]], z3.BoolRef]


class Encoder:
    """Builds Z3 terms for one System; the model's step and the monitors' updates are built once
    per process and context over template states and substituted per step."""

    def __init__(self, system: System, integer: bool = False, ctx: z3.Context | None = None,
                 model_step: StepBuilder | None = None) -> None:
        """``integer`` encodes ints and enums as bounded Z3 Ints (Spacer generalises better
        over linear arithmetic than over bit-vectors); the default is bit-vectors.
        ``model_step``: builds the model's step (``trans`` without monitors) over template
        states instead of this encoder (the BMC engines' printed and parsed one)."""
        self.system = system
        self.integer = integer
        self.ctx = ctx or z3.main_ctx()
        self.model_step = model_step
        if integer:
            for v in system.variables:
                if isinstance(v.sort, SetSort):
                    raise ModelError(f"variable {v.name} is a set; the integer encoding needs bit-vectors")
        n = len(system.instances)
        self.action_width = max(1, (max(n, 1) - 1).bit_length())

    @functools.cached_property
    def _writers(self) -> Writers:
        """Built only when a transition relation is (the template is shared within a process)."""
        return writers(self.system.instances)

    # ---- variables ----------------------------------------------------------------------
    def state(self, tag: str) -> list[Term]:
        """Fresh Z3 constants for every variable, named ``name@tag``."""
        out: list[Term] = []
        for v in self.system.variables:
            name = f"{v.name}@{tag}"
            if isinstance(v.sort, BoolSort):
                out.append(z3.Bool(name, self.ctx))
            elif self.integer:
                out.append(z3.Int(name, self.ctx))
            else:
                out.append(z3.BitVec(name, v.sort.width, self.ctx))
        return out

    def action(self, tag: str) -> z3.BitVecRef:
        return z3.BitVec(f"action@{tag}", self.action_width, self.ctx)

    def value(self, var: Var, code: int) -> Term:
        return self._code(var.sort, code)

    def _code(self, sort: Sort, code: int) -> Term:
        """The constant ``code`` of ``sort`` in this encoding."""
        if isinstance(sort, BoolSort):
            return z3.BoolVal(bool(code), self.ctx)
        if self.integer:
            return z3.IntVal(code, self.ctx)
        return z3.BitVecVal(code, sort.width, self.ctx)

    # ---- formulas -------------------------------------------------------------------------
    def init(self, s: Sequence[Term]) -> z3.BoolRef:
        return z3.And([s[v.index] == self.value(v, v.init) for v in self.system.variables], self.ctx)

    def domain(self, s: Sequence[Term]) -> z3.BoolRef:
        """Every variable holds a value of its sort (needed for unconstrained states)."""
        cs = []
        for v in self.system.variables:
            if isinstance(v.sort, BoolSort):
                continue
            top = _max_code(v.sort)
            if self.integer:
                lo = v.sort.lo if isinstance(v.sort, IntSort) else 0
                cs += [s[v.index] >= lo, s[v.index] <= top]
                continue
            if top < (1 << v.sort.width) - 1:
                cs.append(z3.ULE(s[v.index], top))
            if isinstance(v.sort, IntSort) and v.sort.lo > 0:
                cs.append(z3.UGE(s[v.index], v.sort.lo))
        return z3.And(cs, self.ctx) if cs else z3.BoolVal(True, self.ctx)

    def state_equals(self, s: Sequence[Term], state: Sequence[int]) -> z3.BoolRef:
        return z3.And([s[v.index] == self.value(v, state[v.index]) for v in self.system.variables], self.ctx)

    def trans(self, s: Sequence[Term], a: z3.BitVecRef, t: Sequence[Term], monitors: bool = True) -> z3.BoolRef:
        """Trans(s, a, t): instance ``a`` is enabled in ``s`` and ``t`` is its successor
        (``monitors`` False: the model's own variables only, the monitors' next values free).

        The part without monitors is built once per set of instances (shared by every property
        of one model, whose monitors only add variables) over template variables, then
        instantiated by substitution, which is much cheaper than rebuilding terms in Python."""
        base = [v for v in self.system.variables if v.owner != "monitor"]
        assert all(v.index == k for k, v in enumerate(base)), "monitor variables come last"
        key = (id(self.system.instances), len(base), self.integer, id(self.ctx), self.model_step is None)
        cached = _TRANS_CACHE.get(key)
        if cached is None or cached[0] is not self.system.instances:
            ts, ta, tt = self.state("§s")[:len(base)], self.action("§a"), self.state("§t")[:len(base)]
            template = self._base_trans(ts, ta, tt) if self.model_step is None else self.model_step(self, ts, ta, tt)
            cached = (self.system.instances, ts, ta, tt, template)
            if len(_TRANS_CACHE) >= 64:
                _TRANS_CACHE.pop(next(iter(_TRANS_CACHE)))
            _TRANS_CACHE[key] = cached
        _, ts, ta, tt, template = cached
        parts = [z3.substitute(template, *zip(ts, s, strict=False), (ta, a), *zip(tt, t, strict=False))]
        if monitors:
            parts += self.monitor_updates(s, a, t)
        return z3.And(parts) if len(parts) > 1 else parts[0]

    def monitor_updates(self, s: Sequence[Term], a: z3.BitVecRef, t: Sequence[Term]) -> list[z3.BoolRef]:
        """The monitors' next values in ``t`` (with their domain checks): Trans's rest."""
        if not self.system.monitors:
            return []
        ms, ma, mt, updates = self._monitor_template()
        return list(z3.substitute(updates, *zip(ms, s, strict=True), (ma, a), *zip(mt, t, strict=True)).children())

    def _monitor_template(self) -> tuple[list[Term], z3.BitVecRef, list[Term], z3.BoolRef]:
        """The monitors' next values (with their domain checks) over template states, built once
        per system and context: a BMC unrolling or a tail engine's runs substitute it per step."""
        key = (id(self.system), self.integer, id(self.ctx))
        cached = _MONITORS_CACHE.get(key)
        if cached is None or cached[0] is not self.system:
            ms, ma, mt = self.state("§s"), self.action("§a"), self.state("§t")
            parts: list[z3.BoolRef] = []
            memo: dict[int, Term] = {}
            for m in self.system.monitors:
                parts.append(mt[m.var.index] == self._fit(m.var, self._expr(m.value, ms, mt, ma, memo), parts, None))
            cached = (self.system, ms, ma, mt, z3.And(parts, self.ctx))
            if len(_MONITORS_CACHE) >= 64:
                _MONITORS_CACHE.pop(next(iter(_MONITORS_CACHE)))
            _MONITORS_CACHE[key] = cached
        return cached[1:]

    def _base_trans(self, s: Sequence[Term], a: z3.BitVecRef, t: Sequence[Term]) -> z3.BoolRef:
        """Guards and frame conditions of every non-monitor variable (``s``, ``t``: base prefix)."""
        memo: dict[int, Term] = {}

        def ex(e: Expr) -> Term:
            return self._expr(e, s, t, a, memo)

        taken: dict[tuple[int, int], z3.BoolRef] = {}  # (instance, branch) -> that branch fires
        n = len(self.system.instances)
        parts: list[z3.BoolRef] = [z3.ULT(a, n)] if n < (1 << self.action_width) else []
        if n == 0:
            return z3.BoolVal(False, self.ctx)
        for inst in self.system.instances:
            en = z3.And(ex(inst.guard), z3.Or([ex(b.cond) for b in inst.branches]))
            parts.append(z3.Implies(a == inst.index, en))
        for v in self.system.variables:
            if v.owner == "monitor":
                continue
            old = s[v.index]
            new: Term = old
            wide_checks: list[z3.BoolRef] = []
            for inst_idx, branches in self._writers.get(v.index, []):
                val = self._branch_value(v, branches, old, ex, wide_checks, a, inst_idx, taken)
                new = z3.If(a == inst_idx, val, new)
            parts.append(t[v.index] == new)
            parts.extend(wide_checks)
        return z3.And(parts)

    def steps(self, s: Sequence[Term]) -> list[Step]:
        """One entry per (instance, branch): the condition under which that branch fires in
        ``s`` (guard, branch selected, new values in their domains) and the successor state as
        terms over ``s``. Their union is exactly Trans (one rule each)."""
        return [step for inst in self.system.instances for step in self._steps_of(inst, s)]

    def _steps_of(self, inst: Instance, s: Sequence[Term]) -> list[Step]:
        a = z3.BitVecVal(inst.index, self.action_width, self.ctx)
        memo: dict[int, Term] = {}

        def ex(e: Expr) -> Term:
            return self._expr(e, s, None, a, memo)

        out: list[Step] = []
        conds: list[z3.BoolRef] = []
        for k, b in enumerate(inst.branches):
            checks: list[z3.BoolRef] = []
            new = list(s)
            for asg in b.assigns:
                new[asg.var.index] = self._fit(asg.var, ex(asg.value), checks, None)
            memo_t: dict[int, Term] = {}
            for m in self.system.monitors:
                new[m.var.index] = self._fit(m.var, self._expr(m.value, s, new, a, memo_t), checks, None)
            guard = ex(inst.guard)
            conds.append(ex(b.cond))
            out.append((inst.index, b.name, z3.And(guard, *branch_selected(conds, k, z3.Not), *checks), new))
        return out

    def _branch_value(self, v: Var, branches: list[tuple[Expr, Expr | None]], old: Term,
                      ex: Callable[[Expr], Term], checks: list[z3.BoolRef], a: z3.BitVecRef, inst_idx: int,
                      taken: dict[tuple[int, int], z3.BoolRef]) -> Term:
        vals = []
        for k, (cond, val) in enumerate(branches):
            # the domain check binds only when this branch is the one taken (the first true one):
            # a later branch's out-of-domain value must not disable an earlier branch
            key = (inst_idx, k)
            if val is not None and key not in taken:
                conds = [ex(c) for c, _ in branches[:k + 1]]
                taken[key] = z3.And(a == inst_idx, *branch_selected(conds, k, z3.Not))
            vals.append((cond, old if val is None else self._fit(v, ex(val), checks, taken[key])))
        result = vals[-1][1]
        for cond, val in reversed(vals[:-1]):
            result = z3.If(ex(cond), val, result)
        return result

    def _fit(self, v: Var, term: Term, checks: list[z3.BoolRef], when: z3.BoolRef | None) -> Term:
        """Narrow an expression value to ``v``'s width, requiring it to lie in ``v``'s domain."""
        if isinstance(v.sort, BoolSort):
            return term
        if self.integer:
            lo = v.sort.lo if isinstance(v.sort, IntSort) else 0
            c = z3.And(term >= lo, term <= _max_code(v.sort))
            checks.append(c if when is None else z3.Implies(when, c))
            return term
        w = v.sort.width
        tw = term.size()
        top = _max_code(v.sort)
        conds = []
        if top < (1 << tw) - 1:
            conds.append(z3.ULE(term, top))
        if isinstance(v.sort, IntSort) and v.sort.lo > 0:
            conds.append(z3.UGE(term, v.sort.lo))
        if conds:
            c = z3.And(conds)
            checks.append(c if when is None else z3.Implies(when, c))
        if tw > w:
            return z3.Extract(w - 1, 0, term)
        if tw < w:
            return z3.ZeroExt(w - tw, term)
        return term

    def expr(self, e: Expr, s: Sequence[Term], t: Sequence[Term] | None = None,
             a: z3.BitVecRef | None = None) -> Term:
        """The Z3 term for ``e`` over pre-state ``s`` (post-state ``t`` and action ``a`` if used)."""
        return self._expr(e, s, t, a, {})

    def exprs(self, es: Sequence[Expr], s: Sequence[Term]) -> list[Term]:
        """Several one-state expressions over ``s``, sharing their common subterms."""
        memo: dict[int, Term] = {}
        return [self._expr(e, s, None, None, memo) for e in es]

    def _expr(self, e: Expr, s: Sequence[Term], t: Sequence[Term] | None, a: z3.BitVecRef | None,
              memo: dict[int, Term]) -> Term:
        key = id(e)
        hit = memo.get(key)
        if hit is not None:
            return hit
        r = self._build(e, s, t, a, memo)
        memo[key] = r
        return r

    def _build(self, e: Expr, s: Sequence[Term], t: Sequence[Term] | None, a: z3.BitVecRef | None,
               memo: dict[int, Term]) -> Term:
        def ex(x: Expr) -> Term:
            return self._expr(x, s, t, a, memo)

        ctx = self.ctx
        match e:  # bare class patterns, most frequent first (see ``lang.children``)
            case Const():
                return self._code(e.sort, e.code)
            case Var():
                return s[e.index]
            case Cmp():
                x, y = ex(e.left), ex(e.right)
                if self.integer:
                    return COMPARISONS[e.op].ints(x, y)
                if not isinstance(e.left.sort, BoolSort):
                    x, y = _align(x, y)
                return COMPARISONS[e.op].bits(x, y)
            case Ite():
                if self.integer and not isinstance(e.then.sort, BoolSort):
                    return z3.If(ex(e.cond), ex(e.then), ex(e.other))
                x, y = ex(e.then), ex(e.other)
                if not isinstance(e.then.sort, BoolSort):
                    x, y = _align(x, y)
                return z3.If(ex(e.cond), x, y)
            case And():
                return z3.And([ex(x) for x in e.args]) if e.args else z3.BoolVal(True, ctx)
            case Or():
                return z3.Or([ex(x) for x in e.args]) if e.args else z3.BoolVal(False, ctx)
            case Not():
                return z3.Not(ex(e.arg))
            case Arith():
                if self.integer:
                    return ARITHMETIC[e.op].ints(ex(e.left), ex(e.right))
                x, y = _align(ex(e.left), ex(e.right))
                return ARITHMETIC[e.op].bits(z3.ZeroExt(1, x), z3.ZeroExt(1, y))
            case Lookup():
                k = ex(e.key)
                result = self._code(e.sort, e.table[-1])
                for code in range(len(e.table) - 2, -1, -1):
                    kc = self._key(e.key.sort, k, code)
                    result = z3.If(k == kc, self._code(e.sort, e.table[code]), result)
                return result
            case Select():
                # an index past the last item reads the last one (``lang.select_index``)
                idx = ex(e.index)
                items = [ex(x) for x in e.items]
                if not isinstance(e.items[0].sort, BoolSort) and not self.integer:
                    w = max(x.size() for x in items)
                    items = [z3.ZeroExt(w - x.size(), x) if x.size() < w else x for x in items]
                result = items[-1]
                for i in range(len(items) - 2, -1, -1):
                    if not isinstance(e.index.sort, BoolSort) and not self.integer and i >= (1 << idx.size()):
                        continue
                    result = z3.If(idx == self._key(e.index.sort, idx, i), items[i], result)
                return result
            case Fired():
                if a is None:
                    raise ModelError("fired(...) used where there is no action")
                if not e.instances:
                    return z3.BoolVal(False, ctx)
                return z3.Or([a == i for i in sorted(e.instances)])
            case Next():
                if t is None:
                    raise ModelError("Next(...) used where there is no post-state")
                return t[e.var.index]
            case Member():
                st, el = _align(ex(e.set_expr), ex(e.element))
                return z3.Extract(0, 0, z3.LShR(st, el)) == 1
            case SetUpdate():
                st, el = ex(e.set_expr), ex(e.element)
                w = st.size()
                st2, el2 = _align(st, el)
                bit = z3.BitVecVal(1, st2.size(), ctx) << el2
                r = st2 | bit if e.add else st2 & ~bit
                return z3.Extract(w - 1, 0, r) if r.size() > w else r
            case _:
                assert_never(e)

    def _key(self, sort: Sort, term: Term, code: int) -> Term:
        """The constant ``code`` in the encoding of a key or index term of ``sort``."""
        if isinstance(sort, BoolSort):
            return z3.BoolVal(bool(code), self.ctx)
        if self.integer:
            return z3.IntVal(code, self.ctx)
        return z3.BitVecVal(code, term.size(), self.ctx)

    # ---- reading models ------------------------------------------------------------------
    def decode_state(self, model: z3.ModelRef, s: Sequence[Term]) -> tuple[int, ...]:
        out: list[int] = []
        for v in self.system.variables:
            val = model.eval(s[v.index], model_completion=True)
            out.append(int(z3.is_true(val)) if isinstance(v.sort, BoolSort) else val.as_long())
        return tuple(out)

    def decode_action(self, model: z3.ModelRef, a: z3.BitVecRef) -> int:
        return int(model.eval(a, model_completion=True).as_long())


def _align(x: Term, y: Term) -> tuple[Term, Term]:
    """Zero-extend two bit-vectors to a common width (codes are unsigned)."""
    wx, wy = x.size(), y.size()
    if wx < wy:
        return z3.ZeroExt(wy - wx, x), y
    if wy < wx:
        return x, z3.ZeroExt(wx - wy, y)
    return x, y
