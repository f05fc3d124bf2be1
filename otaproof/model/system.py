"""Systems: machines with variables and actions, bounded FIFO channels, monitors; validation.

Semantics (the one place it is written down). A state assigns a value to every variable. A step
fires exactly one enabled *action instance* (an action with all its parameters fixed): it is
enabled when its guard and at least one of its branch conditions hold in the pre-state; the first
such branch's assignments happen simultaneously, every expression reading the pre-state; all
other variables keep their values (interleaving semantics). There is no idle step: a state with
no enabled instance is a deadlock. Monitor variables (added for properties) are then updated from
(pre-state, action instance, post-state) on every step. Initial state: every variable's ``init``.

Channels are bounded FIFO queues encoded as a length variable plus ``capacity`` slots of message
fields. A send is enabled only while the channel has room (a full channel blocks the sender).
Network faults are actions of the ``Network`` machine, present only when the fault model turns
them on; delay needs no action of its own in an interleaving semantics beyond ``delay`` (move the
head message behind the others), since any message may already wait arbitrarily long.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, assert_never

from otaproof.model.config import FAULTS, THREATS
from otaproof.model.lang import (
    BOOL,
    TRUE,
    BoolSort,
    Const,
    Expr,
    ExprLike,
    Fired,
    IntSort,
    ModelError,
    Next,
    Not,
    Sort,
    Var,
    all_of,
    any_of,
    ite,
    lift,
    map_children,
    readers,
)

ROLES = ("system", "environment", "attacker", "fault")
NETWORK = "Network"


@dataclass(frozen=True)
class Assign:
    var: Var
    value: Expr


@dataclass(frozen=True)
class Branch:
    """One outcome of an action: a condition (over the pre-state) and its assignments."""

    name: str
    cond: Expr
    assigns: tuple[Assign, ...]


@dataclass(frozen=True)
class Case:
    """What an action does for one choice of parameters: a guard and ordered branches."""

    guard: Expr
    branches: tuple[Branch, ...]


def outcome(name: str, cond: ExprLike, *effects: Iterable[Assign] | Assign) -> Branch:
    """A branch named ``name`` taken when ``cond`` holds, with the given assignments."""
    return Branch(name, _condition(cond, f"condition of branch {name!r}"), tuple(_flatten(effects)))


def otherwise(name: str, *effects: Iterable[Assign] | Assign) -> Branch:
    return Branch(name, TRUE, tuple(_flatten(effects)))


def case(guard: ExprLike, *branches: Branch | Iterable[Assign] | Assign) -> Case:
    """A guard with branches; plain assignments mean a single branch named ``ok``."""
    named = [b for b in branches if isinstance(b, Branch)]
    if named and len(named) == len(branches):
        return Case(_condition(guard, "guard"), tuple(named))
    if named:
        raise ModelError("case() takes either branches or assignments, not both")
    return Case(_condition(guard, "guard"), (Branch("ok", TRUE, tuple(_flatten(branches))),))


def _condition(value: ExprLike, what: str) -> Expr:
    """A guard or branch condition, checked to be boolean where it is written (so an error names
    that line of the model or variant file, not the grounding that finds it later)."""
    e = lift(value, BOOL)
    if not isinstance(e.sort, BoolSort):
        raise ModelError(f"the {what} is {e.sort}, not bool")
    return e


T = TypeVar("T")


def branch_selected(conditions: Sequence[T], k: int, negate: Callable[[T], T]) -> list[T]:
    """Branch ``k`` of an enabled instance is the one taken: its condition holds and no earlier
    branch's does. The one definition of branch selection, as conjuncts over model expressions
    and Z3 terms alike; the explicit semantics evaluates it as "the first branch whose condition
    holds" (``explicit.Interpreter``)."""
    return [conditions[k], *(negate(c) for c in conditions[:k])]


def _flatten(items: Iterable[object]) -> Iterable[Assign]:
    for it in items:
        if isinstance(it, Assign):
            yield it
        elif isinstance(it, (list, tuple)):
            yield from _flatten(it)
        else:
            raise ModelError(f"expected an assignment, got {it!r}")


