"""Compiled explicit semantics: a grounded System turned into generated Python source.

The same meaning as ``model.explicit`` (the reference interpreter), made fast for explicit-state
search. Each guard, branch condition, assignment and monitor update becomes straight-line Python
over local variables ``v<i>`` (pre-state) and ``x<i>`` (post-state values written by the step),
with constants folded per action instance (``Fired`` is a constant once the instance is known,
``Next(x)`` of a variable the branch does not write is ``x``). The guards of all instances are
merged into one decision tree that tests a shared conjunct once (``DSP.registered_supplier == S1``
for every supplier request), so a state costs a few dozen comparisons instead of one closure
call per instance.

States are ``bytes`` (one byte per variable) when every domain fits in a byte, else tuples:
compact, hashable and indexable like the interpreter's tuples (``unpack`` gives the tuple).

Errors agree with the interpreter: an out-of-domain assignment or a subtraction below zero raises
the same ``ModelError``. Only expressions that can raise (an unguarded subtraction, an assignment
whose value range exceeds its domain) carry checks; when the fast path raises, the step is
re-evaluated instance by instance in index order, so the error reported is the interpreter's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

from otaproof.model.lang import (
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
    SetUpdate,
    Sort,
    Var,
    walk,
)
from otaproof.model.system import Branch, Instance, System

CState = bytes | tuple[int, ...]  # a compiled state: bytes when every code fits in a byte
GUARD_FALSE, NO_BRANCH = 0, 1  # what a per-instance step function returns when it is disabled


def _range(sort: Sort) -> tuple[int, int]:
    """The codes a variable of ``sort`` may hold (its domain)."""
    if isinstance(sort, IntSort):
        return sort.lo, sort.hi
    return 0, sort.size - 1


@dataclass(frozen=True)
class _Code:
    """A generated Python expression with what is known of it at generation time."""

    text: str
    lo: int
    hi: int
    pure: bool = True               # cannot raise
    const: int | None = None        # its value, when known
    eq: tuple[int, int] | None = None  # (variable, code) when it is ``v<i> == code``


def _const(value: int) -> _Code:
    value = int(value)
    return _Code(str(value), value, value, True, value)


@dataclass
class _Ctx:
    """How an expression reads the state: pre-state names, post-state names, the action."""

    where: str
    action: int              # instance index (-1: a one-state predicate, no action)
    post: dict[int, str] = field(default_factory=dict)  # Next(v) of a written variable
    one_state: bool = False  # Var reads the post-state too (predicates on a successor)

    def read(self, i: int) -> str:
        return self.post.get(i, f"v{i}") if self.one_state else f"v{i}"

    def next(self, i: int) -> str:
        return self.post.get(i, f"v{i}")


class _Generator:
    """Expression → Python source, with constant folding and interval bounds."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"ModelError": ModelError}
        self.errors: list[Callable[..., None]] = []
        self.globals["_E"] = self.errors
        self._tables: dict[tuple[int, ...], str] = {}
        self._temps = 0

    def error(self, fail: Callable[..., None]) -> int:
        self.errors.append(fail)
        return len(self.errors) - 1

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def table(self, values: tuple[int, ...]) -> str:
        if values not in self._tables:
            name = f"_T{len(self._tables)}"
            self._tables[values] = name
            self.globals[name] = values
        return self._tables[values]

    def expr(self, e: Expr, ctx: _Ctx) -> _Code:
        """Python source for ``e`` with its value range (one case per node: mypy flags a missing one)."""
        match e:
            case Var():
                lo, hi = _range(e.sort)
                eq = (e.index, 1) if isinstance(e.sort, BoolSort) and not ctx.one_state else None
                return _Code(ctx.read(e.index), lo, hi, eq=eq)
            case Next():
                lo, hi = _range(e.var.sort)
                return _Code(ctx.next(e.var.index), lo, hi)
            case Const():
                return _const(e.code)
            case Fired():
                return _const(int(ctx.action in e.instances))
            case Cmp():
                return self._cmp(e, ctx)
            case Arith():
                return self._arith(e, ctx)
            case And() | Or():
                return self._connective(e, ctx)
            case Not():
                a = self.expr(e.arg, ctx)
                if a.const is not None:
                    return _const(1 - a.const)
                eq = (a.eq[0], 1 - a.eq[1]) if a.eq is not None and a.text == f"v{a.eq[0]}" else None
                return _Code(f"(not {a.text})", 0, 1, a.pure, eq=eq)
            case Ite():
                c = self.expr(e.cond, ctx)
                if c.const is not None:
                    return self.expr(e.then if c.const else e.other, ctx)
                t, o = self.expr(e.then, ctx), self.expr(e.other, ctx)
                if t.text == o.text and c.pure:
                    return t
                return _Code(f"({t.text} if {c.text} else {o.text})", min(t.lo, o.lo), max(t.hi, o.hi),
                             c.pure and t.pure and o.pure)
            case Member():
                s, x = self.expr(e.set_expr, ctx), self.expr(e.element, ctx)
                if s.const is not None and x.const is not None:
                    return _const((s.const >> x.const) & 1)
                return _Code(f"(({s.text} >> {x.text}) & 1)", 0, 1, s.pure and x.pure)
            case SetUpdate():
                s, x = self.expr(e.set_expr, ctx), self.expr(e.element, ctx)
                if s.const is not None and x.const is not None:
                    return _const(s.const | (1 << x.const) if e.add else s.const & ~(1 << x.const))
                text = f"({s.text} | (1 << {x.text}))" if e.add else f"({s.text} & ~(1 << {x.text}))"
                lo, hi = _range(e.sort)
                return _Code(text, lo, hi, s.pure and x.pure)
            case Lookup():
                k = self.expr(e.key, ctx)
                if k.const is not None and 0 <= k.const < len(e.table):
                    return _const(e.table[k.const])
                inside = 0 <= k.lo and k.hi < len(e.table)
                seen = e.table[max(k.lo, 0):k.hi + 1] if inside else e.table
                return _Code(f"{self.table(e.table)}[{k.text}]", min(seen), max(seen), k.pure and inside)
            case Select():
                return self._select(e, ctx)
            case _:
                assert_never(e)

    def _cmp(self, e: Cmp, ctx: _Ctx) -> _Code:
        a, b = self.expr(e.left, ctx), self.expr(e.right, ctx)
        op = e.op
        if a.const is not None and b.const is not None:
            return _const(int(COMPARISONS[op].codes(a.const, b.const)))
        if a.text == b.text and a.pure:
            return _const(int(op in ("==", "<=")))
        if a.pure and b.pure:  # decided by the ranges alone
            if op == "<" and (a.hi < b.lo or a.lo >= b.hi):
                return _const(int(a.hi < b.lo))
            if op == "<=" and (a.hi <= b.lo or a.lo > b.hi):
                return _const(int(a.hi <= b.lo))
            if op in ("==", "!=") and (a.hi < b.lo or b.hi < a.lo):
                return _const(int(op == "!="))
        eq = None
        if op == "==" and a.const is None and b.const is not None and a.text.startswith("v") and a.text[1:].isdigit():
            eq = (int(a.text[1:]), b.const)
        elif op == "==" and b.const is None and a.const is not None and b.text.startswith("v") and b.text[1:].isdigit():
            eq = (int(b.text[1:]), a.const)
        if eq is not None:
            return _Code(f"(v{eq[0]} == {eq[1]})", 0, 1, True, eq=eq)
        return _Code(f"({a.text} {op} {b.text})", 0, 1, a.pure and b.pure)

    def _arith(self, e: Arith, ctx: _Ctx) -> _Code:
        a, b = self.expr(e.left, ctx), self.expr(e.right, ctx)
        if e.op == "+":
            if a.const is not None and b.const is not None:
                return _const(a.const + b.const)
            return _Code(f"({a.text} + {b.text})", a.lo + b.lo, a.hi + b.hi, a.pure and b.pure)
        if a.const is not None and b.const is not None and a.const >= b.const:
            return _const(a.const - b.const)
        hi = max(0, a.hi - b.lo)
        if a.lo >= b.hi:  # never below zero
            return _Code(f"({a.text} - {b.text})", a.lo - b.hi, hi, a.pure and b.pure)
        left, right, where = repr(e.left), repr(e.right), ctx.where

        def below(x: int, y: int) -> None:
            raise ModelError(f"subtraction {left} - {right} goes below zero ({x} - {y}); "
                             "guard it or use ite(...)", where)

        k = self.error(below)
        x, y = self.temp(), self.temp()
        return _Code(f"({x} - {y} if ({x} := {a.text}) >= ({y} := {b.text}) else _E[{k}]({x}, {y}))",
                     0, hi, False)

    def _connective(self, e: And | Or, ctx: _Ctx) -> _Code:
        """Left-to-right with short circuit, as the interpreter: a constant that decides the
        result drops the arguments after it, and the ones before it only if they cannot raise."""
        absorbing = 0 if isinstance(e, And) else 1
        kept: list[_Code] = []
        decided = False
        for arg in e.args:
            c = self.expr(arg, ctx)
            if c.const is not None:
                if c.const == absorbing:
                    decided = True
                    break
                continue
            kept.append(c)
        if decided and all(c.pure for c in kept):
            return _const(absorbing)
        if decided:
            kept.append(_const(absorbing))
        if not kept:
            return _const(1 - absorbing)
        if len(kept) == 1:
            return kept[0]
        word = " and " if absorbing == 0 else " or "
        return _Code("(" + word.join(c.text for c in kept) + ")", 0, 1, all(c.pure for c in kept))

    def _select(self, e: Select, ctx: _Ctx) -> _Code:
        last = len(e.items) - 1
        idx = self.expr(e.index, ctx)
        if idx.const is not None:
            return self.expr(e.items[min(idx.const, last)], ctx)
        lo_i, hi_i = min(max(idx.lo, 0), last), min(idx.hi, last)
        items = [self.expr(e.items[k], ctx) for k in range(lo_i, hi_i + 1)]
        if len(items) == 1:
            return _Code(f"({idx.text}, {items[0].text})[1]" if not idx.pure else items[0].text,
                         items[0].lo, items[0].hi, idx.pure and items[0].pure)
        name = idx.text if idx.text.isidentifier() else self.temp()
        first = name if name == idx.text else f"({name} := {idx.text})"
        parts = [f"{items[0].text} if {first} == {lo_i} else"]
        parts += [f"{c.text} if {name} == {k} else" for k, c in zip(range(lo_i + 1, hi_i), items[1:-1], strict=True)]
        return _Code("(" + " ".join(parts) + f" {items[-1].text})", min(c.lo for c in items),
                     max(c.hi for c in items), idx.pure and all(c.pure for c in items))


