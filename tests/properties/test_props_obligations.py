"""Standalone certificate obligations: the SMT-LIB printer means what the Z3 encoder and the
explicit interpreter mean; every certificate kind gets files that a fresh Z3 and a fresh cvc5
accept when the certificate is sound and reject, naming the obligation, when it is corrupted;
a proof that only holds on a cone-of-influence slice is caught on the full model."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
from pathlib import Path

import pytest
import z3

from otaproof.cli import EXIT_BAD_INPUT, main
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.explicit import Interpreter, State
from otaproof.model.lang import BOOL, Const, EnumSort, IntSort, ModelError, Next, SetSort, ite, lookup, select
from otaproof.model.slicing import cone_of_influence
from otaproof.model.symbolic import Encoder
from otaproof.model.system import (
    MonitorUpdate,
    System,
    SystemBuilder,
    assign,
    case,
    monitor_var,
    otherwise,
    outcome,
)
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.certificate import TAG, check_certificate, parse_invariant
from otaproof.properties.check import Outcome, parts, run_engine
from otaproof.properties.engines import explicit, kind, pdr, recovery
from otaproof.properties.engines.problem import Problem
from otaproof.properties.engines.strengthen import model_lemmas
from otaproof.properties.formulas import Invariant, Reach, SafetyTask, StepInvariant, to_safety
from otaproof.properties.obligations import (
    CertificateError,
    NotCovered,
    Obligation,
    invariant_obligations,
    obligations,
    recovery_obligation,
    safety_parts,
)
from otaproof.properties.recheck import (
    ACCEPTED,
    REJECTED,
    UNDECIDED,
    Limits,
    SolverRun,
    recheck_obligations,
    run_solver,
    run_z3_files,
    z3_executable,
)
from otaproof.properties.recheck import recheck_verdicts as recheck
from otaproof.properties.smtlib import (
    ACTION,
    POST,
    PRE,
    Printer,
    conj,
    parsed_conjunction,
    parsed_step,
    term_symbols,
)
from otaproof.properties.solver import Deadline
from otaproof.properties.verdict import Budget, Certificate, Proved, Unknown, Violated

SOLVERS = ("z3", "cvc5")
BUDGET = Budget(timeout=300, depth=6)


# ---- small models ---------------------------------------------------------------------------------

COLOUR = EnumSort("Colour", ("red", "green", "blue"))


def zoo() -> System:
    """Every expression node, an int range not starting at 0, branches whose value can leave the
    domain (Z3: the action is then disabled), and monitors reading the post-state and the action."""
    b = SystemBuilder("zoo")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 5), 0)
    k = m.var("k", IntSort(2, 4), 2)
    c = m.var("c", COLOUR, "red")
    s = m.var("s", SetSort(COLOUR), frozenset())
    f = m.var("f", BOOL, False)
    m.action("inc", lambda: case(n < 5, outcome("low", n < 2, assign(n, n + 2), assign(s, s.with_added(c))),
                                 otherwise("high", assign(n, n + 1))))
    m.action("wrap", lambda: case(True, outcome("over", f, assign(n, n + k)), otherwise("flip", assign(f, ~f))))
    m.action("paint", lambda col: case(~s.contains(col), assign(c, col), assign(s, s.with_added(col))),
             params={"col": COLOUR.values})
    m.action("erase", lambda: case(s.contains(c), assign(s, s.with_removed(c)), assign(k, ite(f, 4, k))))
    m.action("look", lambda: case(True, assign(f, lookup(c, {"red": True, "green": False, "blue": True}, BOOL)),
                                  assign(n, select([n, k, Const(IntSort(0, 1), 1)], c))))
    m.action("dec", lambda: case(n >= 1, assign(n, n - 1), assign(k, select([k, Const(IntSort(0, 3), 3)], f))))
    base = b.build()
    count, moved = monitor_var("monitor.incs", IntSort(0, 3), 0), monitor_var("monitor.moved", BOOL, False)
    incs = base.fired("inc")
    return base.with_monitor([MonitorUpdate(count, ite(incs, ite(count < 3, count + 1, count), count)),
                              MonitorUpdate(moved, Next(n) != n)])


def shift() -> tuple[System, SafetyTask]:
    """``a := b`` with b constant 0: ``a == 0`` is 2-inductive, not 1-inductive."""
    b = SystemBuilder("shift")
    m = b.machine("M")
    a, c = m.var("a", IntSort(0, 1), 0), m.var("b", IntSort(0, 1), 0)
    m.action("shift", lambda: case(True, assign(a, c)))
    system = b.build()
    return system, to_safety(system, Invariant(a == 0))


def stutter() -> tuple[System, SafetyTask]:
    """"Every step toggles x" is false (``other`` leaves x alone), but the cone of influence of
    the step monitor drops ``other``, whose steps only stutter on x: the slice proves it."""
    b = SystemBuilder("stutter")
    m = b.machine("M")
    x, y = m.var("x", BOOL, False), m.var("y", BOOL, False)
    m.action("toggle", lambda: case(True, assign(x, ~x)))
    m.action("other", lambda: case(True, assign(y, ~y)))
    system = b.build()
    return system, to_safety(system, StepInvariant(Next(x) != x))


def recoverable() -> tuple[System, Reach]:
    """An attacker breaks ``ok``; a legitimate repair restores it from every state."""
    b = SystemBuilder("recoverable")
    m = b.machine("M")
    ok, n = m.var("ok", BOOL, True), m.var("n", IntSort(0, 2), 0)
    m.action("repair", lambda: case(~ok, assign(ok, True), assign(n, ite(n < 2, n + 1, n))))
    m.action("break", lambda: case(ok, assign(ok, False)), role="attacker", threat="han_mitm")
    system = b.build(threats={"han_mitm"})
    return system, Reach(ok == True)  # noqa: E712 - a model expression, not a Python comparison


def write(obligation: Obligation, root: Path) -> Path:
    path = root / obligation.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obligation.text)
    return path


def answers(obs: list[Obligation], root: Path) -> dict[str, dict[str, str]]:
    """Each obligation's answer from each solver, by obligation label."""
    return {ob.label: {s: run_solver(s, write(ob, root), Limits()).answer for s in SOLVERS} for ob in obs}


