"""Assemble an evidence pack: compute once, render, hash, sign, and write the directory
atomically (a sibling temporary directory renamed into place: never half-written).

Layout: index.html, report.md, evidence.json, traces/, certificates/ (each proof's obligations,
``.smt2.gz``), storm.png, storm.svg, manifest.json (+ manifest.sig when signed), timings.json,
and report.pdf with ``--pdf``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from otaproof.properties.cache import CacheUse
from otaproof.properties.check import Outcome
from otaproof.reports.evidence.collect import Plan, Results, collect
from otaproof.reports.evidence.document import (
    assemble,
    certificate_files,
    evidence_document,
    timings,
    trace_files,
)
from otaproof.reports.evidence.manifest import (
    MANIFEST,
    SIGNATURE,
    TIMINGS,
    VARIANTS,
    git_commit,
    manifest,
    sign,
    versions,
)
from otaproof.reports.evidence.pdf import print_pdf
from otaproof.reports.evidence.render import inline_svg, render_html, render_markdown
from otaproof.reports.evidence.view import view

# the phases of the pack beyond the verdicts (timings.json: "pack" is their sum)
PACK_PHASES = ("obligations", "storm", "rendering", "hashing", "writing", "pdf")


@dataclass(frozen=True)
class Written:
    """What ``build`` wrote."""

    path: Path
    files: int
    bytes: int
    seconds: float
    unknown: int
    findings: int
    phases: dict[str, float]  # seconds per phase, as timings.json's "build"


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def contents(results: Results, command: list[str], key: Ed25519PrivateKey | None,
             tests: dict[str, Any] | None = None) -> tuple[dict[str, bytes], dict[str, float]]:
    """Every file of the pack but ``timings.json`` and ``report.pdf`` (path -> bytes), and the
    seconds spent rendering and hashing them; the same results and command give the same bytes."""
    start = time.monotonic()
    ev = assemble(results)
    doc = evidence_document(ev)
    doc["tests"] = tests
    files: dict[str, bytes] = {"evidence.json": _json(doc)}
    files.update({path: _json(data) for path, data in trace_files(ev).items()})
    files.update(certificate_files(ev))
    # the design changes given as files: ``otaproof verify`` registers them to rebuild their models
    files.update({f"{VARIANTS}/{name}.py": Path(file).read_bytes() for name, file in results.plan.variant_files})
    files.update(results.plots)
    git = git_commit()
    repro = {"version": versions()["otaproof"], "commit": git["commit"] if git else None,
             "command": " ".join(command), "signed": key is not None}
    context = view(ev, doc, repro, inline_svg(results.plots["storm.svg"]) if results.plots else "", tests)
    files["index.html"] = render_html(context).encode("utf-8")
    files["report.md"] = render_markdown(context).encode("utf-8")
    rendered = time.monotonic()
    files[MANIFEST] = manifest(files, doc["plan"], command)
    if key is not None:
        files[SIGNATURE] = sign(key, files[MANIFEST])
    return files, {"rendering": rendered - start, "hashing": time.monotonic() - rendered}


def build(plan: Plan, out: Path, command: list[str], key: Ed25519PrivateKey | None = None, pdf: bool = False,
          force: bool = False, tests: Callable[[], dict[str, Any]] | None = None,
          on_done: Callable[[int, Outcome], None] | None = None, cache: CacheUse | None = None) -> Written:
    """Check, render and write the pack at ``out`` (which must not exist unless ``force``); ``cache``
    should re-use only exact hits (``CacheUse.exact_only``), so the pack is what a fresh run gives.

    ``timings.json`` and ``Written.phases`` split the time: ``verdicts`` (the matrix), the pack
    (``obligations``, ``storm`` (the wait for it after the verdicts), ``rendering``, ``hashing``,
    ``writing``, ``pdf``), ``tests`` (``--with-tests``) and the ``total``."""
    start = time.monotonic()
    results = collect(plan, on_done, cache)
    phases = dict(results.timings)
    started = time.monotonic()
    extra = tests() if tests is not None else None
    if tests is not None:
        phases["tests"] = time.monotonic() - started
    files, spent = contents(results, command, key, extra)
    phases.update(spent)
    started = time.monotonic()
    parent = out.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for path, data in files.items():
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        phases["writing"] = time.monotonic() - started
        if pdf:
            started = time.monotonic()
            print_pdf(tmp / "index.html", tmp / "report.pdf")
            phases["pdf"] = time.monotonic() - started
        phases["total"] = time.monotonic() - start
        phases["pack"] = sum(phases.get(k, 0.0) for k in PACK_PHASES)
        (tmp / TIMINGS).write_bytes(_json(timings(results, phases)))
        os.chmod(tmp, 0o755)
        if out.exists():
            if not force:
                raise FileExistsError(f"--out {out} exists: choose another directory or pass --force to replace it")
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return Written(out, sum(1 for p in out.rglob("*") if p.is_file()), size, time.monotonic() - start,
                   sum(1 for r in results.rows for o in r.outcomes if o.verdict.verdict == "unknown"),
                   len(json.loads(files["evidence.json"])["findings"]), phases)


def phases_line(phases: dict[str, float]) -> str:
    """The build's time split as timings.json's "build": the verdicts, then the pack's own phases."""
    shown = [(name, phases[name]) for name in PACK_PHASES if name in phases]
    tests = f", tests {phases['tests']:.1f} s" if "tests" in phases else ""
    return (f"{phases['total']:.1f} s: verdicts {phases['verdicts']:.1f} s{tests}, pack {phases['pack']:.1f} s ("
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in shown) + ")")
