"""Cone-of-influence slicing: keep only the variables and actions a predicate can depend on.

Sound for safety: a dropped variable is never read by a kept guard, condition, assignment,
monitor or the predicate; a dropped action instance writes no kept variable and is not named by
any ``Fired``, so it only stutters on the kept state. A monitor (history for a property or a
coverage goal) is kept only if the predicate reads it, directly or through a kept monitor: no
guard or assignment reads a monitor (they are appended to a built system), so one nobody reads
cannot change what the slice decides, and leaving it out keeps, e.g., one coverage goal's
search from enumerating every other goal's flags. A stutter still moves a monitor that is
updated on every step (a step property "every step toggles x", a response's step count), so
when instances are dropped and some monitor may move without a step of its own, the slice has
one more instance, ``STUTTER``: always enabled, writing nothing, standing for a step of any
dropped instance (an over-approximation, so proofs stay sound). Counterexamples of the slice are
sequences of original instances (``STUTTER`` as -1, resolved to an enabled dropped instance by
``lift``) and are replayed on the full system before they are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import BOOL, Const, Expr, Fired, ModelError, Next, Var, map_children, readers, simplify
from otaproof.model.system import Assign, Branch, Instance, MonitorUpdate, System

STUTTER = -1  # a slice's stand-in for a step of some dropped instance (its original index)


@dataclass(frozen=True)
class Slice:
    system: System
    predicate: Expr
    original_instance: tuple[int, ...]  # sliced instance index -> original index (``STUTTER``: a dropped one)
    kept_variables: dict[int, Var]      # original variable index -> variable of the slice

    @property
    def signature(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The original variables and instances the slice keeps: two predicates whose slices have
        one signature have the same slice (up to the predicate)."""
        return tuple(sorted(self.kept_variables)), self.original_instance

    def lift(self, system: System, choices: Sequence[int]) -> list[int] | None:
        """The original instances of a run of the slice, a run of ``system`` (the system sliced):
        each ``STUTTER`` becomes the first dropped instance enabled there (it changes nothing
        the slice reads). None if no dropped instance is enabled at a stutter, or a step fails."""
        run = [self.original_instance[c] for c in choices]
        if STUTTER not in run:
            return run
        kept = set(self.original_instance)
        interp = Interpreter(system)
        state: State = interp.initial_state()
        try:
            for n, c in enumerate(run):
                if c == STUTTER:
                    run[n] = c = next((i for i in interp.enabled(state) if i not in kept), STUTTER)
                    if c == STUTTER:
                        return None
                state = interp.step(state, c)
        except ModelError:
            return None
        return run

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


@dataclass(frozen=True)
class _InstanceReads:
    """What one action instance writes, and what it reads to fire (guard and branch conditions)
    and to compute each variable it writes: ``(variables, fired instances)`` per variable."""

    writes: frozenset[int]
    fires: tuple[frozenset[int], frozenset[int]]
    values: dict[int, tuple[frozenset[int], frozenset[int]]]


_READS_KEPT = 4  # instance tuples whose reads are kept per process (the rows' models, one after another)
_INSTANCE_READS: dict[int, tuple[tuple[Instance, ...], tuple[_InstanceReads, ...]]] = {}


def _instance_reads(instances: tuple[Instance, ...]) -> tuple[_InstanceReads, ...]:
    """Each instance's reads, computed once per instance tuple (every property part of a row,
    with its own monitors, shares the model's instances)."""
    hit = _INSTANCE_READS.get(id(instances))
    if hit is not None and hit[0] is instances:
        return hit[1]
    out = []
    for inst in instances:
        vs, fs = set(), set()
        for e in [inst.guard, *(b.cond for b in inst.branches)]:
            v, f = _reads(e)
            vs |= v
            fs |= f
        values: dict[int, tuple[set[int], set[int]]] = {}
        for b in inst.branches:
            for a in b.assigns:
                v, f = _reads(a.value)
                old = values.setdefault(a.var.index, (set(), set()))
                old[0].update(v)
                old[1].update(f)
        out.append(_InstanceReads(frozenset(values), (frozenset(vs), frozenset(fs)),
                                  {i: (frozenset(v), frozenset(f)) for i, (v, f) in values.items()}))
    _INSTANCE_READS[id(instances)] = (instances, tuple(out))  # the reference keeps the id unique
    while len(_INSTANCE_READS) > _READS_KEPT:
        del _INSTANCE_READS[next(iter(_INSTANCE_READS))]
    return tuple(out)


def _closure(system: System, predicate: Expr) -> tuple[set[int], set[int]]:
    """The variables and the ``Fired`` instances the predicate depends on, through monitors,
    guards, branch conditions and the values of written variables (a least fixpoint)."""
    rel, fired = _reads(predicate)
    infos = _instance_reads(system.instances)
    monitors = [(m.var.index, _reads(m.value)) for m in system.monitors]
    changed = True
    while changed:
        changed = False
        for index, (vs, fs) in monitors:
            if index in rel and (not vs <= rel or not fs <= fired):
                rel |= vs
                fired |= fs
                changed = True
        for inst, info in zip(system.instances, infos, strict=True):
            written = info.writes & rel
            if not written and inst.index not in fired:
                continue
            for reads_v, reads_f in [info.fires, *(info.values[i] for i in written)]:
                if not reads_v <= rel or not reads_f <= fired:
                    rel |= reads_v
                    fired |= reads_f
                    changed = True
    return rel, fired


def cone_instances(system: System, predicate: Expr) -> frozenset[int]:
    """The instances ``cone_of_influence`` keeps (their original indices), without building the
    slice: what a property's monitor needs to know of the cone."""
    rel, fired = _closure(system, predicate)
    return frozenset(i.index for i, info in zip(system.instances, _instance_reads(system.instances), strict=True)
                     if i.index in fired or info.writes & rel)


def cone_of_influence(system: System, predicate: Expr) -> Slice:
    """The smallest subsystem that decides ``predicate`` (a one-state bad predicate)."""
    rel, fired = _closure(system, predicate)
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
    original = tuple(i.index for i in kept_instances)
    kept_monitors = [m for m in system.monitors if m.var.index in rel]
    if len(kept_instances) < len(system.instances) and not all(_still(m) for m in kept_monitors):
        true = Const(BOOL, 1)
        instances += (Instance(len(instances), "(outside the cone)", "stutter", (), "environment", true,
                               (Branch("stutter", true, ()),)),)
        original += (STUTTER,)
    monitors = tuple(MonitorUpdate(new_vars[m.var.index], re(m.value)) for m in kept_monitors)
    sliced = System(system.name, tuple(new_vars[o] for o in keep), instances, monitors, system.machines,
                    system.parameters, system.threats, system.faults, system.actions)
    return Slice(sliced, re(predicate), original, new_vars)


def _still(m: MonitorUpdate) -> bool:
    """The monitor keeps its value on a step that changes nothing it reads and that no ``Fired``
    names (a dropped instance's step), as far as constant folding shows."""
    def stutter(e: Expr) -> Expr:
        match e:
            case Next(var):
                return var
            case Fired():
                return Const(BOOL, 0)
            case _:
                return map_children(e, stutter)
    return simplify(stutter(m.value)) is m.var


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
