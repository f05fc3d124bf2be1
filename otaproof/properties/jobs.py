"""What the engines check: a property split into independently checked parts, one engine run on
one part (what a worker process executes), and the model's lemma search for one row.

A property that is a conjunction of bounded responses (one per device) is checked part by part:
each part's cone of influence holds one device's report chain, not every device's. REACH
formulas stay one job (a list of formulas) for the REACH engines.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property
from otaproof.properties.engines import bmc, explicit, kind, pdr, recovery, swarm, tail
from otaproof.properties.engines.pdr import CTI, generalises
from otaproof.properties.engines.problem import Engine, Problem
from otaproof.properties.engines.strengthen import Strengthening, model_lemmas
from otaproof.properties.formulas import BoundedResponse, Formula, Reach, to_safety
from otaproof.properties.obligations import (
    BASE_STEP,
    CertificateError,
    NotCovered,
    Obligation,
    base_obligation,
    invariant_obligations,
    model_only,
    recovery_obligation,
    together,
)
from otaproof.properties.pool import Report
from otaproof.properties.recheck import (
    ACCEPTED,
    Limits,
    Recheck,
    judge,
    recheck_obligations,
    run_z3_script,
)
from otaproof.properties.solver import Deadline
from otaproof.properties.verdict import (
    Budget,
    CertificateKind,
    FileCheck,
    ModelSlip,
    Proved,
    Unknown,
    Verdict,
    Violated,
)

ENGINES: dict[str, Engine] = {
    "bmc": bmc.check, "kind": kind.check, "pdr": pdr.check, "explicit": explicit.check,
    "lemmas": pdr.check_by_lemmas, "tail": tail.check, "swarm": swarm.check,
}
FIRST_STAGE = "lemmas"
PORTFOLIO = ("bmc", "pdr", "kind")
TAIL = "tail"  # joins the race on bounded responses (``tail``): counterexamples too deep for BMC
LAST = "kind"  # queued after every part's other racers of the row: k-induction decided no cell of the matrix
CANONICAL_SHARE = 10  # re-deriving a violation's trace by BMC gets 1/10 of the engine's Z3 units
PROBE_SHARE = 100  # a BMC probe after a first stage that gave up gets 1/100 of the engine's Z3 units
SWARM = "swarm"  # explicit states, from the row's first second: violations, and proofs by enumeration
REACH_ENGINES = ("recovery", "explicit")  # REACH: the one-step symbolic proof races the state graph
ENGINE_CHOICES = (*ENGINES, "recovery", "portfolio")


@dataclass(frozen=True)
class Outcome:
    """A property's verdict."""

    property: Property
    verdict: Verdict


Job = Problem | list[Reach]  # what one engine run checks: a safety task, or REACH formulas


def whole(built: BuiltModel, prop: Property, known: Strengthening | None = None) -> Job:
    """What the engines check for the whole property: one safety task, or the REACH formulas
    (their conjunction)."""
    formula = prop.formula(built)
    reach = [f for f in (formula if isinstance(formula, list) else [formula]) if isinstance(f, Reach)]
    if reach:
        if isinstance(formula, list) and len(reach) != len(formula):
            raise TypeError(f"{prop.id}: REACH formulas cannot be mixed with other kinds")
        return reach
    return _safety(built, prop, formula, 0, known)


def _safety(built: BuiltModel, prop: Property, formula: Formula | list[Formula], first_response: int,
            known: Strengthening | None) -> Problem:
    sc = built.scenario
    task = to_safety(built.system, formula, first_response)
    task = dataclasses.replace(task, lemmas=built.lemmas + task.lemmas)
    return Problem(task, prop.id, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)), known)


def parts(built: BuiltModel, prop: Property, known: Strengthening | None = None) -> list[Job]:
    """The property as independently checked parts: each bounded response alone (one device's
    report chain: its slice leaves the other devices out), the invariants together; REACH
    formulas stay one job. The property holds iff every part does; a part's counterexample is
    one of the property."""
    formula = prop.formula(built)
    listed = formula if isinstance(formula, list) else []
    responses = [f for f in listed if isinstance(f, BoundedResponse)]
    rest: list[Formula] = [f for f in listed if not isinstance(f, BoundedResponse)]
    if len(responses) + bool(rest) <= 1 or any(isinstance(f, Reach) for f in rest):
        return [whole(built, prop, known)]
    split: list[Job] = [_safety(built, prop, br, n, known) for n, br in enumerate(responses)]
    return split + ([_safety(built, prop, rest, len(responses), known)] if rest else [])


