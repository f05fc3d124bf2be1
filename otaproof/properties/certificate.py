"""The certificate checker: a small, separate re-check of every proof before it is reported
(inductive invariants, one-step recovery and ranking claims for REACH), and the confirmation of
a REACH counterexample's end state on the full model.

A certificate is an invariant ``Inv`` given as SMT-LIB text over the variables ``<name>@c``.
It is accepted only if Z3 shows all three obligations unsatisfiable with a fresh solver:
``Init ∧ ¬Inv``, ``Inv ∧ Trans ∧ ¬Inv'`` and ``Inv ∧ Bad``. Anything else (sat, unknown,
timeout, unparsable text) rejects it, and the engine's verdict becomes Unknown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import z3

from otaproof.model.explicit import Interpreter, compile_expr
from otaproof.model.lang import Expr
from otaproof.model.symbolic import Encoder, Term
from otaproof.model.system import System
from otaproof.properties.formulas import Reach, SafetyTask
from otaproof.properties.solver import Deadline, GaveUp, Solver
from otaproof.properties.verdict import Budget

TAG = "c"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str
    seconds: float


def certificate_text(inv: z3.BoolRef) -> str:
    """SMT-LIB text of an invariant built over ``Encoder.state(TAG)`` variables."""
    return str(inv.sexpr())


def parse_invariant(enc: Encoder, text: str, state: list[Term]) -> z3.BoolRef:
    """Read certificate text with its ``<name>@c`` symbols bound to the given state terms."""
    decls = {f"{v.name}@{TAG}": state[v.index] for v in enc.system.variables}
    parsed = z3.parse_smt2_string(f"(assert {text})", decls=decls, ctx=enc.ctx)
    return z3.And(list(parsed), enc.ctx) if len(parsed) != 1 else parsed[0]


def check_certificate(task: SafetyTask, text: str, timeout: float = 60.0, seed: int = 0,
                      rlimit: int = 0) -> CheckResult:
    """Re-check ``Init ⇒ Inv``, ``Inv ∧ Trans ⇒ Inv'`` and ``Inv ⇒ ¬Bad`` independently."""
    deadline = Deadline(timeout, rlimit)
    enc = Encoder(task.system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    try:
        inv_s = parse_invariant(enc, text, s)
        inv_t = parse_invariant(enc, text, t)
    except z3.Z3Exception as e:
        return CheckResult(False, f"certificate does not parse: {e}", deadline.elapsed())
    obligations = (
        ("Init => Inv", z3.And(enc.init(s), z3.Not(inv_s))),
        ("Inv & Trans => Inv'", z3.And(inv_s, enc.domain(s), enc.trans(s, a, t), z3.Not(inv_t))),
        ("Inv => P", z3.And(inv_s, enc.domain(s), enc.expr(task.bad, s))),
    )
    return _discharge(obligations, seed, deadline, "all three obligations hold")


DEFERRED = CheckResult(False, "left to the caller's independent re-check", 0.0)


def engine_check(task: SafetyTask, text: str, budget: Budget, deadline: Deadline, rechecked: bool) -> CheckResult:
    """An engine's check of its invariant certificate before it reports a proof: ``GaveUp`` if
    the checker rejects it. ``rechecked``: the caller solves the same three obligations from
    files in a fresh Z3 process (the stronger check), so the engine does not check them first."""
    if rechecked:
        return DEFERRED
    checked = check_certificate(task, text, timeout=deadline.remaining(), seed=budget.seed, rlimit=budget.rlimit)
    if not checked.ok:
        raise GaveUp(f"certificate rejected by the checker: {checked.reason}")
    return checked


def check_recovery_certificate(system: System, target: Expr, legitimate: frozenset[int], timeout: float = 60.0,
                               seed: int = 0, rlimit: int = 0) -> CheckResult:
    """Re-check a one-step recovery claim with the monolithic transition relation: no
    type-correct state off ``target`` has every legitimate step (some instance, some successor)
    miss the target. The successor is universally quantified, so this does not rely on the
    per-branch step encoding the engine used."""
    deadline = Deadline(timeout, rlimit)
    enc = Encoder(system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    legit = z3.Or([a == i for i in sorted(legitimate)]) if legitimate else z3.BoolVal(False)
    no_step_recovers = z3.ForAll([a, *t], z3.Implies(z3.And(legit, enc.trans(s, a, t)), z3.Not(enc.expr(target, t))))
    solver = Solver(seed, deadline)
    solver.add(enc.domain(s), z3.Not(enc.expr(target, s)), no_step_recovers)
    r = solver.check()
    if r == z3.unsat:
        return CheckResult(True, "every state off the target has a legitimate step into it", deadline.elapsed())
    if r == z3.sat:
        return CheckResult(False, "a state off the target has no legitimate step into it", deadline.elapsed())
    return CheckResult(False, f"undecided: {solver.reason_unknown()}", deadline.elapsed())


RANKING_HEAD = "(ranking"  # a ranking certificate: this line, the rank term, then ")"
RANK = "rank@c"  # the rank term's value, when the certificate is parsed


def ranking_text(system: System, distance: dict[tuple[int, ...], int]) -> str:
    """A ranking certificate: each state's legitimate distance to the target as one bit-vector
    term over ``<name>@c``, a decision diagram on the variables (shared subterms printed once,
    as ``let``s); every other state has the largest value of its width (all ones), "not reachable"."""
    enc = Encoder(system)
    c = enc.state(TAG)
    width = (max(distance.values(), default=0) + 1).bit_length()  # all ones stays free: "not reachable"
    none = z3.BitVecVal((1 << width) - 1, width)
    memo: dict[tuple[int, frozenset[tuple[tuple[int, ...], int]]], z3.BitVecRef] = {}

    def node(i: int, rows: frozenset[tuple[tuple[int, ...], int]]) -> z3.BitVecRef:
        if i == len(system.variables):
            [(_, d)] = rows
            return z3.BitVecVal(d, width)
        key = (i, rows)
        if key not in memo:
            v = system.variables[i]
            by_value: dict[int, set[tuple[tuple[int, ...], int]]] = {}
            for suffix, d in rows:
                by_value.setdefault(suffix[0], set()).add((suffix[1:], d))
            term: z3.BitVecRef = none
            for value in sorted(by_value, reverse=True):
                term = z3.If(c[i] == enc.value(v, value), node(i + 1, frozenset(by_value[value])), term)
            memo[key] = term
        return memo[key]

    term = node(0, frozenset(distance.items())) if distance else none
    return "\n".join([RANKING_HEAD, " ".join(term.sexpr().split()), ")"])


def check_ranking_certificate(system: System, target: Expr, legitimate: frozenset[int], text: str,
                              timeout: float = 60.0, seed: int = 0, rlimit: int = 0) -> CheckResult:
    """Re-check a ranking certificate for AG EF ``target`` (legitimate steps ``legitimate``):
    with ``rank`` its term and R the states whose rank is not all ones, Z3 shows
    unsatisfiable ``Init ∧ ¬R``, ``R ∧ Trans ∧ ¬R'`` (every step, attacker's too, stays in R),
    ``rank = 0 ∧ ¬target``, and a state of R off the target with no legitimate step (instance,
    branch) to a lower rank. So every reachable state reaches the target along legitimate steps."""
    deadline = Deadline(timeout, rlimit)
    lines = text.strip().splitlines()
    if len(lines) != 3 or lines[0] != RANKING_HEAD or lines[-1] != ")":
        return CheckResult(False, "not a ranking certificate", deadline.elapsed())
    enc = Encoder(system)
    s, a, t = enc.state(TAG), enc.action(TAG), enc.state("next")
    try:
        rank = _parse_rank(enc, lines[1], s)
    except (z3.Z3Exception, ValueError) as e:
        return CheckResult(False, f"certificate does not parse: {e}", deadline.elapsed())
    bottom = z3.BitVecVal((1 << rank.size()) - 1, rank.size())

    def in_r(term: z3.BitVecRef) -> z3.BoolRef:
        return term != bottom

    after = z3.substitute(rank, *zip(s, t, strict=True))
    down = [z3.And(cond, z3.ULT(z3.substitute(rank, *zip(s, new, strict=True)), rank))
            for inst, _, cond, new in enc.steps(s) if inst in legitimate]
    obligations = (
        ("Init => R", z3.And(enc.init(s), z3.Not(in_r(rank)))),
        ("R & Trans => R'", z3.And(in_r(rank), enc.domain(s), enc.trans(s, a, t), z3.Not(in_r(after)))),
        ("rank 0 => target", z3.And(rank == 0, enc.domain(s), z3.Not(enc.expr(target, s)))),
        ("a legitimate step lowers the rank", z3.And(in_r(rank), enc.domain(s), z3.Not(enc.expr(target, s)),
                                                     *[z3.Not(x) for x in down])),
    )
    return _discharge(obligations, seed, deadline, "all four obligations hold")


def _parse_rank(enc: Encoder, text: str, state: list[Term]) -> z3.BitVecRef:
    """The rank term of a ranking certificate, over ``state``."""
    decls: dict[str, z3.AstRef] = {f"{v.name}@{TAG}": state[v.index] for v in enc.system.variables}
    for width in range(1, 33):
        decls[RANK] = z3.BitVec(RANK, width)
        try:
            [eq] = z3.parse_smt2_string(f"(assert (= |{RANK}| {text}))", decls=decls)
        except z3.Z3Exception:
            continue
        return eq.arg(1)
    raise ValueError("the rank is not a bit-vector term of at most 32 bits")


def confirm_stranded(system: System, formula: Reach, choices: Sequence[int], budget: Budget) -> str | None:
    """Confirm a REACH counterexample on the full model, independently of the engine that found
    it: ``choices`` replay from the initial state, and an explicit search of every legitimate
    step from the end state (up to ``budget.max_states`` states) never meets the target.
    None if confirmed, else why not. A step outside its variable's domain is a ``ModelError``."""
    interp = Interpreter(system)
    state = interp.initial_state()
    for n, c in enumerate(choices):
        if not 0 <= c < len(system.instances) or interp.branch_taken(state, c) is None:
            return f"step {n + 1} is not enabled"
        state = interp.step(state, c)
    target = compile_expr(formula.target)
    legit = sorted(formula.legitimate_instances(system))
    seen, queue = {state}, deque([state])
    while queue:
        s = queue.popleft()
        if target(s, s, -1):
            return f"a legitimate path of the full model reaches {formula.subject}"
        for _, u in interp.successors(s, legit):
            if u not in seen:
                if len(seen) >= budget.max_states:
                    return f"the legitimate closure of the end state exceeds {budget.max_states} states"
                seen.add(u)
                queue.append(u)
    return None


def _discharge(obligations: tuple[tuple[str, z3.BoolRef], ...], seed: int, deadline: Deadline,
               accepted: str) -> CheckResult:
    """Each obligation (a claim's negation) with a fresh solver: accepted only if every one is
    unsat; the first sat or undecided one is named."""
    for name, query in obligations:
        if deadline.expired():
            return CheckResult(False, f"obligation {name} undecided: out of time", deadline.elapsed())
        solver = Solver(seed, deadline)
        solver.add(query)
        r = solver.check()
        if r == z3.sat:
            return CheckResult(False, f"obligation {name} fails", deadline.elapsed())
        if r != z3.unsat:
            return CheckResult(False, f"obligation {name} undecided: {solver.reason_unknown()}", deadline.elapsed())
    return CheckResult(True, accepted, deadline.elapsed())
