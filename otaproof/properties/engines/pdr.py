"""PDR/IC3 through Z3's Spacer (Constrained Horn Clauses over the cone-of-influence slice).

First the model's candidate lemmas are filtered to their inductive subset H (Houdini, see
``strengthen.py``). If H ∧ P is already inductive that is the proof; otherwise Spacer solves the
Horn clauses with H assumed on both sides of each transition (sound: H holds in every reachable
state) and the certificate is H ∧ Inv. Either way the certificate is re-checked before it is
reported. Unsafe: Spacer's answer is not a trace, so BMC re-derives a shortest counterexample.
"""

from __future__ import annotations

import dataclasses

import z3

from otaproof.model.lang import BoolSort, Expr
from otaproof.model.slicing import Slice, cone_of_influence, reads
from otaproof.model.symbolic import Encoder
from otaproof.model.system import Instance
from otaproof.properties.certificate import TAG, certificate_text, engine_check
from otaproof.properties.engines import bmc
from otaproof.properties.engines.generalise import block_ctis
from otaproof.properties.engines.problem import Problem, counterexample, engine
from otaproof.properties.engines.strengthen import (
    NONE,
    Reused,
    Strengthening,
    inductive_lemmas,
    inductive_subset,
    inductive_subset_and_step,
)
from otaproof.properties.formulas import SafetyTask
from otaproof.properties.solver import Deadline, GaveUp, Solver, spacer, spacer_query
from otaproof.properties.templates import family
from otaproof.properties.verdict import Budget, Certificate, CertificateKind, Proved, Verdict

CTI = "cti"  # the lemma proof with the search for clauses, as a racing engine (``check_by_ctis``)


def relatively_inductive(task: SafetyTask, helper: Strengthening, budget: Budget, deadline: Deadline,
                         row: Strengthening = NONE) -> z3.BoolRef | None:
    """``H ∧ ¬Bad`` over ``<name>@c`` if it is inductive (one query), else None; H is ``row`` ∧
    ``helper``. ``row``: the row's model lemmas (expressions over the model's variables); the
    query then goes to this process's solver for the row (``_RowStep``), with only what is the
    part's own under a literal."""
    enc = Encoder(task.system)
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    claim = [helper.at(enc, s), enc.domain(s), z3.Not(enc.expr(task.bad, s)), enc.expr(task.bad, t)]
    if row.names and not row.texts:
        answer = _RowStep.of(enc, row, budget.seed, deadline).ask(enc.monitor_updates(s, a, t) + claim)
    else:
        solver = Solver(budget.seed, deadline)
        solver.add(row.at(enc, s), enc.trans(s, a, t), *claim)
        answer = solver.check()
    if answer != z3.unsat:
        return None
    return z3.Not(enc.expr(task.bad, enc.state(TAG)))


class _RowStep:
    """One incremental solver per process for the relative-induction queries of a row's parts:
    the row's model lemmas in the pre-state and the model's step without monitors asserted once,
    each query's own constraints (its monitors' updates, lemmas, ¬Bad, Bad′) under a fresh
    literal. A fresh solver with the 293 lemmas of the default model cost about 0.08 s per part."""

    latest: _RowStep | None = None  # a process checks one row at a time

    def __init__(self, enc: Encoder, shared: Strengthening, seed: int, deadline: Deadline) -> None:
        self.instances, self.names, self.seed = enc.system.instances, shared.names, seed
        self.solver = Solver(seed, deadline)
        s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
        self.solver.add(shared.at(enc, s), enc.trans(s, a, t, monitors=False))
        self.queries = 0

    @classmethod
    def of(cls, enc: Encoder, shared: Strengthening, seed: int, deadline: Deadline) -> _RowStep:
        """This process's solver for the model of ``enc`` and these lemmas (a new one for another row)."""
        row = cls.latest
        if row is None or row.instances is not enc.system.instances or row.names != shared.names or row.seed != seed:
            row = cls.latest = cls(enc, shared, seed, deadline)
        row.solver.deadline = deadline
        return row

    def ask(self, constraints: list[z3.BoolRef]) -> z3.CheckSatResult:
        self.queries += 1
        literal = z3.Bool(f"relative induction #{self.queries}")
        self.solver.add(z3.Implies(literal, z3.And(constraints)))
        answer = self.solver.check(literal)
        self.solver.add(z3.Not(literal))
        return answer