def racers(job: Job) -> tuple[str, ...]:
    """The engines that race on a part after its first stage; with generated candidates only,
    the search for clauses from counterexamples to induction races too (``CTI``), after PDR."""
    cti = (CTI,) if isinstance(job, Problem) and generalises(job.task) else ()
    if isinstance(job, Problem) and job.task.restart is not None:  # k-induction rarely bounds a response: last
        return ("bmc", "pdr", *cti, TAIL, "kind")
    return ("bmc", "pdr", *cti, "kind")


def run(built: BuiltModel, job: Job, prop: Property, engine: str, budget: Budget) -> Verdict:
    """One engine on one job, in this process; only the lemma proofs, BMC, PDR and the tail
    search use the shared model lemmas."""
    sc = built.scenario
    if isinstance(job, list):
        if engine == "recovery":
            return recovery.check(built.system, job, budget)
        if engine not in ("explicit", "portfolio"):
            return Unknown(engine, 0.0, "REACH properties are checked by the recovery and explicit engines only")
        return explicit.check_reach(built.system, job, prop.id, tuple(sorted(sc.threats)),
                                    tuple(sorted(sc.faults)), budget)
    if engine == "recovery":
        return Unknown(engine, 0.0, "the recovery engine checks REACH properties only")
    if engine not in (FIRST_STAGE, CTI, "bmc", "pdr", TAIL):
        job = dataclasses.replace(job, known=None)
    return pdr.check_by_ctis(job, budget) if engine == CTI else ENGINES[engine](job, budget)


@dataclass(frozen=True)
class EngineRun:
    """A worker's job: one engine on one part; it reports one verdict (an engine crash is
    reported as Unknown, never as a verdict), or the ``ModelSlip`` it found. A proof is
    reported only once its obligation files, over the part's unsliced task with its monitors,
    satisfy a fresh Z3 process (``recheck``); a rejected one is Unknown, so the race goes on.
    That is the check of the engine's certificate: the engine does not solve the same three
    obligations in-process first (``Problem.rechecked``). A violation's trace is re-derived by
    BMC (fixed seed) up to the depth found, so the reported trace does not depend on which engine
    won the race (the winner's own trace stays if BMC cannot re-derive one within the budget).

    ``probe``: if this first stage gives up, BMC with ``1/PROBE_SHARE`` of the Z3 units looks for
    a shallow violation right away, in this process (in a Z3 context of its own, so its trace is
    the one the racing BMC would find); the race's BMC runs only if the probe finds none and
    stops short of the budget's depth (the first stage's Unknown says how deep it searched). With
    generated candidates, this first stage does not search for clauses from counterexamples to
    induction (seconds, in vain on a violated part, and holding up the batch's other parts):
    that search races beside BMC and PDR instead (``CTI``)."""

    built: BuiltModel
    job: Job
    prop: Property
    engine: str
    budget: Budget
    part: int = 0  # the part's number in its property (1-based), 0 if the property is one part
    probe: bool = False

    def __call__(self, report: Report) -> None:
        job = dataclasses.replace(self.job, rechecked=True) if isinstance(self.job, Problem) else self.job
        if self.probe and self.engine == FIRST_STAGE and isinstance(job, Problem):  # the search races instead
            job = dataclasses.replace(job, generalise=False)
        try:
            verdict = run(self.built, job, self.prop, self.engine, self.budget)
            if isinstance(verdict, Unknown) and self.probe and isinstance(job, Problem):
                found = run(self.built, job, self.prop, "bmc", probe_budget(self.budget))
                verdict = found if isinstance(found, Violated) else \
                    dataclasses.replace(verdict, searched=found.searched if isinstance(found, Unknown) else -1)
            if isinstance(verdict, Proved):
                verdict = recheck(self.built, self.job, self.prop, verdict, self.part, self.budget.keep_obligations)
            elif isinstance(verdict, Violated) and verdict.engine != "bmc" and isinstance(self.job, Problem):
                verdict = canonical(self.job, verdict, self.budget)
        except ModelSlip as slip:  # the model is wrong: the portfolio stops the run with it
            report(slip)
            return
        except Exception as e:
            verdict = Unknown(self.engine, 0.0, f"engine error: {type(e).__name__}: {e}")
        report(verdict)


