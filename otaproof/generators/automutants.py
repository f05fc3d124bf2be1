"""``otaproof mutants --auto``: mutants derived from the reference implementation's decision code by
mutmut (a maintained mutation-testing tool), run against a generated suite in parallel, with the
survivors grouped by function.

mutmut 3 (``mutmut run``) mutates whole files: it copies the project into ``mutants/``, rewrites
each function into a trampoline that switches, per test run, to one mutant of it (relational and
boolean operator swaps, negations removed, constants changed, arguments removed, assignments to
None, ...), finds which tests reach each function and runs only those, ``--max-children`` at a
time. It needs the tests inside the project, so :func:`run_auto` lays out a workspace: a copy of
the ``otaproof`` package (every module, ``also_copy``), the suite as ``tests/``, and a
``pyproject.toml`` whose ``[tool.mutmut]`` table names the refimpl modules to mutate. It then
selects the mutants of :data:`DECISION_CODE` only, by mutant-name globs on the command line
(``mutmut run 'otaproof.refimpl.dsp.xǁDSPǁ_check_cpl__mutmut_*' ...``), and reads mutmut's result
files. Lines that only log or word an error (``self._log(...)``, a raised error's message, a
warning's text) are never mutated (``do_not_mutate_patterns``): the model observes what a party
does, not what it says about it.

A survivor is a gap unless :mod:`generators.equivalence` proves it equivalent from the original
source (it only rewords text that reaches nothing but logs, exception messages or free-text
fields) and states where the text goes, so that a reviewer can check the argument.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

import otaproof
from otaproof.generators.equivalence import TextOnly

SCHEMA = "otaproof.automutants/1"
SEPARATOR = "ǁ"  # mutmut's class/method separator in mangled names
KILLED = ("killed", "timeout", "segfault", "suspicious")  # mutmut statuses in which a test told the mutant apart

# The refimpl's decision code that the model's actions stand for (module -> functions). Left out,
# on purpose: image and command *format* parsing (the model's messages are abstract and always well
# formed: no model trace can send a malformed frame), variant-only code (local update ports, the
# hub's version store, daily alerts), logging and message plumbing, and the DUIS notification of
# the supplier (not part of the model's observable state).
DECISION_CODE: dict[str, tuple[str, ...]] = {
    "dsp": ("ServiceRequest.device_done", "DSP.submit_sr11_4", "DSP.submit_sr11_1", "DSP.submit_sr11_3",
            "DSP.submit_sr11_2", "DSP.read_inventory", "DSP.change_of_supplier", "DSP._check_targets",
            "DSP._check_hash", "DSP._check_cpl", "DSP._check_not_in_progress", "DSP._handle", "DSP._accept",
            "DSP._close", "DSP.receive", "DSP._smi_start", "DSP._smi_confirm", "DSP._smi_fail"),
    "cpl": ("CPLRegistry.require_listed", "CPLRegistry.lookup"),
    "hub": ("CommsHub.receive", "CommsHub._on_cs05c", "CommsHub._on_query", "CommsHub._on_block_request",
            "CommsHub._on_upgrade_end", "CommsHub._timeout", "CommsHub._finish", "CommsHub._ccs08",
            "CommsHub._relay_down", "CommsHub._relay_up"),
    "devices": ("HanDevice.verify_image", "HanDevice.check_critical", "HanDevice.update_security_credentials",
                "HanDevice._activate", "HanDevice._on_read_version", "HanDevice._on_cs02b",
                "HCALCS.receive_firmware", "HCALCS.activate_firmware", "HCALCS._on_distribution", "HCALCS._on_cs06",
                "HCALCS._execute_scheduled", "HCALCS._respond", "PPMID._on_image_notify",
                "PPMID._on_query_response", "PPMID._on_block", "PPMID._hold", "PPMID._upgrade_end",
                "PPMID._on_upgrade_end_response", "PPMID._activate_held"),
    "commands": ("check_command",),
    "image": ("OtaHeader.supports_hardware",),
    "smi": ("SMIRecord.confirm_version",),
}
DO_NOT_MUTATE = (r"self\._log\(", r"warnings\.append\(", r'^\s*raise \w+\(f?"')



@dataclass(frozen=True)
class AutoMutant:
    """One mutmut mutant: its name, function, the changed line and what became of it."""

    name: str        # mutmut's name, e.g. otaproof.refimpl.cpl.xǁCPLRegistryǁrequire_listed__mutmut_3
    function: str    # refimpl/<module>.py:<Qualified.name>
    before: str
    after: str
    status: str      # mutmut's: killed, survived, no tests, timeout, suspicious, ...
    equivalent_reason: str | None = None

    @property
    def killed(self) -> bool:
        """A test failed (or the run timed out or crashed) with the mutant on."""
        return self.status in KILLED

    @property
    def verdict(self) -> str:
        """killed | equivalent: <reason> | a gap (survived, or no test reaches the function)."""
        if self.killed:
            return "killed"
        if self.equivalent_reason is not None:
            return f"equivalent: {self.equivalent_reason}"
        return "not killed: no test reaches it" if self.status == "no tests" else "not killed: a gap"


@dataclass(frozen=True)
class AutoReport:
    """Every mutant of the decision code and its verdict, with the run's figures."""

    suite: str
    mutants: tuple[AutoMutant, ...]
    seconds: float
    jobs: int

    @property
    def killed(self) -> int:
        return sum(m.killed for m in self.mutants)

    @property
    def equivalent(self) -> int:
        return sum(not m.killed and m.equivalent_reason is not None for m in self.mutants)

    @property
    def kill_rate(self) -> float:
        """Killed mutants over those that are not surviving equivalents (0.0 when none)."""
        killable = len(self.mutants) - self.equivalent
        return self.killed / killable if killable else 0.0

    @property
    def survivors(self) -> tuple[AutoMutant, ...]:
        return tuple(m for m in self.mutants if not m.killed)

    def by_function(self) -> dict[str, list[AutoMutant]]:
        """The mutants grouped by function, in source order of the decision-code list."""
        out: dict[str, list[AutoMutant]] = {}
        for m in self.mutants:
            out.setdefault(m.function, []).append(m)
        return out


