"""A part's cache lookup, run in a worker like an engine: a cached proof is re-checked on the
current model from its obligation files, a cached counterexample is replayed in the explicit
semantics; either is used only if it still holds, so nothing cached is ever trusted.

A certificate kind that cannot be re-checked on its own (the swarm's enumeration, a ranking of
several REACH formulas) counts as not cached: the engines prove the part again.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from dataclasses import dataclass

from otaproof.model.lang import ModelError
from otaproof.model.slicing import constant_folded
from otaproof.model.system import System
from otaproof.model.variants import BuiltModel, uses_design_lemmas
from otaproof.properties.cache import Cell, CertificateCache, Hit, Lookup, part_digest
from otaproof.properties.catalogue import Property
from otaproof.properties.certificate import check_ranking_certificate, confirm_stranded
from otaproof.properties.engines.problem import Problem, counterexample
from otaproof.properties.formulas import Reach, reach_slice
from otaproof.properties.jobs import Job, recheck, recheck_together, staged
from otaproof.properties.obligations import INVARIANT_KINDS, RECOVERY, quantifier_free
from otaproof.properties.pool import Report
from otaproof.properties.solver import Deadline
from otaproof.properties.trace import ReplayError, TraceStep, instance_index, make_trace
from otaproof.properties.verdict import (
    CACHED,
    CACHED_EARLIER,
    Budget,
    CertificateKind,
    ModelSlip,
    Proved,
    Unknown,
    Verdict,
    Violated,
)

RECALL = "cache"  # the portfolio's name for a part's lookup job
REUSED, STALE, MISSED = "reused", "stale", "missed"  # what a lookup came to


@dataclass(frozen=True)
class Recalled:
    """A lookup's answer: the part's content address (the parent stores the part's verdict
    under it), the re-checked verdict when the cached one still holds (``outcome`` REUSED), why
    it did not (STALE), or nothing usable cached (MISSED); and the unreadable entries passed over."""

    digest: str
    outcome: str
    verdict: Proved | Violated | None
    note: str
    problems: tuple[str, ...]


def context(built: BuiltModel, budget: Budget) -> str:
    """What a fresh run's certificate depends on besides the model: the engine budget (except the
    wall-clock cap) and whether the design's hand-written lemmas are candidates."""
    return json.dumps([uses_design_lemmas(built.scenario, built.variant), budget.depth, budget.seed, budget.rlimit,
                       budget.max_states])


@dataclass(frozen=True)
class Recall:
    """A worker's job: look up one part (``number``: its index among its property's parts;
    ``part``: its 1-based number in obligation files, 0 for a one-part property) and re-check
    what is found."""

    cache: CertificateCache
    exact_only: bool
    built: BuiltModel
    job: Job
    prop: Property
    number: int
    part: int
    budget: Budget

    def __call__(self, report: Report) -> None:
        digest, found = self.find()
        self.answer(report, digest, found)

    def find(self) -> tuple[str, Lookup]:
        """The part's content address and what the cache holds for it."""
        digest = part_digest(self.job, self.built.system, self.prop.id, self.number, context(self.built, self.budget))
        return digest, self.cache.lookup(Cell(self.built.scenario, self.prop.id, self.number), digest, self.exact_only)

    def proof(self, found: Lookup) -> tuple[Problem, Property, Proved, int] | None:
        """The hit as an invariant proof for ``recheck_together`` to re-check with others, or None
        (a trace, another certificate kind, a quantified invariant, or an evidence pack's run,
        which ships each file as a process of its own solved it)."""
        hit = found.hit
        if hit is None or hit.certificate is None or not isinstance(self.job, Problem) or \
                hit.certificate.kind not in INVARIANT_KINDS or not quantifier_free(hit.certificate) or \
                self.budget.keep_obligations:
            return None
        return self.job, self.prop, Proved(hit.engine, 0.0, hit.certificate), self.part

    def answer(self, report: Report, digest: str, found: Lookup, rechecked: Verdict | None = None) -> None:
        """Report what the lookup came to: ``rechecked`` is the hit's re-check if it was done
        with the row's others (``Recalls``), else the hit is re-checked or replayed here."""
        if found.hit is None:
            report(Recalled(digest, MISSED, None, "nothing cached", found.problems))
            return
        started = time.monotonic()
        try:
            outcome, verdict, note = _rechecked(rechecked) if rechecked is not None else \
                revalidate(self.built, self.job, self.prop, found.hit, self.part, self.budget)
        except ModelSlip as slip:  # the cached trace runs into a modelling slip: the run stops with it
            report(slip)
            return
        except Exception as e:  # a re-check that fails to run is no re-check: the engines prove the part
            outcome, verdict, note = STALE, None, f"re-check error: {type(e).__name__}: {e}"
        if verdict is not None:
            seconds = verdict.certificate.check_seconds if rechecked is not None and isinstance(verdict, Proved) \
                else time.monotonic() - started
            verdict = dataclasses.replace(verdict, seconds=seconds,
                                          provenance=CACHED if found.hit.exact else CACHED_EARLIER)
        report(Recalled(digest, outcome, verdict, note, found.problems))