@dataclass(frozen=True)
class Staged:
    """One answer of a ``FirstStages`` job: what its run number ``index`` reported."""

    index: int
    answer: object


@dataclass(frozen=True)
class FirstStages:
    """A worker's job: the first stage of several parts of one row, one after the other in one
    process, so the row's transition relation is encoded once for all of them instead of once
    per part (0.5-0.8 s each). It reports a ``Staged`` answer for each run, in ``runs`` order."""

    runs: tuple[EngineRun, ...]

    def __call__(self, report: Report) -> None:
        for index, engine_run in enumerate(self.runs):
            engine_run(functools.partial(staged, report, index))


def staged(report: Report, index: int, answer: object) -> None:
    """Report ``answer`` as run number ``index`` of a batch."""
    report(Staged(index, answer))


# this process's accepted base-step files by SHA-256 (one per row, solved once; the same text is the
# same claim, and a long-lived Dask worker keeps them across its jobs)
_BASES: dict[str, FileCheck] = {}


def recheck(built: BuiltModel, job: Job, prop: Property, proof: Proved, part: int, keep: bool = False) -> Verdict:
    """The proof if its obligation files (written from the grounded system, not the engine's
    terms) are all unsat for a fresh Z3 process; otherwise Unknown with the failing obligation.
    The answers stay on the certificate (``obligations``), with each file's gzip bytes if
    ``keep`` (an evidence pack ships them), so each file is printed and solved by Z3 once; a
    base-step file Z3 already accepted in this process is not asked again. A certificate kind
    without standalone obligations (a ranking) stays proved, re-checked only by the in-process
    checker, and the table says so."""
    cert = proof.certificate
    try:
        if isinstance(job, Problem):
            obs = invariant_obligations(job.task, cert, prop.id, part, built.scenario.describe())
        elif cert.kind == CertificateKind.ONE_STEP_RECOVERY:
            obs = [recovery_obligation(built.system, f, prop.id, n, built.scenario.describe())
                   for n, f in enumerate(job, 1)]
        else:
            return proof
    except (NotCovered, CertificateError) as e:
        return Unknown(proof.engine, proof.seconds, f"proof not re-checked independently: {e}")
    with tempfile.TemporaryDirectory(prefix="otaproof-obligations-") as tmp:
        checked = recheck_obligations(prop.id, obs, Path(tmp), ("z3",), Limits(), workers=1,
                                      known=tuple(_BASES.values()), together=True)
    for f, ob in zip(checked.files, obs, strict=True):
        if ob.name == BASE_STEP and all(r.answer == ACCEPTED for r in f.runs):
            _BASES[f.digest] = f
    if keep:
        checked = dataclasses.replace(checked, files=tuple(dataclasses.replace(f, packed=ob.packed)
                                                           for f, ob in zip(checked.files, obs, strict=True)))
    return _gated(proof, checked)


def _gated(proof: Proved, checked: Recheck) -> Verdict:
    """The proof with its files' answers if Z3 accepted every file, else Unknown saying why."""
    if checked.status != ACCEPTED:
        return Unknown(proof.engine, proof.seconds, f"independent re-check: {checked.status}: {checked.reason}")
    return dataclasses.replace(proof, certificate=dataclasses.replace(
        proof.certificate, obligations=checked.files, checked=True,
        check_seconds=proof.certificate.check_seconds + checked.seconds("z3")))