# ---- the printer means what the encoder and the interpreter mean -----------------------------------


def _relation(system: System) -> tuple[Encoder, list[z3.ExprRef], z3.BitVecRef, list[z3.ExprRef], z3.BoolRef]:
    """The printer's Trans, read back into Z3 over the encoder's own variables."""
    enc = Encoder(system)
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    step = Printer(system).step(PRE, POST)
    decls: dict[str, z3.ExprRef] = {ACTION: a}
    for v in system.variables:
        decls[PRE.of(v)[1:-1]], decls[POST.of(v)[1:-1]] = s[v.index], t[v.index]
    text = "\n".join(step.defs) + f"\n(assert {conj(step.relation(POST))})"
    return enc, s, a, t, z3.And(list(z3.parse_smt2_string(text, decls=decls)))


def _read(system: System, text: str, s: list[z3.ExprRef]) -> z3.BoolRef:
    decls = {PRE.of(v)[1:-1]: s[v.index] for v in system.variables}
    return z3.And(list(z3.parse_smt2_string(f"(assert {text})", decls=decls)))


def _equivalent(a: z3.BoolRef, b: z3.BoolRef) -> None:
    solver = z3.Solver()
    solver.add(a != b)
    assert solver.check() == z3.unsat, f"differ in {solver.model()}"


@pytest.mark.parametrize("which", ["zoo", "secmp0007 with P-SMI-BOUNDED monitors", "all threats and faults"])
def test_printed_trans_init_and_domain_are_the_encoders(which: str) -> None:
    if which == "zoo":
        system, bad = zoo(), None
    elif which.startswith("secmp0007"):
        bm = build(Scenario())
        task = to_safety(bm.system, get_property("P-SMI-BOUNDED").formula(bm))
        system, bad = task.system, task.bad
    else:
        system = build(Scenario(threats=frozenset(THREATS), faults=frozenset(FAULTS),
                                parameters=Parameters(capacity=2))).system
        bad = None
    enc, s, a, t, mine = _relation(system)
    _equivalent(mine, enc.trans(s, a, t))
    printer = Printer(system)
    _equivalent(_read(system, printer.init(PRE), s), enc.init(s))
    _equivalent(_read(system, printer.domain(PRE), s), enc.domain(s))
    if bad is not None:
        _equivalent(_read(system, printer.expr(bad, PRE), s), enc.expr(bad, s))


