"""Property kinds and their reduction to safety: a system with monitors plus a bad-state predicate.

INV:   ``pred`` over one state; bad = ¬pred.
HIST:  ``pred`` over a step (pre-state, action, post-state; ghosts give history); a monitor flag
       ``err`` becomes true at the first step that falsifies it; bad = err.
BR:    after a trigger step, the response must happen within ``k`` counted system steps once the
       environment, the attacker and the network stay quiet (any of their steps in the cone of
       influence of the response restarts the count: "faults stop" fairness), and the system may
       not get stuck (no system step of that cone enabled) while the response is owed.
REACH: from every reachable state some sequence of legitimate actions reaches ``target``
       (AG EF target); checked on the explicit state graph of the target's cone of influence.

Every safety task's bad states include the model's slips (``slips.py``): a proof also shows no
reachable step assigns outside its domain, and a counterexample to a slip is a model error.
"""

from __future__ import annotations

from dataclasses import dataclass

from otaproof.model.invariants import Lemma
from otaproof.model.lang import (
    BOOL,
    FALSE,
    Expr,
    Fired,
    IntSort,
    Next,
    Var,
    all_of,
    any_of,
    implies,
    ite,
    map_children,
    simplify,
)
from otaproof.model.slicing import Slice, cone_instances, cone_of_influence
from otaproof.model.system import MonitorUpdate, System, monitor_var
from otaproof.properties.slips import domain_slips


@dataclass(frozen=True)
class Invariant:
    pred: Expr


@dataclass(frozen=True)
class StepInvariant:
    pred: Expr


@dataclass(frozen=True)
class BoundedResponse:
    """G(trigger -> F<=bound response), counting the steps in ``counted`` (default: every
    system step); any environment, attacker or fault step that can affect it restarts the count.

    ``stages`` are one-state predicates saying where the owed response can be (a report in a
    given queue, say) and ``queues`` say what it may wait behind (a busy queue); they only
    generate candidate progress lemmas for the proof engines."""

    trigger: Expr
    response: Expr
    bound: int
    counted: Expr | None = None
    stages: tuple[Expr, ...] = ()
    queues: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Reach:
    """AG EF target: from every reachable state, some sequence of legitimate steps reaches
    ``target``. The legitimate steps are the instances in ``legitimate`` (when given) or else
    every instance of ``roles``; ``subject`` says in words what is reached."""

    target: Expr
    roles: tuple[str, ...] = ("system", "environment")
    legitimate: frozenset[int] | None = None
    subject: str = "the target"

    def legitimate_instances(self, system: System) -> frozenset[int]:
        if self.legitimate is not None:
            return self.legitimate
        return frozenset(i.index for i in system.instances if i.role in self.roles)


Formula = Invariant | StepInvariant | BoundedResponse | Reach


@dataclass(frozen=True)
class ReachSlice:
    """A REACH formula on the cone of influence of its target (exact for REACH: a dropped
    instance only stutters on the kept variables): the slice, its legitimate instances and the
    target over the slice's variables."""

    slice: Slice
    legitimate: frozenset[int]
    target: Expr


def reach_slice(folded: System, formula: Reach) -> ReachSlice:
    """``formula`` on ``folded`` (a constant-folded system: slicing then sees only what an
    expression really reads), sliced to its target's cone of influence."""
    sliced = cone_of_influence(folded, ~formula.target)
    legit = formula.legitimate_instances(folded)
    target = sliced.project(simplify(formula.target))
    assert target is not None, "the slice keeps every variable its predicate reads"
    return ReachSlice(sliced, frozenset(n for n, o in enumerate(sliced.original_instance) if o in legit), target)




