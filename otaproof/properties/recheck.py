"""Independent re-check of proofs: their obligation files (``obligations.py``) solved by a fresh
solver process each, Z3 (the z3-solver package's own ``z3`` executable) and optionally cvc5 (the
PyPI ``cvc5`` package, through its SMT-LIB parser in a fresh Python process).

Budgets are solver resource limits (Z3 ``rlimit``, cvc5 ``rlimit``), so an answer does not
depend on the machine's load; a generous wall-clock cap only stops a hung process and is
reported as such. A proof stays proved only if Z3 answers ``unsat`` for every obligation; any
``sat`` (from either solver) refutes the certificate, and the verdict becomes unknown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from otaproof.model.variants import BuiltModel
from otaproof.properties.catalogue import Property
from otaproof.properties.obligations import (
    CHECK,
    SCOPE,
    SHARED,
    CertificateError,
    NotCovered,
    Obligation,
    Together,
    obligations,
)
from otaproof.properties.pool import die_with
from otaproof.properties.verdict import FileCheck, Proved, SolverRun, Unknown, Verdict

SOLVERS = ("z3", "cvc5")
SCHEMA = "otaproof.certificates/1"
ACCEPTED, REJECTED, UNDECIDED = "accepted", "rejected", "unknown"
NOT_COVERED, REFUSED = "not covered", "refused"


@dataclass(frozen=True)
class Limits:
    """Solver budgets per obligation file: resource limits (load-independent; the largest
    obligation of the default check needs about 1.2 M Z3 units and 0.4 M cvc5 units), and a
    wall-clock cap that only stops a hung process."""

    z3_rlimit: int = 100_000_000
    cvc5_rlimit: int = 10_000_000
    wall_cap: float = 900.0


@dataclass(frozen=True)
class Recheck:
    """The independent re-check of one property's proof."""

    property_id: str
    status: str  # accepted | rejected | unknown (Z3 undecided) | not covered | refused
    reason: str
    files: tuple[FileCheck, ...] = ()

    def verdict_of(self, solver: str) -> str | None:
        """accepted, rejected or unknown for one solver (None if it did not run)."""
        runs = [r for f in self.files for r in f.runs if r.solver == solver]
        if not runs:
            return None
        if any(r.answer == REJECTED for r in runs):
            return REJECTED
        return ACCEPTED if all(r.answer == ACCEPTED for r in runs) else UNDECIDED

    def seconds(self, solver: str) -> float:
        return sum(r.seconds for f in self.files for r in f.runs if r.solver == solver)

    @property
    def solvers(self) -> tuple[str, ...]:
        return tuple(s for s in SOLVERS if self.verdict_of(s) is not None)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def summary(self) -> str:
        """One line for the verdict table: which solvers accepted, and their checking time."""
        if self.status in (NOT_COVERED, REFUSED):
            return f"not independently re-checked: {self.reason}" if self.status == NOT_COVERED \
                else f"refused: {self.reason}"
        mark = {ACCEPTED: "✓", REJECTED: "✗", UNDECIDED: "?"}
        solvers = ", ".join(f"{s} {mark[self.verdict_of(s) or UNDECIDED]} {self.seconds(s):.1f} s"
                            for s in self.solvers)
        return solvers + ("" if self.status == ACCEPTED and not self.reason else f" ({self.reason})")


# ---- running one solver on one file ---------------------------------------------------------

_CVC5_RUNNER = r"""
import json, sys
import cvc5
path, rlimit, eager = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
tm = cvc5.TermManager()
solver = cvc5.Solver(tm)
solver.setOption("rlimit", rlimit)
if eager:
    solver.setOption("bitblast", "eager")
symbols = cvc5.SymbolManager(tm)
parser = cvc5.InputParser(solver, symbols)
parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, path)
out = ""
try:
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        out += command.invoke(solver, symbols)
except Exception as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
used = solver.getStatistics()["resource::resourceUnitsUsed"]
print(json.dumps({"output": out, "resources": used["value"] if isinstance(used, dict) else used}))
"""