@pytest.mark.parametrize("which", ["zoo", "secmp0007 P-AUTH slice under han_mitm", "all threats and faults"])
def test_the_parsed_step_and_lemmas_of_the_trace_engines_are_the_encoders(which: str) -> None:
    """BMC and the tail engine build the model's step (and lemmas) from the printer's text
    (``parsed_step``, ``parsed_conjunction``), in a context of their own: the same relation."""
    if which == "zoo":
        system, exprs = zoo(), []
    elif which.startswith("secmp0007"):
        bm = build(Scenario(threats=frozenset({"han_mitm"})))
        task = to_safety(bm.system, get_property("P-AUTH").formula(bm))
        system, exprs = cone_of_influence(task.system, task.bad).system, []
    else:
        bm = build(Scenario(threats=frozenset(THREATS), faults=frozenset(FAULTS)))
        system, exprs = bm.system, [lm.expr for lm in bm.lemmas[:60]]
    ctx = z3.Context()
    built, printed = Encoder(system, ctx=ctx), Encoder(system, ctx=ctx, model_step=parsed_step)
    s, a, t = built.state("s"), built.action("s"), built.state("t")
    solver = z3.Solver(ctx=ctx)
    solver.add(built.trans(s, a, t) != printed.trans(s, a, t))
    assert solver.check() == z3.unsat
    if exprs:
        solver = z3.Solver(ctx=ctx)
        solver.add(z3.And(built.exprs(exprs, s)) != parsed_conjunction(printed, exprs, s))
        assert solver.check() == z3.unsat


def test_a_step_with_its_action_fixed_is_trans_for_that_action() -> None:
    """The one-instance step (used by the recovery claim) is Trans with ``action`` = i."""
    system = zoo()
    enc, s, a, t, mine = _relation(system)
    printer = Printer(system)
    for inst in system.instances:
        step = printer.step(PRE, POST, only=inst.index, prefix="x")
        decls = {PRE.of(v)[1:-1]: s[v.index] for v in system.variables} | \
            {POST.of(v)[1:-1]: t[v.index] for v in system.variables}
        text = "\n".join(step.defs) + f"\n(assert {conj(step.relation(POST))})"
        fixed = z3.And(list(z3.parse_smt2_string(text, decls=decls)))
        _equivalent(fixed, z3.substitute(mine, (a, z3.BitVecVal(inst.index, enc.action_width))))


def _steps(interp: Interpreter, state: State) -> dict[int, State | None]:
    """Each instance's explicit successor, None when it is disabled or assigns outside a domain
    (the Z3 semantics then has no transition by it)."""
    out: dict[int, State | None] = {}
    for inst in interp.system.instances:
        try:
            out[inst.index] = interp.step(state, inst.index)
        except ModelError as e:
            assert "not enabled" in str(e) or "outside its domain" in str(e), e
            out[inst.index] = None
    return out


def _agree(system: System, relation: tuple, states: list[State], disabled: int | None = None) -> int:  # type: ignore[type-arg]
    """For each pre-state: the printed Trans has exactly the explicit steps (every enabled
    instance, and all or ``disabled`` randomly chosen disabled ones). Returns the number of
    (state, instance) pairs checked."""
    enc, s, a, t, mine = relation
    interp, checked, rng = Interpreter(system), 0, random.Random(3)
    eqs: dict[tuple[int, int, int], z3.BoolRef] = {}

    def equal(state_vars: list[z3.ExprRef], state: State) -> list[z3.BoolRef]:
        tag = int(state_vars is t)
        for v, c in zip(system.variables, state, strict=True):
            if (tag, v.index, c) not in eqs:
                eqs[tag, v.index, c] = state_vars[v.index] == enc.value(v, c)
        return [eqs[tag, v.index, c] for v, c in zip(system.variables, state, strict=True)]

    solver = z3.Solver()
    solver.add(mine)
    for state in states:
        solver.push()
        solver.add(*equal(s, state))
        steps = _steps(interp, state)
        off = [i for i, post in steps.items() if post is None]
        probes = set(off) if disabled is None else set(rng.sample(off, min(disabled, len(off))))
        for i, post in steps.items():
            if post is None and i not in probes:
                continue
            fire = a == z3.BitVecVal(i, enc.action_width)
            if post is None:
                assert solver.check(fire) == z3.unsat, f"Trans enables {system.instances[i].label} in {state}"
            else:
                same = z3.And(equal(t, post))
                assert solver.check(fire, same) == z3.sat, f"{system.instances[i].label} from {state} not in Trans"
                label = system.instances[i].label
                assert solver.check(fire, z3.Not(same)) == z3.unsat, f"a second successor by {label}"
            checked += 1
        solver.pop()
    return checked


def _random_state(system: System, rng: random.Random) -> State:
    return tuple(rng.choice([c for c in range(v.sort.size) if v.sort.contains_code(c)]) for v in system.variables)


def _run(system: System, rng: random.Random, length: int) -> list[State]:
    interp = Interpreter(system)
    states = [interp.initial_state()]
    for _ in range(length):
        nxt = [p for p in _steps(interp, states[-1]).values() if p is not None]
        if not nxt:
            break
        states.append(rng.choice(nxt))
    return states


