"""Proofs for any number of devices per hub: each property's per-device part checked on the
representative-device abstraction (``model.abstraction``), once per device type.

For each device type (PPMID, HCALCS) the representative is that type's first device; the model is
built with it and one other device of each type, and the others' variables (found by building the
model with the representative alone: whatever that build lacks) are abstracted away. A property's
conjuncts (and bounded responses) that read only the representative's and shared state are kept;
those that read only other devices' state are dropped (by symmetry they are another device's
instance of a kept one); one that reads both is not per-device and the property is not proved for
all N. What is proved on the abstraction, with a certificate re-checked by the same checker
(obligations over the abstract system), holds for every number of devices: docs/scale.md says
why and under which premises, which ``representative`` checks.

A counterexample on the abstraction is not a trace of any concrete model: the result is then
"not proved for all N", never "violated".
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from otaproof.model.abstraction import Abstraction, abstract, uncovered
from otaproof.model.config import Scenario
from otaproof.model.invariants import Lemma
from otaproof.model.lang import And, Expr, ModelError, Var, all_of
from otaproof.model.slicing import cone_of_influence, reads
from otaproof.model.variants import BuiltModel, get_variant
from otaproof.model.variants.registry import build_variant
from otaproof.model.vocabulary import DEVICE_MODELS
from otaproof.properties.catalogue import Property
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import BoundedResponse, Formula, Invariant, StepInvariant, to_safety
from otaproof.properties.jobs import FIRST_STAGE, EngineRun
from otaproof.properties.trace import ReplayError, make_trace
from otaproof.properties.verdict import Budget, Proved, Unknown, Verdict, Violated

# (PPMIDs, HCALCSs) of the builds for each representative's type: alone, with one other device of
# each type (the abstraction), with two (the check that another device adds nothing)
SIZES = {"PPMID": ((1, 0), (2, 1), (3, 2)), "HCALCS": ((0, 1), (1, 2), (2, 3))}
ENGINES = (FIRST_STAGE, "pdr", "bmc")  # tried in turn on the abstraction until one decides
PROVED_ALL_N, NOT_PROVED_ALL_N, NO_PART = "proved for all N", "not proved for all N", "no part about this type"


@dataclass(frozen=True)
class Representative:
    """One device type's representative device and the abstraction of every other device."""

    device_model: str
    device: str                   # its name in the model (P1, H1)
    concrete: BuiltModel          # the representative with one other device of each type
    abstraction: Abstraction      # of ``concrete``: the other devices' state havocked
    built: BuiltModel             # the abstract system with the projected design lemmas (engines)
    own: frozenset[int]           # concrete variable indices of the representative's own state
    uncovered: tuple[str, ...]    # abstract steps a second other device adds (empty: premise checked)


def sized(scenario: Scenario, ppmids: int, hcalcs: int) -> BuiltModel:
    """The scenario's variant built with these device counts (a variant's own counts are replaced),
    with the design's hand-written lemma candidates unless the scenario leaves them out: the
    abstraction projects those (the generated ones are mined from a concrete model's states)."""
    variant = get_variant(scenario.variant)
    counts = {"ppmids": ppmids, "hcalcs": hcalcs}
    rest = {k: v for k, v in variant.parameters.items() if k not in counts}
    params = scenario.parameters.with_values({**rest, **counts})
    hints = scenario.design_lemmas is not False
    return build_variant(dataclasses.replace(variant, parameters={}),
                         dataclasses.replace(scenario, parameters=params, design_lemmas=hints))


def _names(bm: BuiltModel) -> set[str]:
    return {v.name for v in bm.system.variables}


def representative(scenario: Scenario, device_model: str) -> Representative:
    """Build ``device_model``'s representative abstraction of the scenario (four model builds)."""
    alone, one, two = (sized(scenario, *n) for n in SIZES[device_model])
    other_type = next(t for t in DEVICE_MODELS if t != device_model)
    shared = _names(alone) & _names(sized(scenario, *SIZES[other_type][0]))
    mine = _names(alone)
    small = abstract(one.system, frozenset(v.index for v in one.system.variables if v.name not in mine))
    large = abstract(two.system, frozenset(v.index for v in two.system.variables if v.name not in mine))
    lemmas = tuple(Lemma(lemma.name, lemma.statement, p) for lemma in one.lemmas
                   if (p := small.project(lemma.expr)) is not None)
    built = BuiltModel(one.scenario, one.variant, one.model, small.system, lemmas)
    own = frozenset(v.index for v in one.system.variables if v.name in mine - shared)
    device = (one.model.ppmids if device_model == "PPMID" else one.model.hcalcs)[0]
    return Representative(device_model, device, one, small, built, own, tuple(uncovered(small, large)))


