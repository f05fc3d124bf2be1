"""Conformance-coverage goals of a model, each a step event, derived from the built model (never
listed by hand). Kinds, in the order reports list them:

* ``action:<A>``: action ``A`` fires (every action with a grounded instance, any role);
* ``branch:<A>/<b>``: ``A`` takes its branch ``b`` (actions with two or more branches);
* ``outcome:<K>/<o>``: the DSP receives a message of kind ``K`` with outcome code ``o``
  (``generators.outcomes``);
* ``boundary:<P>/<name>``: property ``P``'s edge case (``properties.boundaries``);
* ``frame:<A>/<b>/<v>``: ``A`` takes ``b`` while state ``v`` that ``b`` must leave alone (another
  branch of ``A`` writes it, ``b`` does not) is not initial: a device running or holding an image,
  a counter above zero, an SMI status other than "current", a message in flight. The replay
  compares the observed state after the step, so a branch that clobbers ``v`` is seen;
* ``sequence:<A>/<r>><A'>/<a>``: a refusal ``r`` of ``A`` (a branch that writes strictly less than
  another branch of ``A``) and, later, an accepting branch ``a`` of ``A`` (recovery: a retry after a
  refusal); ``sequence:<A>><A'>/<v>``: ``A`` writes party state ``v``, later ``A'`` writes the same
  variable (``v`` names the family, e.g. ``DSP.SMI[d].DeviceFirmwareVersion``; the goal needs one
  device's record written twice; each pair of writers of one variable, both orders);
* ``input:<A>/<b>-alone``: ``A`` takes refusal ``b`` while its input passes every later refusal's
  check (refused for that reason alone: a rogue image of the right model, hardware and version);
* ``input:<A>/<field>=<value>``: ``A`` consumes a message whose ``field`` has this value (every value
  of every enumerated field, e.g. an image of the other device model or hardware revision, the
  oldest and newest versions) or whose integer field sits at an edge (its bounds; below, equal to
  and above what ``A``'s conditions compare it with: a counter equal to the last accepted, a
  version equal to the running one); ``input:<A>/<p>=<value>``: a parameter of ``A`` at each value.

Sequence goals read monitor flags ("this step happened before"): ``GoalSet.monitors`` are added to
the system the coverage search and its proofs run on (``System.with_monitor``).

A design change is covered by the goals of what it changes (:func:`design_change`): the action,
branch, outcome and input goals of every party action the change adds or defines otherwise than
the approved design, so that a suite exercises each proposal's own behaviour, not only the
approved design's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from otaproof.generators.outcomes import message_pairs, outcome_channels, receivers
from otaproof.model.invariants import Lemma
from otaproof.model.lang import (
    BOOL,
    TRUE,
    And,
    Cmp,
    Const,
    EnumSort,
    Expr,
    Fired,
    IntSort,
    Lookup,
    Or,
    Var,
    all_of,
    any_of,
    const,
    implies,
    map_children,
)
from otaproof.model.system import Channel, Instance, MonitorUpdate, System, monitor_var
from otaproof.model.variants import BuiltModel
from otaproof.properties.boundaries import boundaries

KINDS = ("action", "branch", "outcome", "boundary", "frame", "sequence", "input")
DESIGN_CHANGE_KINDS = ("action", "branch", "outcome", "input")  # the goals a design change's actions get
_ENUM_LIMIT = 12  # enumerated fields with more values are not enumerated value by value


@dataclass(frozen=True)
class Goal:
    """A test goal: something a conformance test suite should exercise at least once."""

    id: str             # stable and readable: action:A, branch:A/b, frame:A/b/v, ...
    kind: str           # one of KINDS
    action: str         # the action that covers it (outcome goals: the DSP receive action(s), |-joined)
    branch: str | None  # the branch of ``action`` the goal's step takes, if one
    text: str           # one sentence for a report


@dataclass(frozen=True)
class GoalSet:
    """The goals with their step events, and the monitors the sequence goals' events read."""

    goals: tuple[tuple[Goal, Expr], ...]
    system: System  # the model's system with ``monitors`` appended (the same system if none)
    monitors: tuple[MonitorUpdate, ...]


