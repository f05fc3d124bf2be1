"""The pack's certificates: each proof's obligations (``properties/obligations.py``) as standalone
SMT-LIB 2 files over the full model, gzip-compressed, and their re-checks by fresh solver
processes (``properties/recheck.py``): once before the proof is reported (Z3, in the portfolio's
worker, which keeps the files' bytes; a proof Z3 does not confirm is shown as unknown) and again
by ``otaproof verify`` (Z3, optionally cvc5).

Layout: ``certificates/<design>/<threat model>/<property>/<obligation>.smt2.gz`` where the
obligation is ``init``, ``step``, ``safe``, and ``base-step`` for a certificate with a base (the
row's shared model lemmas; ``partN-`` before them for a conjunction certificate) or ``recoveryN``.
A file is gzip (``Obligation.packed``) with mtime 0 and no file name, so the same text gives the
same bytes; ``zcat FILE | z3 -in`` re-checks one by hand.

``verify`` does not take the files on trust: it reads the invariant out of each proof's files,
prints that proof's obligations again from the model it rebuilds, and requires the files to be
exactly those (no file missing, none extra, every part carrying the same invariant) before it
solves them; a ``ranking`` certificate (explicit REACH) has no obligations yet and is listed as
not independently re-checked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property, get_property
from otaproof.properties.formulas import Reach
from otaproof.properties.obligations import BASE_STEP, CertificateError, NotCovered, Obligation, obligations
from otaproof.properties.recheck import (
    ACCEPTED,
    NOT_COVERED,
    REFUSED,
    REJECTED,
    Limits,
    Recheck,
    recheck_obligations,
    run_solver,
)
from otaproof.properties.verdict import Certificate, CertificateKind, FileCheck, Proved, Unknown
from otaproof.reports.matrix import Row

ROOT = "certificates"
LIMITS = Limits()  # solver resource limits per obligation file (recheck.py's defaults)
MAX_TEXT = 64 * 1024 * 1024  # bytes an obligation file may decompress to (a guard against gzip bombs)


def scenario_of(entry: dict[str, Any]) -> Scenario:
    """The scenario an evidence entry names (variant, threats, faults, parameters)."""
    return Scenario(entry["variant"], frozenset(entry["threats"]), frozenset(entry["faults"]),
                    Parameters(**entry["parameters"]))


def certificate_parts(cert: Certificate) -> tuple[Certificate, ...]:
    """A conjunction's parts (one per property part, in ``properties.check.parts`` order) or the certificate."""
    return cert.parts if cert.kind == "conjunction" else (cert,)


def obligation_path(key: str, filename: str) -> str:
    """Where the obligation file ``filename`` (``Obligation.filename``: property/name.smt2) of the
    cell ``key`` (design/threat model/property) lies in the pack."""
    return f"{ROOT}/{key}/{filename.split('/', 1)[1]}.gz"


def decompress(data: bytes) -> str:
    """An obligation file's text; ValueError when it is not gzip, too large or not UTF-8."""
    try:
        unpacked = zlib.decompressobj(wbits=31)
        raw = unpacked.decompress(data, MAX_TEXT + 1)
        if len(raw) > MAX_TEXT or unpacked.unconsumed_tail:
            raise ValueError(f"decompresses to more than {MAX_TEXT:,} bytes")
        if not unpacked.eof or unpacked.unused_data:
            raise ValueError("not one complete gzip stream")
        return raw.decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as e:
        raise ValueError(f"not a gzip-compressed SMT-LIB file ({e})") from None


# ---- when the pack is built -----------------------------------------------------------------

@dataclass(frozen=True)
class ProofFiles:
    """One proof's re-check when the pack was built, and its compressed obligation files."""

    recheck: Recheck
    files: dict[str, bytes]  # pack path -> gzip bytes, in obligation order
    checks: dict[str, FileCheck]  # pack path -> the obligation it states and every solver's answer on it
    shipped: bool = False  # True: the files and answers came from the worker that found the proof