@dataclass(frozen=True)
class Restart:
    """The steps after which every bounded-response count of a task is 0, whatever came before
    (the steps that interfere with each of its responses; ``counts``: those counts). A violation
    ends with a quiet run, free of such steps, from a state where the counts are 0 and the
    inductive lemmas hold: where the tail engine starts its search."""

    steps: frozenset[int]    # instance indices
    counts: tuple[Var, ...]  # the monitors' step counts

    def on(self, sliced: Slice) -> Restart:
        """The same steps and counts in a cone-of-influence slice (a count is in the cone of
        the bad states that read it)."""
        index = {old: new for new, old in enumerate(sliced.original_instance)}
        return Restart(frozenset(index[i] for i in self.steps if i in index),
                       tuple(sliced.kept_variables[c.index] for c in self.counts))


@dataclass(frozen=True)
class SafetyTask:
    """What the safety engines check: no reachable state of ``system`` satisfies ``bad``."""

    system: System
    bad: Expr
    lemmas: tuple[Lemma, ...] = ()  # candidate strengthenings; engines keep the inductive ones
    restart: Restart | None = None  # bounded responses only (no step invariant): see ``Restart``
    slip: Expr = FALSE  # the model's slips (``slips.domain_slips``), one of the bad states' disjuncts


def _stuck(system: System, late: Expr) -> Expr:
    """No system step that can move the response is enabled: none of the system instances in
    the cone of influence of ``late`` (the response owed for too long). A step outside the cone
    writes nothing the cone reads, so it can never enable one inside: the response can then
    only come after an environment step."""
    cone = cone_instances(system, late)
    return ~any_of(all_of([i.guard, any_of(b.cond for b in i.branches)])
                   for i in system.instances if i.role == "system" and i.index in cone)


def role_fired(system: System, role: str) -> Expr:
    return Fired(f"any {role} action", frozenset(i.index for i in system.instances if i.role == role))


def _response_monitor(system: System, n: int, br: BoundedResponse, interference: Expr) -> list[MonitorUpdate]:
    """The BR's monitor: the response is owed, and the counted steps waited since the last
    interference step (capped at the bound)."""
    k = br.bound
    pending = monitor_var(f"monitor.response_owed[{n}]", BOOL, False)
    count = monitor_var(f"monitor.system_steps_waited[{n}]", IntSort(0, k), 0)
    pend_next = (pending | br.trigger) & ~br.response
    counted = br.counted if br.counted is not None else role_fired(system, "system")
    step = ite(interference, 0, ite(counted, ite(count >= k, k, count + 1), count))
    return [MonitorUpdate(pending, pend_next), MonitorUpdate(count, ite(pend_next, step, 0))]


def _interference(system: System, n: int, br: BoundedResponse) -> Fired:
    """The environment, attacker and fault steps that restart the BR's count: those in the cone
    of influence of its monitor. The others write nothing the monitor can see, so dropping them
    from a run changes neither the owed response nor the count it would reach: restarting on
    them only made every proof engine carry their guards (and so every device's state)."""
    probe = system.with_monitor(_response_monitor(system, n, br, Fired("no interference", frozenset())))
    owed, waited = probe.variables[len(system.variables):]
    cone = cone_instances(probe, owed & (waited >= br.bound))
    return Fired("an environment, attacker or fault step in the response's cone",
                 frozenset(i.index for i in system.instances if i.role != "system" and i.index in cone))