def z3_executable() -> str:
    """The ``z3`` program the z3-solver package installs next to this Python."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "z3"
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError("the z3 executable of the z3-solver package was not found next to this Python")


def _logic(path: Path) -> str:
    with path.open() as f:
        for line in f:
            if line.startswith("(set-logic "):
                return line.split()[1].rstrip(")")
    return "ALL"


def run_solver(solver: str, path: Path, limits: Limits) -> SolverRun:
    """``solver`` on one obligation file in a fresh process."""
    if solver == "z3":
        cmd = [z3_executable(), "-st", f"rlimit={limits.z3_rlimit}", str(path)]
        limit = limits.z3_rlimit
    elif solver == "cvc5":
        eager = "1" if _logic(path).startswith("QF_") else "0"  # eager bit-blasting: quantifier-free only
        cmd = [sys.executable, "-c", _CVC5_RUNNER, str(path), str(limits.cvc5_rlimit), eager]
        limit = limits.cvc5_rlimit
    else:
        raise ValueError(f"unknown solver {solver!r}; known: {', '.join(SOLVERS)}")
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limits.wall_cap, check=False,
                              preexec_fn=functools.partial(die_with, os.getpid()))  # a killed worker takes it along
    except subprocess.TimeoutExpired:
        return SolverRun(solver, UNDECIDED, time.monotonic() - start, -1,
                         f"wall-clock cap of {limits.wall_cap:g} s reached (not the resource limit)")
    seconds = time.monotonic() - start
    if solver == "z3":
        answer, resources, error = _read_z3(done.stdout)
    else:
        answer, resources, error = _read_cvc5(done.stdout)
    if not error and answer is None:
        error = (done.stderr.strip().splitlines() or [f"no answer (exit {done.returncode})"])[-1]
    return _solver_run(solver, answer, error, seconds, resources, limit)


def _solver_run(solver: str, answer: str | None, error: str, seconds: float, resources: int, limit: int
                ) -> SolverRun:
    """A solver's answer on one file as a ``SolverRun``: an error or no answer is undecided."""
    if error or answer is None:
        return SolverRun(solver, UNDECIDED, seconds, resources, f"error: {error or 'no answer'}")
    if answer == "unsat":
        return SolverRun(solver, ACCEPTED, seconds, resources, "unsat")
    if answer == "sat":
        return SolverRun(solver, REJECTED, seconds, resources, "sat: the claim fails")
    return SolverRun(solver, UNDECIDED, seconds, resources, f"unknown (resource limit {limit:,})")


def run_z3_files(paths: Sequence[Path], limits: Limits) -> list[SolverRun]:
    """Z3 on several obligation files in one fresh process, one file after another, each file's
    commands (without its ``(exit)``) followed by ``(get-info :rlimit)`` and ``(reset)``: the same
    answers as a process per file, since ``(reset)`` clears every declaration, assertion and the
    resource count. It saves a process start per file (about 25 ms of the 110 ms that one proof
    of the default check's three files took). Each file's seconds run until its answer arrives."""
    if len(paths) == 1:
        return [run_solver("z3", paths[0], limits)]
    script = paths[0].parent / f".together-{os.getpid()}.smt2"
    with script.open("w") as out:
        for path in paths:
            text = path.read_text()
            out.write(text.removesuffix("\n").removesuffix("(exit)") + "\n(get-info :rlimit)\n(reset)\n")
    cmd = [z3_executable(), f"rlimit={limits.z3_rlimit}", str(script)]
    start = time.monotonic()
    runs: list[SolverRun] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          preexec_fn=functools.partial(die_with, os.getpid())) as proc:
        stop = threading.Timer(limits.wall_cap, proc.kill)
        stop.start()
        try:
            assert proc.stdout is not None
            block: list[str] = []
            for line in proc.stdout:
                block.append(line)
                if line.startswith("(:rlimit"):
                    now = time.monotonic()
                    runs.append(_z3_answer("".join(block), now - start, limits))
                    block, start = [], now
        finally:
            stop.cancel()
    script.unlink(missing_ok=True)
    while len(runs) < len(paths):  # killed at the wall-clock cap, or stopped without answering
        runs.append(_unanswered(proc.returncode, time.monotonic() - start, limits))
    return runs


def _unanswered(returncode: int | None, seconds: float, limits: Limits) -> SolverRun:
    """A file or claim Z3 never answered: killed at the wall-clock cap, or stopped."""
    return SolverRun("z3", UNDECIDED, seconds, -1,
                     f"wall-clock cap of {limits.wall_cap:g} s reached (not the resource limit)"
                     if returncode == -9 else f"error: no answer (exit {returncode})")


