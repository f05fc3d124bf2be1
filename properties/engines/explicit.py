"""Explicit-state breadth-first search over the state graph (networkx), for small instances.

Safety: BFS finds a shortest counterexample; when the search completes, the reachable set is the
certificate (re-checked by Z3 as a disjunction of states, so only for small graphs).
REACH (AG EF target over legitimate actions): every reachable state must reach ``target`` along
legitimate edges; a violation is a shortest path to a state that cannot; a proof carries a
ranking (distance to the target) whose every witness edge is re-checked in the Z3 semantics.
"""

from __future__ import annotations

from collections import deque

import networkx as nx
import z3

from model.explicit import Interpreter, State
from model.lang import Expr
from model.slicing import cone_of_influence
from model.symbolic import Encoder
from model.system import System
from properties.certificate import TAG, check_certificate
from properties.engines import Deadline, Problem, violated_or_unknown
from properties.formulas import Reach, SafetyTask
from properties.trace import ReplayError, make_trace
from properties.verdict import Budget, Certificate, Proved, Unknown, Verdict, Violated

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
        from model.explicit import compile_expr

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
    return [graph.edges[a, b]["instance"] for a, b in zip(path, path[1:])]


def check(problem: Problem, budget: Budget) -> Verdict:
    deadline = Deadline(budget)
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    graph, init, bad_state, cut = explore(sliced.system, budget, deadline, sliced.predicate)
    if bad_state is not None:
        choices = [sliced.original_instance[c] for c in _path_choices(graph, init, bad_state)]
        return violated_or_unknown(problem, "explicit", choices, deadline)
    if cut:
        return Unknown("explicit", deadline.elapsed(), cut)
    n = graph.number_of_nodes()
    if n > CERTIFICATE_STATES:
        return Unknown("explicit", deadline.elapsed(), f"all {n} reachable states are safe, but a certificate "
                                                       f"of more than {CERTIFICATE_STATES} states is not re-checked")
    task = SafetyTask(sliced.system, sliced.predicate)
    enc = Encoder(task.system)
    c = enc.state(TAG)
    text = z3.Or([enc.state_equals(c, s) for s in graph.nodes]).sexpr()
    checked = check_certificate(task, text, timeout=deadline.remaining(), seed=budget.seed)
    if not checked.ok:
        return Unknown("explicit", deadline.elapsed(), f"certificate rejected by the checker: {checked.reason}")
    return Proved("explicit", deadline.elapsed(), Certificate("reachable-set", text, n, True, checked.seconds))


def check_reach(system: System, formula: Reach, property_id: str, threats: tuple[str, ...],
                faults: tuple[str, ...], budget: Budget) -> Verdict:
    """AG EF target along actions of ``formula.roles``, on the full explicit state graph."""
    deadline = Deadline(budget)
    graph, init, _, cut = explore(system, budget, deadline)
    if cut:
        return Unknown("explicit", deadline.elapsed(), cut)
    from model.explicit import compile_expr

    target = compile_expr(formula.target)
    legit = {i.index for i in system.instances if i.role in formula.roles}
    back = nx.DiGraph()
    back.add_nodes_from(graph.nodes)
    back.add_edges_from((t, s, d) for s, t, d in graph.edges(data=True) if d["instance"] in legit)
    goals = [s for s in graph.nodes if target(s, s, -1)]
    distance: dict[State, int] = {}
    for g in goals:
        distance[g] = 0
    queue = deque(goals)
    while queue:
        s = queue.popleft()
        for p in back.successors(s):
            if p not in distance:
                distance[p] = distance[s] + 1
                queue.append(p)
    stranded = [s for s in graph.nodes if s not in distance]
    if stranded:
        lengths = nx.single_source_shortest_path_length(graph, init)
        worst = min(stranded, key=lambda s: (lengths[s], s))
        choices = _path_choices(graph, init, worst)
        try:  # the end state's stranding was established by the backward search above
            trace = make_trace(system, None, choices, property_id, threats, faults)
        except ReplayError as e:
            return Unknown("explicit", deadline.elapsed(), f"counterexample did not replay: {e}")
        return Violated("explicit", deadline.elapsed(), trace)
    ok, why = _check_ranking(system, graph, distance, legit)
    if not ok:
        return Unknown("explicit", deadline.elapsed(), f"ranking certificate rejected: {why}")
    size = graph.number_of_nodes()
    return Proved("explicit", deadline.elapsed(), Certificate("reachable-set", f"ranking over {size} states",
                                                              size, True, 0.0))


def _check_ranking(system: System, graph: nx.DiGraph, distance: dict[State, int],
                   legit: set[int]) -> tuple[bool, str]:
    """Independent re-check: the state set is closed under the explicit successors, and from
    every state a legitimate edge, confirmed in the Z3 semantics, lowers the distance."""
    interp = Interpreter(system)
    enc = Encoder(system)
    s_vars, a_var, t_vars = enc.state("r"), enc.action("r"), enc.state("r'")
    trans = enc.trans(s_vars, a_var, t_vars)
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
        subst = [(x, enc.value(v, s[v.index])) for x, v in zip(s_vars, system.variables)]
        subst += [(x, enc.value(v, t[v.index])) for x, v in zip(t_vars, system.variables)]
        subst.append((a_var, z3.BitVecVal(inst, enc.action_width)))
        if not z3.is_true(z3.simplify(z3.substitute(trans, *subst))):
            return False, "a witness edge is not a transition of the Z3 semantics"
    return True, ""