@dataclass(frozen=True)
class TypeResult:
    """A property's per-device part for one device type, on that type's abstraction."""

    device_model: str
    status: str                   # PROVED_ALL_N, NOT_PROVED_ALL_N or NO_PART
    reason: str                   # why not proved (or what was proved)
    verdict: Verdict | None       # the engines' verdict on the abstraction (None: not checked)
    seconds: float


@dataclass(frozen=True)
class AllN:
    """A property's "for all N" result: proved only if every device type's part is."""

    prop: Property
    results: tuple[TypeResult, ...]

    @property
    def status(self) -> str:
        if all(r.status != NOT_PROVED_ALL_N for r in self.results):
            return PROVED_ALL_N
        return NOT_PROVED_ALL_N

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)


class NotPerDevice(Exception):
    """The property cannot be restricted to the representative (the message says why)."""


def restrict(rep: Representative, prop: Property) -> list[Formula]:
    """The property's formulas about the representative (and shared state) over the abstraction;
    NotPerDevice if a part reads both the representative's and another device's state, or is
    not a safety formula."""
    try:
        formula = prop.formula(rep.concrete)
    except (KeyError, ModelError) as e:
        raise NotPerDevice(f"the property cannot be stated on a model with {', '.join(rep.concrete.model.devices)}: "
                           f"{e}") from None
    out: list[Formula] = []
    mine: list[Expr] = []     # the parts kept (concrete), and those dropped as other devices' copies
    theirs: list[Expr] = []
    for f in formula if isinstance(formula, list) else [formula]:
        match f:
            case Invariant(pred) | StepInvariant(pred):
                kept = []
                for c in _conjuncts(pred):
                    p = _mine(rep, c)
                    (mine if p is not None else theirs).append(c)
                    if p is not None:
                        kept.append(p)
                if kept:
                    out.append(type(f)(all_of(kept)))
            case BoundedResponse():
                whole = all_of(e for e in (f.trigger, f.response, f.counted) if e is not None)
                projected = [_mine(rep, e) for e in (f.trigger, f.response, f.counted) if e is not None]
                if any(p is None for p in projected):
                    theirs.append(whole)
                    continue
                mine.append(whole)
                trigger, response, *counted = [p for p in projected if p is not None]
                stages = tuple(p for e in f.stages if (p := rep.abstraction.project(e)) is not None)
                queues = tuple(p for e in f.queues if (p := rep.abstraction.project(e)) is not None)
                out.append(BoundedResponse(trigger, response, f.bound, counted[0] if counted else None,
                                           stages if len(stages) == len(f.stages) else (), queues))
            case _:
                raise NotPerDevice("a REACH property (AG EF) is not preserved by an over-approximation: a recovery "
                                   "found on the abstraction may use steps no concrete model can take")
    _copies_of_mine(rep, mine, theirs)
    return out


def _copies_of_mine(rep: Representative, mine: list[Expr], theirs: list[Expr]) -> None:
    """NotPerDevice unless every dropped part about another device of the representative's type is
    a copy of a kept part (the same with that device's name replaced by the representative's): a
    part about one particular device is not a per-device part, and dropping it would prove
    nothing about it. (Parts about the other type's first device are that type's representative's.)"""
    m = rep.concrete.model
    same_type = [d for d in (m.ppmids if rep.device_model == "PPMID" else m.hcalcs) if d != rep.device]
    shapes = {_shape(e) for e in mine}
    for e in theirs:
        text = _shape(e)
        for d in same_type:
            if re.search(_token(d), text) and re.sub(_token(d), rep.device, text) not in shapes:
                raise NotPerDevice(f"not per-device: a part about {d} has no counterpart about {rep.device}")


def _token(device: str) -> str:
    return rf"(?<![A-Za-z0-9_]){re.escape(device)}(?![A-Za-z0-9_])"


def _shape(e: Expr) -> str:
    """A part's structure by variable names and event labels (not instance numbers)."""
    return re.sub(r"instances=frozenset\([^)]*\)", "", repr(e))


def _conjuncts(e: Expr) -> list[Expr]:
    """``e`` split at its top-level conjunctions."""
    if isinstance(e, And):
        return [c for a in e.args for c in _conjuncts(a)]
    return [e]


def _mine(rep: Representative, e: Expr) -> Expr | None:
    """``e`` over the abstraction if it is about the representative or shared state; None if it
    is about other devices only; NotPerDevice if it reads both."""
    projected = rep.abstraction.project(e)
    if projected is not None:
        return projected
    if reads(e) & rep.own:
        raise NotPerDevice(f"not per-device: a part reads the state of {rep.device} and of another device "
                           f"({_names_read(rep, e)})")
    return None