@dataclass
class ActionDef:
    """An action as written: parameter domains and a function from parameter values to a Case."""

    machine: str
    name: str
    params: dict[str, tuple[object, ...]]
    body: Callable[..., Case | None]
    role: str
    threat: str | None = None
    fault: str | None = None
    doc: str = ""
    joint: tuple[str, ...] = ()  # other machines taking part (a synchronous request/response)
    category: str | None = None  # what properties select the action by (e.g. "local_update")
    # ``file:line`` of the code that declared the action, then of each replace_action and
    # strengthen_guard that changed it: a grounding error names them (``GroundingError``)
    sites: tuple[str, ...] = ()


class GroundingError(ModelError):
    """A mistake found while grounding an action (its body failed, or what it returned is not a
    valid step), with ``sites``: where the action was declared and changed, latest last."""

    def __init__(self, error: ModelError, sites: tuple[str, ...]) -> None:
        super().__init__(str(error))
        self.where, self.sites = error.where, sites


def _site() -> str:
    """``file:line`` of the code calling the builder method that calls this (a model module or a
    variant file declaring or changing an action)."""
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


@dataclass(frozen=True)
class Instance:
    """A grounded action: one concrete parameter choice, ready for both semantics."""

    index: int
    machine: str
    action: str
    params: tuple[tuple[str, object], ...]
    role: str
    guard: Expr
    branches: tuple[Branch, ...]

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.action}({args})"

    def takes(self, k: int) -> list[Expr]:
        """The conjuncts under which a step of this instance takes its branch ``k``: the guard
        holds and ``k`` is the branch selected (``branch_selected``)."""
        return [self.guard, *branch_selected([b.cond for b in self.branches], k, Not)]


Writers = dict[int, list[tuple[int, list[tuple[Expr, Expr | None]]]]]


def writers(instances: Sequence[Instance]) -> Writers:
    """Variable index -> [(instance index, [(branch condition, the value it assigns, None if it
    keeps the variable) for every branch])]: the next-value chains both encodings print."""
    out: Writers = {}
    for inst in instances:
        values: list[dict[int, Expr]] = []
        for b in inst.branches:
            assigned: dict[int, Expr] = {}
            for asg in b.assigns:
                assigned.setdefault(asg.var.index, asg.value)
            values.append(assigned)
        for vidx in dict.fromkeys(vidx for assigned in values for vidx in assigned):
            out.setdefault(vidx, []).append(
                (inst.index, [(b.cond, assigned.get(vidx)) for b, assigned in zip(inst.branches, values, strict=True)]))
    return out


@dataclass(frozen=True)
class MonitorUpdate:
    var: Var
    value: Expr  # may read pre-state, Next(...) of system variables and Fired(...)


