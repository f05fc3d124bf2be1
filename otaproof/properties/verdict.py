"""Verdicts: Proved (with a re-checked certificate) | Violated (with a replayed trace) | Unknown."""

from __future__ import annotations

from dataclasses import dataclass, field

from otaproof.properties.trace import Trace


@dataclass(frozen=True)
class Certificate:
    """An inductive invariant as SMT-LIB text over the state variables ``<name>@c``."""

    kind: str  # "inductive-invariant" (PDR), "k-inductive" (k-induction), "reachable-set" (explicit),
    #            "ranking" (explicit REACH: distance to the target over every reachable state),
    #            "one-step-recovery" (REACH: every state off the target has a legitimate step into it),
    #            "conjunction" (the property's parts, each proved on its own slice: ``parts``)
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
    verdict: str = field(default="proved", init=False)

    @property
    def detail(self) -> str:
        c = self.certificate
        if c.parts:
            return f"conjunction of {c.size} parts: " + "; ".join(_describe(part) for part in c.parts)
        return _describe(c)


def _describe(c: Certificate) -> str:
    unit = {"inductive-invariant": "clauses", "k-inductive": "k", "reachable-set": "states",
            "ranking": "states", "one-step-recovery": "recovery steps"}[c.kind]
    lemmas = f" + {len(c.lemmas)} lemmas" if c.lemmas else ""
    return f"{c.kind}, {unit}={c.size}{lemmas}"


@dataclass(frozen=True)
class Violated:
    engine: str
    seconds: float
    trace: Trace
    verdict: str = field(default="violated", init=False)

    @property
    def detail(self) -> str:
        return f"depth {len(self.trace.steps)}"


@dataclass(frozen=True)
class Unknown:
    engine: str
    seconds: float
    reason: str
    verdict: str = field(default="unknown", init=False)

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
