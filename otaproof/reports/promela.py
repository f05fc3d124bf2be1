"""Promela export: a grounded design (threats and faults included) and its safety properties for SPIN.

The export keeps otaproof's semantics: one process picks one enabled action instance per step
(interleaving); the instance's first branch whose condition holds assigns every variable
simultaneously from the pre-state, then the properties' monitors update from the pre-state, the
post-state and the instance fired. Every reachable state is checked against each property's bad
states (``assert``), and every assignment against its variable's domain (an ``assert`` that names
it: a modelling slip, as ``ModelError`` in the explicit semantics). A state with no enabled
instance is a valid end state (``end:``), as in otaproof: run ``pan`` without ``-E`` safely.

Variables are named ``v<index>`` (monitors ``m<property>_<k>``); a comment gives each one's model
name and domain. INV, HIST and BR properties reduce to safety (monitors) exactly as for the other
engines; REACH properties are not exported (Promela's never claims cannot state AG EF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from otaproof.model import lang
from otaproof.model.lang import BoolSort, Expr, IntSort, ModelError, Sort, Var
from otaproof.model.system import Assign, Instance, System
from otaproof.properties.formulas import SafetyTask


@dataclass(frozen=True)
class Exported:
    """One property of the export: its ID and the safety task (monitored system, bad states)."""

    property_id: str
    task: SafetyTask


def _domain(sort: Sort) -> tuple[int, int]:
    if isinstance(sort, IntSort):
        return sort.lo, sort.hi
    return 0, sort.size - 1


def _ctype(sort: Sort) -> str:
    hi = _domain(sort)[1]
    if isinstance(sort, BoolSort):
        return "bit"
    return "byte" if hi <= 255 else "short" if hi <= 32767 else "int"


class _Printer:
    """Promela text for expressions of one property's monitored system (base variables shared)."""

    def __init__(self, base: int, prop: int) -> None:
        self.base, self.prop = base, prop

    def name(self, v: Var) -> str:
        return f"v{v.index}" if v.index < self.base else f"m{self.prop}_{v.index - self.base}"

    def expr(self, e: Expr, post: dict[int, str] | None = None, fired: int | None = None) -> str:
        """``e`` over the current (pre-)state; ``post`` names the post-state value of assigned
        variables (monitors), ``fired`` the instance of the step being taken."""
        def ex(x: Expr) -> str:
            return self.expr(x, post, fired)

        match e:
            case lang.Var():
                return self.name(e)
            case lang.Next():
                if post is None:
                    raise ModelError("Next(...) outside a monitor update cannot be exported")
                return post.get(e.var.index, self.name(e.var))
            case lang.Fired():
                if fired is None:
                    raise ModelError("fired(...) outside a monitor update cannot be exported")
                return "1" if fired in e.instances else "0"
            case lang.Const():
                return str(e.code)
            case lang.Cmp():
                return f"({ex(e.left)} {e.op} {ex(e.right)})"
            case lang.Arith():
                return f"({ex(e.left)} {e.op} {ex(e.right)})"
            case lang.And():
                return "(" + " && ".join(ex(a) for a in e.args) + ")" if e.args else "1"
            case lang.Or():
                return "(" + " || ".join(ex(a) for a in e.args) + ")" if e.args else "0"
            case lang.Not():
                return f"(!{ex(e.arg)})"
            case lang.Ite():
                return f"({ex(e.cond)} -> {ex(e.then)} : {ex(e.other)})"
            case lang.Member():
                return f"((({ex(e.set_expr)}) >> ({ex(e.element)})) & 1)"
            case lang.SetUpdate():
                bit = f"(1 << ({ex(e.element)}))"
                return f"({ex(e.set_expr)} | {bit})" if e.add else f"({ex(e.set_expr)} & (~{bit}))"
            case lang.Lookup():
                return _choice(ex(e.key), [str(c) for c in e.table])
            case lang.Select():
                return _choice(ex(e.index), [ex(item) for item in e.items])
            case _:
                assert_never(e)


def _choice(key: str, options: list[str]) -> str:
    """``options[key]``, the last option for any larger key (the clamped index of both semantics)."""
    out = options[-1]
    for code in range(len(options) - 2, -1, -1):
        out = f"(({key}) == {code} -> {options[code]} : {out})"
    return out