class Channel:
    """A bounded FIFO channel of records; builds the assignments that send, receive and fault."""

    def __init__(self, builder: SystemBuilder, name: str, src: str, dst: str,
                 fields: Mapping[str, Sort], capacity: int, extra_writers: Sequence[str]) -> None:
        if capacity < 1:
            raise ModelError(f"channel {name}: capacity must be >= 1, got {capacity}")
        self.name, self.src, self.dst, self.capacity = name, src, dst, capacity
        self.fields = dict(fields)
        owner = f"channel:{name}"
        self.length = builder._new_var(f"{name}.len", IntSort(0, capacity), 0, owner, False)
        self.slots: list[dict[str, Var]] = []
        for i in range(capacity):
            slot = {}
            for fname, sort in self.fields.items():
                # fields named g_* are ghost data (provenance for properties), never read by the system
                slot[fname] = builder._new_var(f"{name}[{i}].{fname}", sort, 0, owner, fname.startswith("g_"))
            self.slots.append(slot)
        builder._channel_writers[owner] = {src, dst, NETWORK, *extra_writers}

    def head(self, fname: str) -> Var:
        """The field of the oldest message (meaningful when the channel is not empty)."""
        self._check_fields({fname: None})
        return self.slots[0][fname]

    def nonempty(self) -> Expr:
        return self.length > 0

    def has_room(self) -> Expr:
        return self.length < self.capacity

    def send(self, **values: ExprLike) -> list[Assign]:
        """Append a message; the caller's guard must include ``has_room()``."""
        self._check_fields(values)
        out = [Assign(self.length, self.length + 1)]
        for i, slot in enumerate(self.slots):
            for fname, var in slot.items():
                out.append(Assign(var, ite(self.length == i, _field_value(values, fname, var), var)))
        return out

    def receive(self) -> list[Assign]:
        """Remove the head message; the caller's guard must include ``nonempty()``."""
        return [Assign(self.length, self.length - 1)] + self._shift_from(0)

    def receive_and_send(self, **values: ExprLike) -> list[Assign]:
        """Remove the head and append a message in one step (same channel, e.g. a relay loop)."""
        self._check_fields(values)
        out: list[Assign] = []
        for i, slot in enumerate(self.slots):
            for fname, var in slot.items():
                val = _field_value(values, fname, var)
                out.append(Assign(var, ite(self.length == i + 1, val, self._next_slot(i, fname))))
        return out

    def replace_head(self, **values: ExprLike) -> list[Assign]:
        """Overwrite fields of the head message (a man-in-the-middle modification)."""
        self._check_fields(values)
        return [Assign(self.slots[0][f], lift(v, self.slots[0][f].sort)) for f, v in values.items()]

    def _shift_from(self, start: int) -> list[Assign]:
        out = []
        for i in range(start, self.capacity):
            for fname, var in self.slots[i].items():
                out.append(Assign(var, self._next_slot(i, fname)))
        return out

    def _next_slot(self, i: int, fname: str) -> Expr:
        """Field ``fname`` of slot i+1, or the empty value past the end: slots beyond the length
        always hold their initial values, so an emptied channel has one state, not many."""
        if i + 1 < self.capacity:
            return self.slots[i + 1][fname]
        var = self.slots[i][fname]
        return Const(var.sort, var.init)

    def _check_fields(self, values: Mapping[str, object]) -> None:
        for f, value in values.items():
            if f not in self.fields:
                raise ModelError(f"channel {self.name} has no field {f!r}; fields: {sorted(self.fields)}")
            if isinstance(value, Expr) and not _same_kind(self.fields[f], value.sort):
                raise ModelError(f"channel {self.name}: field {f} is {self.fields[f]} but is given a {value.sort}")

    # ---- network faults (actions of the Network machine) ---------------------------------
    def lose(self) -> Case:
        return case(self.nonempty(), self.receive())

    def duplicate(self) -> Case:
        return case(self.nonempty() & self.has_room(), self.send(**{f: self.head(f) for f in self.fields}))

    def reorder(self) -> Case:
        """Swap the two oldest messages."""
        if self.capacity < 2:
            return case(False, [])
        swaps = []
        for fname in self.fields:
            a, b = self.slots[0][fname], self.slots[1][fname]
            swaps += [Assign(a, b), Assign(b, a)]
        return case(self.length >= 2, swaps)

    def delay(self) -> Case:
        """Move the oldest message behind the others (it arrives later)."""
        if self.capacity < 2:
            return case(False, [])
        out = []
        for i in range(self.capacity):
            for fname, var in self.slots[i].items():
                out.append(Assign(var, ite(self.length == i + 1, self.slots[0][fname], self._next_slot(i, fname))))
        return case(self.length >= 2, out)


def _field_value(values: Mapping[str, ExprLike], fname: str, var: Var) -> Expr:
    """The value sent for a message field; unset fields are the sort's first value (code 0)."""
    if fname in values:
        return lift(values[fname], var.sort)
    return Const(var.sort, var.sort.encode(var.sort.decode(0)) if var.sort.contains_code(0) else 0)


def assign(var: Var, value: ExprLike) -> Assign:
    """``var := value`` (value read in the pre-state)."""
    return Assign(var, lift(value, var.sort))


class Machine:
    """A builder handle for one machine: declares its variables and actions."""

    def __init__(self, builder: SystemBuilder, name: str) -> None:
        self.builder, self.name = builder, name

    def var(self, name: str, sort: Sort, init: object, ghost: bool = False) -> Var:
        full = f"{self.name}.{name}"
        return self.builder._new_var(full, sort, sort.encode(init, full), self.name, ghost)

    def action(self, name: str, body: Callable[..., Case | None], role: str = "system",
               params: Mapping[str, Sequence[object]] | None = None, threat: str | None = None,
               fault: str | None = None, doc: str = "", joint: Sequence[str] = (), category: str | None = None) -> None:
        """Declare an action; ``body(**params)`` returns its Case (or None: no such instance).

        ``joint`` names other machines that take part synchronously (e.g. a DUIS Service Request
        and the DSP's synchronous validation); the action may write their variables too.
        """
        self.builder.add_action(ActionDef(self.name, name, {k: tuple(v) for k, v in (params or {}).items()},
                                          body, role, threat, fault, doc, tuple(joint), category, (_site(),)))