def _names_read(rep: Representative, e: Expr) -> str:
    names = sorted(v.name for v in rep.concrete.system.variables if v.index in reads(e) - rep.own)
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")


def stuck_sound(rep: Representative, problem: Problem) -> str:
    """Empty if a bounded response's "stuck" clause means the same on the abstraction; otherwise
    why not: a system step standing for another device in any state could look enabled there
    when no concrete one is (so a concrete "stuck" violation could be missed)."""
    system = problem.task.system
    if not any(isinstance(v, Var) and v.name.startswith("monitor.response_owed") for v in system.variables):
        return ""
    cone = set(cone_of_influence(problem.task.system, problem.task.bad).original_instance)
    havocked = sorted(i.label for i in rep.abstraction.system.instances
                      if i.index in cone and i.index in rep.abstraction.havocked and i.role == "system")
    if havocked:
        return (f"a bounded response's 'no system step can move it' clause reads steps that stand for other devices "
                f"in any state ({havocked[0]}{' ...' if len(havocked) > 1 else ''})")
    return ""


def check_type(rep: Representative, prop: Property, budget: Budget) -> TypeResult:
    """Check ``prop``'s part about ``rep``'s device type on the abstraction."""
    start = time.monotonic()

    def result(status: str, reason: str, verdict: Verdict | None = None) -> TypeResult:
        return TypeResult(rep.device_model, status, reason, verdict, time.monotonic() - start)

    if rep.uncovered:
        return result(NOT_PROVED_ALL_N, f"a second other device adds abstract steps the abstraction lacks "
                                        f"({rep.uncovered[0]}{' ...' if len(rep.uncovered) > 1 else ''})")
    try:
        formulas = restrict(rep, prop)
    except NotPerDevice as e:
        return result(NOT_PROVED_ALL_N, str(e))
    if not formulas:
        return result(NO_PART, f"no part of {prop.id} is about {rep.device_model}s")
    sc = rep.built.scenario
    task = to_safety(rep.built.system, formulas)
    task = dataclasses.replace(task, lemmas=rep.built.lemmas + task.lemmas)
    problem = Problem(task, prop.id, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)))
    unsound = stuck_sound(rep, problem)
    if unsound:
        return result(NOT_PROVED_ALL_N, unsound)
    verdict: Verdict = Unknown("none", 0.0, "no engine ran")
    for engine in ENGINES:
        verdict = _run(EngineRun(rep.built, problem, prop, engine, budget))
        if isinstance(verdict, Proved):
            return result(PROVED_ALL_N, f"{rep.device} with every other device abstracted: {verdict.detail}", verdict)
        if isinstance(verdict, Violated):
            return result(NOT_PROVED_ALL_N, f"the abstraction has a counterexample of {len(verdict.trace.steps)} "
                                            f"steps; {replayed(rep, prop, verdict)}", verdict)
    return result(NOT_PROVED_ALL_N, f"unknown on the abstraction: {verdict.detail}", verdict)


def replayed(rep: Representative, prop: Property, found: Violated) -> str:
    """Whether the abstraction's counterexample is also a trace of the concrete model it was built
    from: only if no step stands for other devices in any state, and the concrete run of the same
    instances replays in the explicit semantics into the property's bad states."""
    if any(step.instance in rep.abstraction.havocked for step in found.trace.steps):
        return "not a concrete trace (a step stands for another device in any state)"
    origin = {a: c for c, copies in enumerate(rep.abstraction.images) for a in copies}
    m, sc = rep.concrete.model, rep.concrete.scenario
    task = to_safety(rep.concrete.system, prop.formula(rep.concrete))
    try:
        make_trace(task.system, task.bad, [origin[step.instance] for step in found.trace.steps], prop.id,
                   sorted(sc.threats), sorted(sc.faults))
    except ReplayError:
        return "it does not replay in the concrete model"
    counts = " and ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in (("PPMID", len(m.ppmids)),
                                                                              ("HCALCS", len(m.hcalcs))))
    return f"it replays in the concrete model with {counts}: violated there"


def _run(job: EngineRun) -> Verdict:
    answers: list[object] = []
    job(answers.append)
    (answer,) = answers
    if isinstance(answer, (Proved, Violated, Unknown)):
        return answer
    return Unknown(job.engine, 0.0, f"the model has a slip: {answer}")


def check_all_n(scenario: Scenario, props: list[Property], budget: Budget,
                on_done: Callable[[AllN], None] | None = None) -> list[AllN]:
    """Every property's "for all N" result, in the order of ``props``."""
    reps = [representative(scenario, t) for t in DEVICE_MODELS]
    out: list[AllN] = []
    for prop in props:
        found = AllN(prop, tuple(check_type(rep, prop, budget) for rep in reps))
        if on_done is not None:
            on_done(found)
        out.append(found)
    return out
