"""Verdicts: Proved (with a re-checked certificate) | Violated (with a replayed trace) | Unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from otaproof.properties.trace import Trace


class VerdictKind(StrEnum):
    """What a verdict says; the value is the word reports and JSON files print."""

    PROVED = "proved"
    VIOLATED = "violated"
    UNKNOWN = "unknown"


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
class Certificate:
    """An inductive invariant as SMT-LIB text over the state variables ``<name>@c``."""

    kind: CertificateKind
    smtlib: str
    size: int  # clauses (PDR), k (k-induction), states (explicit), parts (conjunction)
    checked: bool = False
    check_seconds: float = 0.0
    lemmas: tuple[str, ...] = ()  # model lemmas (Houdini-filtered) that are part of the invariant
    parts: tuple[Certificate, ...] = ()


@dataclass(frozen=True)
class Proved:
    engine: str
    seconds: float
    certificate: Certificate
    verdict: VerdictKind = field(default=VerdictKind.PROVED, init=False)

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

    @property
    def detail(self) -> str:
        return f"depth {len(self.trace.steps)}"


@dataclass(frozen=True)
class Unknown:
    engine: str
    seconds: float
    reason: str
    verdict: VerdictKind = field(default=VerdictKind.UNKNOWN, init=False)

    @property
    def detail(self) -> str:
        return self.reason


Verdict = Proved | Violated | Unknown


@dataclass(frozen=True)
class Budget:
    """Limits for one engine run: wall-clock seconds, BMC/k-induction depth, Z3 seed."""

    timeout: float = 60.0
    depth: int = 30
    seed: int = 0
    max_states: int = 200_000