@dataclass
class System:
    """A validated, grounded system under one threat and fault model."""

    name: str
    variables: tuple[Var, ...]
    instances: tuple[Instance, ...]
    monitors: tuple[MonitorUpdate, ...]
    machines: tuple[str, ...]
    parameters: dict[str, object]
    threats: frozenset[str]
    faults: frozenset[str]
    actions: dict[str, ActionDef] = field(default_factory=dict)

    def var(self, name: str) -> Var:
        for v in self.variables:
            if v.name == name:
                return v
        raise ModelError(f"unknown variable {name!r}")

    def fired(self, action: str, **params: object) -> Fired:
        """An event: the step fired ``action`` with the given parameter values."""
        if action not in self.actions:
            raise ModelError(f"unknown action {action!r}; known: {sorted(self.actions)}")
        chosen = frozenset(i.index for i in self.instances if i.action == action
                           and all(dict(i.params).get(k) == v for k, v in params.items()))
        args = ", ".join(f"{k}={v}" for k, v in params.items())
        return Fired(f"{action}({args})", chosen)

    def took(self, action: str, branches: Iterable[str], **params: object) -> Expr:
        """An event: the step fired ``action`` (with these parameters) and took one of ``branches``.

        Expressed over the pre-state and the action, so both semantics agree on it.
        """
        wanted = set(branches)
        terms: list[Expr] = []
        for inst in self.instances:
            if inst.action != action or any(dict(inst.params).get(k) != v for k, v in params.items()):
                continue
            names = [b.name for b in inst.branches]
            unknown = wanted - set(names)
            if unknown:
                raise ModelError(f"action {action} has no branch {sorted(unknown)}; branches: {names}")
            terms += [all_of([Fired(inst.label, frozenset({inst.index})), *inst.takes(k)])
                      for k, b in enumerate(inst.branches) if b.name in wanted]
        if action not in self.actions:
            raise ModelError(f"unknown action {action!r}; known: {sorted(self.actions)}")
        return any_of(terms)

    def instances_of(self, action: str) -> list[Instance]:
        return [i for i in self.instances if i.action == action]

    def with_monitor(self, updates: Sequence[MonitorUpdate]) -> System:
        """A copy with extra monitor variables appended (they must not be system variables)."""
        base = len(self.variables)
        renumbered: dict[int, Var] = {}
        new_vars = list(self.variables)
        for k, upd in enumerate(updates):
            v = upd.var
            nv = Var(v.name, v.sort, v.init, "monitor", True, base + k)
            renumbered[id(v)] = nv
            new_vars.append(nv)
        mons = tuple(MonitorUpdate(renumbered[id(u.var)], _rebind(u.value, renumbered)) for u in updates)
        return System(self.name, tuple(new_vars), self.instances, self.monitors + mons, self.machines,
                      self.parameters, self.threats, self.faults, self.actions)


def _rebind(e: Expr, mapping: dict[int, Var]) -> Expr:
    """Replace monitor variables declared before numbering by their numbered copies."""
    match e:
        case Var():
            return mapping.get(id(e), e)
        case _:  # every other node: its children rebound (``map_children`` knows every node)
            return map_children(e, lambda x: _rebind(x, mapping))


def monitor_var(name: str, sort: Sort, init: object) -> Var:
    """A fresh monitor variable (history for a property), numbered by ``System.with_monitor``."""
    return Var(name, sort, sort.encode(init, name), "monitor", True)