@dataclass(frozen=True)
class Recalls:
    """A worker's job: the lookups of one row in one process. The cached invariant proofs
    found are re-checked together, by one Z3 process on one script (``recheck_together``: the
    model parsed once, not once per proof); the rest one after the other. It reports a
    ``Staged`` answer for each lookup, in ``runs`` order (as ``FirstStages`` does)."""

    runs: tuple[Recall, ...]

    def __call__(self, report: Report) -> None:
        found = [lookup.find() for lookup in self.runs]
        proofs = {n: proof for n, (lookup, (_, hit)) in enumerate(zip(self.runs, found, strict=True))
                  if lookup.built is self.runs[0].built and (proof := lookup.proof(hit)) is not None}
        rechecked: dict[int, Verdict] = {}
        if len(proofs) > 1:
            try:
                rechecked = dict(zip(proofs, recheck_together(self.runs[0].built, list(proofs.values())), strict=True))
            except Exception:  # a re-check that fails to run together is tried one lookup at a time
                rechecked = {}
        for index, (lookup, (digest, hit)) in enumerate(zip(self.runs, found, strict=True)):
            lookup.answer(functools.partial(staged, report, index), digest, hit, rechecked.get(index))


def _rechecked(verdict: Verdict) -> tuple[str, Proved | Violated | None, str]:
    """``_proof``'s answer from a re-check done together with the row's other proofs."""
    if not isinstance(verdict, Proved):
        return STALE, None, f"the cached certificate no longer holds: {verdict.detail}"
    return REUSED, dataclasses.replace(verdict, certificate=dataclasses.replace(verdict.certificate, checked=True)), ""


def revalidate(built: BuiltModel, job: Job, prop: Property, hit: Hit, part: int, budget: Budget
               ) -> tuple[str, Proved | Violated | None, str]:
    """The cached verdict if it holds on this model: (REUSED, verdict, ""), else (STALE, None,
    why), or (MISSED, None, why) for a certificate that cannot be re-checked on its own."""
    if hit.certificate is not None:
        return _proof(built, job, prop, hit, part, budget)
    try:
        verdict = _replay(built, job, prop, hit, budget)
    except (ReplayError, ModelError) as e:
        return STALE, None, f"the cached counterexample does not replay: {e}"
    if isinstance(verdict, Unknown):
        return STALE, None, f"the cached counterexample no longer violates: {verdict.reason}"
    return REUSED, verdict, ""


def _proof(built: BuiltModel, job: Job, prop: Property, hit: Hit, part: int, budget: Budget
           ) -> tuple[str, Proved | Violated | None, str]:
    cert = hit.certificate
    assert cert is not None
    obligations = (isinstance(job, Problem) and cert.kind in INVARIANT_KINDS) or \
        (isinstance(job, list) and cert.kind == RECOVERY)
    if obligations:  # the same independent re-check as a fresh proof's: each obligation file by a fresh Z3
        verdict: Verdict = recheck(built, job, prop, Proved(hit.engine, 0.0, cert), part, budget.keep_obligations)
        if not isinstance(verdict, Proved):
            return STALE, None, f"the cached certificate no longer holds: {verdict.detail}"
        c = verdict.certificate
        seconds = sum(r.seconds for f in c.obligations for r in f.runs)
        return REUSED, dataclasses.replace(verdict, certificate=dataclasses.replace(c, checked=True,
                                                                                  check_seconds=seconds)), ""
    if isinstance(job, list) and cert.kind == CertificateKind.RANKING and len(job) == 1:
        return _ranking(built, job[0], hit, budget)
    return MISSED, None, f"a cached {cert.kind} certificate cannot be re-checked on its own"


def _ranking(built: BuiltModel, formula: Reach, hit: Hit, budget: Budget) -> tuple[str, Proved | None, str]:
    """A REACH ranking, re-checked by the explicit engine's own checker on the target's slice."""
    cert = hit.certificate
    assert cert is not None
    sliced = reach_slice(constant_folded(built.system), formula)
    checked = check_ranking_certificate(sliced.slice.system, sliced.target, sliced.legitimate, cert.smtlib,
                                        timeout=budget.timeout, seed=budget.seed, rlimit=budget.rlimit)
    if not checked.ok:
        return STALE, None, f"the cached ranking certificate no longer holds: {checked.reason}"
    return REUSED, Proved(hit.engine, 0.0, dataclasses.replace(cert, checked=True, check_seconds=checked.seconds)), ""


def _replay(built: BuiltModel, job: Job, prop: Property, hit: Hit, budget: Budget) -> Violated | Unknown:
    """Replay the cached steps: a safety part's last state must be bad (as every engine's trace is
    checked), a REACH end state stranded on the full model (``confirm_stranded``)."""
    if isinstance(job, Problem):
        choices = _choices(job.task.system, hit)
        verdict = counterexample(job, hit.engine, choices, Deadline(budget.timeout, budget.rlimit))
        return verdict if isinstance(verdict, (Violated, Unknown)) else Unknown(hit.engine, 0.0, "not a violation")
    system, sc = built.system, built.scenario
    choices = _choices(system, hit)
    why = ""
    for formula in job:
        why = confirm_stranded(system, formula, choices, budget) or ""
        if not why:
            trace = make_trace(system, None, choices, prop.id, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)))
            return Violated(hit.engine, 0.0, trace)
    return Unknown(hit.engine, 0.0, why or "no REACH formula")


def _choices(system: System, hit: Hit) -> list[int]:
    """The cached steps as action instances of this model (ReplayError if one is gone)."""
    return [instance_index(system, TraceStep(n, "", action, params, "", {}, {}))
            for n, (action, params) in enumerate(hit.steps, 1)]


def recheckable(job: Job, verdict: Proved | Violated) -> bool:
    """Whether a lookup could re-check this verdict on its own (only such are worth storing)."""
    if isinstance(verdict, Violated):
        return True
    kind = verdict.certificate.kind
    if isinstance(job, Problem):
        return kind in INVARIANT_KINDS
    return kind == RECOVERY or (kind == CertificateKind.RANKING and len(job) == 1)