TOGETHER = "one Z3 script with the row's other proofs"  # how a run of ``run_z3_script`` says so
INCREMENTAL_UNITS = 300_000  # a claim's Z3 units in the script's incremental core before it is solved from scratch


def run_z3_script(together: Together, limits: Limits, incremental: int = INCREMENTAL_UNITS) -> list[SolverRun]:
    """Z3 on several proofs' claims (``obligations.together``) in one fresh process, fed one
    segment at a time: one answer per claim, with its own resource count (the rise of Z3's count
    over the claim; parsing the shared model goes to the first). Each claim is first given to
    Z3's incremental core, which reuses what it learnt of the shared model, for ``incremental``
    units; if that does not decide it, it is solved from scratch (``CHECK``, as its file is)
    within the budget: across the matrix's cached proofs the incremental core alone took 1.3
    times the units of solving each from scratch, this way 0.66 times. Both answer on the same
    assertions. An error inside a claim's scope leaves that claim undecided; an error outside
    every scope (in what the claims share) leaves every later claim undecided, since its scope
    would hold less than the claim's file."""
    cmd = [z3_executable(), f"rlimit={limits.z3_rlimit}", "-in"]
    runs: list[SolverRun] = []
    broken = ""
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          preexec_fn=functools.partial(die_with, os.getpid())) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout
        stop = threading.Timer(limits.wall_cap, proc.kill)
        stop.start()
        counted = 0

        def ask(commands: list[str]) -> tuple[str | None, str, int, float]:
            """Send commands ending in a check and the resource count; its answer, any error
            since the last answer, the units it used, and the seconds until the answer."""
            nonlocal broken, counted
            started = time.monotonic()
            stdin.write("\n".join([*commands, "(get-info :rlimit)", ""]))
            stdin.flush()
            block: list[str] = []
            shared = False  # reading the output of commands outside every scope
            for line in stdout:
                text = line.strip()
                if text in (SHARED, SCOPE):
                    shared, block = text == SHARED, []
                elif shared:
                    broken = broken or (text if text.startswith("(error") else "")
                elif text.startswith("(:rlimit"):
                    used = int(text.split()[1].rstrip(")"))
                    answer, _, error = _read_z3("".join(block))
                    units, counted = used - counted, used
                    return answer, error, units, time.monotonic() - started
                else:
                    block.append(line)
            raise BrokenPipeError("z3 stopped")

        try:
            for segment in together.segments:
                marker = SCOPE if segment.check is not None else SHARED
                if segment.check is None:
                    stdin.write(f'(echo "{marker}")\n{segment.text}\n')
                    continue
                how = ""
                first = [f"(set-option :rlimit {limits.z3_rlimit})", CHECK] if segment.scratch else \
                    [f"(set-option :rlimit {min(incremental, limits.z3_rlimit)})", "(check-sat)"]
                answer, error, units, seconds = ask([f'(echo "{marker}")', segment.text, *first])
                if not segment.scratch and answer == "unknown" and not error and not broken:
                    answer, error, more, again = ask([f"(set-option :rlimit {limits.z3_rlimit})", CHECK])
                    units, seconds = units + more, seconds + again
                    how = f"; solved from scratch after {incremental:,} incremental units"
                error = error or (f"error in what the claims share: {broken}" if broken else "")
                run = _solver_run("z3", answer, error, seconds, units, limits.z3_rlimit)
                runs.append(dataclasses.replace(run, detail=f"{run.detail} ({TOGETHER}{how})"))
                stdin.write("(pop 1)\n")
            stdin.write("(exit)\n")
            stdin.flush()
        except (BrokenPipeError, OSError):  # killed at the wall-clock cap, or stopped
            pass
        finally:
            stop.cancel()
            with contextlib.suppress(OSError):
                stdin.close()
    while len(runs) < len(together.checks):  # killed at the wall-clock cap, or stopped without answering
        runs.append(_unanswered(proc.returncode, 0.0, limits))
    return runs


def _z3_answer(output: str, seconds: float, limits: Limits) -> SolverRun:
    """One file's answer from Z3's output for it (its answer, any error, its ``:rlimit`` line)."""
    answer, _, error = _read_z3(output)
    resources = int(output.rsplit("(:rlimit", 1)[1].split(")")[0])
    return _solver_run("z3", answer, error, seconds, resources, limits.z3_rlimit)