class SystemBuilder:
    """Collects machines, channels and actions; ``build`` validates and grounds them."""

    def __init__(self, name: str, parameters: Mapping[str, object] | None = None) -> None:
        self.name = name
        self.parameters = dict(parameters or {})
        self._vars: list[Var] = []
        self._names: set[str] = set()
        self._machines: dict[str, Machine] = {}
        self._actions: dict[str, ActionDef] = {}
        self._channel_writers: dict[str, set[str]] = {}
        self.channels: dict[str, Channel] = {}

    def machine(self, name: str) -> Machine:
        if name not in self._machines:
            self._machines[name] = Machine(self, name)
        return self._machines[name]

    def channel(self, name: str, src: str, dst: str, fields: Mapping[str, Sort], capacity: int,
                extra_writers: Sequence[str] = ()) -> Channel:
        if name in self.channels:
            raise ModelError(f"duplicate channel {name!r}")
        ch = Channel(self, name, src, dst, fields, capacity, extra_writers)
        self.channels[name] = ch
        return ch

    def _new_var(self, name: str, sort: Sort, init: int, owner: str, ghost: bool) -> Var:
        if name in self._names:
            raise ModelError(f"duplicate variable {name!r}", owner)
        self._names.add(name)
        v = Var(name, sort, init, owner, ghost, len(self._vars))
        self._vars.append(v)
        return v

    def add_action(self, a: ActionDef) -> None:
        where = f"{a.machine}.{a.name}"
        if a.name in self._actions:
            raise ModelError(f"duplicate action {a.name!r} (already declared on machine "
                             f"{self._actions[a.name].machine})", where)
        if a.role not in ROLES:
            raise ModelError(f"role {a.role!r} is not one of {ROLES}", where)
        if a.threat is not None and a.threat not in THREATS:
            raise ModelError(f"unknown threat {a.threat!r}; known: {', '.join(THREATS)}", where)
        if a.fault is not None and a.fault not in FAULTS:
            raise ModelError(f"unknown fault {a.fault!r}; known: {', '.join(FAULTS)}", where)
        if a.role == "attacker" and a.threat is None:
            raise ModelError("an attacker action needs the threat model that enables it (threat=...)", where)
        if a.role == "fault" and a.fault is None:
            raise ModelError("a fault action needs the fault model that enables it (fault=...)", where)
        try:
            inspect.signature(a.body).bind(**{k: None for k in a.params})
        except TypeError as e:
            raise ModelError(f"the action body cannot take its parameters {sorted(a.params)}: {e}", where) from None
        except ValueError:  # no signature (a builtin): checked when grounding
            pass
        self._actions[a.name] = a

    # ---- variant operations ---------------------------------------------------------------
    def action_def(self, name: str) -> ActionDef:
        if name not in self._actions:
            raise ModelError(f"unknown action {name!r}; known: {sorted(self._actions)}")
        return self._actions[name]

    def action_names(self) -> tuple[str, ...]:
        return tuple(self._actions)

    def remove_action(self, name: str) -> None:
        self.action_def(name)
        del self._actions[name]

    def replace_action(self, name: str, body: Callable[..., Case | None]) -> None:
        """Give a declared action a new body (same name, machine, parameters and tags)."""
        a = self.action_def(name)
        a.body, a.sites = body, (*a.sites, _site())

    def strengthen_guard(self, name: str, extra: Callable[..., ExprLike]) -> None:
        """Conjoin ``extra(**params)`` to an action's guard."""
        a = self.action_def(name)
        old = a.body

        def body(**p: object) -> Case | None:
            c = old(**p)
            return None if c is None else Case(c.guard & _condition(extra(**p), "guard added by strengthen_guard"),
                                               c.branches)

        a.body, a.sites = body, (*a.sites, _site())

    # ---- grounding and validation -----------------------------------------------------------
    def build(self, threats: Iterable[str] = (), faults: Iterable[str] = ()) -> System:
        threats, faults = frozenset(threats), frozenset(faults)
        for ch in self.channels.values():
            for who in sorted(self._channel_writers[f"channel:{ch.name}"] - {NETWORK}):
                if who not in self._machines:
                    raise ModelError(f"channel {ch.name} names {who!r}, which is not a machine; "
                                     f"machines: {', '.join(self._machines)}")
        known = {id(v) for v in self._vars}
        instances: list[Instance] = []
        for a in self._actions.values():
            if (a.threat and a.threat not in threats) or (a.fault and a.fault not in faults):
                continue
            for combo in _product(a.params):
                where = f"{a.machine}.{a.name}({', '.join(f'{k}={v}' for k, v in combo)})"
                try:
                    c = a.body(**dict(combo))
                except ModelError as e:
                    raise GroundingError(ModelError(str(e), where), a.sites) from None
                if c is None:
                    continue
                try:
                    if not isinstance(c, Case):
                        raise ModelError(f"action body returned {type(c).__name__}, expected case(...)", where)
                    self._validate_case(a, c, known, where)
                except ModelError as e:
                    raise GroundingError(e, a.sites) from None
                instances.append(Instance(len(instances), a.machine, a.name, combo, a.role, c.guard, c.branches))
        return System(self.name, tuple(self._vars), tuple(instances), (), tuple(self._machines),
                      dict(self.parameters), threats, faults, dict(self._actions))

    def _validate_case(self, a: ActionDef, c: Case, known: set[int], where: str) -> None:
        names = [b.name for b in c.branches]
        if len(set(names)) != len(names):
            raise ModelError(f"duplicate branch names {names}", where)
        for what, e in [("guard", c.guard)] + [(f"condition of branch {b.name!r}", b.cond) for b in c.branches]:
            if not isinstance(e.sort, BoolSort):
                raise ModelError(f"the {what} is {e.sort}, not bool", where)
            self._validate_expr(e, known, where, ghost_ok=False)
        for b in c.branches:
            seen: set[int] = set()
            for asg in b.assigns:
                v = asg.var
                if id(v) not in known:
                    raise ModelError(f"assignment to unknown variable {v.name!r}", where)
                if v.index in seen:
                    raise ModelError(f"branch {b.name!r} assigns {v.name} twice", where)
                seen.add(v.index)
                self._check_writer(a, v, where)
                self._validate_expr(asg.value, known, where, ghost_ok=v.ghost)
                _check_assignable(v, asg.value, where)

    def _check_writer(self, a: ActionDef, v: Var, where: str) -> None:
        if v.ghost:
            return
        machines = {a.machine, *a.joint}
        if v.owner.startswith("channel:"):
            if not machines & self._channel_writers[v.owner]:
                raise ModelError(f"machine {a.machine} writes {v.name} but is not an endpoint of "
                                 f"{v.owner[8:]}", where)
        elif v.owner not in machines:
            raise ModelError(f"effect writes {v.name}, a variable of machine {v.owner}", where)

    def _validate_expr(self, e: Expr, known: set[int], where: str, ghost_ok: bool) -> None:
        for n in readers(e):
            match n:
                case Var():
                    if id(n) not in known:
                        raise ModelError(f"unknown variable {n.name!r} (declared in another system?)", where)
                    if n.ghost and not ghost_ok:
                        raise ModelError(f"ghost variable {n.name} may only be read by ghost assignments", where)
                case Next() | Fired():
                    raise ModelError("Next(...) and fired(...) are only allowed in monitors and properties", where)
                case _:
                    assert_never(n)


