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
from dataclasses import dataclass

from otaproof.model.slicing import reads
from otaproof.model.system import System
from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property
from otaproof.properties.certificate import TAG
from otaproof.properties.formulas import BoundedResponse, Formula, Reach, SafetyTask, to_safety
from otaproof.properties.smtlib import ACTION, POST, PRE, Printer, StateNames, conj, quote, sort_text, symbols
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


def invariant_obligations(task: SafetyTask, certificate: Certificate, pid: str, part: int = 0, model: str = ""
                          ) -> list[Obligation]:
    """``init``, ``step`` and ``safe`` for an invariant certificate of ``task`` (``part``: its
    number in a conjunction; ``model``: named in the files' header)."""
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
    if base is not None:
        out.append(base_obligation(model_only(system), base, model, pid, part))
    return out


@functools.lru_cache(maxsize=4)
def _named(text: str) -> frozenset[str]:
    """The symbols a certificate's text names, kept for the row's base (the same text in every
    proof of the row, about 0.35 MB for the default model's 293 lemmas)."""
    return frozenset(symbols(text))


class _Definition:
    """An invariant's text as ``(define-fun NAME (<name>@c ...) Bool TEXT)``, applied to a state."""

    def __init__(self, name: str, what: str, text: str, system: System, where: str) -> None:
        by_name = {f"{v.name}@{TAG}": v for v in system.variables}
        named = _named(text)
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


def base_obligation(system: System, base: _Definition, model: str, pid: str, part: int) -> Obligation:
    """``base-step`` over the model without monitors. Its text names neither the property nor
    the part, so every proof of a row with this base has the same file."""
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
