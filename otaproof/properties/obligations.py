"""The obligations of a proof as standalone SMT-LIB 2 files over the full, unsliced model.

Each file states the *negation* of one claim, so a solver's ``unsat`` confirms the claim:

* ``init``:  Init ∧ ¬Inv                       (Init ⇒ Inv)
* ``step``:  Inv ∧ Dom ∧ Trans ∧ ¬Inv′         (Inv ∧ Trans ⇒ Inv′)
* ``safe``:  Inv ∧ Dom ∧ Bad                   (Inv ⇒ P)
* with a base B (``Certificate.base``: the row's model lemmas, inductive on the model alone),
  ``init`` states Init ∧ ¬(B ∧ Inv), ``step`` B ∧ Inv ∧ Dom ∧ Trans ∧ ¬Inv′, ``safe`` B ∧ Inv ∧
  Dom ∧ Bad, and ``base-step`` B ∧ Dom ∧ Trans₀ ∧ ¬B′ over the model without the property's
  monitors (Trans₀): the same text for every proof of the row, so it is solved once per process.
  Together they make B ∧ Inv inductive: the monitors are extra variables updated as functions of
  the pre-state, so Trans restricted to the model's variables is Trans₀.
* ``recovery``: Dom ∧ ¬target ∧ no legitimate step lands on the target (REACH, one-step
  recovery: every type-correct state off the target has a legitimate step into it)

Inv is the certificate's invariant text (over ``<name>@c``), bound as the parameters of a
``define-fun`` and applied to the pre- and post-state; Init, Dom, Trans (with the property's
monitors) and Bad are printed from the grounded system by ``smtlib.Printer``. A certificate
proved on a cone-of-influence slice must hold here on the whole model: the slice is not trusted.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
from collections.abc import Sequence
from dataclasses import dataclass

from otaproof.model.slicing import reads
from otaproof.model.system import System
from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property
from otaproof.properties.certificate import TAG
from otaproof.properties.formulas import BoundedResponse, Formula, Reach, SafetyTask, to_safety
from otaproof.properties.smtlib import ACTION, POST, PRE, Printer, StateNames, conj, quote, sort_text, term_symbols
from otaproof.properties.verdict import Certificate

INVARIANT_KINDS = ("inductive-invariant", "k-inductive", "reachable-set")  # an invariant over <name>@c
RECOVERY = "one-step-recovery"
CLAIMS = {"init": "Init ⇒ Inv", "step": "Inv ∧ Trans ⇒ Inv′", "safe": "Inv ⇒ P",
          "recovery": "every state off the target has a legitimate step into it",
          "base-step": "Base ∧ Trans ⇒ Base′ (the model alone)"}
BASED = {"init": "Init ⇒ Base ∧ Inv", "step": "Base ∧ Inv ∧ Trans ⇒ Inv′", "safe": "Base ∧ Inv ⇒ P"}
BASE_STEP = "base-step"


class NotCovered(Exception):
    """A certificate kind that has no standalone obligations yet (the proof is then shown as not
    independently re-checked)."""


class CertificateError(Exception):
    """A certificate that cannot be a proof of the full model (it names a variable the model
    does not have, or its parts do not match the property's)."""


@dataclass(frozen=True)
class Obligation:
    """One standalone SMT-LIB file: the negation of ``claim``; unsat means the claim holds."""

    property_id: str
    part: int  # 1-based part of a conjunction certificate (0: the certificate is for the whole property)
    name: str  # init | step | safe | base-step | recovery
    index: int  # REACH: which formula (1-based); 0 otherwise
    text: str
    based: bool = False  # the certificate has a base: the claim names it

    @property
    def claim(self) -> str:
        return BASED[self.name] if self.based else CLAIMS[self.name]

    @property
    def filename(self) -> str:
        stem = f"{self.name}{self.index}" if self.index else self.name
        return f"{self.property_id}/{f'part{self.part}-' if self.part else ''}{stem}.smt2"

    @property
    def packed(self) -> bytes:
        """The file gzip-compressed, the same bytes for the same text (mtime 0, no file name in the
        header; level 1: the files are large and alike, so speed matters more than the last bytes)."""
        return gzip.compress(self.text.encode("utf-8"), compresslevel=1, mtime=0)

    @property
    def label(self) -> str:
        """How a report names it: ``step`` or ``part 2 step`` or ``recovery 1``."""
        what = f"{self.name} {self.index}" if self.index else self.name
        return f"part {self.part} {what}" if self.part else what


def safety_parts(built: BuiltModel, prop: Property) -> list[SafetyTask]:
    """The property's safety task per independently checked part, as the portfolio splits it
    (each bounded response alone, numbered by its position; the other formulas together)."""
    formula = prop.formula(built)
    items = formula if isinstance(formula, list) else [formula]
    responses = [f for f in items if isinstance(f, BoundedResponse)] if isinstance(formula, list) else []
    rest: list[Formula] = [f for f in items if not isinstance(f, BoundedResponse)] if isinstance(formula, list) else []
    if len(responses) + bool(rest) <= 1:
        return [to_safety(built.system, formula)]
    return [to_safety(built.system, br, n) for n, br in enumerate(responses)] + \
        ([to_safety(built.system, rest, len(responses))] if rest else [])


def obligations(built: BuiltModel, prop: Property, certificate: Certificate) -> list[Obligation]:
    """Every obligation of ``certificate`` as a proof of ``prop`` on ``built`` (full model).

    Raises ``NotCovered`` for a kind without standalone obligations and ``CertificateError`` for
    a certificate that cannot be a proof of this model."""
    formula = prop.formula(built)
    model = built.scenario.describe()
    items = formula if isinstance(formula, list) else [formula]
    if any(isinstance(f, Reach) for f in items):
        if certificate.kind != RECOVERY:
            raise NotCovered(f"{certificate.kind} certificates of REACH properties have no standalone obligations yet")
        reach = [f for f in items if isinstance(f, Reach)]
        if len(reach) != len(items):
            raise CertificateError(f"{prop.id}: REACH formulas mixed with other kinds")
        return [recovery_obligation(built.system, f, prop.id, n, model) for n, f in enumerate(reach, 1)]
    if certificate.kind == "conjunction":
        tasks = safety_parts(built, prop)
        if len(tasks) != len(certificate.parts):
            raise CertificateError(f"{prop.id}: the certificate has {len(certificate.parts)} parts, the property "
                                   f"{len(tasks)}")
        return [ob for n, (task, cert) in enumerate(zip(tasks, certificate.parts, strict=True), 1)
                for ob in invariant_obligations(task, cert, prop.id, n, model)]
    return invariant_obligations(to_safety(built.system, formula), certificate, prop.id, 0, model)


def invariant_obligations(task: SafetyTask, certificate: Certificate, pid: str, part: int = 0, model: str = "",
                          base_step: bool = True) -> list[Obligation]:
    """``init``, ``step`` and ``safe`` for an invariant certificate of ``task`` (``part``: its
    number in a conjunction; ``model``: named in the files' header), and ``base-step`` if the
    certificate has a base (unless ``base_step`` is False: the caller has that file already)."""
    if certificate.kind not in INVARIANT_KINDS:
        raise NotCovered(f"{certificate.kind} certificates have no standalone obligations yet")
    system = task.system
    where = f"{pid}" + (f" part {part}" if part else "")
    inv = _Definition("inv", f"the certificate's invariant ({certificate.kind})", certificate.smtlib, system, where)
    base = _Definition("base", "the base: the row's model lemmas, inductive on the model alone", certificate.base,
                       system, where) if certificate.base else None
    logic = "BV" if inv.quantified or (base is not None and base.quantified) else "QF_BV"
    printer = Printer(system)
    defined = [*(base.lines if base is not None else []), *inv.lines]
    assumed = [f"(assert {base.at(PRE)})"] if base is not None else []
    out = []
    for name in ("init", "step", "safe"):
        lines = [*_header(model, pid, part, system, logic, name), *printer.declare(PRE)]
        if name == "step":
            lines += [*printer.declare(POST), printer.declare_action()]
        lines += defined
        if name == "init":
            whole = f"(and {base.at(PRE)} {inv.at(PRE)})" if base is not None else inv.at(PRE)
            lines += ["; Init, and the invariant fails", f"(assert {printer.init(PRE)})", f"(assert (not {whole}))"]
        elif name == "step":
            lines += [*assumed, f"(assert {inv.at(PRE)})", *_trans(printer),
                      "; and the invariant fails afterwards", f"(assert (not {inv.at(POST)}))"]
        else:
            lines += [*assumed, f"(assert {inv.at(PRE)})", f"(assert {printer.domain(PRE)})",
                      "; a bad state of the property", f"(assert {printer.expr(task.bad, PRE)})"]
        out.append(Obligation(pid, part, name, 0, "\n".join([*lines, "(check-sat)", "(exit)", ""]), base is not None))
    if base is not None and base_step:
        out.append(base_obligation(model_only(system), base, model, pid, part))
    return out


@functools.lru_cache(maxsize=256)
def _scanned(text: str) -> tuple[frozenset[str], str]:
    """``smtlib.term_symbols``, kept for the texts of a row's proofs: a cache lookup reads each
    certificate three times (is it quantifier-free, its files, the row's script), and the row's
    base (about 0.35 MB for the default model's 293 lemmas) once per proof."""
    return term_symbols(text)


class _Definition:
    """An invariant's text as ``(define-fun NAME (<name>@c ...) Bool TEXT)``, applied to a state."""

    def __init__(self, name: str, what: str, text: str, system: System, where: str) -> None:
        named, odd = _scanned(text)
        if odd:
            raise CertificateError(f"{where}: the {'base' if name == 'base' else 'invariant'} is not one SMT-LIB "
                                   f"term: {odd}")
        by_name = {f"{v.name}@{TAG}": v for v in system.variables}
        foreign = sorted(s for s in named if s.endswith(f"@{TAG}") and s not in by_name)
        if foreign:
            raise CertificateError(f"{where}: the {'base' if name == 'base' else 'invariant'} names {len(foreign)} "
                                   f"variable(s) the full model does not have, e.g. {foreign[0]}")
        self.name, self.params = name, [v for v in system.variables if f"{v.name}@{TAG}" in named]
        self.quantified = bool(named & {"forall", "exists"})
        binders = " ".join(f"({quote(v.name + '@' + TAG)} {sort_text(v.sort)})" for v in self.params)
        self.lines = [f"; {what}, over the variables <name>@{TAG}", f"(define-fun {name} ({binders}) Bool {text})"]

    def at(self, names: StateNames) -> str:
        return f"({self.name} {' '.join(names.of(v) for v in self.params)})" if self.params else self.name


def _trans(printer: Printer) -> list[str]:
    """The pre-state's domain and the transition relation, as asserted lines."""
    step = printer.step(PRE, POST)
    return ["; the pre-state holds values of the variables' sorts", f"(assert {printer.domain(PRE)})",
            f"; Trans: action instance {ACTION} fires (guards and branch conditions as macros), "
            "every variable takes its next value", *step.defs, *[f"(assert {c})" for c in step.relation(POST)]]


def base_obligation(system: System, base: _Definition | str, model: str, pid: str, part: int = 0) -> Obligation:
    """``base-step`` over the model without monitors. Its text names neither the property nor
    the part, so every proof of a row with this base has the same file. ``base``: its definition,
    or the base's text."""
    if isinstance(base, str):
        base = _Definition("base", "the base: the row's model lemmas, inductive on the model alone", base, system,
                           pid)
    if any(v.owner == "monitor" for v in base.params):
        raise CertificateError(f"{pid}: the base names a monitor variable; it must be about the model alone")
    printer = Printer(system)
    lines = [f"; otaproof certificate obligation: the base of a row's proofs, {CLAIMS[BASE_STEP]}",
             f"; model {model or system.name}; {len(system.variables)} state variables, "
             f"{len(system.instances)} action instances",
             "; the file states the claim's negation: unsat confirms the claim",
             f"(set-logic {'BV' if base.quantified else 'QF_BV'})",
             *printer.declare(PRE), *printer.declare(POST), printer.declare_action(), *base.lines,
             f"(assert {base.at(PRE)})", *_trans(printer),
             "; and the base fails afterwards", f"(assert (not {base.at(POST)}))"]
    return Obligation(pid, part, BASE_STEP, 0, "\n".join([*lines, "(check-sat)", "(exit)", ""]))


def model_only(system: System) -> System:
    """The system without a property's monitors (they are appended after the model's variables)."""
    if not system.monitors:
        return system
    kept = tuple(v for v in system.variables if v.owner != "monitor")
    return dataclasses.replace(system, variables=kept, monitors=())


def recovery_obligation(system: System, formula: Reach, pid: str, index: int = 1, model: str = "") -> Obligation:
    """Dom ∧ ¬target ∧ for every legitimate instance i: ¬(i can fire ∧ target after it). The
    successor by instance i is a function of the pre-state, printed as macros ``|x'i|``."""
    if system.monitors:
        raise CertificateError(f"{pid}: a REACH property's model has no monitors")
    printer = Printer(system)
    lines = [*_header(model, pid, 0, system, "QF_BV", "recovery", index),
             f"; target: {formula.subject}", *printer.declare(PRE),
             f"(assert {printer.domain(PRE)})", f"(assert (not {printer.expr(formula.target, PRE)}))"]
    legit = sorted(formula.legitimate_instances(system))
    read = reads(formula.target)
    for i in legit:
        post = StateNames(f"'{i}")
        step = printer.step(PRE, post, only=i, prefix=f"{i}:")
        step.next_values = [(v, val) for v, val in step.next_values if v.index in read]
        label = system.instances[i].label
        lines += [f"; legitimate step {label}: it cannot fire, or its successor misses the target",
                  *step.defs, *step.successor(post),
                  f"(assert (not {conj([*step.enabled, printer.expr(formula.target, post)])}))"]
    lines.append(f"; {len(legit)} legitimate action instances")
    return Obligation(pid, 0, "recovery", index, "\n".join([*lines, "(check-sat)", "(exit)", ""]))


def _header(model: str, pid: str, part: int, system: System, logic: str, name: str, index: int = 0) -> list[str]:
    """Comment lines naming the claim and the model, and the logic."""
    what = f"part {part} of " if part else ""
    formula = f" (formula {index})" if index else ""
    return [f"; otaproof certificate obligation: {what}{pid}, {CLAIMS[name]}{formula}",
            f"; model {model or system.name}; {len(system.variables)} state variables, "
            f"{len(system.instances)} action instances",
            "; the file states the claim's negation: unsat confirms the claim",
            f"(set-logic {logic})"]


SCOPE = "otaproof-scope"  # echoed before each claim's scope
SHARED = "otaproof-shared"  # echoed before each part of the script outside a scope
CHECK = "(check-sat-using qfbv)"  # a claim solved from scratch, as its file is (Z3's quantifier-free bit-vector tactic)


@dataclass(frozen=True)
class Segment:
    """A piece of a ``Together`` script: commands the claims after it share (``check`` None), or
    one claim's scope (``check``: the proof's index and the obligation's name), which opens with
    ``(push 1)`` and is closed, after its check, by the runner."""

    text: str
    check: tuple[int, str] | None = None
    scratch: bool = False  # the claim is solved from scratch at once, without the incremental core


@dataclass(frozen=True)
class Together:
    """Several invariant proofs over one model as one incremental SMT-LIB script (``together``)."""

    segments: tuple[Segment, ...]

    @property
    def checks(self) -> tuple[tuple[int, str], ...]:
        """Each claim in the script's order: the proof's index and the obligation's name."""
        return tuple(s.check for s in self.segments if s.check is not None)


def quantifier_free(cert: Certificate) -> bool:
    """Whether the certificate's invariant and base name no quantifier (``together`` needs it)."""
    return not (_scanned(cert.smtlib)[0] | _scanned(cert.base)[0]) & {"forall", "exists"}


def together(proofs: Sequence[tuple[SafetyTask, Certificate]]) -> Together:
    """The claims of several invariant certificates over one model in one script, for one Z3
    process to re-check (``recheck.run_z3_script``): the model's declarations, Init, its domain
    and its step without monitors (Trans₀) are stated once, and each base (the row's lemmas, 0.35
    MB on the default model) once for the proofs that share it; each claim is checked in a
    ``push``/``pop`` scope of its own, with its proof's monitors and invariant. A claim's
    assertions with the shared ones in force are, conjunct for conjunct, those of its file
    (``invariant_obligations``): ``init`` scopes see the model's Init and nothing else, ``safe``
    scopes the domain and the base but not Trans₀, and each base's ``base-step`` is a scope
    under its base and Trans₀. So each answer is the file's, while the model is parsed once, not
    once per proof (a step file of the default model is about 1 MB). A ``base-step`` is solved
    from scratch only (``Segment.scratch``): Z3's incremental core took seven times the units on
    the default model's.

    Every task must be over the same model (the same action instances and model variables; only
    the monitors differ) and every certificate quantifier-free (``quantifier_free``); raises
    ``CertificateError`` otherwise, and as ``invariant_obligations`` does."""
    first = proofs[0][0].system
    model = model_only(first)
    for task, _ in proofs:
        system = task.system
        own = [v for v in system.variables if v.owner != "monitor"]
        if system.instances is not first.instances or len(own) != len(model.variables) or \
                any(a is not b for a, b in zip(own, model.variables, strict=True)):
            raise CertificateError("the proofs checked together must be over one model")
    printer = Printer(model)
    bases: dict[str, _Definition] = {}
    lines = [f"; otaproof: {len(proofs)} proofs' obligations over one model, each claim in a scope of its own",
             *printer.declare(PRE), *printer.declare(POST), printer.declare_action()]
    for _, cert in proofs:
        if cert.kind not in INVARIANT_KINDS:
            raise NotCovered(f"{cert.kind} certificates have no standalone obligations yet")
        if not quantifier_free(cert):
            raise CertificateError("a quantified certificate is checked on its own files (logic BV, not QF_BV)")
        if cert.base and cert.base not in bases:
            bases[cert.base] = _Definition(f"base{len(bases)}", "a base", cert.base, model, "a base")
            lines += bases[cert.base].lines
    segments = [Segment("\n".join(lines))]

    def scope(index: int, name: str, body: list[str]) -> None:
        segments.append(Segment("\n".join(["(push 1)", *body]), (index, name), name == BASE_STEP))

    def shared(body: list[str]) -> None:
        segments.append(Segment("\n".join(body)))

    owned = []  # per proof: its printer, monitors and invariant
    for index, (task, cert) in enumerate(proofs):
        monitors = [v for v in task.system.variables if v.owner == "monitor"]
        owned.append((Printer(task.system), monitors,
                      _Definition("inv", "the invariant", cert.smtlib, task.system, f"proof {index + 1}")))
    shared(["(push 1)", "; Init of the model's variables, for the init scopes", f"(assert {printer.init(PRE)})"])
    for index, (mine, monitors, inv) in enumerate(owned):
        base = proofs[index][1].base
        whole = f"(and {bases[base].at(PRE)} {inv.at(PRE)})" if base else inv.at(PRE)
        scope(index, "init", [*mine.declare(PRE, monitors), *inv.lines, f"(assert {mine.init(PRE, monitors)})",
                              f"(assert (not {whole}))"])
    shared(["(pop 1)", "; the pre-state of the model's variables holds values of their sorts",
            f"(assert {printer.domain(PRE)})"])
    for base in ["", *bases]:
        mine_all = [n for n, (_, cert) in enumerate(proofs) if cert.base == base]
        if not mine_all:
            continue
        shared(["(push 1)", *([f"(assert {bases[base].at(PRE)})"] if base else [])])
        for index in mine_all:
            mine, monitors, inv = owned[index]
            scope(index, "safe", [*mine.declare(PRE, monitors), *inv.lines, f"(assert {inv.at(PRE)})",
                                  f"(assert {mine.domain(PRE, monitors)})",
                                  f"(assert {mine.expr(proofs[index][0].bad, PRE)})"])
        step = printer.step(PRE, POST)
        shared(["; Trans₀: the model's step, for the step scopes below", *step.defs,
                *[f"(assert {c})" for c in step.relation(POST)]])
        if base:
            scope(mine_all[0], BASE_STEP, [f"(assert (not {bases[base].at(POST)}))"])
        for index in mine_all:
            mine, monitors, inv = owned[index]
            scope(index, "step", [*mine.declare(PRE, monitors), *mine.declare(POST, monitors), *inv.lines,
                                  f"(assert {inv.at(PRE)})", f"(assert {mine.domain(PRE, monitors)})",
                                  *[f"(assert {c})" for c in mine.monitor_step(PRE, POST).relation(POST)],
                                  f"(assert (not {inv.at(POST)}))"])
        shared(["(pop 1)"])
    return Together(tuple(segments))