def changed_actions(bm: BuiltModel, base: BuiltModel) -> frozenset[str]:
    """The actions of ``bm`` (attackers' and faults' aside) that ``base`` lacks or defines otherwise:
    another guard or other branches for some grounded instance."""
    def definition(system: System, name: str) -> list[str]:
        return [repr((i.params, i.guard, i.branches)) for i in system.instances_of(name)]
    return frozenset(name for name in bm.system.actions
                     if any(i.role not in ("attacker", "fault") for i in bm.system.instances_of(name))
                     and (name not in base.system.actions
                          or definition(bm.system, name) != definition(base.system, name)))


def design_change(bm: BuiltModel, base: BuiltModel) -> Callable[[Goal], bool]:
    """Selects the goals that cover what ``bm`` changes in ``base`` (:data:`DESIGN_CHANGE_KINDS` of
    :func:`changed_actions`; an outcome goal names its receive actions ``|``-joined)."""
    changed = changed_actions(bm, base)
    return lambda g: g.kind in DESIGN_CHANGE_KINDS and any(a in changed for a in g.action.split("|"))


def coverage_goals(bm: BuiltModel) -> list[Goal]:
    """Every goal of the model (see the module docstring), in a fixed order."""
    return [g for g, _ in goal_set(bm).goals]


def goal_set(bm: BuiltModel) -> GoalSet:
    """The goals with their events over ``GoalSet.system``, sorted by kind then id."""
    s = bm.system
    sequences, updates = _sequence_goals(s)
    system = s.with_monitor(updates) if updates else s
    flags = {u.var.name: system.variables[len(s.variables) + k] for k, u in enumerate(updates)}
    out: list[tuple[Goal, Expr]] = []
    for name in s.actions:
        insts = s.instances_of(name)
        if not insts:
            continue
        out.append((Goal(f"action:{name}", "action", name, None, f"{name} fires"), s.fired(name)))
        names = _branch_names(insts)
        if len(names) < 2:
            continue
        for br in names:
            having = [i for i in insts if any(b.name == br for b in i.branches)]
            event = s.took(name, [br]) if len(having) == len(insts) else \
                any_of(s.took(name, [br], **dict(i.params)) for i in having)
            out.append((Goal(f"branch:{name}/{br}", "branch", name, br, f"{name} takes its branch {br}"), event))
    out += _outcome_goals(bm)
    out += [(Goal(f"boundary:{b.property}/{b.name}", "boundary", "|".join(b.actions), None,
                  f"{b.property} boundary: {b.text}"), b.event) for b in boundaries(bm)]
    out += _frame_goals(s)
    out += [(g, _one_of([event & flags[flag] for event, flag in steps])) for g, steps in sequences]
    out += _input_goals(s)
    out += _alone_goals(s)
    rank = {k: n for n, k in enumerate(KINDS)}
    out.sort(key=lambda ge: (rank[ge[0].kind], ge[0].id))
    return GoalSet(tuple(out), system, tuple(system.monitors[len(s.monitors):]))


def _branch_names(insts: list[Instance]) -> list[str]:
    names: list[str] = []
    for inst in insts:
        names += [b.name for b in inst.branches if b.name not in names]
    return names