def _read_z3(stdout: str) -> tuple[str | None, int, str]:
    answer, resources, error = None, -1, ""
    for line in stdout.splitlines():
        text = line.strip()
        if text in ("sat", "unsat", "unknown") and answer is None:
            answer = text
        elif text.startswith("(error"):
            error = error or text
        elif ":rlimit-count" in text:
            resources = int(text.split(":rlimit-count")[1].split()[0].rstrip(")"))
    return answer, resources, error


def _read_cvc5(stdout: str) -> tuple[str | None, int, str]:
    try:
        result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, -1, "cvc5 runner gave no answer"
    if "error" in result:
        return None, -1, str(result["error"])
    words = str(result["output"]).split()
    return (words[0] if words else None), int(result["resources"]), ""


# ---- re-checking proved verdicts ------------------------------------------------------------

class Outcome(Protocol):
    """What the portfolio returns per property (``check.Outcome``)."""

    @property
    def verdict(self) -> Verdict: ...

    @property
    def property(self) -> Property: ...


OutcomeT = TypeVar("OutcomeT", bound=Outcome)


def recheck_verdicts(built: BuiltModel, outcomes: Sequence[OutcomeT], solvers: Sequence[str] = ("z3",),
                     directory: Path | None = None, limits: Limits = Limits(), workers: int | None = None
                     ) -> tuple[list[OutcomeT], dict[str, Recheck]]:
    """Every proved outcome's independent re-check from its obligation files, each solved by a
    fresh solver process: the one re-check path of the project.

    The portfolio's workers already ran Z3 on each file before reporting the proof (the answers
    are on the certificate, ``Certificate.obligations``); a file is solved here only by a
    solver that has not answered on the same text (its SHA-256), so cvc5 with ``--certificates``,
    or Z3 for a proof that did not come from a worker. Without ``directory``, a proof whose
    every file every solver already answered is judged from those answers, unprinted. Returns
    the outcomes (a proof Z3 does not confirm, or that a solver refutes, becomes Unknown with
    the failing obligation named) and each proved property's ``Recheck``. The files are kept
    in ``directory`` (created at the end, with ``manifest.json``) if given."""
    if "z3" not in solvers:
        raise ValueError("the re-check needs z3 (other solvers are extra evidence)")
    for s in solvers:
        if s not in SOLVERS:
            raise ValueError(f"unknown solver {s!r}; known: {', '.join(SOLVERS)}")
    with tempfile.TemporaryDirectory(prefix=".otaproof-certificates-",
                                     dir=None if directory is None else directory.resolve().parent) as tmp:
        root = Path(tmp) / "certificates"
        rechecks: dict[str, Recheck] = {}
        for o in outcomes:
            if not isinstance(o.verdict, Proved):
                continue
            pid = o.property.id
            answered = o.verdict.certificate.obligations
            if directory is None and answered and all({r.solver for r in f.runs} >= set(solvers) for f in answered):
                rechecks[pid] = judge(pid, answered)  # every file this proof needs, solved by the worker
                continue
            try:
                obs = obligations(built, o.property, o.verdict.certificate)
            except NotCovered as e:
                rechecks[pid] = Recheck(pid, NOT_COVERED, str(e))
                continue
            except CertificateError as e:
                rechecks[pid] = Recheck(pid, REFUSED, str(e))
                continue
            rechecks[pid] = recheck_obligations(pid, obs, root, solvers, limits, workers,
                                                o.verdict.certificate.obligations, keep=directory is not None)
        if directory is not None:
            root.mkdir(parents=True, exist_ok=True)
            document = manifest(built, outcomes, rechecks, solvers, limits)
            (root / "manifest.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            os.replace(root, directory)
    return [_gated(o, rechecks.get(o.property.id)) for o in outcomes], rechecks


def recheck_obligations(pid: str, obs: Sequence[Obligation], root: Path, solvers: Sequence[str] = ("z3",),
                        limits: Limits = Limits(), workers: int | None = None,
                        known: Sequence[FileCheck] = (), keep: bool = True, together: bool = False) -> Recheck:
    """Write one proof's obligation files under ``root`` and solve each with every solver, each
    run a fresh process (``workers`` at a time); a solver's answer in ``known`` on a file of the
    same text is taken as it is, not asked again (``keep`` False: such a file is not written).
    ``together``: Z3 solves the proof's files in one fresh process (``run_z3_files``)."""
    answered = {(r.solver, f.digest): r for f in known for r in f.runs}
    jobs: list[tuple[str, Path]] = []
    digests = {ob.filename: hashlib.sha256(ob.text.encode()).hexdigest() for ob in obs}
    for ob in obs:
        path = root / ob.filename
        asked = [(s, path) for s in solvers if (s, digests[ob.filename]) not in answered]
        if asked or keep:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ob.text)
        jobs += asked
    answers: dict[tuple[str, Path], SolverRun] = {}
    if together and (mine := [path for solver, path in jobs if solver == "z3"]):
        answers.update(zip([("z3", path) for path in mine], run_z3_files(mine, limits), strict=True))
        jobs = [job for job in jobs if job not in answers]
    with ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
        answers.update(zip(jobs, pool.map(lambda job: run_solver(job[0], job[1], limits), jobs), strict=True))
    files = tuple(FileCheck(ob.filename, ob.label, ob.claim, len(ob.text.encode()), digests[ob.filename],
                            tuple(answered.get((s, digests[ob.filename])) or answers[s, root / ob.filename]
                                  for s in solvers)) for ob in obs)
    return judge(pid, files)


