"""Incremental bounded model checking: minimal-depth counterexamples, never proofs.

Each search runs in a Z3 context of its own. Z3's choice among several counterexamples of the
same depth depends on every term the context has seen, so in the shared context the trace a
worker found depended on which jobs that worker had run before; in a fresh context it depends on
the question alone (and the seed), whichever process, schedule or load.

The unrolling is pure bit-vector logic, so it goes to Z3's SAT-based QF_BV solver (bit-blasted,
incremental under assumptions): at depth 8-9 with four devices per hub its queries take 0.5 s
where the default SMT core took 8-9 s (benchmarks/devices.py, benchmarks/spin.py).

The model's step is the obligation files' printed text parsed into that context
(``smtlib.parsed_step``): eight times faster to build than through Z3's Python API (a probe of
the default check spent 0.45 s building it), and safe to share with the re-check's printer
because BMC only finds traces, each replayed in the explicit semantics before it is reported."""

from __future__ import annotations

from collections.abc import Callable

import z3

from otaproof.model.slicing import Slice, cone_of_influence
from otaproof.model.symbolic import Encoder, Term
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.engines.strengthen import NONE, Strengthening
from otaproof.properties.smtlib import parsed_conjunction, parsed_step
from otaproof.properties.solver import Deadline, GaveUp, Solver, Unrolling
from otaproof.properties.verdict import Budget, Verdict


@engine("bmc")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """Unroll one step at a time; at each depth ask for a bad state under a fresh assumption."""
    return counterexample(problem, "bmc", find_counterexample(problem, budget, deadline), deadline)


def _projected(problem: Problem, sliced: Slice) -> Strengthening:
    """The model's known inductive lemmas that the slice can express. They hold in every
    reachable state, so adding them to the unrolling removes no real path; it prunes the search."""
    if problem.known is None:
        return NONE
    known = zip(problem.known.names, problem.known.exprs, strict=False)  # reused clauses have names, no exprs
    pairs = [(n, e) for n, x in known if (e := sliced.project(x)) is not None]
    return Strengthening(tuple(n for n, _ in pairs), tuple(e for _, e in pairs))


def printed_lemmas(enc: Encoder, lemmas: Strengthening) -> Callable[[list[Term]], z3.BoolRef]:
    """The lemmas over a given state, printed and parsed once into the encoder's context (for
    the reason the step is: 0.1 s of Python-built terms per probe on the default model), then
    substituted per state. Reused clauses (SMT-LIB text) join as ``Strengthening.at`` reads them."""
    template = enc.state("§lemma")
    printed = parsed_conjunction(enc, lemmas.exprs, template) if lemmas.exprs else z3.BoolVal(True, enc.ctx)
    if lemmas.texts:
        printed = z3.And(printed, Strengthening((), (), lemmas.texts).at(enc, template), enc.ctx)
    return lambda state: z3.substitute(printed, *zip(template, state, strict=True))


def lifted(problem: Problem, sliced: Slice, choices: list[int]) -> list[int]:
    """A slice's counterexample as a run of the full system (``Slice.lift``); ``GaveUp`` if a
    stutter step of the slice has no dropped instance enabled to stand for it."""
    run = sliced.lift(problem.task.system, choices)
    if run is None:
        raise GaveUp(f"the slice's counterexample of depth {len(choices)} stutters where the full model has no "
                     "step outside the cone")
    return run


def find_counterexample(problem: Problem, budget: Budget, deadline: Deadline, shallowest: int = 0) -> list[int]:
    """Original-system action choices of a shortest counterexample; ``GaveUp`` says why none
    was found.

    Works on the cone-of-influence slice; the choices are mapped back to the full system.
    Depths below ``shallowest`` are unrolled but not queried (another engine, the explicit
    enumeration, already showed that no bad state is that close).
    """
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    # a context of its own (see the module docstring), the model's step printed and parsed
    enc = Encoder(sliced.system, ctx=z3.Context(), model_step=parsed_step)
    lemmas = printed_lemmas(enc, _projected(problem, sliced))
    path = Unrolling(enc, Solver(budget.seed, deadline, logic="QF_BV", ctx=enc.ctx))
    path.solver.add(enc.init(path.last))
    for k in range(budget.depth + 1):
        if k > 0:
            path.step(lemmas)
        goal = z3.Bool(f"bad@{k}", enc.ctx)
        path.solver.add(z3.Implies(goal, enc.expr(sliced.predicate, path.states[k])))
        if k < shallowest:
            continue
        if deadline.expired():
            raise GaveUp(f"{deadline.why()} after depth {k - 1} without a counterexample")
        result = path.solver.check(goal)
        if result == z3.sat:
            return lifted(problem, sliced, path.choices(path.solver.model()))
        if result == z3.unknown:
            raise GaveUp(f"no counterexample up to depth {k - 1}; solver stopped at depth {k}: "
                         f"{path.solver.reason_unknown()}")
    raise GaveUp(f"no counterexample up to depth {budget.depth} (a bounded check, not a proof)", budget.depth)