def _check_assignable(v: Var, value: Expr, where: str) -> None:
    s, t = v.sort, value.sort
    if not _same_kind(s, t):
        raise ModelError(f"{v.name} is {s} but is assigned a {t}", where)
    if isinstance(value, Const) and not s.contains_code(value.code):
        raise ModelError(f"{v.name} is {s} but is assigned {t.decode(value.code)!r}, outside its domain", where)


def _same_kind(s: Sort, t: Sort) -> bool:
    """Values of sort ``t`` may be stored in a place of sort ``s`` (ints of any range: checked
    against the range when a value is assigned)."""
    return isinstance(t, IntSort) if isinstance(s, IntSort) else s == t


def _product(params: Mapping[str, tuple[object, ...]]) -> list[tuple[tuple[str, object], ...]]:
    """Every parameter choice; an empty domain (e.g. zero devices of a type) gives no instance."""
    combos: list[tuple[tuple[str, object], ...]] = [()]
    for k, dom in params.items():
        combos = [c + ((k, v),) for c in combos for v in dom]
    return combos


__all__ = [
    "NETWORK",
    "ROLES",
    "Assign",
    "Branch",
    "Case",
    "Channel",
    "GroundingError",
    "Instance",
    "Machine",
    "MonitorUpdate",
    "System",
    "SystemBuilder",
    "assign",
    "branch_selected",
    "case",
    "monitor_var",
    "otherwise",
    "outcome",
]