def to_safety(system: System, formula: Formula | list[Formula], first_response: int = 0) -> SafetyTask:
    """Reduce INV, HIST or BR formulas (a list means their conjunction) to one safety task;
    the BR monitors are numbered from ``first_response`` (so that separately checked parts of
    one property keep distinct monitor names)."""
    items = formula if isinstance(formula, list) else [formula]
    invs = [f.pred for f in items if isinstance(f, Invariant)]
    steps = [f.pred for f in items if isinstance(f, StepInvariant)]
    responses = [f for f in items if isinstance(f, BoundedResponse)]
    if len(invs) + len(steps) + len(responses) != len(items):
        raise TypeError("only INV, HIST and BR formulas reduce to safety")
    updates: list[MonitorUpdate] = []
    if steps:
        err = monitor_var("monitor.violated", BOOL, False)
        updates.append(MonitorUpdate(err, err | ~all_of(steps)))
    interference = [_interference(system, n, br) for n, br in enumerate(responses, first_response)]
    for (n, br), restarts in zip(enumerate(responses, first_response), interference, strict=True):
        updates += _response_monitor(system, n, br, restarts)
    mon = system.with_monitor(updates) if updates else system
    extra = list(mon.variables[len(system.variables):])
    bad: list[Expr] = [~all_of(invs)] if invs else []
    if steps:
        bad.append(extra.pop(0))
    lemmas: list[Lemma] = []
    for k, (n, br) in enumerate(enumerate(responses, first_response)):
        p, c = extra[2 * k], extra[2 * k + 1]
        bad.append(p & ((c >= br.bound) | _stuck(mon, p & (c >= br.bound))))
        lemmas += progress_lemmas(n, br, p, c)
    slip = domain_slips(system)
    if slip is not FALSE:
        bad.append(slip)
    restart = None
    if responses and not steps:  # a step invariant's flag never resets
        quiet_breakers = frozenset.intersection(*(frozenset(f.instances) for f in interference))
        restart = Restart(quiet_breakers, tuple(extra[2 * k + 1] for k in range(len(responses))))
    return SafetyTask(mon, any_of(bad), tuple(lemmas), restart, slip)


def progress_lemmas(n: int, br: BoundedResponse, owed: Var, waited: Var) -> list[Lemma]:
    """Candidates relating a response's stage to the steps already waited: while it is owed the
    response is at some stage, and at each stage at most c counted steps have passed."""
    out = [Lemma(f"response[{n}]-idle-counter", "no steps are counted while nothing is owed",
                 implies(~owed, waited == 0))]
    now = _in_the_state(br.response)
    if now is not None:  # a response about the post-state: once it holds, nothing is owed any more
        out.append(Lemma(f"response[{n}]-not-yet", "while a response is owed it has not happened",
                         implies(owed, ~now)))
    if br.stages:
        out.append(Lemma(f"response[{n}]-on-its-way", "while a response is owed it is at one of its stages",
                         implies(owed, any_of(br.stages))))
    for c in range(br.bound):
        out.append(Lemma(f"response[{n}]-waited<={c}", "a bound on the counted steps waited so far",
                         implies(owed, waited <= c)))
        for k, stage in enumerate(br.stages):
            out.append(Lemma(f"response[{n}]-stage{k}-waited<={c}", "a bound on the steps waited at this stage",
                             implies(owed & stage, waited <= c)))
            alone = owed & stage & ~any_of(other for j, other in enumerate(br.stages) if j != k)
            out.append(Lemma(f"response[{n}]-only-stage{k}-waited<={c}",
                             "a bound on the steps waited when the response is at this stage only",
                             implies(alone, waited <= c)))
            for j, queue in enumerate(br.queues):
                out.append(Lemma(f"response[{n}]-only-stage{k}-behind{j}-waited<={c}",
                                 "a bound on the steps waited at this stage only, with something ahead of it",
                                 implies(alone & queue, waited <= c)))
    return out


class _ReadsTheStep(Exception):
    """An expression reads a pre-state variable or the action (see ``_in_the_state``)."""


def _in_the_state(e: Expr) -> Expr | None:
    """``e`` with every ``Next(x)`` read as ``x`` (a one-state predicate), or None if ``e`` also
    reads a pre-state variable or the action, and so says something about a step."""
    def now(x: Expr) -> Expr:
        match x:
            case Next(var):
                return var
            case Var() | Fired():
                raise _ReadsTheStep
            case _:  # every other node: its children read now (``map_children`` knows every node)
                return map_children(x, now)
    try:
        return now(e)
    except _ReadsTheStep:
        return None


def changed(var_expr: Expr) -> Expr:
    """The step changed this variable."""
    assert isinstance(var_expr, Var)
    return Next(var_expr) != var_expr
