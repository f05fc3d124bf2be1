"""``otaproof verify DIR``: re-verify a pack without trusting whoever made it.

In order: the manifest is read (missing or corrupt: bad input), its signature checked with the
given public key, every file's SHA-256 compared (and files the manifest does not list refused),
then every proof's obligation files re-checked (``certificates.verify_proof``: they must be the
model's obligations, and each solver, a fresh process per file, must answer unsat) and every
trace replayed on the model, each proof and trace in a fresh worker process
(``multiprocessing`` spawn: a new interpreter, nothing shared with whoever built the pack).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from otaproof.model.variant_files import use_variants
from otaproof.properties.recheck import Limits
from otaproof.reports.evidence.certificates import LIMITS, ProofResult, verify_proof
from otaproof.reports.evidence.document import SCHEMA as EVIDENCE_SCHEMA
from otaproof.reports.evidence.findings import built_model
from otaproof.reports.evidence.manifest import MANIFEST, SCHEMA, SIGNATURE, UNLISTED, VARIANTS, sha256, signature_ok
from otaproof.reports.evidence.replay import Check, replay_trace


class PackError(ValueError):
    """A pack that cannot be verified at all (no or corrupt manifest): one line, exit code 2."""


@dataclass(frozen=True)
class Row:
    """One line of the verification table."""

    file: str
    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verification:
    """Every check's row, and each proof's re-check (which solvers accepted it, in how long)."""

    rows: list[Row]
    proofs: list[ProofResult]


def read_manifest(root: Path) -> tuple[bytes, dict[str, Any]]:
    path = root / MANIFEST
    if not root.is_dir():
        raise PackError(f"{root}: not a directory")
    if not path.is_file():
        raise PackError(f"{path}: missing (not an evidence pack, or an incomplete one)")
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PackError(f"{path}: corrupt ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("files"), dict) or \
            not all(isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in doc["files"].values()):
        raise PackError(f"{path}: not a manifest of schema {SCHEMA}")
    return raw, doc


def _signature(root: Path, raw: bytes, key: Ed25519PublicKey | None) -> Row:
    sig = root / SIGNATURE
    if key is None:
        detail = "not checked: no --public-key given" if sig.is_file() else "the pack is not signed"
        return Row(SIGNATURE, "signature", True, detail)
    if not sig.is_file():
        return Row(SIGNATURE, "signature", False, "missing: the pack is not signed")
    ok = signature_ok(key, raw, sig.read_bytes())
    return Row(SIGNATURE, "signature", ok, "valid Ed25519 signature of manifest.json" if ok else
               "does not match manifest.json with this public key")


def _hashes(root: Path, listed: dict[str, Any]) -> list[Row]:
    rows = []
    for name, info in sorted(listed.items()):
        path = root / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            rows.append(Row(name, "sha256", False, "a path outside the pack"))
        elif not path.is_file():
            rows.append(Row(name, "sha256", False, "missing"))
        elif sha256(path.read_bytes()) != info["sha256"]:
            rows.append(Row(name, "sha256", False, "content differs from the manifest (changed)"))
        else:
            rows.append(Row(name, "sha256", True, "matches"))
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    rows += [Row(name, "sha256", False, "not listed in the manifest") for name in sorted(present - set(listed))
             if name not in UNLISTED]
    return rows


Progress = Callable[[int, int, str], None]  # (checks finished, checks in all, the one just finished)


def verify(root: Path, key: Ed25519PublicKey | None, workers: int | None = None, solvers: tuple[str, ...] = ("z3",),
           limits: Limits = LIMITS, progress: Progress | None = None) -> Verification:
    """Every check of the pack at ``root``; raises PackError when there is no usable manifest.
    ``progress`` hears of each re-check and replay as it finishes (they take minutes on a big pack)."""
    raw, manifest = read_manifest(root)
    rows = [_signature(root, raw, key), *_hashes(root, manifest["files"])]
    try:
        evidence = json.loads((root / "evidence.json").read_bytes())
        if evidence.get("schema") != EVIDENCE_SCHEMA:
            raise ValueError(f"schema {evidence.get('schema')!r}, this otaproof reads {EVIDENCE_SCHEMA}")
        cells = evidence["cells"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return Verification([*rows, Row("evidence.json", "read", False, f"unreadable: {e}")], [])
    jobs: list[tuple[str, str, Any, tuple[Any, ...]]] = []
    for cell in cells:
        if cell.get("verdict") == "proved":
            jobs.append((cell["key"], "certificate", verify_proof, (cell, str(root), solvers, limits, built_model)))
        if "trace" in cell:
            text = _read(root, cell["trace"])
            try:
                data = json.loads(text) if text is not None else None
            except json.JSONDecodeError as e:
                rows.append(Row(cell["trace"], "replay", False, f"not JSON: {e}"))
                continue
            if data is None:
                rows.append(Row(cell["trace"], "replay", False, "missing"))
                continue
            jobs.append((cell["trace"], "replay", replay_trace, (cell, data)))
    checked, proofs = _run(jobs, workers, sorted(str(p) for p in (root / VARIANTS).glob("*.py")), progress)
    return Verification(rows + checked, proofs)


def _read(root: Path, name: str) -> str | None:
    path = root / name
    if ".." in Path(name).parts or not path.is_file():
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def _run(jobs: list[tuple[str, str, Any, tuple[Any, ...]]], workers: int | None,
         variant_files: list[str], progress: Progress | None = None) -> tuple[list[Row], list[ProofResult]]:
    """The re-checks in fresh (spawned) worker processes, results in job order; each worker first
    registers the pack's variant files (the designs given as files)."""
    if not jobs:
        return [], []
    n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    rows: list[Row] = []
    proofs: list[ProofResult] = []
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=use_variants,
                             initargs=(variant_files,)) as pool:
        futures: list[Future[Any]] = [pool.submit(fn, *args) for _, _, fn, args in jobs]
        try:
            if progress is not None:
                index = {fut: i for i, fut in enumerate(futures)}
                for finished, fut in enumerate(as_completed(futures), 1):
                    name, what, _, _ = jobs[index[fut]]
                    progress(finished, len(jobs), f"{what} {name}")
            results = [_outcome(fut) for fut in futures]
        except BaseException:  # SIGINT/SIGTERM: end every worker now, not after the queued re-checks
            running = list((pool._processes or {}).values())  # shutdown forgets them
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in running:
                worker.kill()
            raise
    for (name, what, _, _), result in zip(jobs, results, strict=True):
        if isinstance(result, Exception):  # a crashed re-check is a failed one, never a pass
            rows.append(Row(name, what, False, f"re-check crashed: {type(result).__name__}: {result}"))
            continue
        if isinstance(result, Check):
            rows.append(Row(name, what, result.ok, f"{result.reason} ({result.seconds:.1f} s)"))
            continue
        proofs.append(result)
        if not result.covered:
            rows.append(Row(name, what, True, f"not independently re-checked: {result.reason}"))
        rows += [Row(f.file, what, f.ok, f.detail) for f in result.files]
    return rows, proofs


def _outcome(fut: Future[Any]) -> Any:
    """A re-check's result, or the exception it crashed with (reported as a failed check)."""
    try:
        return fut.result()
    except Exception as e:
        return e
