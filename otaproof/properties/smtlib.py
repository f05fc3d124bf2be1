"""SMT-LIB 2 text of a grounded System, printed from the model's expression AST by a printer of
its own: certificate obligations are re-checked against this text, never against the engines'
Z3 terms, so a fault in the encoder or the slicer cannot vouch for itself.

The meaning is that of ``model.symbolic`` (one bit-vector of the sort's width per variable, Bools
for bools; zero-extension to a common width before comparing or adding, one extra bit for
arithmetic; a step fires one action instance ``action`` whose guard and some branch condition
hold, the first such branch's values, each required to lie in its variable's domain, every other
variable kept; monitors updated on every step). ``tests/properties/test_props_obligations.py``
checks the two agree. Pre-state variable ``x`` is ``|x|``, its post-state ``|x'|``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import assert_never

import z3

from otaproof.model import lang
from otaproof.model.lang import BoolSort, Expr, IntSort, ModelError, Sort, Var
from otaproof.model.symbolic import Encoder
from otaproof.model.system import Instance, System, Writers, writers

ACTION = "action"  # the action-instance selector of a step
Term = tuple[str, int]  # SMT-LIB text and its bit-vector width (0: a Bool)


def quote(name: str) -> str:
    """``name`` as a quoted SMT-LIB symbol (model names hold brackets, arrows and dots)."""
    if "|" in name or "\\" in name:
        raise ModelError(f"name {name!r} cannot be an SMT-LIB symbol (it holds '|' or '\\')")
    return f"|{name}|"


def bv(code: int, width: int) -> str:
    """The bit-vector literal of ``code`` (modulo 2^width, as Z3's ``BitVecVal``)."""
    return f"(_ bv{code % (1 << width)} {width})"


def conj(parts: Sequence[str]) -> str:
    """SMT-LIB ``and`` of any number of terms (``and`` needs two arguments)."""
    return "true" if not parts else parts[0] if len(parts) == 1 else f"(and {' '.join(parts)})"


def disj(parts: Sequence[str]) -> str:
    return "false" if not parts else parts[0] if len(parts) == 1 else f"(or {' '.join(parts)})"


def sort_text(sort: Sort) -> str:
    return "Bool" if isinstance(sort, BoolSort) else f"(_ BitVec {sort.width})"


def _top(sort: Sort) -> int:
    return sort.hi if isinstance(sort, IntSort) else sort.size - 1


def _extend(t: Term, width: int) -> str:
    text, w = t
    return text if w >= width else f"((_ zero_extend {width - w}) {text})"


def _align(x: Term, y: Term) -> tuple[str, str, int]:
    """Zero-extend two bit-vectors to a common width (codes are unsigned)."""
    w = max(x[1], y[1])
    return _extend(x, w), _extend(y, w), w


@dataclass(frozen=True)
class StateNames:
    """How the variables of one state are named: ``|<variable><suffix>|``."""

    suffix: str

    def of(self, v: Var) -> str:
        return quote(v.name + self.suffix)


PRE, POST = StateNames(""), StateNames("'")


@dataclass
class Step:
    """One step printed: macros over the pre-state (``defs``), the conditions that let it happen
    (``enabled``: the instance's guard and branch, values in their domains) and each variable's
    next value. ``Trans = enabled ∧ ⋀ post_v = next_v``."""

    defs: list[str]
    enabled: list[str]
    next_values: list[tuple[Var, str]]

    def relation(self, post: StateNames) -> list[str]:
        """Trans as assertions over declared post-state constants."""
        return self.enabled + [f"(= {post.of(v)} {val})" for v, val in self.next_values]

    def successor(self, post: StateNames) -> list[str]:
        """The post-state as macros (the step is a function of the pre-state and the action)."""
        return [f"(define-fun {post.of(v)} () {sort_text(v.sort)} {val})" for v, val in self.next_values]


@dataclass
class _Context:
    """Names of the pre-state, post-state and action an expression is printed over."""

    pre: StateNames
    post: StateNames | None
    action: str | None
    action_width: int
    memo: dict[int, tuple[Expr, Term]] = field(default_factory=dict)


MODEL_STEPS_KEPT = 8  # printed model steps kept per process (a matrix prints one row's model after another)
_MODEL_STEPS: dict[tuple[int, str, str, int | None, str], tuple[tuple[Instance, ...], tuple[Var, ...], Step]] = {}


class Printer:
    """SMT-LIB text for one System: declarations, domain, Init, Trans and expressions."""

    def __init__(self, system: System) -> None:
        self.system = system
        n = len(system.instances)
        self.action_width = max(1, (max(n, 1) - 1).bit_length())
        for v in system.variables:
            quote(v.name)

    @functools.cached_property
    def _writers(self) -> Writers:
        """Built only when a model step is printed (not when this process has it printed already)."""
        return writers(self.system.instances)

    # ---- declarations, domain, Init ----------------------------------------------------------
    def declare(self, names: StateNames, variables: Sequence[Var] | None = None) -> list[str]:
        """Declarations of the system's variables (or of ``variables``) in one state."""
        chosen = self.system.variables if variables is None else variables
        return [f"(declare-fun {names.of(v)} () {sort_text(v.sort)})" for v in chosen]

    def declare_action(self) -> str:
        return f"(declare-fun {ACTION} () (_ BitVec {self.action_width}))"

    def value(self, v: Var, code: int) -> str:
        return ("true" if code else "false") if isinstance(v.sort, BoolSort) else bv(code, v.sort.width)

    def init(self, names: StateNames, variables: Sequence[Var] | None = None) -> str:
        """Every variable (of ``variables``, if given) holds its initial value."""
        chosen = self.system.variables if variables is None else variables
        return conj([f"(= {names.of(v)} {self.value(v, v.init)})" for v in chosen])

    def domain(self, names: StateNames, variables: Sequence[Var] | None = None) -> str:
        """Every variable (of ``variables``, if given) holds a value of its sort (unconstrained
        states need it)."""
        chosen = self.system.variables if variables is None else variables
        return conj([c for v in chosen for c in self._in_domain(names.of(v), v.sort.width, v.sort)])

    @staticmethod
    def _in_domain(text: str, width: int, sort: Sort) -> list[str]:
        if isinstance(sort, BoolSort):
            return []
        out = []
        if _top(sort) < (1 << width) - 1:
            out.append(f"(bvule {text} {bv(_top(sort), width)})")
        if isinstance(sort, IntSort) and sort.lo > 0:
            out.append(f"(bvuge {text} {bv(sort.lo, width)})")
        return out

    # ---- expressions -------------------------------------------------------------------------
    def expr(self, e: Expr, pre: StateNames = PRE, post: StateNames | None = None, action: str | None = None) -> str:
        """``e`` over the named pre-state (and post-state and action, if it reads them)."""
        return self._expr(e, _Context(pre, post, action, self.action_width))[0]

    def _expr(self, e: Expr, ctx: _Context) -> Term:
        hit = ctx.memo.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        r = self._build(e, ctx)
        ctx.memo[id(e)] = (e, r)
        return r

    def _build(self, e: Expr, ctx: _Context) -> Term:
        def ex(x: Expr) -> Term:
            return self._expr(x, ctx)

        match e:
            case lang.Var():
                return ctx.pre.of(e), _width(e.sort)
            case lang.Next():
                if ctx.post is None:
                    raise ModelError("Next(...) used where there is no post-state")
                return ctx.post.of(e.var), _width(e.var.sort)
            case lang.Fired():
                if ctx.action is None:
                    raise ModelError("fired(...) used where there is no action")
                return disj([f"(= {ctx.action} {bv(i, ctx.action_width)})" for i in sorted(e.instances)]), 0
            case lang.Const():
                if isinstance(e.sort, BoolSort):
                    return ("true" if e.code else "false"), 0
                return bv(e.code, e.sort.width), e.sort.width
            case lang.Cmp():
                x, y = ex(e.left), ex(e.right)
                a, b = (x[0], y[0]) if isinstance(e.left.sort, BoolSort) else _align(x, y)[:2]
                op = {"==": "=", "!=": "distinct", "<": "bvult", "<=": "bvule"}[e.op]
                return f"({op} {a} {b})", 0
            case lang.Arith():
                a, b, w = _align(ex(e.left), ex(e.right))
                op = "bvadd" if e.op == "+" else "bvsub"
                return f"({op} ((_ zero_extend 1) {a}) ((_ zero_extend 1) {b}))", w + 1
            case lang.And():
                return conj([ex(x)[0] for x in e.args]), 0
            case lang.Or():
                return disj([ex(x)[0] for x in e.args]), 0
            case lang.Not():
                return f"(not {ex(e.arg)[0]})", 0
            case lang.Ite():
                c, x, y = ex(e.cond)[0], ex(e.then), ex(e.other)
                if isinstance(e.then.sort, BoolSort):
                    return f"(ite {c} {x[0]} {y[0]})", 0
                a, b, w = _align(x, y)
                return f"(ite {c} {a} {b})", w
            case lang.Member():
                st, el, _ = _align(ex(e.set_expr), ex(e.element))
                return f"(= ((_ extract 0 0) (bvlshr {st} {el})) #b1)", 0
            case lang.SetUpdate():
                s0 = ex(e.set_expr)
                st, el, w = _align(s0, ex(e.element))
                bit = f"(bvshl {bv(1, w)} {el})"
                r = f"(bvor {st} {bit})" if e.add else f"(bvand {st} (bvnot {bit}))"
                return (f"((_ extract {s0[1] - 1} 0) {r})" if w > s0[1] else r), s0[1]
            case lang.Lookup():
                k, kw = ex(e.key)
                rw = _width(e.sort)
                result = _key(e.table[-1], rw)
                for code in range(len(e.table) - 2, -1, -1):
                    result = f"(ite (= {k} {_key(code, kw)}) {_key(e.table[code], rw)} {result})"
                return result, rw
            case lang.Select():
                idx, iw = ex(e.index)
                items = [ex(x) for x in e.items]
                w = max(t[1] for t in items)
                texts = [_extend(t, w) for t in items]
                result = texts[-1]
                for i in range(len(texts) - 2, -1, -1):
                    if iw and i >= (1 << iw):
                        continue
                    result = f"(ite (= {idx} {_key(i, iw)}) {texts[i]} {result})"
                return result, w
            case _:
                assert_never(e)

    # ---- transitions -------------------------------------------------------------------------
    def step(self, pre: StateNames = PRE, post: StateNames = POST, only: int | None = None,
             prefix: str = "") -> Step:
        """Trans(pre, action, post) as a ``Step``; with ``only`` the action is that instance (its
        conditions and values alone: the others' are void when the action is fixed). ``prefix``
        keeps the macros of several steps in one file apart."""
        model = self._model_step(pre, post, only, prefix)  # shared: copied, never changed
        monitors = self.monitor_step(pre, post, only)
        return Step(list(model.defs), [*model.enabled, *monitors.enabled],
                    [*model.next_values, *monitors.next_values])

    def monitor_step(self, pre: StateNames = PRE, post: StateNames = POST, only: int | None = None) -> Step:
        """The monitors' part of ``step``: each monitor's next value (a function of the pre-state
        and the action) and its domain check; no macros."""
        ctx = _Context(pre, post, bv(only, self.action_width) if only is not None else ACTION, self.action_width)
        enabled: list[str] = []
        next_values: list[tuple[Var, str]] = []
        for m in self.system.monitors:
            next_values.append((m.var, self._fit(m.var, self._expr(m.value, ctx), enabled, None)))
        return Step([], enabled, next_values)

    def model_step(self, pre: StateNames = PRE, post: StateNames = POST) -> Step:
        """The step of the model's own variables (``step`` without the monitors)."""
        return self._model_step(pre, post, None, "")

    def _model_step(self, pre: StateNames, post: StateNames, only: int | None, prefix: str) -> Step:
        """The step of the model's own variables (no monitors): printed once per model and names,
        since every property's obligations print it again with only their monitors added."""
        key = (id(self.system.instances), pre.suffix, post.suffix, only, prefix)
        own = tuple(v for v in self.system.variables if v.owner != "monitor")
        hit = _MODEL_STEPS.get(key)
        if hit is not None and hit[0] is self.system.instances and len(hit[1]) == len(own) and \
                all(a is b for a, b in zip(hit[1], own, strict=True)):
            return hit[2]
        step = self._print_model_step(pre, post, only, prefix)
        _MODEL_STEPS[key] = (self.system.instances, own, step)  # the references keep the ids unique
        while len(_MODEL_STEPS) > MODEL_STEPS_KEPT:
            del _MODEL_STEPS[next(iter(_MODEL_STEPS))]
        return step

    def _print_model_step(self, pre: StateNames, post: StateNames, only: int | None, prefix: str) -> Step:
        action = bv(only, self.action_width) if only is not None else ACTION
        ctx = _Context(pre, post, action, self.action_width)
        chosen = [i for i in self.system.instances if only is None or i.index == only]
        defs: list[str] = []
        guard: dict[int, str] = {}
        cond: dict[tuple[int, int], str] = {}
        for inst in chosen:
            defs.append(f"; instance {inst.index}: {inst.machine}.{inst.label}, role {inst.role}")
            guard[inst.index] = quote(f"{prefix}guard[{inst.index}]")
            defs.append(f"(define-fun {guard[inst.index]} () Bool {self._expr(inst.guard, ctx)[0]})")
            for k, b in enumerate(inst.branches):
                cond[inst.index, k] = quote(f"{prefix}cond[{inst.index}].{k}")
                defs.append(f"(define-fun {cond[inst.index, k]} () Bool {self._expr(b.cond, ctx)[0]})")
        n, width = len(self.system.instances), self.action_width
        if n == 0 or (only is not None and not 0 <= only < n):
            return Step(defs, ["false"], [])
        fires = {i.index: [] if only is not None else [f"(= {ACTION} {bv(i.index, width)})"] for i in chosen}
        enabled = [f"(bvult {ACTION} {bv(n, width)})"] if only is None and n < (1 << width) else []
        for inst in chosen:
            en = conj([guard[inst.index], disj([cond[inst.index, k] for k in range(len(inst.branches))])])
            enabled.append(f"(=> {fires[inst.index][0]} {en})" if fires[inst.index] else en)
        next_values: list[tuple[Var, str]] = []
        for v in self.system.variables:
            if v.owner == "monitor":
                continue
            new = pre.of(v)
            for i, branches in self._writers.get(v.index, []):
                if i not in fires:
                    continue
                val = self._branch_value(v, i, branches, cond, fires[i], ctx, enabled)
                new = f"(ite {fires[i][0]} {val} {new})" if fires[i] else val
            next_values.append((v, new))
        return Step(defs, enabled, next_values)

    def _branch_value(self, v: Var, inst: int, branches: list[tuple[Expr, Expr | None]],
                      cond: dict[tuple[int, int], str], fires: list[str], ctx: _Context, checks: list[str]) -> str:
        """The value instance ``inst`` gives ``v``: the first branch whose condition holds; a
        value's domain check binds only when its branch is the one taken."""
        vals: list[str] = []
        for k, (_, val) in enumerate(branches):
            if val is None:
                vals.append(ctx.pre.of(v))
                continue
            taken = conj([*fires, cond[inst, k], *[f"(not {cond[inst, j]})" for j in range(k)]])
            vals.append(self._fit(v, self._expr(val, ctx), checks, taken))
        result = vals[-1]
        for k in range(len(vals) - 2, -1, -1):
            result = f"(ite {cond[inst, k]} {vals[k]} {result})"
        return result

    def _fit(self, v: Var, term: Term, checks: list[str], when: str | None) -> str:
        """Narrow a value to ``v``'s width, requiring it to lie in ``v``'s domain."""
        text, tw = term
        if isinstance(v.sort, BoolSort):
            return text
        cs = self._in_domain(text, tw, v.sort)
        if cs:
            checks.append(conj(cs) if when is None else f"(=> {when} {conj(cs)})")
        w = v.sort.width
        if tw > w:
            return f"((_ extract {w - 1} 0) {text})"
        return _extend(term, w)


def _width(sort: Sort) -> int:
    return 0 if isinstance(sort, BoolSort) else sort.width


def _key(code: int, width: int) -> str:
    """The constant ``code`` as a term of this width (0: a Bool), as a key, index or table entry."""
    return ("true" if code else "false") if width == 0 else bv(code, width)


_LEXEME = re.compile(r"\|([^|]*)\||([()])|[^()\s|;\"]+|(\S)")  # quoted symbol, parenthesis, other token; odd


def term_symbols(text: str) -> tuple[frozenset[str], str]:
    """The symbols of SMT-LIB text, unquoted (which variables a certificate names), and why the
    text is not exactly one term ("" if it is), in one regular-expression scan (a row's base is
    0.35 MB of lemmas). A certificate's text is pasted into the obligation files, and a cached
    one comes from disk: a stray parenthesis, comment or string could close the definition it
    sits in and add commands of its own, e.g. ``(assert false)``."""
    found: set[str] = set()
    depth = terms = 0
    odd = ""
    for m in _LEXEME.finditer(text):
        quoted, parenthesis, other = m.groups()
        if other is not None:
            odd = odd or f"it holds {other!r} (a comment, a string or an unclosed quote) at character {m.start()}"
            continue
        if parenthesis == ")":
            depth -= 1
            if depth < 0:
                odd = odd or f"it closes a parenthesis it did not open at character {m.start()}"
            continue
        terms += depth == 0
        if parenthesis == "(":
            depth += 1
        else:
            found.add(quoted if quoted is not None else m.group(0))
    if not odd and depth > 0:
        odd = "it leaves a parenthesis open"
    if not odd and terms != 1:
        odd = f"it is {terms} terms, not one"
    return frozenset(found), odd


def parsed_step(enc: Encoder, s: list[z3.ExprRef], a: z3.BitVecRef, t: list[z3.ExprRef]) -> z3.BoolRef:
    """The model's step (no monitors) over ``s``, ``a`` and ``t`` as this printer writes it, parsed
    into the encoder's context (``Encoder(model_step=parsed_step)``): 0.03 s on the default model
    where the encoder's Python-built terms take 0.27 s. Only for engines whose every answer the
    explicit semantics replays (BMC and the tail engine find traces, never proofs), so that the
    obligation files' printer stays independent of the engines that prove."""
    printer = Printer(enc.system)
    step = printer.model_step()
    own = [v for v in enc.system.variables if v.owner != "monitor"]
    decls = {v.name + PRE.suffix: s[v.index].decl() for v in own}
    decls.update({v.name + POST.suffix: t[v.index].decl() for v in own})
    decls[ACTION] = a.decl()
    text = "\n".join(step.defs) + f"\n(assert {conj(step.relation(POST))})"
    parsed = z3.parse_smt2_string(text, decls=decls, ctx=enc.ctx)
    return z3.And(list(parsed), enc.ctx) if len(parsed) != 1 else parsed[0]


def parsed_conjunction(enc: Encoder, exprs: Sequence[Expr], state: list[z3.ExprRef]) -> z3.BoolRef:
    """The conjunction of one-state expressions over ``state``, printed and parsed into the
    encoder's context (as ``parsed_step``, for engines that only find traces)."""
    printer = Printer(enc.system)
    decls = {v.name + PRE.suffix: state[v.index].decl() for v in enc.system.variables}
    return z3.parse_smt2_string(f"(assert {conj([printer.expr(e) for e in exprs])})", decls=decls, ctx=enc.ctx)[0]
