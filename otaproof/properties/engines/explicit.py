"""Explicit-state breadth-first search over the state graph (networkx), for small instances.

Safety: BFS finds a shortest counterexample; when the search completes, the reachable set is the
certificate (re-checked by Z3 as a disjunction of states, so only for small graphs).
REACH (AG EF target over legitimate actions): every reachable state must reach ``target`` along
legitimate edges; a violation is a shortest path to a state that cannot; a proof carries a
ranking (distance to the target) whose every witness edge is re-checked in the Z3 semantics.
When the graph is too large to finish, a state whose whole legitimate closure misses the target
is still a violation; otherwise the answer is unknown.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import z3

from otaproof.model.explicit import Interpreter, State, compile_expr
from otaproof.model.lang import Expr
from otaproof.model.slicing import cone_of_influence, constant_folded
from otaproof.model.symbolic import Encoder
from otaproof.model.system import System
from otaproof.properties.certificate import TAG, check_certificate
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.formulas import Reach, SafetyTask, reach_slice
from otaproof.properties.solver import Deadline, GaveUp
from otaproof.properties.trace import ReplayError, make_trace
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Unknown, Verdict, Violated

CERTIFICATE_STATES = 3000  # largest reachable set re-checked as a Z3 formula


def explore(system: System, budget: Budget, deadline: Deadline, stop: Expr | None = None
            ) -> tuple[nx.DiGraph, State, State | None, str]:
    """The reachable state graph (edges labelled with instances); stops at a ``stop`` state.

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
            return graph, init, None, f"timeout after {graph.number_of_nodes()} states"
        s = queue.popleft()
        for inst, t in interp.successors(s):
            if t not in graph:
                graph.add_node(t)
                graph.add_edge(s, t, instance=inst)
                if is_stop is not None and is_stop(t):
                    return graph, init, t, ""
                queue.append(t)
            elif not graph.has_edge(s, t):
                graph.add_edge(s, t, instance=inst)
    return graph, init, None, ""


def _path_choices(graph: nx.DiGraph, init: State, goal: State) -> list[int]:
    path = nx.shortest_path(graph, init, goal)
    return [graph.edges[a, b]["instance"] for a, b in itertools.pairwise(path)]


@engine("explicit")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """Breadth-first search of the slice's state graph: a shortest path to a bad state, or the
    reachable set as the certificate."""
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    graph, init, bad_state, cut = explore(sliced.system, budget, deadline, sliced.predicate)
    if bad_state is not None:
        choices = [sliced.original_instance[c] for c in _path_choices(graph, init, bad_state)]
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
    checked = check_certificate(task, text, timeout=deadline.remaining(), seed=budget.seed)
    if not checked.ok:
        raise GaveUp(f"certificate rejected by the checker: {checked.reason}")
    return Proved("explicit", deadline.elapsed(),
                  Certificate(CertificateKind.REACHABLE_SET, text, n, True, checked.seconds))


def check_reach(system: System, formulas: Reach | Sequence[Reach], property_id: str, threats: tuple[str, ...],
                faults: tuple[str, ...], budget: Budget) -> Verdict:
    """AG EF target along legitimate steps, for each formula (a list is their conjunction), on
    the explicit state graph of the target's cone of influence.

    The slice is exact for REACH: a dropped instance only stutters on the kept variables, so the
    kept variables' reachable valuations and legitimate paths are those of the full system."""
    deadline = Deadline(budget.timeout)
    folded = constant_folded(system)
    states, cuts = 0, []
    for formula in [formulas] if isinstance(formulas, Reach) else formulas:
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
                ok, why = _check_ranking(sliced.system, graph, distance, legit)
                if not ok:
                    return Unknown("explicit", deadline.elapsed(), f"{formula.subject}: ranking certificate "
                                                                   f"rejected: {why}")
                states += graph.number_of_nodes()
                continue
            lengths = nx.single_source_shortest_path_length(graph, init)
            stranded = min(unreached, key=lambda s: (lengths[s], s))
        choices = [sliced.original_instance[c] for c in _path_choices(graph, init, stranded)]
        try:  # the end state's stranding was established on the slice, which is exact (above)
            trace = make_trace(system, None, choices, property_id, threats, faults)
        except ReplayError as e:
            return Unknown("explicit", deadline.elapsed(), f"counterexample did not replay: {e}")
        return Violated("explicit", deadline.elapsed(), trace)
    if cuts:
        return Unknown("explicit", deadline.elapsed(), "; ".join(cuts))
    ranking = f"distance-to-target ranking over {states} states"
    return Proved("explicit", deadline.elapsed(), Certificate(CertificateKind.RANKING, ranking, states, True, 0.0))


def _distance_to_target(graph: nx.DiGraph, target: Callable[[State, State, int], int],
                        legit: frozenset[int]) -> dict[State, int]:
    """Legitimate steps from each state to the nearest target state (states that cannot reach
    one are absent): a backward breadth-first search over the legitimate edges."""
    back: dict[State, list[State]] = {}
    for s, t, d in graph.edges(data=True):
        if d["instance"] in legit:
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


def _check_ranking(system: System, graph: nx.DiGraph, distance: dict[State, int],
                   legit: frozenset[int]) -> tuple[bool, str]:
    """Independent re-check: the state set is closed under the explicit successors, and from
    every state a legitimate step, confirmed in the Z3 semantics (the encoder's per-branch
    step relation), lowers the distance to the target."""
    interp = Interpreter(system)
    enc = Encoder(system)
    s_vars = enc.state("r")
    steps: dict[int, list[tuple[z3.BoolRef, list[Any]]]] = {}
    for inst, _, cond, new in enc.steps(s_vars):
        steps.setdefault(inst, []).append((cond, new))
    nodes = set(graph.nodes)
    for s in graph.nodes:
        for _, t in interp.successors(s):
            if t not in nodes:
                return False, "the reachable set is not closed"
        if distance[s] == 0:
            continue
        witness = next(((t, d["instance"]) for _, t, d in graph.out_edges(s, data=True)
                        if d["instance"] in legit and distance.get(t, -1) == distance[s] - 1), None)
        if witness is None:
            return False, "a state has no edge towards the target"
        t, inst = witness
        now = [(x, enc.value(v, s[v.index])) for x, v in zip(s_vars, system.variables, strict=True)]
        successor = [enc.value(v, t[v.index]) for v in system.variables]
        if not any(z3.is_true(z3.simplify(z3.substitute(
                z3.And(cond, *[n == m for n, m in zip(new, successor, strict=True)]), *now)))
                   for cond, new in steps.get(inst, [])):
            return False, "a witness edge is not a transition of the Z3 semantics"
    return True, ""
