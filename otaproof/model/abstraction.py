"""The representative-device abstraction: one device concrete, every other device's state havocked.

Given a grounded system and the variables that belong to the *other* devices (``others``), the
abstraction keeps every other variable (the representative's, and the shared state: the DSP's
registration and counters, the CPL, the hub's own variables) and drops the others' variables.
Each action instance becomes the same instance with

* its assignments to dropped variables removed, and
* every maximal sub-expression that reads only dropped variables (a "hole": ``CH->P2.len > 0``,
  ``DSP.SMI[P2].DeviceFirmwareVersionStatus == "update_in_progress"``) replaced by each value of
  its sort in turn: one abstract copy per combination, constant-folded, unsatisfiable guards
  dropped, identical copies merged.

So another device's step keeps its effect on the shared state (a supplier's SR 11.3 for another
HCALCS still advances the originator counter by one) but may happen in any state of that device,
within the declared domains of its variables. Soundness: for every concrete step, the copy whose
hole values are the values the holes have in the concrete pre-state takes the same branch and
writes the same kept variables, so every concrete run projects onto a run of the abstraction.

Which holes exist depends on the number of other devices when an instance reads several of them
(the hub's power loss reads every PPMID's transfer); ``uncovered`` compares two abstractions
(one and two other devices of each type) and names the abstract behaviours the larger one adds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from otaproof.model.lang import (
    And,
    Const,
    Expr,
    Fired,
    ModelError,
    Var,
    all_of,
    any_of,
    children,
    map_children,
    simplify,
)
from otaproof.model.slicing import reads
from otaproof.model.system import Assign, Branch, Instance, System

COPY_LIMIT = 4096  # abstract copies of one instance (hole value combinations) before giving up


@dataclass(frozen=True)
class Abstraction:
    """The abstract system and how it relates to the concrete one."""

    system: System
    others: frozenset[int]                  # the concrete variables dropped (other devices' state)
    kept_variables: dict[int, Var]          # concrete variable index -> abstract variable
    images: tuple[tuple[int, ...], ...]     # concrete instance index -> its abstract copies
    hole_values: tuple[dict[str, int], ...]  # abstract instance -> the hole values it was built for

    @property
    def havocked(self) -> frozenset[int]:
        """The abstract instances that stand for a step in some state of other devices."""
        return frozenset(n for n, values in enumerate(self.hole_values) if values)

    def project(self, e: Expr) -> Expr | None:
        """``e`` (a property expression over the concrete system) over the abstraction, or None
        if it reads a dropped variable. Variables are renumbered and each ``Fired`` names the
        abstract copies of its instances; "the step is instance i and <c>", with ``c`` reading
        i's holes (``took(...)``: i's guard and branch conditions), becomes "the step is a copy
        of i and <c> with that copy's hole values", which agrees with the concrete step."""
        try:
            return self._project(e)
        except _Unprojectable:
            return None

    def _project(self, e: Expr) -> Expr:
        match e:
            case Var(index=i):
                if i not in self.kept_variables:
                    raise _Unprojectable
                return self.kept_variables[i]
            case Fired(label, chosen):
                return Fired(label, frozenset(a for c in chosen for a in self.images[c]))
            case And(args) if (step := _one_step(args)) is not None and not reads(e) <= self.kept_variables.keys():
                fired, rest = step
                (concrete,) = fired.instances
                holes = _Holes(self.others)
                return any_of(Fired(fired.label, frozenset({c}))
                              & all_of(self._project(simplify(holes.fill(r, self.hole_values[c]))) for r in rest)
                              for c in self.images[concrete])
            case _:  # every other node: its children projected (``map_children`` knows every node)
                return map_children(e, self._project)


class _Unprojectable(Exception):
    """A property expression reads a variable the abstraction dropped."""


def _one_step(args: tuple[Expr, ...]) -> tuple[Fired, list[Expr]] | None:
    """A conjunction "the step is one instance, and ...": that ``Fired`` and the other conjuncts."""
    fired = [a for a in args if isinstance(a, Fired) and len(a.instances) == 1]
    if len(fired) != 1:
        return None
    return fired[0], [a for a in args if a is not fired[0]]