def _outcome_goals(bm: BuiltModel) -> list[tuple[Goal, Expr]]:
    """One goal per (kind, outcome) pair a send can put on a hub-to-DSP queue: the DSP receives it."""
    pairs = message_pairs(bm.system, outcome_channels(bm))
    per_pair: dict[tuple[str, str], list[tuple[Channel, list[Instance]]]] = {}
    for ch in bm.model.wan_up.values():
        ksort, osort = ch.fields["kind"], ch.fields["outcome"]
        for k, o in sorted(pairs[ch.name]):
            if o == ch.slots[0]["outcome"].init:
                continue  # the outcome field was left unset: this kind carries no outcome code
            found = receivers(bm.system, ch, k, o)
            if found:
                per_pair.setdefault((str(ksort.decode(k)), str(osort.decode(o))), []).append((ch, found))
    out = []
    for (kind, code), where in sorted(per_pair.items()):
        actions = "|".join(sorted({i.action for _, insts in where for i in insts}))
        event = any_of(Fired(f"{actions} of {ch.name}", frozenset(i.index for i in insts))
                       & (ch.head("kind") == kind) & (ch.head("outcome") == code) for ch, insts in where)
        text = f"the DSP receives {kind} with outcome {code} ({actions})"
        out.append((Goal(f"outcome:{kind}/{code}", "outcome", actions, None, text), event))
    return out


# ---- what a branch writes ---------------------------------------------------------------------


def _channel_of(system: System, v: Var) -> Var | None:
    """The length variable of the channel ``v`` belongs to (None: not a channel variable)."""
    if not v.owner.startswith("channel:"):
        return None
    return _lengths(system)[v.owner]


_LENGTHS: dict[int, dict[str, Var]] = {}


def _lengths(system: System) -> dict[str, Var]:
    """Each channel's length variable, by its owner name ``channel:<name>`` (cached per system)."""
    if id(system) not in _LENGTHS:
        _LENGTHS.clear()
        _LENGTHS[id(system)] = {x.owner: x for x in system.variables
                                if x.owner.startswith("channel:") and x.name.endswith(".len")}
    return _LENGTHS[id(system)]


def _label(name: str, inst: Instance) -> str:
    """A variable's name with the instance's parameter values replaced by the parameter names
    (``DSP.SMI[P1].DeviceFirmwareVersionStatus`` for ``d=P1`` -> ``DSP.SMI[d]...``)."""
    for k, value in inst.params:
        name = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(str(value))}(?![A-Za-z0-9_])", k, name)
    return name


def _written(system: System, inst: Instance, k: int) -> dict[str, Var]:
    """What branch ``k`` of ``inst`` writes, by label: each non-ghost variable, a channel as its
    length variable (a message sent or taken)."""
    out: dict[str, Var] = {}
    for a in inst.branches[k].assigns:
        if a.var.ghost:
            continue
        ch = _channel_of(system, a.var)
        v = a.var if ch is None else ch
        out[_label(v.name.removesuffix(".len"), inst)] = v
    return out


def _nontrivial(v: Var) -> Expr:
    """``v`` is not in its initial state (a channel: something is in flight)."""
    return v != const(v.sort, v.sort.decode(v.init))


def _frame_goals(s: System) -> list[tuple[Goal, Expr]]:
    """For each branch, each variable another branch of the action writes and it does not, while
    that variable is not initial (merged over the action's instances)."""
    events: dict[tuple[str, str, str], list[Expr]] = {}
    for inst in s.instances:
        if len(_branch_names(s.instances_of(inst.action))) < 2:
            continue
        writes = [_written(s, inst, k) for k in range(len(inst.branches))]
        for k, b in enumerate(inst.branches):
            others = {lab: v for j, w in enumerate(writes) if j != k for lab, v in w.items()}
            for lab, v in sorted(others.items()):
                if lab not in writes[k]:
                    step = s.took(inst.action, [b.name], **dict(inst.params))
                    events.setdefault((inst.action, b.name, lab), []).append(step & _nontrivial(v))
    return [(Goal(f"frame:{a}/{b}/{lab}", "frame", a, b,
                  f"{a} takes {b} while {lab} (which {b} must leave as it is) is not initial"), any_of(terms))
            for (a, b, lab), terms in sorted(events.items())]


# ---- sequences ---------------------------------------------------------------------------------


def _action_writes(s: System, action: str) -> dict[str, set[str]]:
    """Per branch name of ``action``: the labels of what it writes (over every instance)."""
    out: dict[str, set[str]] = {}
    for inst in s.instances_of(action):
        for k, b in enumerate(inst.branches):
            out.setdefault(b.name, set()).update(_written(s, inst, k))
    return out