class MutmutMissing(RuntimeError):
    """mutmut is not installed, or ``mutmut run`` failed before testing any mutant."""


def mangled(module: str, qualname: str) -> str:
    """mutmut's name prefix of a function's mutants: ``otaproof.refimpl.dsp.xǁDSPǁ_check_cpl``."""
    owner, _, name = qualname.rpartition(".")
    stem = f"x{SEPARATOR}{owner}{SEPARATOR}{name}" if owner else f"x_{name}"
    return f"otaproof.refimpl.{module}.{stem}"


def selected(functions: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(module, qualified name) of the decision-code functions matching ``functions`` (globs over
    ``module.Qualified.name`` or ``Qualified.name``; all when empty); ValueError if one matches none."""
    every = [(mod, q) for mod, qs in DECISION_CODE.items() for q in qs]
    if not functions:
        return every
    out = []
    for pattern in functions:
        hits = [(mod, q) for mod, q in every if fnmatch.fnmatch(q, pattern) or fnmatch.fnmatch(f"{mod}.{q}", pattern)]
        if not hits:
            known = ", ".join(f"{m}.{q}" for m, q in every)
            raise ValueError(f"--function {pattern!r} matches no decision-code function; known: {known}")
        out += [h for h in hits if h not in out]
    return out


def _workspace(suite: Path, modules: Sequence[str]) -> Path:
    """A throw-away project mutmut can run in: the package, the suite as tests/, the config."""
    ws = Path(tempfile.mkdtemp(prefix="otaproof-automutants-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "failures")
    shutil.copytree(Path(otaproof.__file__).parent, ws / "otaproof", ignore=ignore)
    shutil.copytree(suite, ws / "tests", ignore=ignore)
    (ws / "tests" / "pytest.ini").unlink(missing_ok=True)  # the workspace's pyproject configures pytest
    paths = ", ".join(f'"otaproof/refimpl/{m}.py"' for m in sorted(set(modules)))
    patterns = ", ".join(json.dumps(p) for p in DO_NOT_MUTATE)
    (ws / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n\n"
        "[tool.mutmut]\n"
        f"source_paths = [{paths}]\n"
        'also_copy = ["otaproof/"]\n'
        'pytest_add_cli_args_test_selection = ["tests/"]\n'
        '# the deterministic tests only: the oracle\'s random walks are not what is measured\n'
        'pytest_add_cli_args = ["-k", "not oracle", "-p", "no:cacheprovider"]\n'
        f"do_not_mutate_patterns = [{patterns}]\n")
    return ws


def _statuses(ws: Path) -> dict[str, str]:
    """mutmut's verdict per mutant name, from its result files."""
    from mutmut.stats import status_by_exit_code  # an optional dependency: imported when used

    out = {}
    for meta in sorted((ws / "mutants" / "otaproof" / "refimpl").glob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[name] = status_by_exit_code[code]
    return out


def _functions(ws: Path, module: str) -> dict[str, ast.FunctionDef]:
    """Each function of the mutated module by its mangled name (``..__mutmut_orig``, ``..__mutmut_3``)."""
    path = ws / "mutants" / "otaproof" / "refimpl" / f"{module}.py"
    return {node.name: node for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name}


def _text(function: ast.FunctionDef | None) -> str:
    """A function's statements as ``ast.unparse`` prints them, without its docstring."""
    if function is None:
        return ""
    body = function.body[1:] if function.body and isinstance(function.body[0], ast.Expr) \
        and isinstance(function.body[0].value, ast.Constant) else function.body
    return "\n".join(ast.unparse(stmt) for stmt in body)


def _changed_line(original: str, mutant: str) -> tuple[str, str]:
    """The first line the mutant changes: (before, after), each stripped."""
    a, b = original.splitlines(), mutant.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            return (" / ".join(x.strip() for x in a[i1:i2]) or "(nothing)",
                    " / ".join(x.strip() for x in b[j1:j2]) or "(deleted)")
    return "(no textual change)", "(no textual change)"


def _run_mutmut(command: list[str], ws: Path, env: dict[str, str], timeout: float, prefixes: list[str],
                progress: Callable[[str], None], interval: float = 15.0) -> tuple[int, str]:
    """Run mutmut in its own process group, reporting every ``interval`` seconds how many of the
    chosen functions' mutants it has tested (from its result files); the whole group is killed on
    a timeout or when this process is interrupted. Returns the exit code and the output."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ws, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        end, told = time.monotonic() + timeout, ""
        try:
            while True:
                try:
                    proc.wait(timeout=min(interval, max(0.0, end - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= end:
                        raise MutmutMissing(f"mutmut run did not finish within {timeout:g} s") from None
                tested, total = _tested(ws, prefixes)
                news = f"mutmut: {tested} of {total} mutants tested" if total else "mutmut: deriving the mutants"
                if news != told:
                    progress(news)
                    told = news
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
        log.seek(0)
        return proc.returncode, log.read()


def _tested(ws: Path, prefixes: list[str]) -> tuple[int, int]:
    """(tested, all) mutants of the chosen functions so far, from mutmut's result files (a file
    being rewritten counts as nothing yet)."""
    tested = total = 0
    for meta in (ws / "mutants" / "otaproof" / "refimpl").glob("*.py.meta"):
        try:
            codes = json.loads(meta.read_text())["exit_code_by_key"]
        except (OSError, ValueError, KeyError):
            continue
        for name, code in codes.items():
            if any(name.startswith(f"{p}__mutmut_") for p in prefixes):
                total += 1
                tested += code is not None
    return tested, total


def run_auto(suite: Path, functions: Sequence[str] = (), jobs: int = 2, timeout: float = 3600,
             progress: Callable[[str], None] | None = None, keep: bool = False) -> AutoReport:
    """Run mutmut on the decision code against ``suite`` (without its oracle test); the report
    lists every mutant. Raises MutmutMissing if mutmut is absent or fails before testing."""
    say = progress or (lambda _m: None)
    try:
        import mutmut  # noqa: F401  (an optional dependency: see the module docstring)
    except ImportError:
        raise MutmutMissing("--auto needs mutmut 3 (pip install 'mutmut>=3.3')") from None
    chosen = selected(functions)
    start = time.monotonic()
    ws = _workspace(Path(suite).resolve(), [mod for mod, _ in chosen])
    try:
        globs = [f"{mangled(mod, q)}__mutmut_*" for mod, q in chosen]
        exe = Path(sys.executable).with_name("mutmut")
        command = [str(exe) if exe.is_file() else "mutmut", "run", "--max-children", str(jobs), *globs]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTAPROOF_MUTANT", "MUTANT_UNDER_TEST"))}
        say(f"mutmut run on {len(chosen)} functions, {jobs} at a time (workspace {ws})")
        returncode, output = _run_mutmut(command, ws, env, timeout, [mangled(mod, q) for mod, q in chosen], say)
        statuses = _statuses(ws)
        if returncode != 0 or not statuses:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise MutmutMissing(f"mutmut run failed (exit {returncode}):\n{tail}")
        mutants = []
        text_only = TextOnly(ws / "otaproof")
        for mod, q in chosen:
            prefix = mangled(mod, q)
            defined = _functions(ws, mod)
            original = _text(defined.get(f"{prefix.rsplit('.', 1)[1]}__mutmut_orig"))
            names = sorted((n for n in statuses if n.startswith(f"{prefix}__mutmut_")),
                           key=lambda n: int(n.rsplit("_", 1)[1]))
            for name in names:
                function = defined.get(name.rsplit(".", 1)[1])
                before, after = _changed_line(original, _text(function))
                status = statuses[name]
                reason = (text_only.argument(mod, q, function)
                          if status not in KILLED and function is not None else None)
                mutants.append(AutoMutant(name, f"refimpl/{mod}.py:{q}", before, after, status, reason))
    finally:
        if not keep:
            shutil.rmtree(ws, ignore_errors=True)
    return AutoReport(str(suite), tuple(mutants), time.monotonic() - start, jobs)


def describe(report: AutoReport) -> str:
    """One line: the score and what it is out of."""
    killable = len(report.mutants) - report.equivalent
    return (f"kill rate {report.kill_rate:.1%} ({report.killed}/{killable} mutants that are not proved equivalent; "
            f"{report.equivalent} equivalent; {len(report.mutants)} mutants of the decision code, "
            f"{report.seconds:.0f} s with {report.jobs} jobs)")


def function_table(report: AutoReport) -> Table:
    """Per function: mutants, killed, equivalent, survivors (gaps)."""
    table = Table(title=f"Derived mutants (mutmut) of {report.suite}: {describe(report)}", title_justify="left")
    for col in ("function", "mutants", "killed", "equivalent", "survived"):
        table.add_column(col, justify="left" if col == "function" else "right")
    for function, ms in report.by_function().items():
        eq = sum(not m.killed and m.equivalent_reason is not None for m in ms)
        table.add_row(function, str(len(ms)), str(sum(m.killed for m in ms)), str(eq),
                      str(sum(not m.killed for m in ms) - eq))
    return table


def survivors_text(report: AutoReport) -> list[str]:
    """The surviving mutants grouped by function, one line each: the mutated line and the verdict."""
    lines = []
    for function, ms in report.by_function().items():
        left = [m for m in ms if not m.killed]
        if left:
            lines.append(f"{function}: {len(left)} survivor(s)")
            lines += [f"  {m.name.rsplit('__', 1)[1]}: {m.before}  ->  {m.after}   [{m.verdict}]" for m in left]
    return lines


def to_json(report: AutoReport) -> dict[str, Any]:
    """The report as JSON-ready data, schema ``otaproof.automutants/1``."""
    return {"schema": SCHEMA, "suite": report.suite, "kill_rate": report.kill_rate, "killed": report.killed,
            "equivalent": report.equivalent, "total": len(report.mutants), "seconds": round(report.seconds, 1),
            "jobs": report.jobs,
            "mutants": [{"name": m.name, "function": m.function, "before": m.before, "after": m.after,
                         "status": m.status, "verdict": m.verdict} for m in report.mutants]}


__all__ = ["DECISION_CODE", "AutoMutant", "AutoReport", "MutmutMissing", "describe", "function_table",
           "run_auto", "selected", "survivors_text", "to_json"]