def test_explicit_steps_are_exactly_the_printed_trans_on_random_states() -> None:
    system = zoo()
    rng = random.Random(7)
    states = [_random_state(system, rng) for _ in range(40)] + _run(system, rng, 30)
    assert _agree(system, _relation(system), states) == len(states) * len(system.instances)


def test_explicit_runs_of_the_secmp0007_model_with_monitors_are_the_printed_trans() -> None:
    bm = build(Scenario(threats=frozenset({"han_mitm"})))
    task = to_safety(bm.system, get_property("P-FAIL-VISIBLE").formula(bm))  # monitors update on every step
    rng = random.Random(11)
    states = [s for _ in range(2) for s in _run(task.system, rng, 8)]
    assert len(states) == 18
    assert _agree(task.system, _relation(task.system), states, disabled=12) >= 18 * 12


# ---- splitting, refusing, covering ---------------------------------------------------------------


def test_parts_are_the_portfolios_parts() -> None:
    bm = build(Scenario())
    for prop in CATALOGUE:
        if prop.kind == "REACH":
            continue
        theirs = [job.task for job in parts(bm, prop)]  # type: ignore[union-attr]
        mine = safety_parts(bm, prop)
        assert [[v.name for v in t.system.variables] for t in mine] == \
            [[v.name for v in t.system.variables] for t in theirs], prop.id
        assert [Printer(t.system).expr(t.bad) for t in mine] == [Printer(t.system).expr(t.bad) for t in theirs]


def test_an_invariant_naming_a_variable_the_model_lacks_is_refused() -> None:
    _, task = shift()
    with pytest.raises(CertificateError, match=r"M\.ghost@c"):
        invariant_obligations(task, Certificate("inductive-invariant", "(= |M.ghost@c| #b0)", 1), "P")


def test_a_ranking_certificate_is_listed_as_not_covered() -> None:
    bm = build(Scenario())
    with pytest.raises(NotCovered, match="ranking"):
        obligations(bm, get_property("P-NO-STRAND"), Certificate("ranking", "a sentence", 5))


def test_an_uncovered_proof_stays_proved_but_says_so_and_a_refused_one_becomes_unknown() -> None:
    bm = build(Scenario())
    ranking = Outcome(get_property("P-NO-STRAND"), Proved("explicit", 1.0, Certificate("ranking", "a sentence", 5)))
    foreign = Outcome(get_property("P-BOOTABLE"),
                      Proved("pdr", 1.0, Certificate("inductive-invariant", "(= |M.ghost@c| #b0)", 1)))
    shown, rechecks = recheck(bm, [ranking, foreign])
    assert isinstance(shown[0].verdict, Proved)
    assert rechecks["P-NO-STRAND"].summary().startswith("not independently re-checked: ranking")
    assert isinstance(shown[1].verdict, Unknown) and "M.ghost@c" in shown[1].verdict.reason


# ---- every certificate kind: accepted when sound, rejected when corrupted --------------------------