def refusals(s: System, action: str) -> tuple[list[str], list[str]]:
    """The refusal and the accepting branches of ``action``: a refusal writes strictly less than
    some other branch (it does a subset of what that branch does: nothing, or only an answer)."""
    writes = _action_writes(s, action)
    refused = [b for b, w in writes.items() if any(w < other for other in writes.values())]
    return refused, [b for b in writes if b not in refused]


def _sequence_goals(s: System) -> tuple[list[tuple[Goal, list[tuple[Expr, str]]]], list[MonitorUpdate]]:
    """Recovery goals (a refusal, later an accepting branch of the same action) and write-order
    goals (two actions writing the same party variable, in both orders), each as the steps that
    reach it with the monitor flag each step needs (the goal: one of them, its flag set); and
    those monitors."""
    goals: list[tuple[Goal, list[tuple[Expr, str]]]] = []
    updates: dict[str, MonitorUpdate] = {}

    def flag(name: str, event: Expr) -> str:
        if name not in updates:
            v = monitor_var(f"monitor.seen[{name}]", BOOL, False)
            updates[name] = MonitorUpdate(v, v | event)
        return updates[name].var.name

    for action in s.actions:
        insts = s.instances_of(action)
        if not insts or len(_branch_names(insts)) < 2:
            continue
        refused, accepting = refusals(s, action)
        for r in refused:
            seen = flag(f"{action}/{r}", s.took(action, [r]) if _all_have(insts, r) else
                        any_of(s.took(action, [r], **dict(i.params)) for i in insts if _has(i, r)))
            for a in accepting:
                event = s.took(action, [a]) if _all_have(insts, a) else \
                    any_of(s.took(action, [a], **dict(i.params)) for i in insts if _has(i, a))
                goals.append((Goal(f"sequence:{action}/{r}>{action}/{a}", "sequence", action, a,
                                   f"{action} takes {a} after it took {r} (recovery after a refusal)"),
                              [(event, seen)]))
    # label -> action -> the variable of that label it writes -> the steps writing it
    writers: dict[str, dict[str, dict[str, list[Expr]]]] = {}
    for inst in s.instances:
        for k, b in enumerate(inst.branches):
            for lab, v in _written(s, inst, k).items():
                if v.owner.startswith("channel:") or v.owner == "monitor":
                    continue
                writers.setdefault(lab, {}).setdefault(inst.action, {}).setdefault(v.name, []).append(
                    s.took(inst.action, [b.name], **dict(inst.params)))
    for lab, by_action in sorted(writers.items()):
        for first in sorted(by_action):
            for then in sorted(by_action):
                shared = sorted(set(by_action[first]) & set(by_action[then]))
                if first == then or not shared:  # two actions that never write one variable: no order
                    continue
                steps = [(any_of(by_action[then][v]), flag(f"{first} wrote {v}", any_of(by_action[first][v])))
                         for v in shared]
                goals.append((Goal(f"sequence:{first}>{then}/{lab}", "sequence", then, None,
                                   f"{then} writes {lab} after {first} wrote the same variable"), steps))
    return goals, list(updates.values())


def _one_of(events: list[Expr]) -> Expr:
    return events[0] if len(events) == 1 else any_of(events)


def _has(inst: Instance, branch: str) -> bool:
    return any(b.name == branch for b in inst.branches)


def _all_have(insts: list[Instance], branch: str) -> bool:
    return all(_has(i, branch) for i in insts)


# ---- inputs at the edges of their types ---------------------------------------------------------


def _head_fields(s: System, e: Expr) -> list[Var]:
    """The non-ghost head-message fields (slot 0 of a channel, not its kind) ``e`` reads."""
    found: dict[int, Var] = {}

    def walk(x: Expr) -> Expr:
        if isinstance(x, Var):
            if x.owner.startswith("channel:") and not x.ghost and "[0]." in x.name \
                    and not x.name.endswith((".kind", ".outcome")):
                found[x.index] = x
            return x
        return map_children(x, walk)
    walk(e)
    return [found[i] for i in sorted(found)]