def abstract(system: System, others: frozenset[int], limit: int = COPY_LIMIT) -> Abstraction:
    """The representative-device abstraction of ``system`` when the variables ``others`` (indices)
    belong to the other devices; ModelError if an instance needs more than ``limit`` copies."""
    if system.monitors:
        raise ModelError("the representative-device abstraction is built before monitors are added")
    kept_vars: dict[int, Var] = {}
    for v in system.variables:
        if v.index not in others:
            kept_vars[v.index] = Var(v.name, v.sort, v.init, v.owner, v.ghost, len(kept_vars))
    instances: list[Instance] = []
    images: list[tuple[int, ...]] = []
    hole_values: list[dict[str, int]] = []
    for inst in system.instances:
        mine: list[int] = []
        for guard, branches, values in _copies(inst, others, kept_vars, limit):
            params = inst.params + ((("other devices", len(mine)),) if values else ())
            mine.append(len(instances))
            instances.append(Instance(len(instances), inst.machine, inst.action, params, inst.role, guard, branches))
            hole_values.append(values)
        images.append(tuple(mine))
    abstract_system = System(f"{system.name} (representative device)", tuple(kept_vars.values()), tuple(instances),
                             (), system.machines, system.parameters, system.threats, system.faults, system.actions)
    return Abstraction(abstract_system, others, kept_vars, tuple(images), tuple(hole_values))


def _copies(inst: Instance, others: frozenset[int], kept_vars: dict[int, Var], limit: int
            ) -> list[tuple[Expr, tuple[Branch, ...], dict[str, int]]]:
    """The abstract copies of one instance: (guard, branches, hole values), one per combination of
    hole values whose guard is not constantly false, identical copies merged."""
    holes = _Holes(others)
    kept = [(b, [a for a in b.assigns if a.var.index not in others]) for b in inst.branches]
    for e in [inst.guard, *(b.cond for b, _ in kept), *(a.value for _, assigns in kept for a in assigns)]:
        holes.collect(e)
    out: list[tuple[Expr, tuple[Branch, ...], dict[str, int]]] = []
    seen: set[str] = set()
    for values in holes.combinations(limit, inst.label):
        def fill(e: Expr, values: dict[str, int] = values) -> Expr:
            return _renumber(simplify(holes.fill(e, values)), kept_vars)
        guard = fill(inst.guard)
        if isinstance(guard, Const) and guard.code == 0:
            continue
        branches = tuple(Branch(b.name, fill(b.cond), tuple(Assign(kept_vars[a.var.index], fill(a.value))
                                                              for a in assigns))
                         for b, assigns in kept)
        key = repr((guard, branches))
        if key not in seen:
            seen.add(key)
            out.append((guard, branches, values))
    return out


class _Holes:
    """The maximal sub-expressions of an instance that read only dropped variables, by structure."""

    def __init__(self, others: frozenset[int]) -> None:
        self.others = others
        self.keys: dict[str, Expr] = {}

    def kind(self, e: Expr) -> str:
        """``keep`` (reads no dropped variable), ``hole`` (reads only dropped ones) or ``mixed``."""
        vs = reads(e)
        if not vs & self.others:
            return "keep"
        return "hole" if vs <= self.others else "mixed"

    def collect(self, e: Expr) -> None:
        """Record the holes of ``e``."""
        match self.kind(e):
            case "keep":
                return
            case "hole":
                self.keys.setdefault(repr(e), e)
            case _:
                for c in children(e):
                    self.collect(c)

    def combinations(self, limit: int, label: str) -> list[dict[str, int]]:
        """Every assignment of a value of its sort to each hole."""
        domains = [[c for c in range(e.sort.size) if e.sort.contains_code(c)] for e in self.keys.values()]
        count = 1
        for d in domains:
            count *= len(d)
        if count > limit:
            raise ModelError(f"instance {label} reads {len(domains)} expressions of other devices' state "
                             f"({count} value combinations, more than {limit})")
        return [dict(zip(self.keys, combo, strict=True)) for combo in itertools.product(*domains)]

    def fill(self, e: Expr, values: dict[str, int]) -> Expr:
        """``e`` with each hole replaced by its value in ``values``; a sub-expression of other devices'
        state that is not a hole itself (``~c`` where ``c`` is one) is filled inside, and a
        variable with no value raises ``_Unprojectable``."""
        match self.kind(e):
            case "keep":
                return e
            case "hole" if repr(e) in values:
                return Const(e.sort, values[repr(e)])
            case "hole" if isinstance(e, Var):
                raise _Unprojectable
            case _:
                return map_children(e, lambda c: self.fill(c, values))


def _renumber(e: Expr, kept: dict[int, Var]) -> Expr:
    match e:
        case Var(index=i):
            return kept[i]
        case _:  # every other node: its children renumbered (``map_children`` knows every node)
            return map_children(e, lambda x: _renumber(x, kept))


def behaviour(inst: Instance) -> str:
    """An abstract instance's behaviour by structure (role, guard, branches over variable names),
    whatever its label: what ``uncovered`` compares."""
    return repr((inst.role, inst.guard, inst.branches))


def uncovered(small: Abstraction, large: Abstraction) -> list[str]:
    """The labels of the instances of ``large`` (built with more other devices) whose behaviour no
    instance of ``small`` has: empty when another device adds nothing to the abstraction."""
    known = {behaviour(i) for i in small.system.instances}
    return [i.label for i in large.system.instances if behaviour(i) not in known]
