"""Certificate cache: earlier proofs and counterexamples, re-checked on the current model, never trusted.

An entry is stored content-addressed: its name is the SHA-256 of the property part as the
solvers see it (the grounded model with the part's monitors and bad states, printed by our own
SMT-LIB printer) with the property, part and parameters. A cell (design, threat and fault
model, parameters, property, part) also remembers its latest entry, so after a design change
the old certificate is found, re-checked against the changed model, and the part is re-proved
only when it no longer holds. A counterexample is stored as its steps (action and parameters)
and replayed. The cache lives in the user's cache directory (``platformdirs``); ``--no-cache``
bypasses it and ``otaproof cache clear`` empties it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from otaproof.model.config import Scenario
from otaproof.model.system import System
from otaproof.properties import smtlib
from otaproof.properties.engines.problem import Problem
from otaproof.properties.formulas import Reach
from otaproof.properties.verdict import Certificate, CertificateKind, Proved, Verdict, Violated

SCHEMA = "otaproof.cache/1"


ENV = "OTAPROOF_CACHE_DIR"  # relocates the cache (``--cache-dir`` wins over it)


def default_root() -> Path:
    """Where certificates are kept: ``$OTAPROOF_CACHE_DIR`` if set, else the user's cache
    directory (``platformdirs``; e.g. ~/.cache/otaproof/certificates on Linux)."""
    relocated = os.environ.get(ENV)
    if relocated:
        return Path(relocated)
    return platformdirs.user_cache_path("otaproof") / "certificates"


@dataclass(frozen=True)
class Cell:
    """Where a verdict belongs: the scenario, the property and the part of it."""

    scenario: Scenario
    property_id: str
    part: int

    def key(self) -> str:
        sc = self.scenario
        text = json.dumps([sc.variant, sorted(sc.threats), sorted(sc.faults), sc.parameters.as_dict(),
                           self.property_id, self.part], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def part_digest(job: Problem | list[Reach], system: System, property_id: str, part: int, context: str = "") -> str:
    """The content address of a property part: the model with the part's monitors and bad states
    (a safety part), or the model with each REACH target and its legitimate steps, as our SMT-LIB
    printer writes them, with the property, part and ``context`` (what else a fresh run's
    certificate depends on: the engine budget, the design lemmas). ``system``: the scenario's
    grounded system."""
    if isinstance(job, Problem):
        system, exprs, extra = job.task.system, [job.task.bad], ""
    else:
        exprs = [f.target for f in job]
        extra = json.dumps([sorted(f.legitimate_instances(system)) for f in job])
    printer = smtlib.Printer(system)
    step = printer.step()
    text = "\n".join([*printer.declare(smtlib.PRE), printer.init(smtlib.PRE), *step.defs, *step.enabled,
                      *(f"{v.name}:={value}" for v, value in step.next_values),
                      *(printer.expr(e) for e in exprs), extra, property_id, str(part), context])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Hit:
    """A cached verdict of a cell: a certificate to re-check, or counterexample steps to replay;
    ``exact`` when it was found for this very model (otherwise it is an earlier model's)."""

    verdict: str
    engine: str
    certificate: Certificate | None
    steps: tuple[tuple[str, dict[str, Any]], ...]
    exact: bool


@dataclass(frozen=True)
class Lookup:
    """What a lookup found: a hit (or None) and the unreadable entries it passed over."""

    hit: Hit | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Info:
    """``otaproof cache info``: where the cache is, how many entries, how many bytes."""

    root: Path
    entries: int
    cells: int
    bytes: int


def _certificate_json(c: Certificate) -> dict[str, Any]:
    return {"kind": str(c.kind), "smtlib": c.smtlib, "size": c.size, "lemmas": list(c.lemmas),
            "parts": [_certificate_json(p) for p in c.parts], **({"base": c.base} if c.base else {})}


def _certificate(data: dict[str, Any]) -> Certificate:
    return Certificate(CertificateKind(data["kind"]), data["smtlib"], int(data["size"]), False, 0.0,
                       tuple(data["lemmas"]), tuple(_certificate(p) for p in data["parts"]),
                       base=str(data.get("base", "")))


class CertificateCache:
    """Cached verdicts under ``root``: ``objects/`` content-addressed, ``cells/`` the latest per cell."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    def lookup(self, cell: Cell, digest: str, exact_only: bool = False) -> Lookup:
        """The entry for this exact model, else (unless ``exact_only``) the cell's latest entry
        (an earlier model's). A corrupt or foreign file is reported in ``problems`` and ignored
        (the part is re-proved over it), never trusted."""
        problems: list[str] = []
        candidates: list[tuple[Path | None, bool]] = [(self.root / "objects" / f"{digest}.json", True)]
        if not exact_only:
            candidates.append((self._latest(cell), False))
        for path, exact in candidates:
            if path is None or not path.is_file():
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("schema") != SCHEMA:
                    raise ValueError(f"not a {SCHEMA} entry")
                if data["property"] != cell.property_id or data["part"] != cell.part:
                    raise ValueError(f"an entry of {data['property']} part {data['part']}, not of this cell")
                verdict = data["verdict"]
                if verdict not in ("proved", "violated"):
                    raise ValueError(f"verdict {verdict!r}")
                cert = _certificate(data["certificate"]) if verdict == "proved" else None
                steps = tuple((str(s["action"]), dict(s["parameters"])) for s in data.get("steps", []))
                return Lookup(Hit(verdict, str(data["engine"]), cert, steps, exact and data["digest"] == digest),
                              tuple(problems))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                problems.append(f"cache entry {path} is unreadable ({type(e).__name__}: {e}); ignored")
                continue
        return Lookup(None, tuple(problems))

    def _latest(self, cell: Cell) -> Path | None:
        pointer = self.root / "cells" / f"{cell.key()}.txt"
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return self.root / "objects" / f"{name}.json" if len(name) == 64 and name.isalnum() else None

    def store(self, cell: Cell, digest: str, verdict: Verdict) -> None:
        """Remember a proof's certificate or a counterexample's steps (unknowns are not stored)."""
        entry: dict[str, Any] = {"schema": SCHEMA, "digest": digest, "property": cell.property_id, "part": cell.part,
                                 "verdict": str(verdict.verdict), "engine": verdict.engine}
        if isinstance(verdict, Proved):
            entry["certificate"] = _certificate_json(verdict.certificate)
        elif isinstance(verdict, Violated):
            entry["steps"] = [{"action": s.action, "parameters": s.parameters} for s in verdict.trace.steps]
        else:
            return
        self._write(self.root / "objects" / f"{digest}.json", json.dumps(entry, sort_keys=True))
        self.point(cell, digest)

    def point(self, cell: Cell, digest: str) -> None:
        """Make ``digest`` the cell's latest entry (the one re-checked first after a design change)."""
        self._write(self.root / "cells" / f"{cell.key()}.txt", digest + "\n")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        """Atomic, so a concurrent reader never sees half an entry; a cache that cannot be written is skipped."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except OSError:
            return

    def info(self) -> Info:
        """Where the cache is and how much it holds."""
        files = [p for p in self.root.rglob("*") if p.is_file()] if self.root.is_dir() else []
        entries = sum(1 for p in files if p.parent.name == "objects" and p.suffix == ".json")
        cells = sum(1 for p in files if p.parent.name == "cells")
        return Info(self.root, entries, cells, sum(p.stat().st_size for p in files))

    def clear(self) -> int:
        """Remove every entry (only the cache's own ``objects/`` and ``cells/``, so a ``--cache-dir``
        pointing at a directory that holds other files loses none of them); the number removed."""
        count = 0
        for sub in ("objects", "cells"):
            folder = self.root / sub
            if folder.is_dir():
                count += sum(1 for p in folder.iterdir() if p.is_file())
                shutil.rmtree(folder)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only if nothing else is in it
        return count


@dataclass
class CacheUse:
    """How a run uses the cache, and what it found: ``exact_only`` re-uses only certificates of
    this very model (``otaproof evidence``: a pack must not depend on what was cached before);
    ``problems`` lists unreadable entries passed over; the counts are per property part."""

    cache: CertificateCache
    exact_only: bool = False
    problems: list[str] = field(default_factory=list)
    reused: int = 0  # a cached certificate or trace held on this model
    stale: int = 0  # a cached one no longer held: the part was re-proved
    missed: int = 0  # nothing cached (or only what cannot be re-checked alone)

    def summary(self) -> str:
        """One line for the end of a run."""
        total = self.reused + self.stale + self.missed
        return (f"certificate cache {self.cache.root}: {self.reused} of {total} property parts re-checked from "
                f"cached certificates or traces, {self.stale} no longer held (re-proved), {self.missed} not cached")