def _comparisons(e: Expr) -> list[Cmp]:
    """The ordering comparisons in ``e`` (between integers: counters, versions)."""
    out: list[Cmp] = []

    def walk(x: Expr) -> Expr:
        if isinstance(x, Cmp) and x.op in ("<", "<="):
            out.append(x)
        return map_children(x, walk)
    walk(e)
    return out


def _show(e: Expr, inst: Instance) -> str:
    """A short readable name of an integer operand: a field or variable name, version(img)."""
    match e:
        case Var(name=name):
            return _label(name.split("].")[-1] if "[0]." in name else name, inst)
        case Lookup(key=key):
            return f"value({_show(key, inst)})"
        case _:
            return repr(e)


def _input_goals(s: System) -> list[tuple[Goal, Expr]]:
    """Every enumerated head field at each value, integer head fields at their bounds, each ordering
    comparison of a message field below, at and above its other side, each parameter value."""
    events: dict[tuple[str, str], tuple[str, list[Expr]]] = {}

    def add(action: str, what: str, text: str, event: Expr) -> None:
        events.setdefault((action, what), (text, []))[1].append(event)

    for inst in s.instances:
        fired = Fired(inst.label, frozenset({inst.index}))
        conds = all_of([inst.guard, *(b.cond for b in inst.branches)])
        reads_fields = {v.index for v in _head_fields(s, conds)}
        for v in _head_fields(s, conds):
            field = v.name.split("[0].")[-1]
            if isinstance(v.sort, EnumSort) and len(v.sort.values) <= _ENUM_LIMIT:
                for value in v.sort.values:
                    add(inst.action, f"{field}={value}", f"{inst.action} consumes a message whose {field} is {value}",
                        fired & (v == value))
            elif isinstance(v.sort, IntSort):
                for bound, edge in ((v.sort.lo, "lowest"), (v.sort.hi, "highest")):
                    add(inst.action, f"{field}={bound}", f"{inst.action} consumes a message whose {field} is "
                        f"{bound}, its {edge} value", fired & (v == bound))
        for c in _comparisons(conds):
            if not (_reads_any(c.left, reads_fields) or _reads_any(c.right, reads_fields)):
                continue
            left, right = _show(c.left, inst), _show(c.right, inst)
            for rel, event in (("<", Cmp("<", c.left, c.right)), ("=", Cmp("==", c.left, c.right)),
                               (">", Cmp("<", c.right, c.left))):
                add(inst.action, f"{left}{rel}{right}", f"{inst.action} consumes a message with "
                    f"{left} {rel} {right}", fired & event)
        for k, param in inst.params:
            if len({dict(i.params).get(k) for i in s.instances_of(inst.action)}) > 1:
                add(inst.action, f"{k}={param}", f"{inst.action} fires with {k}={param}", fired)
    return [(Goal(f"input:{a}/{what}", "input", a, None, text), any_of(terms))
            for (a, what), (text, terms) in sorted(events.items())]


def _alone_goals(s: System) -> list[tuple[Goal, Expr]]:
    """For each refusal branch of an action followed by other refusals, the step that takes it
    while the input passes every later refusal's check: refused for this one reason alone (a
    rogue image of the right model, hardware and version), so a test sees a check left out even
    when a later check would refuse the same input."""
    events: dict[tuple[str, str], list[Expr]] = {}
    for action in s.actions:
        insts = s.instances_of(action)
        if not insts or len(_branch_names(insts)) < 2:
            continue
        refused = set(refusals(s, action)[0])
        for inst in insts:
            names = [b.name for b in inst.branches]
            for k, b in enumerate(inst.branches):
                later = [x.cond for x in inst.branches[k + 1:] if x.name in refused]
                if b.name not in refused or not later:
                    continue
                event = Fired(inst.label, frozenset({inst.index})) & all_of(
                    [*inst.takes(k), *(~c for c in later)])
                events.setdefault((action, names[k]), []).append(event)
    return [(Goal(f"input:{a}/{b}-alone", "input", a, b, f"{a} takes {b} for that reason alone (the input passes "
                  "every later check)"), any_of(terms)) for (a, b), terms in sorted(events.items())]