def recheck_together(built: BuiltModel, proofs: Sequence[tuple[Problem, Property, Proved, int]]) -> list[Verdict]:
    """``recheck`` for several invariant proofs of one row (a cache lookup's), by one Z3
    process on one script (``obligations.together``): the model is parsed once instead of once
    per proof, the row's base-step solved once, and each claim is still judged on exactly its
    file's assertions. Each file is printed as well, so the certificate names it (digest, size)
    as ``recheck`` does. A proof whose files cannot be printed gets ``recheck``'s Unknown; if the
    proofs are not over one model, each is re-checked alone."""
    verdicts: list[Verdict | None] = [None] * len(proofs)
    printed: dict[int, list[Obligation]] = {}
    base_steps: dict[str, Obligation] = {}  # by the base's text: the same file for every proof of the row
    for n, (job, prop, proof, part) in enumerate(proofs):
        base = proof.certificate.base
        try:
            printed[n] = invariant_obligations(job.task, proof.certificate, prop.id, part, built.scenario.describe(),
                                               base_step=False)
            if base and base not in base_steps:
                base_steps[base] = base_obligation(model_only(job.task.system), base, built.scenario.describe(),
                                                   prop.id)
        except (NotCovered, CertificateError) as e:
            verdicts[n] = Unknown(proof.engine, proof.seconds, f"proof not re-checked independently: {e}")
            continue
        if base:
            printed[n].append(dataclasses.replace(base_steps[base], property_id=prop.id, part=part))
    order = sorted(printed)
    if not order:
        return [v for v in verdicts if v is not None]
    texts = {ob.text: ob.text.encode() for n in order for ob in printed[n]}  # the base-step's text once
    digests = {text: hashlib.sha256(data).hexdigest() for text, data in texts.items()}
    try:
        script = together([(proofs[n][0].task, proofs[n][2].certificate) for n in order])
    except (NotCovered, CertificateError):
        return [v if v is not None else recheck(built, job, prop, proof, part)
                for v, (job, prop, proof, part) in zip(verdicts, proofs, strict=True)]
    answers = run_z3_script(script, Limits())
    runs = dict(zip([(order[i], name) for i, name in script.checks], answers, strict=True))
    by_base = {proofs[n][2].certificate.base: run for (n, name), run in runs.items() if name == BASE_STEP}
    for n in order:
        job, prop, proof, part = proofs[n]
        files = []
        for ob in printed[n]:
            digest = digests[ob.text]
            run = by_base[proof.certificate.base] if ob.name == BASE_STEP else runs[n, ob.name]
            files.append(FileCheck(ob.filename, ob.label, ob.claim, len(texts[ob.text]), digest, (run,)))
        verdicts[n] = _gated(proof, judge(prop.id, tuple(files)))
    return [v for v in verdicts if v is not None]


def canonical(problem: Problem, found: Violated, budget: Budget) -> Violated:
    """The violation with BMC's trace (minimal depth, fixed seed) up to the depth found, so
    the trace is the same whichever engine won; ``found`` if BMC gives up. BMC gets a tenth of
    the engine's resource units and what is left of its wall-clock cap: a trace too deep for BMC
    (the reason another engine won) must not cost the verdict the winner already has."""
    again = bmc.check(problem, canonical_budget(budget, len(found.trace.steps), found.seconds))
    if isinstance(again, Violated):
        return dataclasses.replace(found, trace=again.trace)
    return found


def probe_budget(budget: Budget) -> Budget:
    """A BMC probe's budget: ``1/PROBE_SHARE`` of the engine's Z3 units (none if it has no limit)."""
    return dataclasses.replace(budget, rlimit=max(1, budget.rlimit // PROBE_SHARE)) if budget.rlimit else budget


def canonical_budget(budget: Budget, depth: int, spent: float) -> Budget:
    """BMC's budget for re-deriving a violation of ``depth`` steps found after ``spent`` seconds."""
    share = max(1, budget.rlimit // CANONICAL_SHARE) if budget.rlimit else 0  # 0: no limit of its own
    return dataclasses.replace(budget, depth=depth, rlimit=share, timeout=max(1.0, budget.timeout - spent))


@dataclass(frozen=True)
class LemmaSearch:
    """A worker's job: the model's lemma search (Houdini) for one row, split between
    ``processes`` processes; it reports the names of the inductive lemmas, or None if the search
    gave up (the row's engines then work without)."""

    built: BuiltModel
    budget: Budget
    processes: int = 1

    def __call__(self, report: Report) -> None:
        report(inductive_names(self.built, self.budget, self.processes))


def inductive_names(built: BuiltModel, budget: Budget, processes: int = 1) -> tuple[str, ...] | None:
    """The names of the model's inductive lemmas, or None if the search gave up or failed."""
    try:
        return model_lemmas(built.system, built.lemmas, Deadline(budget.timeout, budget.rlimit), budget.seed,
                            processes).names
    except Exception:  # GaveUp, or a crash: the row's engines work without the shared lemmas
        return None