def solve_invariant(task: SafetyTask, budget: Budget, deadline: Deadline, helper: Strengthening = NONE
                    ) -> z3.BoolRef | None:
    """An invariant over ``<name>@c`` that is inductive together with ``helper`` (safe), or None
    (unsafe); ``GaveUp`` says why Spacer gave up."""
    enc = Encoder(task.system)
    sorts = [z3.BoolSort() if isinstance(v.sort, BoolSort) else z3.BitVecSort(v.sort.width)
             for v in task.system.variables]
    inv = z3.Function("Inv", *sorts, z3.BoolSort())
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    fp = spacer(budget.seed, deadline)
    fp.register_relation(inv)
    fp.declare_var(*s, a, *t)
    fp.rule(inv(*s), enc.init(s))
    fp.rule(inv(*t), [inv(*s), helper.at(enc, s), enc.trans(s, a, t), helper.at(enc, t)])
    try:
        result = spacer_query(fp, deadline, z3.And(inv(*s), helper.at(enc, s), enc.expr(task.bad, s)))
    except z3.Z3Exception as e:  # Spacer reports its timeout as an exception ("canceled")
        raise GaveUp(f"Spacer stopped: {deadline.why() if deadline.expired() else e}") from None
    if result == z3.sat:
        return None
    if result != z3.unsat:
        raise GaveUp(f"Spacer gave up: {deadline.why() if deadline.expired() else fp.reason_unknown()}")
    answer = fp.get_answer()  # ForAll(args, Inv(args) == body), body over de Bruijn indices
    body = answer.body().arg(1) if z3.is_quantifier(answer) else answer
    return z3.substitute_vars(body, *reversed(enc.state(TAG)))