def _reads_any(e: Expr, indices: set[int]) -> bool:
    hit = False

    def walk(x: Expr) -> Expr:
        nonlocal hit
        if isinstance(x, Var) and x.index in indices:
            hit = True
        return map_children(x, walk)
    walk(e)
    return hit


# ---- candidate lemmas from the goals ------------------------------------------------------------


def goal_lemmas(bm: BuiltModel, goals: GoalSet) -> tuple[Lemma, ...]:
    """Candidate invariants that would make dead goals cheap to prove: each goal's step never
    enabled, its outcome never in flight, each sequence goal's monitor never moved, and every
    queue holding only (kind, outcome) pairs a send can produce. Candidates, never assumptions:
    Houdini keeps the inductive ones (together with the model's lemmas), and every certificate
    that uses them is re-checked."""
    s, out = goals.system, []
    channels = outcome_channels(bm)
    for g, event in goals.goals:
        if g.kind == "outcome":
            kind, code = g.id.split(":", 1)[1].split("/")
            held = [(ch.length > i) & (slot["kind"] == kind) & (slot["outcome"] == code) for ch in channels
                    if kind in getattr(ch.fields["kind"], "values", ())
                    and code in getattr(ch.fields["outcome"], "values", ())
                    for i, slot in enumerate(ch.slots)]
            out.append(Lemma(f"never[{g.id}]", f"no {kind} with outcome {code} is ever in flight", ~any_of(held)))
            continue
        if g.kind in ("action", "branch"):
            terms = [all_of(inst.takes(k)) for inst in s.instances_of(g.action)
                     for k, b in enumerate(inst.branches) if g.branch is None or b.name == g.branch]
            out.append(Lemma(f"never[{g.id}]", f"the step of goal {g.id} is never enabled", ~any_of(terms)))
            continue
        out.append(Lemma(f"never[{g.id}]", f"the step of goal {g.id} is never enabled", ~_enabled(event)))
    # a sequence goal whose first step is dead is dead too: its monitor never moves
    out += [Lemma(f"unseen[{m.var.name}]", f"{m.var.name} keeps its initial value",
                  m.var == Const(m.var.sort, m.var.init))
            for m in goals.monitors]
    pairs = message_pairs(bm.system, channels)
    for ch in channels:
        ks, os_ = ch.fields["kind"], ch.fields["outcome"]
        allowed = sorted(pairs[ch.name])
        for i, slot in enumerate(ch.slots):
            sendable = any_of((slot["kind"] == ks.decode(k)) & (slot["outcome"] == os_.decode(o)) for k, o in allowed)
            out.append(Lemma(f"only-sendable-pairs[{ch.name}][{i}]", "a queue holds only messages some send produces",
                             implies(ch.length > i, sendable)))
    return tuple(out)


def _enabled(event: Expr) -> Expr:
    """The state part of a step event: the event with every "this instance fired" replaced by
    True (``System.took`` conjoins each with the instance's guard and branch condition)."""
    match event:
        case Fired():
            return TRUE
        case And(args):
            return And(tuple(_enabled(a) for a in args))
        case Or(args):
            return Or(tuple(_enabled(a) for a in args))
        case _:  # below the event's And/Or structure: state conditions, kept as they are
            return event


def step_event_kinds() -> Iterable[str]:
    """The kinds whose goals a replay marks by evaluating their events (the others by the action
    and branch each step takes)."""
    return KINDS[2:]


__all__ = ["KINDS", "Goal", "GoalSet", "coverage_goals", "goal_lemmas", "goal_set", "refusals", "step_event_kinds"]
