"""Verdicts: Proved (with a re-checked certificate) | Violated (with a replayed trace) | Unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from otaproof.model.lang import ModelError
from otaproof.properties.trace import Trace


class VerdictKind(StrEnum):
    """What a verdict says; the value is the word reports and JSON files print."""

    PROVED = "proved"
    VIOLATED = "violated"
    UNKNOWN = "unknown"


# where a verdict came from: the engines ran (RUN), or a cached certificate or trace was re-checked
# on this very model (CACHED), or on an earlier model of the same cell (CACHED_EARLIER; the
# certificate may differ from a fresh run's), or some parts of a property came from the cache (PARTLY)
RUN, CACHED, CACHED_EARLIER, PARTLY_CACHED = "run", "cached", "cached-earlier-model", "partly-cached"


class CertificateKind(StrEnum):
    """What a proof's certificate is; the value is the name reports and JSON files print."""

    INDUCTIVE_INVARIANT = "inductive-invariant"  # PDR and the lemma proof: clauses of H ∧ Inv
    K_INDUCTIVE = "k-inductive"  # k-induction: H ∧ Inv_k
    REACHABLE_SET = "reachable-set"  # explicit: every reachable state
    ENUMERATION = "enumeration"  # swarm: count and digest of every reachable state, re-checked by re-enumeration
    RANKING = "ranking"  # explicit REACH: distance to the target over every reachable state
    ONE_STEP_RECOVERY = "one-step-recovery"  # REACH: every state off the target has a legitimate step into it
    CONJUNCTION = "conjunction"  # the property's parts, each proved on its own slice (``parts``)

    @property
    def unit(self) -> str:
        """What a certificate's ``size`` counts."""
        return {"inductive-invariant": "clauses", "k-inductive": "k", "reachable-set": "states",
                "enumeration": "states", "ranking": "states",
                "one-step-recovery": "recovery steps", "conjunction": "parts"}[self.value]


@dataclass(frozen=True)
class SolverRun:
    """One solver on one obligation file: accepted (unsat), rejected (sat) or unknown, with the reason."""

    solver: str
    answer: str
    seconds: float
    resources: int  # resource units the solver reports having used (-1: not reported)
    detail: str


@dataclass(frozen=True)
class FileCheck:
    """One obligation file (its text's SHA-256, so a kept copy is known to be the same) and
    every solver's answer on it."""

    filename: str
    label: str
    claim: str
    size: int  # bytes
    digest: str
    runs: tuple[SolverRun, ...]
    # the file itself, gzip as ``Obligation.packed`` gives it, when the worker that solved it kept it
    # (the evidence pack writes these bytes instead of printing the obligation again)
    packed: bytes = field(default=b"", compare=False, repr=False)


@dataclass(frozen=True)
class Certificate:
    """An inductive invariant as SMT-LIB text over the state variables ``<name>@c``; with a
    ``base``, the invariant is base ∧ smtlib, where the base is inductive on the model alone (one
    obligation file, the same for every proof of a row) and smtlib inductive relative to it."""

    kind: CertificateKind
    smtlib: str
    size: int  # clauses (PDR), k (k-induction), states (explicit), parts (conjunction)
    checked: bool = False
    check_seconds: float = 0.0
    lemmas: tuple[str, ...] = ()  # model lemmas (Houdini-filtered) that are part of the invariant
    parts: tuple[Certificate, ...] = ()
    # the independent re-check of its obligation files, each by a fresh Z3 process, in the worker
    # that found the proof (empty: the kind has no standalone obligations, the table says so)
    obligations: tuple[FileCheck, ...] = ()
    # the row's shared model lemmas (Houdini's inductive subset) as SMT-LIB text over <name>@c, or ""
    base: str = ""

    @property
    def invariant(self) -> str:
        """The whole invariant's text: base ∧ smtlib."""
        return f"(and {self.base} {self.smtlib})" if self.base else self.smtlib


@dataclass(frozen=True)
class Proved:
    engine: str
    seconds: float
    certificate: Certificate
    verdict: VerdictKind = field(default=VerdictKind.PROVED, init=False)
    units: int = field(default=0, compare=False)  # Z3 resource units the engine run used
    provenance: str = field(default=RUN, compare=False)  # RUN, or which cached certificate was re-checked

    @property
    def detail(self) -> str:
        c = self.certificate
        if c.parts:
            return f"conjunction of {c.size} parts: " + "; ".join(_describe(part) for part in c.parts)
        return _describe(c)


def _describe(c: Certificate) -> str:
    lemmas = f" + {len(c.lemmas)} lemmas" if c.lemmas else ""
    return f"{c.kind}, {c.kind.unit}={c.size}{lemmas}"


@dataclass(frozen=True)
class Violated:
    engine: str
    seconds: float
    trace: Trace
    verdict: VerdictKind = field(default=VerdictKind.VIOLATED, init=False)
    units: int = field(default=0, compare=False)
    provenance: str = field(default=RUN, compare=False)  # RUN, or a cached trace replayed

    @property
    def detail(self) -> str:
        return f"depth {len(self.trace.steps)}"


@dataclass(frozen=True)
class Unknown:
    engine: str
    seconds: float
    reason: str
    verdict: VerdictKind = field(default=VerdictKind.UNKNOWN, init=False)
    units: int = field(default=0, compare=False)
    searched: int = field(default=-1, compare=False)  # BMC found no counterexample up to this depth (-1: none)

    @property
    def detail(self) -> str:
        return self.reason


Verdict = Proved | Violated | Unknown


def provenance_of(v: Verdict) -> str:
    """Where a verdict came from (an unknown always from the engines)."""
    return RUN if isinstance(v, Unknown) else v.provenance


class ModelSlip(ModelError):
    """A modelling slip found by a check: a reachable step assigns a value outside its
    variable's domain (or computes a negative difference). Not a verdict on the property: the
    model is wrong, and the command stops with a "model error" (exit 2) and the trace to it."""

    def __init__(self, message: str, trace: Trace) -> None:
        steps = "; ".join(f"{s.step}. {s.machine}.{s.action}({', '.join(f'{k}={v}' for k, v in s.parameters.items())})"
                          for s in trace.steps) or "in the initial state"
        super().__init__(f"model error: {message} (reached by: {steps})")
        self.slip, self.trace = message, trace

    def __reduce__(self) -> tuple[type[ModelSlip], tuple[str, Trace]]:
        return ModelSlip, (self.slip, self.trace)


DEFAULT_RLIMIT = 2_000_000_000  # Z3 resource units per engine run (docs/certificates.md, "Engine budgets")


@dataclass(frozen=True)
class Budget:
    """Limits for one engine run: Z3 resource units (``rlimit``, load-independent) and, for the
    explicit-state engines, a count of states; BMC/k-induction depth; Z3 seed. ``timeout`` is
    only the outer wall-clock cap (a run it stops says "stopped by the wall-clock cap")."""

    timeout: float = 60.0
    depth: int = 30
    seed: int = 0
    max_states: int = 200_000
    rlimit: int = DEFAULT_RLIMIT
    # the workers keep each proof's obligation files (gzip) on its certificate, for an evidence
    # pack (``reports.evidence.certificates.shipped``); compressing them is 12 % of a warm matrix
    keep_obligations: bool = False