def judge(pid: str, files: tuple[FileCheck, ...]) -> Recheck:
    """A proof's re-check from its files' answers: rejected if any solver refutes an
    obligation, accepted if Z3 confirms every one."""
    refuted = [f"{f.label} ({f.claim}) is sat for {r.solver}" for f in files for r in f.runs if r.answer == REJECTED]
    if refuted:
        return Recheck(pid, REJECTED, "; ".join(refuted), files)
    open_z3 = [f"{f.label}: z3 {r.detail}" for f in files for r in f.runs if r.solver == "z3" and r.answer != ACCEPTED]
    if open_z3:
        return Recheck(pid, UNDECIDED, "; ".join(open_z3), files)
    others = [f"{f.label}: {r.solver} {r.detail}" for f in files for r in f.runs if r.answer != ACCEPTED]
    return Recheck(pid, ACCEPTED, "; ".join(others), files)


def _gated(o: OutcomeT, recheck: Recheck | None) -> OutcomeT:
    """The outcome as shown: a proof stays proved only if its re-check accepted it (or its
    certificate kind has no standalone obligations yet, which the table says)."""
    if recheck is None or recheck.status in (ACCEPTED, NOT_COVERED):
        return o
    v = o.verdict
    what = "rejected the certificate" if recheck.status == REJECTED else \
        "could not confirm the certificate" if recheck.status == UNDECIDED else "refused the certificate"
    reason = f"independent re-check {what}: {recheck.reason}"
    return dataclasses.replace(o, verdict=Unknown(v.engine, v.seconds, reason))  # type: ignore[type-var]


def manifest(built: BuiltModel, outcomes: Sequence[Outcome], rechecks: dict[str, Recheck], solvers: Sequence[str],
             limits: Limits) -> dict[str, Any]:
    """The certificate directory's index: each proof's files, sizes and solver answers."""
    sc = built.scenario
    props = []
    for o in outcomes:
        r = rechecks.get(o.property.id)
        if r is None or not isinstance(o.verdict, Proved):
            continue
        props.append({
            "property": r.property_id, "engine": o.verdict.engine, "certificate": o.verdict.certificate.kind,
            "status": r.status, "reason": r.reason,
            "files": [{"file": f.filename, "obligation": f.label, "claim": f.claim, "bytes": f.size,
                       "solvers": {run.solver: {"answer": run.answer, "seconds": round(run.seconds, 3),
                                                "resources": run.resources, "detail": run.detail} for run in f.runs}}
                      for f in r.files]})
    return {"schema": SCHEMA, "variant": sc.variant, "threats": sorted(sc.threats), "faults": sorted(sc.faults),
            "parameters": sc.parameters.as_dict(), "solvers": list(solvers),
            "limits": {"z3_rlimit": limits.z3_rlimit, "cvc5_rlimit": limits.cvc5_rlimit,
                       "wall_cap_seconds": limits.wall_cap},
            "properties": props}