def _conjuncts(e: Expr) -> list[Expr]:
    """The top-level conjuncts of a guard, in order."""
    if isinstance(e, And):
        return [x for a in e.args for x in _conjuncts(a)]
    return [e]


@dataclass
class _Leaf:
    """One branch of one instance, generated: its statements and what it writes."""

    lines: list[str]
    writes: dict[int, str]  # variable index -> local holding the new value (monitors included)


class _Builder:
    """Generates the module source of one compiled System."""

    def __init__(self, system: System, bad: Expr | None, compact: bool) -> None:
        self.system = system
        self.bad = bad
        self.gen = _Generator()
        self.compact = compact
        self.bad_reads = {n.index for n in walk(bad) if isinstance(n, Var)} | \
            {n.var.index for n in walk(bad) if isinstance(n, Next)} if bad is not None else set()

    # ---- one branch ---------------------------------------------------------------------
    def leaf(self, inst: Instance, branch: Branch) -> _Leaf:
        where = f"{inst.machine}.{inst.label}"
        ctx = _Ctx(where, inst.index)
        lines: list[str] = []
        writes: dict[int, str] = {}
        for asg in branch.assigns:
            v = asg.var
            c = self.gen.expr(asg.value, ctx)
            if c.text == f"v{v.index}":
                continue  # x := x
            name = f"x{v.index}"
            lines.append(f"{name} = {c.text}")
            lo, hi = _range(v.sort)
            if c.lo < lo or c.hi > hi:
                vname, sort = v.name, v.sort

                def outside(val: int, vname: str = vname, sort: Sort = sort) -> None:
                    raise ModelError(f"assigns {vname} := {val}, outside its domain {sort}", where)

                lines.append(f"if not {lo} <= {name} <= {hi}: _E[{self.gen.error(outside)}]({name})")
            writes[v.index] = name
        mctx = _Ctx(where, inst.index, dict(writes))
        for m in self.system.monitors:
            v = m.var
            mctx.where = f"monitor {v.name}"
            c = self.gen.expr(m.value, mctx)
            if c.text == f"v{v.index}":
                continue
            name = f"x{v.index}"
            lines.append(f"{name} = {c.text}")
            lo, hi = _range(v.sort)
            if c.lo < lo or c.hi > hi:
                vname = v.name

                def outside_monitor(val: int, vname: str = vname) -> None:
                    raise ModelError(f"monitor sets {vname} := {val}, outside its domain")

                lines.append(f"if not {lo} <= {name} <= {hi}: _E[{self.gen.error(outside_monitor)}]({name})")
            writes[v.index] = name
        return _Leaf(lines, writes)

    def build_state(self, writes: dict[int, str]) -> list[str]:
        """Statements leaving the successor in ``t``."""
        if not writes:
            return ["t = s"]
        items = sorted(writes.items())
        if len(items) == 1 and self.compact:
            i, name = items[0]
            return [f"t = s[:{i}] + _B[{name}] + s[{i + 1}:]"]
        if self.compact:
            return ["b = bytearray(s)"] + [f"b[{i}] = {name}" for i, name in items] + ["t = bytes(b)"]
        # int(): a comparison's value is a Python bool, and a tuple keeps it as one
        return ["b = list(s)"] + [f"b[{i}] = int({name})" for i, name in items] + ["t = tuple(b)"]

    def bad_check(self, writes: dict[int, str], where: str) -> list[str]:
        """``return t`` if the successor is bad; nothing when the step writes nothing the bad
        predicate reads (the pre-state was not bad)."""
        if self.bad is None or not (self.bad_reads & writes.keys()):
            return []
        c = self.gen.expr(self.bad, _Ctx(where, -1, dict(writes), one_state=True))
        if c.const == 0:
            return []
        return ["return t"] if c.const == 1 else [f"if {c.text}:", "    return t"]

    # ---- per-instance functions (canonical order, the interpreter's errors) ---------------
    def instance_function(self, inst: Instance) -> list[str]:
        ctx = _Ctx(f"{inst.machine}.{inst.label}", inst.index)
        guard = self.gen.expr(inst.guard, ctx)
        body: list[str] = []
        if guard.const != 1:
            body.append(f"if not {guard.text}:" if guard.const is None else "if True:")
            body.append(f"    return {GUARD_FALSE}")
        for b in inst.branches:
            cond = self.gen.expr(b.cond, ctx)
            if cond.const == 0:
                continue
            leaf = self.leaf(inst, b)
            stmts = leaf.lines + self.build_state(leaf.writes) + ["return t"]
            if cond.const == 1:
                body += stmts
                break
            body.append(f"if {cond.text}:")
            body += ["    " + x for x in stmts]
        else:
            body.append(f"return {NO_BRANCH}")
        return [f"def _i{inst.index}(s):", *self.loads(body), *["    " + x for x in body], ""]

    def loads(self, body: list[str]) -> list[str]:
        """Load the pre-state variables a function body reads into locals."""
        text = "\n".join(body)
        used = [i for i in range(len(self.system.variables)) if _mentions(text, f"v{i}")]
        if len(used) > len(self.system.variables) // 2:
            return ["    " + ", ".join(f"v{i}" for i in range(len(self.system.variables))) + ", = s"]
        return [f"    v{i} = s[{i}]" for i in used]

    # ---- the merged decision tree over all instances ------------------------------------
    def tree_function(self, name: str, args: str, emit: Callable[[Instance, Branch, _Leaf], list[str]],
                      tail: str) -> list[str]:
        items: list[tuple[Instance, list[_Code], list[_Code]]] = []
        for inst in self.system.instances:
            ctx = _Ctx(f"{inst.machine}.{inst.label}", inst.index)
            codes = [self.gen.expr(c, ctx) for c in _conjuncts(inst.guard)]
            prefix: list[_Code] = []
            rest: list[_Code] = []
            dead = False
            for c in codes:
                if rest or not c.pure:
                    rest.append(c)
                elif c.const == 0:
                    dead = True
                    break
                elif c.const is None:
                    prefix.append(c)
            if not dead:
                items.append((inst, prefix, [c for c in rest if c.const != 1]))
        body = self._tree(items, emit)
        return [f"def {name}({args}):", *self.loads(body), *["    " + x for x in body], f"    return {tail}", ""]

    def _tree(self, items: list[tuple[Instance, list[_Code], list[_Code]]],
              emit: Callable[[Instance, Branch, _Leaf], list[str]]) -> list[str]:
        counts: dict[str, int] = {}
        for _, prefix, _ in items:
            for t in dict.fromkeys(c.text for c in prefix):
                counts[t] = counts.get(t, 0) + 1
        best = max(counts, key=lambda t: counts[t], default=None)
        if best is None or counts[best] < 2:
            return [x for item in items for x in self._instance_leaf(*item, emit)]
        sample = next(c for _, prefix, _ in items for c in prefix if c.text == best)
        out: list[str] = []
        if sample.eq is not None:  # dispatch on the variable's value: one comparison per value
            var = sample.eq[0]
            groups: dict[int, list[tuple[Instance, list[_Code], list[_Code]]]] = {}
            others = []
            for inst, prefix, rest in items:
                hit = next((c for c in prefix if c.eq is not None and c.eq[0] == var), None)
                if hit is None:
                    others.append((inst, prefix, rest))
                else:
                    groups.setdefault(hit.eq[1], []).append((inst, [c for c in prefix if c is not hit], rest))  # type: ignore[index]
            keyword = "if"
            for value, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                out.append(f"{keyword} v{var} == {value}:")
                out += ["    " + x for x in self._tree(group, emit) or ["pass"]]
                keyword = "elif"
            return out + self._tree(others, emit)
        inside = [(i, [c for c in p if c.text != best], r) for i, p, r in items if any(c.text == best for c in p)]
        outside = [(i, p, r) for i, p, r in items if all(c.text != best for c in p)]
        out.append(f"if {best}:")
        out += ["    " + x for x in self._tree(inside, emit) or ["pass"]]
        return out + self._tree(outside, emit)

    def _instance_leaf(self, inst: Instance, prefix: list[_Code], rest: list[_Code],
                       emit: Callable[[Instance, Branch, _Leaf], list[str]]) -> list[str]:
        ctx = _Ctx(f"{inst.machine}.{inst.label}", inst.index)
        body: list[str] = []
        keyword = "if"
        pure, useful = all(c.pure for c in rest), False
        for b in inst.branches:
            cond = self.gen.expr(b.cond, ctx)
            if cond.const == 0:
                continue
            pure = pure and cond.pure
            stmts = emit(inst, b, self.leaf(inst, b)) or ["pass"]
            useful = useful or stmts != ["pass"]
            if cond.const == 1:
                if keyword == "if":
                    body += stmts
                else:
                    body += ["else:"] + ["    " + x for x in stmts]
                break
            body.append(f"{keyword} {cond.text}:")
            body += ["    " + x for x in stmts]
            keyword = "elif"
        if not body or (pure and not useful):
            return []
        test = [c.text for c in prefix + rest]
        if not test:
            return body
        return [f"if {' and '.join(test)}:"] + ["    " + x for x in body]