def recheck_rows(rows: list[Row], built: Callable[[Scenario], BuiltModel], workers: int | None = None,
                 limits: Limits = LIMITS) -> tuple[list[Row], dict[str, ProofFiles]]:
    """Every proof's obligation files, each solved by a fresh Z3 process (``workers`` proofs at a
    time). A portfolio worker already printed and solved them before it reported the proof
    (``jobs.recheck``): their bytes and answers are taken from the certificate once each file's
    text is seen to be the one Z3 answered on (its SHA-256). Otherwise the obligations are printed
    here from the model and a fresh Z3 process solves each file whose text no Z3 answered on. A
    proof Z3 does not confirm, or whose certificate is refused, becomes unknown naming why; a
    kind without obligations (``ranking``) stays proved, listed as such. Returns the rows as
    shown and the files per cell key (``design/threat model/property``)."""
    todo = [(row, o) for row in rows for o in row.outcomes if isinstance(o.verdict, Proved)]
    with tempfile.TemporaryDirectory(prefix="otaproof-evidence-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
        def one(item: tuple[Row, Any]) -> ProofFiles:
            row, o = item
            key = f"{row.scenario.variant}/{row.threat_model}/{o.property.id}"
            return shipped(key, o.property.id, o.verdict.certificate) or \
                derived(key, built(row.scenario), o.property, o.verdict.certificate, Path(tmp), limits)

        done = list(pool.map(one, todo))
    proofs = {f"{row.scenario.variant}/{row.threat_model}/{o.property.id}": p
              for (row, o), p in zip(todo, done, strict=True)}
    shown = [Row(row.scenario, [_gated(o, proofs.get(f"{row.scenario.variant}/{row.threat_model}/{o.property.id}"))
                                for o in row.outcomes]) for row in rows]
    return shown, {k: p for k, p in proofs.items() if p.recheck.status in (ACCEPTED, NOT_COVERED)}


def shipped(key: str, pid: str, cert: Certificate) -> ProofFiles | None:
    """The proof's files as the worker that found it kept them, if it kept every one, each one
    decompresses to the text Z3 answered on and Z3 accepted every one; else None."""
    checks = cert.obligations
    if not checks or not all(f.packed for f in checks):
        return None
    for f in checks:
        try:
            text = decompress(f.packed)
        except ValueError:
            return None
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != f.digest or \
                not any(r.solver == "z3" and r.answer == ACCEPTED for r in f.runs):
            return None
    paths = [obligation_path(key, f.filename) for f in checks]
    return ProofFiles(Recheck(pid, ACCEPTED, "", checks), {p: f.packed for p, f in zip(paths, checks, strict=True)},
                      dict(zip(paths, checks, strict=True)), shipped=True)


def derived(key: str, built: BuiltModel, prop: Property, cert: Certificate, tmp: Path, limits: Limits) -> ProofFiles:
    """The proof's files printed here from the model, each solved by a fresh Z3 process unless a
    Z3 process already answered on the same text (the worker's answers on the certificate)."""
    try:
        obs = obligations(built, prop, cert)
    except NotCovered as e:
        return ProofFiles(Recheck(prop.id, NOT_COVERED, str(e)), {}, {})
    except CertificateError as e:
        return ProofFiles(Recheck(prop.id, REFUSED, str(e)), {}, {})
    recheck = recheck_obligations(prop.id, obs, tmp / key, ("z3",), limits, workers=1, known=cert.obligations)
    paths = [obligation_path(key, ob.filename) for ob in obs]
    return ProofFiles(recheck, {p: ob.packed for p, ob in zip(paths, obs, strict=True)},
                      dict(zip(paths, recheck.files, strict=True)))


def _gated(o: Any, proof: ProofFiles | None) -> Any:
    """The outcome as the pack shows it: proved only if Z3 confirmed every obligation (or the kind has none)."""
    if proof is None or proof.recheck.status in (ACCEPTED, NOT_COVERED):
        return o
    r = proof.recheck
    what = {REJECTED: "rejected the certificate", REFUSED: "refused the certificate"}.get(
        r.status, "could not confirm the certificate")
    return dataclasses.replace(o, verdict=Unknown(o.verdict.engine, o.verdict.seconds,
                                                  f"independent re-check {what}: {r.reason}"))


def proof_entry(proof: ProofFiles) -> dict[str, Any]:
    """What ``evidence.json`` says of a proof's re-check (answers only: times go to timings.json)."""
    r = proof.recheck
    if r.status == NOT_COVERED:
        return {"recheck": "not independently re-checked", "reason": r.reason, "obligations": []}
    return {"recheck": r.status, "obligations": [
        {"file": path, "obligation": f.label, "claim": f.claim, "bytes": f.size,
         "accepted_by": [run.solver for run in f.runs if run.answer == ACCEPTED]}
        for path, f in proof.checks.items()]}


# ---- when the pack is verified --------------------------------------------------------------

@dataclass(frozen=True)
class FileResult:
    """One obligation file in ``verify``: ok, and why (every solver's answer, or what is wrong)."""

    file: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ProofResult:
    """One proof in ``verify``: its files, and per solver whether it accepted every file and in how long."""

    key: str
    covered: bool  # False: a certificate kind without standalone obligations (not independently re-checked)
    reason: str
    files: tuple[FileResult, ...]
    solvers: dict[str, tuple[str, float]]  # solver -> (accepted | rejected | unknown, seconds)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files) and (not self.covered or bool(self.files))


def invariant_text(text: str, name: str = "inv") -> str | None:
    """The body of ``(define-fun NAME (...) Bool BODY)`` in an obligation file (``inv``, or
    ``base`` for a certificate's base), or None."""
    start = text.find(f"\n(define-fun {name} (")
    if start < 0:
        return None
    end = _close(text, start + 1)
    binders = _close(text, start + len(f"\n(define-fun {name} "))
    if end is None or binders is None or not text.startswith(" Bool ", binders + 1):
        return None
    return text[binders + len(" Bool ") + 1:end]


def _close(text: str, i: int) -> int | None:
    """The index of the parenthesis closing the one at ``i`` (quoted |symbols| and comments skipped)."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "|":
            i = text.find("|", i + 1)
            if i < 0:
                return None
        elif c == ";":
            i = text.find("\n", i)
            if i < 0:
                return None
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def expected_obligations(built: BuiltModel, prop: Property, entry: dict[str, Any], texts: dict[str, str],
                         key: str) -> list[tuple[str, Obligation]]:
    """The obligations the proof's files must be, printed again from the model with the
    invariant each part's files carry. Raises ValueError naming the file when they cannot be,
    NotCovered for a kind without obligations."""
    cert = entry["certificate"]
    kinds = [CertificateKind(p["kind"]) for p in cert["parts"]]
    conjunction = cert["kind"] == "conjunction"
    invariants: list[tuple[str, str]] = []
    for n, kind in enumerate(kinds, 1):
        if kind == CertificateKind.ONE_STEP_RECOVERY or kind == CertificateKind.RANKING:
            invariants.append(("", ""))
            continue
        prefix = f"{ROOT}/{key}/{f'part{n}-' if conjunction else ''}"
        ours = {name: text for name, text in texts.items()
                if name.startswith(prefix) and name[len(prefix):].split(".")[0] in ("init", "step", "safe", BASE_STEP)}
        if not ours:
            raise ValueError(f"{prefix}init.smt2.gz: missing (no obligation file of this part)")
        based = any(name[len(prefix):].split(".")[0] == BASE_STEP for name in ours)
        inv = _shared(ours, "inv", [name for name in ours if name[len(prefix):].split(".")[0] != BASE_STEP])
        invariants.append((inv, _shared(ours, "base", list(ours)) if based else ""))
    parts = tuple(Certificate(kind, inv, 0, base=base) for kind, (inv, base) in zip(kinds, invariants, strict=True))
    whole = Certificate(CertificateKind.CONJUNCTION, "", len(parts), parts=parts) if conjunction else parts[0]
    try:
        obs = obligations(built, prop, whole)
    except CertificateError as e:
        raise ValueError(f"{ROOT}/{key}: {e}") from None
    return [(obligation_path(key, ob.filename), ob) for ob in obs]


def _shared(texts: dict[str, str], name: str, files: list[str]) -> str:
    """The body of ``define-fun NAME`` that every one of ``files`` carries (ValueError naming the
    first file that has none, or another one)."""
    found = {f: invariant_text(texts[f], name) for f in files}
    if not found:
        raise ValueError(f"{min(texts)}: no obligation file carries the {name} (define-fun {name})")
    unread = sorted(f for f, body in found.items() if body is None)
    if unread:
        raise ValueError(f"{unread[0]}: its {name} (define-fun {name}) cannot be read")
    first = min(found)
    differ = sorted(f for f, body in found.items() if body != found[first])
    if differ:
        raise ValueError(f"{differ[0]}: its {name} differs from the one in {first} (the part's files must share one)")
    return str(found[first])


def verify_proof(entry: dict[str, Any], root: str, solvers: Sequence[str], limits: Limits,
                 built: Callable[[Scenario], BuiltModel]) -> ProofResult:
    """Re-check one proof of a pack at ``root`` (run in a fresh worker process): the files are
    the model's obligations for the invariant they carry, and every solver answers unsat."""
    key = entry["key"]
    listed = [o["file"] for o in entry["certificate"].get("obligations", [])]
    texts: dict[str, str] = {}
    problems: list[FileResult] = []
    for name in listed:
        path = Path(root) / name
        if ".." in Path(name).parts or not path.is_file():
            problems.append(FileResult(name, False, "missing"))
            continue
        try:
            texts[name] = decompress(path.read_bytes())
        except ValueError as e:
            problems.append(FileResult(name, False, str(e)))
    if problems:
        return ProofResult(key, True, "", tuple(problems), {})
    try:
        prop = get_property(entry["property"])
        model = built(scenario_of(entry))
        try:
            expected = expected_obligations(model, prop, entry, texts, key)
        except NotCovered as e:
            if entry["certificate"]["kind"] == CertificateKind.RANKING and not listed and _is_reach(model, prop):
                return ProofResult(key, False, str(e), (), {})
            raise ValueError(f"{ROOT}/{key}: a {entry['certificate']['kind']} certificate cannot prove "
                             f"{prop.id} ({e})") from None
    except (ValueError, KeyError, TypeError) as e:
        name = str(e).split(":")[0] if str(e).startswith(ROOT) else f"{ROOT}/{key}"
        return ProofResult(key, True, "", (FileResult(name, False, str(e)),), {})
    return _solve(key, expected, texts, solvers, limits)


def _is_reach(built: BuiltModel, prop: Property) -> bool:
    formula = prop.formula(built)
    return all(isinstance(f, Reach) for f in (formula if isinstance(formula, list) else [formula]))


def _solve(key: str, expected: list[tuple[str, Obligation]], texts: dict[str, str], solvers: Sequence[str],
           limits: Limits) -> ProofResult:
    """Compare the files with the regenerated obligations, then solve each with every solver."""
    want = dict(expected)
    results = [FileResult(name, False, "missing: the model's proof needs this obligation")
               for name in want if name not in texts]
    results += [FileResult(name, False, "not an obligation of this proof on the model")
                for name in texts if name not in want]
    tally: dict[str, list[Any]] = {s: [ACCEPTED, 0.0] for s in solvers}
    with tempfile.TemporaryDirectory(prefix="otaproof-verify-") as tmp:
        for n, (name, ob) in enumerate(expected):
            if name not in texts:
                continue
            if texts[name] != ob.text:
                line = next((i for i, (a, b) in enumerate(zip(texts[name].splitlines(), ob.text.splitlines(),
                                                                strict=False), 1) if a != b), None)
                where = f" (first at line {line})" if line else ""
                results.append(FileResult(name, False, f"is not the obligation {ob.label} ({ob.claim}) of the model"
                                                       f"{where}: changed"))
                continue
            plain = Path(tmp) / f"{n}.smt2"
            plain.write_text(texts[name], encoding="utf-8")
            answers = []
            for s in solvers:
                started = time.monotonic()
                run = run_solver(s, plain, limits)
                tally[s][1] += time.monotonic() - started
                if run.answer != ACCEPTED and tally[s][0] != REJECTED:
                    tally[s][0] = run.answer
                answers.append(run)
            ok = all(r.answer == ACCEPTED for r in answers)
            detail = "; ".join(f"{r.solver} {r.detail} ({r.seconds:.1f} s)" for r in answers)
            results.append(FileResult(name, ok, f"obligation {ob.label} ({ob.claim}): {detail}"))
    order = {name: n for n, name in enumerate([*want, *texts])}
    results.sort(key=lambda f: order.get(f.file, len(order)))
    return ProofResult(key, True, "", tuple(results), {s: (a, t) for s, (a, t) in tally.items()})
