"""Cone-of-influence slicing: keep only the variables and actions a predicate can depend on.

Sound for safety: a dropped variable is never read by a kept guard, condition, assignment,
monitor or the predicate; a dropped action instance writes no kept variable and is not named by
any ``Fired``, so it only stutters on the kept state. Counterexamples of the slice are sequences
of original instances and are replayed on the full system before they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from otaproof.model.lang import Expr, Fired, Next, Var, map_children, readers, simplify
from otaproof.model.system import Assign, Branch, Instance, MonitorUpdate, System


@dataclass(frozen=True)
class Slice:
    system: System
    predicate: Expr
    original_instance: tuple[int, ...]  # sliced instance index -> original index
    kept_variables: dict[int, Var]      # original variable index -> variable of the slice

    def project(self, e: Expr) -> Expr | None:
        """A one-state expression of the original system over the slice, or None if it reads a
        dropped variable or names an action."""
        vs, fs = _reads(e)
        if fs or not vs <= self.kept_variables.keys():
            return None
        return _renumber(e, self.kept_variables, {})


def _reads(e: Expr) -> tuple[set[int], set[int]]:
    """Variable indices and fired instance indices an expression reads."""
    vs: set[int] = set()
    fs: set[int] = set()
    for n in readers(e):
        match n:
            case Var(index=i) | Next(Var(index=i)):
                vs.add(i)
            case Fired(instances=chosen):
                fs |= chosen
            case _:
                assert_never(n)
    return vs, fs


def reads(e: Expr) -> set[int]:
    """Indices of the variables an expression reads (now or next)."""
    return _reads(e)[0]


def cone_of_influence(system: System, predicate: Expr) -> Slice:
    """The smallest subsystem that decides ``predicate`` (a one-state bad predicate)."""
    rel, fired = _reads(predicate)
    for m in system.monitors:
        rel.add(m.var.index)
    changed = True
    while changed:
        changed = False
        for m in system.monitors:
            if m.var.index in rel:
                vs, fs = _reads(m.value)
                if not vs <= rel or not fs <= fired:
                    rel |= vs
                    fired |= fs
                    changed = True
        for inst in system.instances:
            writes = {a.var.index for b in inst.branches for a in b.assigns}
            if not (writes & rel) and inst.index not in fired:
                continue
            exprs = [inst.guard] + [b.cond for b in inst.branches] + \
                    [a.value for b in inst.branches for a in b.assigns if a.var.index in rel]
            for e in exprs:
                vs, fs = _reads(e)
                if not vs <= rel or not fs <= fired:
                    rel |= vs
                    fired |= fs
                    changed = True
    keep = sorted(rel)
    new_vars = {}
    for new_index, old in enumerate(keep):
        v = system.variables[old]
        new_vars[old] = Var(v.name, v.sort, v.init, v.owner, v.ghost, new_index)
    kept_instances = [i for i in system.instances
                      if i.index in fired or any(a.var.index in rel for b in i.branches for a in b.assigns)]
    inst_map = {inst.index: n for n, inst in enumerate(kept_instances)}

    def re(e: Expr) -> Expr:
        return _renumber(e, new_vars, inst_map)

    instances = tuple(
        Instance(n, i.machine, i.action, i.params, i.role, re(i.guard),
                 tuple(Branch(b.name, re(b.cond), tuple(Assign(new_vars[a.var.index], re(a.value))
                                                         for a in b.assigns if a.var.index in rel))
                       for b in i.branches))
        for n, i in enumerate(kept_instances))
    monitors = tuple(MonitorUpdate(new_vars[m.var.index], re(m.value)) for m in system.monitors)
    sliced = System(system.name, tuple(new_vars[o] for o in keep), instances, monitors, system.machines,
                    system.parameters, system.threats, system.faults, system.actions)
    return Slice(sliced, re(predicate), tuple(i.index for i in kept_instances), new_vars)


def constant_folded(system: System) -> System:
    """The same system with every guard, condition, assignment and monitor constant-folded
    (instance indices unchanged), so that slicing sees only what an expression really reads."""
    instances = tuple(
        Instance(i.index, i.machine, i.action, i.params, i.role, simplify(i.guard),
                 tuple(Branch(b.name, simplify(b.cond), tuple(Assign(a.var, simplify(a.value)) for a in b.assigns))
                       for b in i.branches))
        for i in system.instances)
    monitors = tuple(MonitorUpdate(m.var, simplify(m.value)) for m in system.monitors)
    return System(system.name, system.variables, instances, monitors, system.machines,
                  system.parameters, system.threats, system.faults, system.actions)


def _renumber(e: Expr, vars_: dict[int, Var], insts: dict[int, int]) -> Expr:
    """``e`` over the slice: its variables and fired instances renumbered to the slice's."""
    match e:
        case Var(index=i):
            return vars_[i]
        case Fired(label, instances):
            return Fired(label, frozenset(insts[i] for i in instances if i in insts))
        case _:  # every other node: its children renumbered (``map_children`` knows every node)
            return map_children(e, lambda x: _renumber(x, vars_, insts))