def _mentions(text: str, name: str) -> bool:
    """``name`` occurs in ``text`` as a whole identifier."""
    start = 0
    while (k := text.find(name, start)) >= 0:
        end = k + len(name)
        before = text[k - 1] if k else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = end
    return False


class CompiledSystem:
    """Initial state, ``step`` and ``successors`` of one System as generated Python functions,
    plus ``expand`` for breadth- and depth-first search with a bad-state predicate."""

    def __init__(self, system: System, bad: Expr | None = None) -> None:
        self.system = system
        self.compact = all(_range(v.sort)[1] < 256 for v in system.variables)
        builder = _Builder(system, bad, self.compact)
        self._builder = builder
        lines: list[str] = []
        for inst in system.instances:
            lines += builder.instance_function(inst)

        def successor(inst: Instance, b: Branch, leaf: _Leaf) -> list[str]:
            return leaf.lines + builder.build_state(leaf.writes) + [f"out.append(({inst.index}, t))"]

        def expansion(inst: Instance, b: Branch, leaf: _Leaf) -> list[str]:
            if not leaf.writes:
                return []  # a self-loop: the state is already seen
            where = f"{inst.machine}.{inst.label}"
            return leaf.lines + builder.build_state(leaf.writes) + \
                ["if t not in seen:", "    seen[t] = s", "    push(t)"] + \
                ["    " + x for x in builder.bad_check(leaf.writes, where)]

        lines += builder.tree_function("_succ_tree", "s, out", successor, "out")
        lines += builder.tree_function("_expand", "s, seen, push", expansion, "None")
        lines.append("_INSTANCES = (" + "".join(f"_i{i.index}, " for i in system.instances) + ")")
        self.source = "\n".join(lines) + "\n"
        namespace = builder.gen.globals
        namespace["_B"] = tuple(bytes((k,)) for k in range(256))
        exec(compile(self.source, f"<compiled {system.name}>", "exec"), namespace)
        self._tree: Callable[[CState, list[tuple[int, CState]]], list[tuple[int, CState]]] = namespace["_succ_tree"]
        self._expand: Callable[[CState, dict[CState, CState | None], Callable[[CState], None]], CState | None] = \
            namespace["_expand"]
        self._instances: tuple[Callable[[CState], CState | int], ...] = namespace["_INSTANCES"]
        self._bad = self.predicate(bad) if bad is not None else None

    # ---- states --------------------------------------------------------------------------
    def pack(self, state: Sequence[int]) -> CState:
        return bytes(state) if self.compact else tuple(state)

    def unpack(self, state: CState) -> tuple[int, ...]:
        return tuple(state)

    def initial_state(self) -> CState:
        return self.pack([v.init for v in self.system.variables])

    # ---- the semantics ---------------------------------------------------------------------
    def step(self, s: CState, index: int) -> CState:
        """The successor of ``s`` by instance ``index``; raises ModelError if it is not enabled."""
        result = self._instances[index](s)
        if isinstance(result, int):
            label = self.system.instances[index].label
            why = "guard false" if result == GUARD_FALSE else "no branch applies"
            raise ModelError(f"action {label} is not enabled ({why})")
        return result

    def successors(self, s: CState) -> list[tuple[int, CState]]:
        """(instance, successor) for every enabled instance, in instance order."""
        out = self.moves(s)
        out.sort(key=lambda pair: pair[0])
        return out

    def moves(self, s: CState) -> list[tuple[int, CState]]:
        """The same pairs as ``successors``, in the decision tree's (fixed) order: faster."""
        try:
            return self._tree(s, [])
        except Exception:
            return self._in_order(s)  # re-raises the error the interpreter raises first

    def breadth_first(self, limit: int, in_instance_order: bool = False) -> tuple[dict[CState, None], bool]:
        """Up to ``limit`` reachable states, breadth-first from the initial state, in the order
        found (successors by ``moves``, or by ``successors`` if ``in_instance_order``), and whether
        they are all of them. A state whose step is a modelling slip is a dead end here: the
        engines report the slip with its trace."""
        expand = self.successors if in_instance_order else self.moves
        first = self.initial_state()
        seen: dict[CState, None] = {first: None}
        queue = deque([first])
        while queue and len(seen) < limit:
            try:
                nxt = expand(queue.popleft())
            except ModelError:
                continue
            for _, t in nxt:
                if t not in seen:
                    seen[t] = None
                    queue.append(t)
        return seen, not queue

    def _in_order(self, s: CState) -> list[tuple[int, CState]]:
        out = []
        for i, f in enumerate(self._instances):
            t = f(s)
            if not isinstance(t, int):
                out.append((i, t))
        return out

    def expand(self, s: CState, seen: dict[CState, CState | None], push: Callable[[CState], None]) -> CState | None:
        """Add the unseen successors of ``s`` to ``seen`` (parent ``s``) and ``push`` each; return
        the first one that is bad (the others of ``s`` may then be missing), else None."""
        try:
            return self._expand(s, seen, push)
        except Exception:
            self._in_order(s)  # the interpreter's error, if a step raises one
            raise

    def predicate(self, e: Expr) -> Callable[[CState], bool]:
        """A one-state predicate (as ``Interpreter.holds``) over compiled states."""
        gen = self._builder.gen
        code = gen.expr(e, _Ctx("predicate", -1, one_state=True))
        body = [f"return bool({code.text})"]
        src = "\n".join(["def _p(s):", *self._builder.loads(body), "    " + body[0]]) + "\n"
        exec(compile(src, "<predicate>", "exec"), gen.globals)
        fn: Callable[[CState], bool] = gen.globals.pop("_p")
        return fn

    def step_predicate(self, e: Expr, index: int) -> Callable[[CState, CState], bool] | None:
        """A step event (as ``explicit.compile_expr``) specialised to steps of instance ``index``:
        a function of (pre-state, post-state); None when it is false on every such step."""
        gen = self._builder.gen
        post = {n.var.index: f"t[{n.var.index}]" for n in walk(e) if isinstance(n, Next)}
        code = gen.expr(e, _Ctx(f"step event of {index}", index, post))
        if code.const == 0:
            return None
        body = [f"return bool({code.text})"]
        src = "\n".join(["def _p(s, t):", *self._builder.loads(body), "    " + body[0]]) + "\n"
        exec(compile(src, "<step event>", "exec"), gen.globals)
        fn: Callable[[CState, CState], bool] = gen.globals.pop("_p")
        return fn

    def is_bad(self, s: CState) -> bool:
        return self._bad is not None and self._bad(s)

    def walk(self, choices: Sequence[int]) -> Iterator[CState]:
        """The states visited when firing ``choices`` from the initial state."""
        s = self.initial_state()
        yield s
        for c in choices:
            s = self.step(s, c)
            yield s


__all__ = ["GUARD_FALSE", "NO_BRANCH", "CState", "CompiledSystem"]