def _branch(inst: Instance, assigns: tuple[Assign, ...], props: list[tuple[_Printer, SafetyTask]],
            base: _Printer, indent: str) -> list[str]:
    """The statements of one branch: new values, then every property's monitors, then commit."""
    writes = [(base.name(a.var), base.expr(a.value), a.var) for a in assigns]
    post = {a.var.index: f"t{k}" for k, a in enumerate(assigns)}
    lines: list[str] = []
    for k, (_, value, var) in enumerate(writes):
        lo, hi = _domain(var.sort)
        lines.append(f"{indent}t{k} = {value};")
        lines.append(f"{indent}assert({lo} <= t{k} && t{k} <= {hi}); /* domain of {var.name} */")
    monitors = []
    for printer, task in props:
        for m in task.system.monitors:
            monitors.append((printer.name(m.var), printer.expr(m.value, post, inst.index), m.var))
    offset = len(writes)
    for j, (_, value, var) in enumerate(monitors):
        lo, hi = _domain(var.sort)
        lines.append(f"{indent}t{offset + j} = {value};")
        lines.append(f"{indent}assert({lo} <= t{offset + j} && t{offset + j} <= {hi}); /* domain of {var.name} */")
    lines += [f"{indent}{target} = t{k};" for k, (target, _, _) in enumerate(writes + monitors)]
    return lines or [f"{indent}skip;"]


def export(system: System, properties: list[Exported], header: str) -> str:
    """The Promela model of ``system`` with every property's monitors and assertions."""
    base = _Printer(len(system.variables), -1)
    props = [(_Printer(len(system.variables), n), p.task) for n, p in enumerate(properties)]
    for p in properties:
        if p.task.system.instances is not system.instances and len(p.task.system.instances) != len(system.instances):
            raise ModelError(f"{p.property_id}: its task is not over the exported system")
    out = [f"/* {line} */" if line else "" for line in header.splitlines()] + [""]
    out.append("/* state: one global per model variable (codes: bool 0/1, enum index, int value, set bitmask) */")
    for v in system.variables:
        out.append(f"{_ctype(v.sort)} v{v.index} = {v.init}; /* {v.name}: {v.sort} */")
    for (printer, task), p in zip(props, properties, strict=True):
        for v in task.system.variables[len(system.variables):]:
            out.append(f"{_ctype(v.sort)} {printer.name(v)} = {v.init}; /* {p.property_id} {v.name}: {v.sort} */")
    scratch = max([len(b.assigns) for i in system.instances for b in i.branches] or [0]) + \
        sum(len(t.system.monitors) for _, t in props)
    if scratch:  # hidden: scratch values are not part of the state vector
        out.append("hidden int " + ", ".join(f"t{k}" for k in range(scratch)) + ";")
    out += ["", "active proctype otaproof()", "{", "end:"]
    for (printer, task), p in zip(props, properties, strict=True):
        out.append(f"    assert(!{printer.expr(task.bad)}); /* {p.property_id} */")
    out.append("    if")
    for inst in system.instances:
        enabled = f"({base.expr(inst.guard)} && ({' || '.join(base.expr(b.cond) for b in inst.branches)}))"
        out.append(f"    :: d_step {{ {enabled} -> /* {inst.index}: {inst.machine}: {inst.label} */")
        depth = 0
        for k, b in enumerate(inst.branches):
            last = k == len(inst.branches) - 1
            pad = "            " + "    " * depth
            if last:
                out.append(f"{pad}/* {b.name} */")
                out += _branch(inst, b.assigns, props, base, pad)
            else:
                out.append(f"{pad}if")
                out.append(f"{pad}:: {base.expr(b.cond)} -> /* {b.name} */")
                out += _branch(inst, b.assigns, props, base, pad + "    ")
                out.append(f"{pad}:: else ->")
                depth += 1
        for k in range(depth - 1, -1, -1):
            out.append("            " + "    " * k + "fi")
        out.append("    }")
    out += ["    fi;", "    goto end", "}", ""]
    return "\n".join(out)