@pytest.mark.parametrize("engine", [kind, explicit, pdr])
def test_certificates_of_each_engine_are_accepted_by_both_solvers(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, task = shift()
    verdict = engine.check(Problem(task, "P", (), ()), BUDGET)
    assert isinstance(verdict, Proved)
    if engine is kind:
        assert verdict.certificate.size == 2 and "forall" in verdict.certificate.smtlib  # Inv_k is quantified
    found = answers(invariant_obligations(task, verdict.certificate, "P"), tmp_path)
    assert found == {name: {s: ACCEPTED for s in SOLVERS} for name in ("init", "step", "safe")}


def test_a_recovery_claim_is_accepted_and_a_false_one_rejected(tmp_path: Path) -> None:
    system, formula = recoverable()
    assert isinstance(recovery.check(system, [formula], BUDGET), Proved)
    assert answers([recovery_obligation(system, formula, "R")], tmp_path) == {"recovery 1": {"z3": ACCEPTED,
                                                                                             "cvc5": ACCEPTED}}
    stuck = Reach(system.var("M.n") == 0)  # repair counts n up, nothing counts it down
    assert answers([recovery_obligation(system, stuck, "R")], tmp_path) == {"recovery 1": {"z3": REJECTED,
                                                                                           "cvc5": REJECTED}}


def _corrupt(task: SafetyTask, text: str, how: str) -> str:
    """The invariant without its clause about ``a`` (the property), or with ``b``'s 0 flipped to 1."""
    enc = Encoder(task.system)
    c = enc.state(TAG)
    inv = parse_invariant(enc, text, c)
    if how == "drop":
        return str(z3.And([x for x in inv.children() if "M.a@c" not in x.sexpr()]).sexpr())
    b = c[task.system.var("M.b").index]
    return str(z3.substitute(inv, (b == 0, b == 1)).sexpr())


@pytest.mark.parametrize(("how", "failing"), [("drop", {"safe"}), ("flip", {"init", "step"})])
def test_a_corrupted_invariant_is_rejected_by_both_solvers_naming_the_obligation(how: str, failing: set[str],
                                                                                 tmp_path: Path) -> None:
    _, task = shift()
    proof = pdr.check(Problem(task, "P", (), ()), BUDGET)
    assert isinstance(proof, Proved)
    bad = Certificate("inductive-invariant", _corrupt(task, proof.certificate.smtlib, how), 1)
    found = answers(invariant_obligations(task, bad, "P"), tmp_path)
    assert {name for name, by in found.items() if by == {"z3": REJECTED, "cvc5": REJECTED}} == failing
    assert {name for name, by in found.items() if by == {"z3": ACCEPTED, "cvc5": ACCEPTED}} == \
        {"init", "step", "safe"} - failing


def test_a_proof_that_holds_only_on_the_slice_is_rejected_on_the_full_model(tmp_path: Path) -> None:
    system, task = stutter()
    assert isinstance(pdr.check(Problem(task, "P", (), ()), BUDGET), Violated), \
        "the engines' slice keeps a stuttering instance, so the violation is found"
    b = SystemBuilder("stutter")  # the slice without that instance: x and toggle only
    m = b.machine("M")
    x = m.var("x", BOOL, False)
    m.action("toggle", lambda: case(True, assign(x, ~x)))
    cone = b.build()
    proof = pdr.check(Problem(to_safety(cone, StepInvariant(Next(x) != x)), "P", (), ()), BUDGET)
    assert isinstance(proof, Proved), "the property holds on the slice alone"
    interp = Interpreter(task.system)
    after = interp.step(interp.initial_state(), system.instances_of("other")[0].index)
    assert interp.holds(task.bad, after), "the property is violated: `other` leaves x alone"
    found = answers(invariant_obligations(task, proof.certificate, "P"), tmp_path)
    assert found["step"] == {"z3": REJECTED, "cvc5": REJECTED}


# ---- the real model: genuine and corrupted certificates, the CLI ----------------------------------


@pytest.fixture(scope="module")
def bootable() -> tuple[Outcome, SafetyTask]:
    bm = build(Scenario())
    prop = get_property("P-BOOTABLE")
    verdict = run_engine(bm, prop, "lemmas", BUDGET)
    assert isinstance(verdict, Proved)
    return Outcome(prop, verdict), to_safety(bm.system, prop.formula(bm))


def _corrupt_real(task: SafetyTask, text: str, how: str) -> str:
    """Drop every clause about the PPMID's running image (the property clause ``¬Bad``, the last,
    and the lemmas that imply it), or flip the image ``¬Bad`` forbids to the PPMID's initial
    image (which the initial state then violates)."""
    enc = Encoder(task.system)
    c = enc.state(TAG)
    clauses = list(parse_invariant(enc, text, c).children())
    if how == "drop":
        return str(z3.And([x for x in clauses if "PPMID.P1.running@c" not in x.sexpr()]).sexpr())
    running = task.system.var("PPMID.P1.running")
    none = enc.value(running, running.sort.encode("none"))
    flipped = z3.substitute(clauses[-1], (none, enc.value(running, running.init)))
    return str(z3.And([*clauses[:-1], flipped]).sexpr())


@pytest.mark.parametrize(("how", "failing"), [("drop", "safe"), ("flip", "init")])
def test_corrupted_certificates_of_the_real_model_are_rejected(bootable: tuple[Outcome, SafetyTask], how: str,
                                                               failing: str, tmp_path: Path) -> None:
    outcome, task = bootable
    assert isinstance(outcome.verdict, Proved)
    cert = outcome.verdict.certificate
    assert check_certificate(task, cert.smtlib).ok
    bad = Certificate(cert.kind, _corrupt_real(task, cert.smtlib, how), cert.size)
    shown, rechecks = recheck(build(Scenario()), [Outcome(outcome.property, Proved("lemmas", 1.0, bad))])
    assert isinstance(shown[0].verdict, Unknown)
    assert f"{failing} ({'Init ⇒ Inv' if failing == 'init' else 'Inv ⇒ P'}) is sat for z3" in shown[0].verdict.reason
    assert rechecks["P-BOOTABLE"].verdict_of("z3") == REJECTED
    named = next(ob for ob in invariant_obligations(task, bad, "P-BOOTABLE") if ob.name == failing)
    assert run_solver("cvc5", write(named, tmp_path), Limits()).answer == REJECTED


def test_check_with_certificates_keeps_files_that_fresh_solvers_accept(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "c"
    code = main(["check", "--property", "P-BOOTABLE,P-NO-STRAND", "--certificates", str(out), "--workers", "2"])
    table = capsys.readouterr().out
    assert code != EXIT_BAD_INPUT
    assert "z3 ✓" in table and "cvc5 ✓" in table
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = manifest["properties"]  # P-NO-STRAND is violated: no proof, no files
    assert entry["property"] == "P-BOOTABLE" and entry["status"] == ACCEPTED
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.smt2"))
    assert files == sorted(f["file"] for f in entry["files"]) == \
        ["P-BOOTABLE/base-step.smt2", "P-BOOTABLE/init.smt2", "P-BOOTABLE/safe.smt2", "P-BOOTABLE/step.smt2"]
    for f in entry["files"]:
        assert {s: r["answer"] for s, r in f["solvers"].items()} == {"z3": ACCEPTED, "cvc5": ACCEPTED}
        by_hand = subprocess.run([z3_executable(), str(out / f["file"])], capture_output=True, text=True, check=True)
        assert by_hand.stdout.split() == ["unsat"]


def test_the_workers_answers_are_reused_and_only_the_missing_solver_runs(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    """One re-check path: answers the worker already has for a file's text are not asked again;
    the same obligation with another text (another part number) is solved afresh."""
    _, task = shift()
    proof = pdr.check(Problem(task, "P", (), ()), BUDGET)
    assert isinstance(proof, Proved)
    worker = recheck_obligations("P", invariant_obligations(task, proof.certificate, "P"), tmp_path / "w")
    assert worker.status == ACCEPTED and all(len(f.digest) == 64 for f in worker.files)
    asked: list[tuple[str, str]] = []

    def solver(name: str, path: Path, limits: Limits) -> SolverRun:
        asked.append((name, path.name))
        return run_solver(name, path, limits)

    monkeypatch.setattr("otaproof.properties.recheck.run_solver", solver)
    again = recheck_obligations("P", invariant_obligations(task, proof.certificate, "P"), tmp_path / "c",
                                SOLVERS, known=worker.files)
    assert again.status == ACCEPTED and sorted(asked) == [("cvc5", "init.smt2"), ("cvc5", "safe.smt2"),
                                                          ("cvc5", "step.smt2")]
    assert [r.solver for f in again.files for r in f.runs] == ["z3", "cvc5"] * 3
    asked.clear()
    other = recheck_obligations("P", invariant_obligations(task, proof.certificate, "P", part=1), tmp_path / "p",
                                known=worker.files)
    assert other.status == ACCEPTED and sorted(asked) == [("z3", "part1-init.smt2"), ("z3", "part1-safe.smt2"),
                                                          ("z3", "part1-step.smt2")]


@pytest.mark.parametrize("setup", ["non-empty directory", "a file"])
def test_a_certificate_directory_that_is_not_new_is_bad_input(setup: str, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    target = tmp_path / "c"
    if setup == "a file":
        target.write_text("x")
    else:
        target.mkdir()
        (target / "old.smt2").write_text("(check-sat)")
    before = sorted(tmp_path.rglob("*"))
    code = main(["check", "--property", "P-BOOTABLE", "--certificates", str(target)])
    assert code == EXIT_BAD_INPUT
    assert "--certificates" in capsys.readouterr().err
    assert sorted(tmp_path.rglob("*")) == before


# ---- the solver runner -----------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_the_runner_reads_each_answer_and_stops_at_the_resource_limit(solver: str, tmp_path: Path) -> None:
    head = "(set-logic QF_BV)\n(declare-fun x () (_ BitVec 8))\n"
    cases = {"unsat": (head + "(assert (bvult x x))\n(check-sat)\n", ACCEPTED),
             "sat": (head + "(assert (bvult x #x05))\n(check-sat)\n", REJECTED),
             "error": (head + "(assert (bvult x y))\n(check-sat)\n", UNDECIDED)}
    for name, (text, expected) in cases.items():
        path = tmp_path / f"{name}.smt2"
        path.write_text(text)
        run = run_solver(solver, path, Limits())
        assert run.answer == expected, (name, run)
        assert run.detail.startswith("error") == (name == "error")
    # multiplication is hard for bit-blasting: a tiny resource limit leaves it undecided
    hard = tmp_path / "hard.smt2"
    hard.write_text("(set-logic QF_BV)\n(declare-fun x () (_ BitVec 48))\n(declare-fun y () (_ BitVec 48))\n"
                    "(assert (= (bvmul x y) #x00000000fffb))\n(assert (bvugt x #x000000000001))\n"
                    "(assert (bvugt y #x000000000001))\n(check-sat)\n")
    run = run_solver(solver, hard, Limits(z3_rlimit=1000, cvc5_rlimit=10))
    assert run.answer == UNDECIDED and "resource limit" in run.detail, run


def test_one_z3_process_for_several_files_gives_each_file_its_own_answer_and_resource_count(tmp_path: Path) -> None:
    """Files solved together (``run_z3_files``) get what one process per file gets: an error, a
    sat and an undecided file among accepted ones stay where they are, and each file's resource
    count is its own (``(reset)`` restarts it), so a tiny limit still stops only the hard file."""
    head = "(set-logic QF_BV)\n(declare-fun x () (_ BitVec 8))\n"
    hard = ("(set-logic QF_BV)\n(declare-fun x () (_ BitVec 48))\n(declare-fun y () (_ BitVec 48))\n"
            "(assert (= (bvmul x y) #x00000000fffb))\n(assert (bvugt x #x000000000001))\n"
            "(assert (bvugt y #x000000000001))\n(check-sat)\n(exit)\n")
    texts = {"unsat": head + "(assert (bvult x x))\n(check-sat)\n(exit)\n",
             "error": head + "(assert (bvult x y))\n(check-sat)\n",
             "sat": head + "(assert (bvult x #x05))\n(check-sat)\n(exit)\n",
             "hard": hard,
             "again": head + "(assert (bvult x x))\n(check-sat)\n(exit)\n"}
    paths = []
    for name, text in texts.items():
        paths.append(tmp_path / f"{name}.smt2")
        paths[-1].write_text(text)
    for limits in (Limits(), Limits(z3_rlimit=20_000)):
        together = run_z3_files(paths, limits)
        alone = [run_solver("z3", path, limits) for path in paths]
        assert [r.answer for r in together] == [r.answer for r in alone], (together, alone)
        assert [r.resources for r in together] == [r.resources for r in alone]
        assert [r.detail.split(":")[0] for r in together] == [r.detail.split(":")[0] for r in alone]
    assert [r.answer for r in together] == [ACCEPTED, UNDECIDED, REJECTED, UNDECIDED, ACCEPTED]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # its script is gone


def test_term_symbols_reads_quoted_and_bare_symbols_of_one_term() -> None:
    named, odd = term_symbols("(and |a.b@c| (=> x@c |p[1] q|)\t#b01)")
    assert odd == ""
    assert named == {"and", "a.b@c", "=>", "x@c", "p[1] q", "#b01"}


@pytest.mark.parametrize(("text", "why"), [
    ("(and |a.b@c x)", "unclosed quote"),
    ("(and a b) ; comment", "a comment"),
    ('(= a "s")', "a string"),
    ("false) (assert false) (and true", "closes a parenthesis it did not open"),
    ("(and a b", "leaves a parenthesis open"),
    ("a b", "2 terms, not one"),
    ("", "0 terms, not one"),
])
def test_term_symbols_says_why_a_text_is_not_one_term(text: str, why: str) -> None:
    assert why in term_symbols(text)[1]


def test_an_invariant_that_would_add_commands_to_the_files_is_refused() -> None:
    built = build(Scenario())
    task = to_safety(built.system, get_property("P-SMI").formula(built))
    forged = Certificate("inductive-invariant", "false) (assert false) (define-fun x () Bool true", 1)
    with pytest.raises(CertificateError, match="not one SMT-LIB term"):
        invariant_obligations(task, forged, "P-SMI")


# ---- a base shared by the row's proofs --------------------------------------------------------

def test_a_base_inductive_on_its_own_and_an_invariant_relative_to_it_are_accepted(tmp_path: Path) -> None:
    """shift: b stays 0 (inductive alone), and a = 0 is inductive given b = 0."""
    _, task = shift()
    cert = Certificate("inductive-invariant", "(= |M.a@c| #b0)", 1, base="(= |M.b@c| #b0)")
    obs = invariant_obligations(task, cert, "P")
    assert [ob.name for ob in obs] == ["init", "step", "safe", "base-step"]
    assert [ob.claim for ob in obs] == ["Init ⇒ Base ∧ Inv", "Base ∧ Inv ∧ Trans ⇒ Inv′", "Base ∧ Inv ⇒ P",
                                        "Base ∧ Trans ⇒ Base′ (the model alone)"]
    step = next(ob for ob in obs if ob.name == "step").text
    assert "(assert (base " in step and "(assert (not (inv " in step and "(not (base " not in step
    assert recheck_obligations("P", obs, tmp_path, SOLVERS).status == ACCEPTED


def test_a_base_that_holds_only_together_with_the_invariant_is_rejected_by_its_base_step(tmp_path: Path) -> None:
    """The same two clauses the other way round: a = 0 ∧ b = 0 is inductive, but a = 0 alone is
    not (a takes b's value), so the base's own obligation is sat and the proof is refused."""
    _, task = shift()
    swapped = Certificate("inductive-invariant", "(= |M.b@c| #b0)", 1, base="(= |M.a@c| #b0)")
    checked = recheck_obligations("P", invariant_obligations(task, swapped, "P"), tmp_path, SOLVERS)
    assert checked.status == REJECTED
    assert [f.label for f in checked.files if any(r.answer == REJECTED for r in f.runs)] == ["base-step"]
    assert check_certificate(task, swapped.invariant).ok  # the whole invariant is inductive: only the split fails


def test_a_base_about_a_monitor_is_refused() -> None:
    """The base-step is printed over the model without monitors: a base naming one cannot be."""
    _, task = shift()
    monitored = to_safety(task.system, StepInvariant(Next(task.system.var("M.a")) == 0))
    flag = next(v for v in monitored.system.variables if v.owner == "monitor")
    with pytest.raises(CertificateError, match="monitor"):
        invariant_obligations(monitored, Certificate("inductive-invariant", "true", 1,
                                                     base=f"(not |{flag.name}@c|)"), "P")


def test_the_proofs_of_a_row_share_one_base_step_file(tmp_path: Path) -> None:
    """Two properties proved by the lemma stage: their base-step files are the same bytes (one
    solve per process), and every file of both proofs is accepted."""
    out = tmp_path / "c"
    main(["check", "--property", "P-BOOTABLE,P-REPLAY", "--certificates", str(out), "--workers", "2", "--no-cache"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert {p["property"] for p in manifest["properties"]} == {"P-BOOTABLE", "P-REPLAY"}
    bases = {(out / p / "base-step.smt2").read_bytes() for p in ("P-BOOTABLE", "P-REPLAY")}
    assert len(bases) == 1
    assert all(f["solvers"]["z3"]["answer"] == ACCEPTED for p in manifest["properties"] for f in p["files"])


def test_the_printed_model_step_is_shared_but_never_changed_by_a_caller() -> None:
    """The printer keeps each model's own step (monitors aside) for the next property: a system
    with other monitors gets its own monitor lines, and a caller changing the step it got (as
    the recovery file does) changes nobody else's."""
    monitored = zoo()
    plain = System(monitored.name, tuple(v for v in monitored.variables if v.owner != "monitor"),
                   monitored.instances, (), monitored.machines, monitored.parameters, monitored.threats,
                   monitored.faults, monitored.actions)
    first = Printer(plain).step(PRE, POST)
    first.next_values, first.enabled = [], ["false"]
    again, with_monitors = Printer(plain).step(PRE, POST), Printer(monitored).step(PRE, POST)
    assert again.enabled != ["false"] and [v.name for v, _ in again.next_values] == [v.name for v in plain.variables]
    assert [v.name for v, _ in with_monitors.next_values] == [v.name for v in monitored.variables]
    assert with_monitors.next_values[:len(again.next_values)] == again.next_values


def test_pdr_on_the_row_lemmas_keeps_them_as_its_base_and_fresh_solvers_accept_every_file(tmp_path: Path) -> None:
    """PDR given the row's proved lemmas (as the portfolio runs it) solves on the property's slice
    without a Houdini run of its own: its certificate carries every row lemma as the base, so the
    base-step makes them inductive, and all four files are accepted by both solvers. A proof
    whose base were left out would fail the step (tested with the base dropped)."""
    built = build(Scenario())
    known = model_lemmas(built.system, built.lemmas, Deadline(600, 0))
    prop = get_property("P-SMI")
    (job,) = parts(built, prop, known)
    assert isinstance(job, Problem)
    verdict = pdr.check(job, BUDGET)
    assert isinstance(verdict, Proved) and verdict.engine == "pdr"
    cert = verdict.certificate
    assert cert.base and set(known.names) <= set(cert.lemmas)
    found = answers(invariant_obligations(job.task, cert, prop.id), tmp_path / "whole")
    assert found == {name: {s: ACCEPTED for s in SOLVERS} for name in ("init", "step", "safe", "base-step")}
    alone = answers(invariant_obligations(job.task, dataclasses.replace(cert, base=""), prop.id), tmp_path / "alone")
    assert any(answer == REJECTED for by in alone.values() for answer in by.values())