@engine("lemmas")
def check_by_lemmas(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """The cheap half of ``check``: a proof only if the inductive lemmas make P inductive
    (Houdini plus one query; no Spacer). The portfolio tries it first on every property."""
    return _by_lemmas("lemmas", problem, budget, deadline)


@engine(CTI)
def check_by_ctis(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """The lemma proof with clauses learned from counterexamples to induction: a racer beside
    BMC and PDR on a part with generated candidates only, so that a search that ends in a chain
    of predecessors holds up no other part's first stage."""
    return _by_lemmas(CTI, dataclasses.replace(problem, generalise=True), budget, deadline)


def _by_lemmas(name: str, problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    base = problem.known  # the portfolio proved the model's lemmas once for all properties
    solved: z3.BoolRef | None
    if base is not None and problem.reused is None and _own(problem.task):
        task = problem.task  # its own lemmas and the relative induction on one solver
        local, inductive = inductive_subset_and_step(task.system, _own(task), deadline, budget.seed, base, task.bad)
        helper = base + local
        enc = Encoder(task.system)
        solved = z3.Not(enc.expr(task.bad, enc.state(TAG))) if inductive else None
    else:
        if base is not None:
            task = problem.task
            local = _own_lemmas(problem, base, deadline, budget.seed)
            helper = base + local
        else:
            task, helper = _sliced_with_lemmas(problem, deadline, budget.seed, problem.reused)
            local = helper
        solved = relatively_inductive(task, local, budget, deadline, base or NONE)
    if solved is None and problem.generalise and generalises(problem.task):
        # generated candidates only (--no-design-lemmas): counterexamples to induction become clauses
        try:
            learned = block_ctis(task, helper, budget.seed, deadline)
        except GaveUp as e:
            raise GaveUp(f"the {len(helper.names)} inductive lemmas do not make it inductive; {e.reason}") from None
        helper, local = helper + learned, local + learned
        solved = relatively_inductive(task, local, budget, deadline, base or NONE)
    if solved is None:
        raise GaveUp(f"the {len(helper.names)} inductive lemmas do not make it inductive")
    if base is None:
        return _certified(name, task, helper, solved, budget, deadline, problem.rechecked)
    return _certified(name, task, local, solved, budget, deadline, problem.rechecked, base)


def _sliced_with_lemmas(problem: Problem, deadline: Deadline, seed: int, reused: Reused | None = None
                        ) -> tuple[SafetyTask, Strengthening]:
    """The property's cone-of-influence slice and the inductive subset of the lemmas it can express."""
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    return SafetyTask(sliced.system, sliced.predicate), inductive_lemmas(sliced, problem.task.lemmas, deadline, seed,
                                                                         reused)


def generalises(task: SafetyTask) -> bool:
    """The lemma stage learns clauses from counterexamples to induction for this task: its
    candidates are generated ones only (hand-written model lemmas, neither generated from the
    model's structure nor the property's own, need no learned clauses)."""
    return not any(not family(lm.name) and not _reads_monitor(task, lm.expr) for lm in task.lemmas)


def _reads_monitor(task: SafetyTask, e: Expr) -> bool:
    """A property's own lemma (about its monitors), as opposed to a model lemma."""
    return any(task.system.variables[i].owner == "monitor" for i in reads(e))


@engine("pdr")
def check(problem: Problem, budget: Budget, deadline: Deadline) -> Verdict:
    """The lemmas alone if they make P inductive, else Spacer with them; a violation is
    re-derived by BMC (Spacer's answer is not a trace)."""
    if problem.known is not None:
        task, helper, local, base = _sliced_with_known(problem, problem.known, deadline, budget.seed)
    else:
        (task, helper), base = _sliced_with_lemmas(problem, deadline, budget.seed), NONE
        local = helper
    solved = relatively_inductive(task, helper, budget, deadline)
    if solved is None:
        solved = solve_invariant(task, budget, deadline, helper)
    if solved is None:
        try:
            found = bmc.find_counterexample(problem, budget, deadline)
        except GaveUp as e:
            raise GaveUp(f"Spacer reports a violation; BMC found no trace: {e.reason}") from None
        return counterexample(problem, "pdr", found, deadline)
    return _certified("pdr", task, local, solved, budget, deadline, problem.rechecked, base,
                      problem.task if base.names else None)


def _sliced_with_known(problem: Problem, known: Strengthening, deadline: Deadline, seed: int
                       ) -> tuple[SafetyTask, Strengthening, Strengthening, Strengthening]:
    """(the property's cone-of-influence slice, its helper lemmas, the property's own ones among
    them, the certificate's base), with the row's proved model lemmas instead of a Houdini run on
    the slice: those the slice can express hold in every reachable state, so Spacer may assume
    them on both sides of a step, and the certificate carries all of them as its base (their
    base-step obligation makes them inductive). The Houdini run they replace took 19 s of a 42 s
    proof of P-SMI on a design change under message loss."""
    sliced = cone_of_influence(problem.task.system, problem.task.bad)
    found = _on_slice(problem, known, sliced, deadline, seed)
    if found is None:  # an own lemma outside the slice: Houdini on the slice
        sliced_task, helper = _sliced_with_lemmas(problem, deadline, seed, problem.reused)
        return sliced_task, helper, helper, NONE
    inside, mine = found
    return SafetyTask(sliced.system, sliced.predicate), inside + mine, mine, known


def _on_slice(problem: Problem, known: Strengthening, sliced: Slice, deadline: Deadline, seed: int
              ) -> tuple[Strengthening, Strengthening] | None:
    """The row's proved lemmas and the property's own ones inductive beside them, over the
    slice's variables; None when one of the property's own reads outside the slice."""
    local = _own_lemmas(problem, known, deadline, seed)
    mine = _projected(sliced, local)
    if local.texts or len(mine.names) < len(local.names):
        return None
    return _projected(sliced, known), mine


def _own_lemmas(problem: Problem, known: Strengthening, deadline: Deadline, seed: int) -> Strengthening:
    """The property's own lemmas (about its monitors) inductive beside the row's proved ones (and
    the clauses of a reused proof: with those, step by step from 100 on, as other candidates;
    at once they took 2-3 times the Z3 units on the matrix's threat rows)."""
    return inductive_subset(problem.task.system, _own(problem.task), deadline, seed, known, problem.reused,
                            at_once=problem.reused is None)


def _own(task: SafetyTask) -> list[tuple[str, Expr]]:
    """The task's own lemma candidates (about its monitors)."""
    return [(lm.name, lm.expr) for lm in task.lemmas if _reads_monitor(task, lm.expr)]


def slice_lemmas(problem: Problem, sliced: Slice, deadline: Deadline, seed: int) -> Strengthening:
    """Lemmas true in every reachable state of the slice, for a search that assumes them (the
    tail engine): the row's proved ones and the property's own, projected, when the row has
    them (Houdini on the slice took 12 of the tail engine's 22 s on geo-local-daily-alert
    under han_mitm); Houdini on the slice otherwise."""
    found = None if problem.known is None else _on_slice(problem, problem.known, sliced, deadline, seed)
    if found is None:
        return inductive_lemmas(sliced, problem.task.lemmas, deadline, seed)
    return found[0] + found[1]


def _projected(sliced: Slice, lemmas: Strengthening) -> Strengthening:
    """The lemmas the slice can express, over its variables."""
    kept = [(name, e) for name, expr in zip(lemmas.names, lemmas.exprs, strict=True)
            if (e := sliced.project(expr)) is not None]
    return Strengthening(tuple(n for n, _ in kept), tuple(e for _, e in kept))


_BASE_TEXTS: dict[tuple[tuple[str, ...], int], tuple[tuple[Instance, ...], str]] = {}  # the latest row's


def _base_text(enc: Encoder, base: Strengthening) -> str:
    """The row's lemmas as certificate text, printed once per process and row (the same for
    every proof of the row; 293 lemmas of the default model took 0.03 s to print per proof)."""
    key = (base.names, id(enc.system.instances))
    hit = _BASE_TEXTS.get(key)
    if hit is None or hit[0] is not enc.system.instances:
        _BASE_TEXTS.clear()
        hit = _BASE_TEXTS[key] = (enc.system.instances, certificate_text(base.at(enc, enc.state(TAG))))
    return hit[1]


def _certified(engine_name: str, task: SafetyTask, helper: Strengthening, solved: z3.BoolRef, budget: Budget,
               deadline: Deadline, rechecked: bool, base: Strengthening = NONE, whole: SafetyTask | None = None
               ) -> Verdict:
    """Proved with certificate base ∧ H ∧ solved, if the checker accepts it (or, ``rechecked``,
    once the caller's independent re-check does); otherwise ``GaveUp``. ``base``: lemmas
    inductive on the model alone (the row's shared ones), kept apart in the certificate so that
    their one obligation is the same file for every proof of the row (``Certificate.base``).
    ``whole``: the unsliced task when ``task`` is a slice (the base names variables outside it)."""
    enc = Encoder(task.system)
    text = certificate_text(z3.And(helper.at(enc, enc.state(TAG)), solved))
    shared = _base_text(Encoder(whole.system) if whole is not None else enc, base) if base.names else ""
    cert = Certificate(CertificateKind.INDUCTIVE_INVARIANT, text, len(solved.children()) if z3.is_and(solved) else 1,
                       lemmas=base.names + helper.names, base=shared)
    checked = engine_check(whole or task, cert.invariant, budget, deadline, rechecked)
    return Proved(engine_name, deadline.elapsed(),
                  dataclasses.replace(cert, checked=checked.ok, check_seconds=checked.seconds))
