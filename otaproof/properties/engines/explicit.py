"""Explicit-state breadth-first search over the state graph (networkx), for small instances.

Safety: BFS finds a shortest counterexample; when the search completes, the reachable set is the
certificate (re-checked by Z3 as a disjunction of states, so only for small graphs).
REACH (AG EF target over legitimate actions): every reachable state must reach ``target`` along
legitimate edges; a violation is a shortest path to a state that cannot; a proof carries a
ranking certificate (the states by distance to the target, as SMT-LIB layers) that Z3 re-checks.
When the graph is too large to finish, a state whose whole legitimate closure misses the target
is still a violation; otherwise the answer is unknown. Every edge keeps every instance that takes
it, so a legitimate step is never hidden behind an attacker's step to the same successor.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Callable, Sequence

import networkx as nx
import z3

from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.lang import FALSE, Expr, ModelError
from otaproof.model.slicing import cone_of_influence, constant_folded
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.properties.certificate import (
    TAG,
    check_ranking_certificate,
    confirm_stranded,
    engine_check,
    ranking_text,
)
from otaproof.properties.engines.bmc import lifted
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.formulas import Reach, SafetyTask, reach_slice
from otaproof.properties.slips import domain_slips
from otaproof.properties.solver import Deadline, GaveUp
from otaproof.properties.trace import make_trace
from otaproof.properties.verdict import (
    Budget,
    Certificate,
    CertificateKind,
    ModelSlip,
    Proved,
    Unknown,
    Verdict,
    Violated,
)

CERTIFICATE_STATES = 3000  # largest reachable set re-checked as a Z3 formula
RANKING_STATES = 100_000  # largest ranking re-checked as Z3 formulas


def explore(system: System, budget: Budget, deadline: Deadline, stop: Expr | None = None
            ) -> tuple[nx.DiGraph, State, State | None, str]:
    """The reachable state graph (each edge labelled with every instance that takes it, in
    ``instances``: an attacker's step and a legitimate one may share an edge); stops at a
    ``stop`` state.

    Returns (graph, initial state, the stop state found or None, "" or why the search was cut).
    """
    interp = Interpreter(system)
    init = interp.initial_state()
    graph = nx.DiGraph()
    graph.add_node(init)
    is_stop = None
    if stop is not None:
        f = compile_expr(stop)
        is_stop = lambda s: bool(f(s, s, -1))  # noqa: E731
        if is_stop(init):
            return graph, init, init, ""
    queue = deque([init])
    while queue:
        if graph.number_of_nodes() > budget.max_states:
            return graph, init, None, f"state limit {budget.max_states} reached"
        if deadline.expired():
            return graph, init, None, f"{deadline.why()} after {graph.number_of_nodes()} states"
        s = queue.popleft()
        try:
            successors = list(interp.successors(s))
        except ModelError as e:
            raise SlipFound(_path_choices(graph, init, s), str(e)) from None
        for inst, t in successors:
            if t not in graph:
                graph.add_node(t)
                graph.add_edge(s, t, instances={inst})
                if is_stop is not None and is_stop(t):
                    return graph, init, t, ""
                queue.append(t)
            elif graph.has_edge(s, t):
                graph.edges[s, t]["instances"].add(inst)
            else:
                graph.add_edge(s, t, instances={inst})
    return graph, init, None, ""


class SlipFound(Exception):
    """The search met a step the explicit semantics rejects (a modelling slip): the path to it."""

    def __init__(self, choices: list[int], message: str) -> None:
        super().__init__(message)
        self.choices, self.message = choices, message


def _path_choices(graph: nx.DiGraph, init: State, goal: State) -> list[int]:
    """A shortest path's instances (the lowest-numbered instance of each edge: deterministic)."""
    path = nx.shortest_path(graph, init, goal)
    return [min(graph.edges[a, b]["instances"]) for a, b in itertools.pairwise(path)]


@engine("explicit")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """Breadth-first search of the slice's state graph: a shortest path to a bad state, or the
    reachable set as the certificate."""
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    try:
        graph, init, bad_state, cut = explore(sliced.system, budget, deadline, sliced.predicate)
    except SlipFound as slip:
        choices = lifted(problem, sliced, slip.choices)
        raise ModelSlip(slip.message, make_trace(problem.task.system, None, choices, problem.property_id,
                                                 problem.threats, problem.faults)) from None
    if bad_state is not None:
        choices = lifted(problem, sliced, _path_choices(graph, init, bad_state))
        return counterexample(problem, "explicit", choices, deadline)
    if cut:
        raise GaveUp(cut)
    n = graph.number_of_nodes()
    if n > CERTIFICATE_STATES:
        raise GaveUp(f"all {n} reachable states are safe, but a certificate of more than {CERTIFICATE_STATES} "
                     f"states is not re-checked")
    task = SafetyTask(sliced.system, sliced.predicate)
    enc = Encoder(task.system)
    c = enc.state(TAG)
    text = z3.Or([enc.state_equals(c, s) for s in graph.nodes]).sexpr()
    checked = engine_check(task, text, budget, deadline, problem.rechecked)
    return Proved("explicit", deadline.elapsed(), Certificate(CertificateKind.REACHABLE_SET, text, n, checked.ok,
                                                              checked.seconds))


def check_reach(system: System, formulas: Reach | Sequence[Reach], property_id: str, threats: tuple[str, ...],
                faults: tuple[str, ...], budget: Budget) -> Verdict:
    """AG EF target along legitimate steps, for each formula (a list is their conjunction), on
    the explicit state graph of the target's cone of influence.

    The slice is exact for REACH (no monitors): a dropped instance only stutters on the kept
    variables, so the kept variables' reachable valuations and legitimate paths are those of
    the full system. A proof is a ranking certificate re-checked in Z3; a counterexample's end
    state is confirmed stranded on the full model (``confirm_stranded``) before it is reported."""
    try:
        return _check_reach(system, [formulas] if isinstance(formulas, Reach) else list(formulas), property_id,
                            threats, faults, budget)
    except SlipFound as slip:
        raise ModelSlip(slip.message, make_trace(system, None, slip.choices, property_id, threats, faults)) from None


def _check_reach(system: System, formulas: list[Reach], property_id: str, threats: tuple[str, ...],
                 faults: tuple[str, ...], budget: Budget) -> Verdict:
    deadline = Deadline(budget.timeout, budget.rlimit)
    folded = constant_folded(system)
    if domain_slips(system) is not FALSE and any(
            set(i.index for i in system.instances) - set(reach_slice(folded, f).slice.original_instance)
            for f in formulas):
        return Unknown("explicit", deadline.elapsed(), "the model may assign outside a domain in a step this "
                                                       "search leaves out (outside the target's cone)")
    states, seconds, layers, cuts = 0, 0.0, [], []
    for formula in formulas:
        part = reach_slice(folded, formula)
        sliced, legit, target = part.slice, part.legitimate, compile_expr(part.target)
        graph, init, _, cut = explore(sliced.system, dataclasses.replace(budget, max_states=PROBE_STATES), deadline)
        stranded = _stranded_state(sliced.system, graph, target, legit, deadline) if cut else None
        if stranded is None and cut:  # nothing stranded near the initial state: the whole graph
            graph, init, _, cut = explore(sliced.system, budget, deadline)
        if cut:
            stranded = stranded or _stranded_state(sliced.system, graph, target, legit, deadline)
            if stranded is None:
                cuts.append(f"{formula.subject}: {cut}")
                continue
        else:
            distance = _distance_to_target(graph, target, legit)
            unreached = [s for s in graph.nodes if s not in distance]
            if not unreached:
                if graph.number_of_nodes() > RANKING_STATES:
                    cuts.append(f"{formula.subject}: every one of {graph.number_of_nodes()} states reaches the target, "
                                f"but a ranking of more than {RANKING_STATES} states is not re-checked")
                    continue
                text = ranking_text(sliced.system, distance)
                checked = check_ranking_certificate(sliced.system, part.target, legit, text,
                                                    timeout=deadline.remaining(), seed=budget.seed,
                                                    rlimit=budget.rlimit)
                if not checked.ok:
                    return Unknown("explicit", deadline.elapsed(), f"{formula.subject}: ranking certificate "
                                                                   f"rejected: {checked.reason}")
                states, seconds = states + graph.number_of_nodes(), seconds + checked.seconds
                layers.append(text)
                continue
            lengths = nx.single_source_shortest_path_length(graph, init)
            stranded = min(unreached, key=lambda s: (lengths[s], s))
        choices = [sliced.original_instance[c] for c in _path_choices(graph, init, stranded)]
        try:
            refuted = confirm_stranded(system, formula, choices, budget)
        except ModelError as e:
            return Unknown("explicit", deadline.elapsed(), f"{formula.subject}: the stranded state's legitimate "
                                                           f"closure meets a modelling slip: {e}")
        if refuted is not None:
            why = f"{formula.subject}: counterexample not confirmed: {refuted}"
            return Unknown("explicit", deadline.elapsed(), why)
        return Violated("explicit", deadline.elapsed(), make_trace(system, None, choices, property_id, threats, faults))
    if cuts:
        return Unknown("explicit", deadline.elapsed(), "; ".join(cuts))
    text = layers[0] if len(layers) == 1 else "(and " + " ".join(layers) + ")"
    return Proved("explicit", deadline.elapsed(), Certificate(CertificateKind.RANKING, text, states, True, seconds))


def _distance_to_target(graph: nx.DiGraph, target: Callable[[State, State, int], int],
                        legit: frozenset[int]) -> dict[State, int]:
    """Legitimate steps from each state to the nearest target state (states that cannot reach
    one are absent): a backward breadth-first search over the legitimate edges."""
    back: dict[State, list[State]] = {}
    for s, t, d in graph.edges(data=True):
        if d["instances"] & legit:
            back.setdefault(t, []).append(s)
    distance = {s: 0 for s in graph.nodes if target(s, s, -1)}
    queue = deque(distance)
    while queue:
        s = queue.popleft()
        for p in back.get(s, ()):
            if p not in distance:
                distance[p] = distance[s] + 1
                queue.append(p)
    return distance


PROBE_STATES = 5_000  # a first, small graph: a stranded state is usually a few steps from the start
STRANDED_CLOSURE_LIMIT = 20_000  # largest legitimate closure explored from one candidate state


def _stranded_state(system: System, graph: nx.DiGraph, target: Callable[[State, State, int], int],
                    legit: frozenset[int], deadline: Deadline) -> State | None:
    """When the reachable graph is too large to finish: the first explored state (breadth-first
    order, so shortest traces first) whose whole legitimate closure, explored to its end, holds
    no target state. Such a state is stranded whatever the rest of the graph holds."""
    interp, among = Interpreter(system), sorted(legit)
    good: set[State] = set()  # states known to reach the target (shared by every search)
    root: State
    for root in graph.nodes:
        if deadline.expired():
            return None
        parent: dict[State, State | None] = {root: None}
        queue, reached = deque([root]), None
        while queue and reached is None and len(parent) <= STRANDED_CLOSURE_LIMIT:
            s = queue.popleft()
            if s in good or target(s, s, -1):
                reached = s
                break
            for _, t in interp.successors(s, among):
                if t not in parent:
                    parent[t] = s
                    queue.append(t)
        if reached is None and not queue:
            return root
        while reached is not None:  # the path back to the root reaches the target too
            good.add(reached)
            reached = parent[reached]
    return None
