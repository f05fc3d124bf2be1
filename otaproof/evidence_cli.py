"""``otaproof evidence``, ``otaproof verify`` and ``otaproof keygen``: the evidence pack a security
sub-committee reads, and the re-verification anyone can run on it.

Wiring: ``add_parsers(subparsers, add_parameter_flags)`` adds the three subcommands; each
``func`` takes ``(args, console)`` and returns the exit code. evidence: 0 written with every
verdict definite, 3 written with some unknown, 2 bad input (nothing written). verify: 0 every
check holds, 1 some check fails (each failing file named), 2 bad input (no or corrupt manifest,
unusable key). keygen: 0 written, 2 bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from otaproof import cache_cli
from otaproof.arguments import add_scheduler_flags
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import get_variant
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import Outcome
from otaproof.properties.recheck import SOLVERS
from otaproof.properties.verdict import Budget
from otaproof.reports.evidence.collect import STORM_RUNS, Plan
from otaproof.reports.evidence.manifest import KeyFileError, keypair, load_private_key, load_public_key
from otaproof.reports.evidence.pdf import chromium
from otaproof.reports.evidence.verify import PackError, verify
from otaproof.variant_cli import add_variant_file_flag, default_variants, trial_build

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3
DEFAULT_TIMEOUT = 1800.0  # as ``otaproof matrix``: an outer wall-clock cap; the budget is Budget.rlimit (Z3 units)


class EvidenceError(Exception):
    """Bad input to evidence, verify or keygen: one line, exit code 2."""


def _split(values: list[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def _shown_path(path: str) -> str:
    """A path as the recorded command shows it: never absolute (the pack does not depend on where it was built)."""
    return Path(path).name if Path(path).is_absolute() else path


def _plan(args: argparse.Namespace) -> tuple[Plan, list[str]]:
    """The plan and the canonical command that rebuilds it, after checking every input."""
    if bool(args.baseline) != bool(args.change):
        raise EvidenceError("--baseline and --change go together (a design change assessment needs both)")
    if args.baseline and args.variant:
        raise EvidenceError("--variant cannot be combined with --baseline/--change (they name the two designs)")
    if args.baseline and args.baseline == args.change:
        raise EvidenceError(f"--baseline and --change are both {args.baseline!r}: name two different designs")
    variants = [args.baseline, args.change] if args.baseline else _split(args.variant) or default_variants()
    for v in variants:
        get_variant(v)
    models = _split(args.threat_model) or ["none", *THREATS]
    for t in models:
        for part in [] if t == "none" else t.split("+"):
            if part not in THREATS:
                raise EvidenceError(f"unknown threat {part!r} in threat model {t!r}; known: none, {', '.join(THREATS)}")
    faults = _split(args.fault)
    for f in faults:
        if f not in FAULTS:
            raise EvidenceError(f"unknown fault {f!r}; known: {', '.join(FAULTS)}")
    props = [get_property(p) for p in _split(args.property)] or list(CATALOGUE)
    if not 0 <= args.depth <= 200:
        raise EvidenceError(f"--depth {args.depth} is impossible: use 0..200")
    if args.timeout <= 0:
        raise EvidenceError(f"--timeout {args.timeout} must be positive")
    if args.mutant and not args.with_tests:
        raise EvidenceError("--mutant only makes sense with --with-tests")
    from otaproof.generators.mutants import MUTANTS

    for m in _split(args.mutant):
        if m not in MUTANTS:
            raise EvidenceError(f"unknown mutant {m!r}; known: {', '.join(MUTANTS)}")
    if not 1 <= args.storm_runs <= 100_000:
        raise EvidenceError(f"--storm-runs {args.storm_runs} must be in 1..100000")
    given = {f.name: getattr(args, f"param_{f.name}") for f in dataclasses.fields(Parameters)
             if getattr(args, f"param_{f.name}") is not None}
    params = Parameters().with_values(given)
    scenarios = tuple(Scenario(v, frozenset([] if t == "none" else t.split("+")), frozenset(faults), params)
                      for v in variants for t in models)
    trial_build(scenarios)
    files = {v: get_variant(v).file for v in variants if get_variant(v).origin == "file"}
    plan = Plan(scenarios, tuple(props), Budget(timeout=args.timeout, depth=args.depth, seed=args.seed),
                args.workers, storm_runs=args.storm_runs, baseline=args.baseline, change=args.change,
                variant_files=tuple(sorted(files.items())))
    command = ["otaproof", "evidence", "--out", _shown_path(args.out)]
    command += [x for v in files for x in ("--variant-file", _shown_path(get_variant(v).location))]
    command += ["--baseline", args.baseline, "--change", args.change] if args.baseline else \
        [x for v in variants for x in ("--variant", v)]
    command += [x for t in models for x in ("--threat-model", t)]
    command += [x for f in faults for x in ("--faults", f)]
    if args.property:
        command += [x for p in props for x in ("--property", p.id)]
    command += ["--depth", str(args.depth), "--timeout", f"{args.timeout:g}", "--seed", str(args.seed),
                "--storm-runs", str(args.storm_runs)]
    for name, value in sorted(given.items()):
        flag = "--" + name.replace("_", "-")
        command += [flag if value is True else f"--no-{flag[2:]}"] if isinstance(value, bool) else [flag, str(value)]
    if args.sign_key:
        command += ["--sign-key", _shown_path(args.sign_key)]
    if args.pdf:
        command.append("--pdf")
    if args.with_tests:
        command += ["--with-tests", *[x for m in _split(args.mutant) for x in ("--mutant", m)]]
    return plan, command


def _cmd_evidence(args: argparse.Namespace, console: Console) -> int:
    from otaproof.reports.evidence.pack import build, phases_line

    try:
        plan, command = _plan(args)
        out = Path(args.out)
        if not out.resolve().parent.is_dir():
            raise EvidenceError(f"--out {out}: directory {out.resolve().parent} does not exist")
        if out.exists() and not args.force:
            raise EvidenceError(f"--out {out} exists: choose another directory or pass --force to replace it")
        if out.exists() and not out.is_dir():
            raise EvidenceError(f"--out {out} is a file, not a directory")
        if not os.access(out.resolve().parent, os.W_OK | os.X_OK):
            raise EvidenceError(f"--out {out}: directory {out.resolve().parent} is not writable")
        key = load_private_key(args.sign_key) if args.sign_key else None
        cache = cache_cli.cache_use(args, exact_only=True)  # a pack must not depend on what was cached before
        if args.pdf and chromium() is None:
            raise EvidenceError("--pdf needs Chromium (Debian: apt-get install chromium)")
    except (EvidenceError, KeyFileError, ModelError, cache_cli.CacheDirError) as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("evidence", total=len(plan.scenarios) * len(plan.properties))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{plan.scenarios[row].describe()}: {outcome.property.id}")

        tests = None
        if args.with_tests:
            def tests() -> dict[str, Any]:
                progress.update(task, description="generated suite: coverage, then mutants")
                from otaproof.reports.evidence.conformance import conformance

                reference = next(sc for sc in plan.scenarios if sc.variant == (plan.baseline or plan.variants[0]))
                return conformance(dataclasses.replace(reference, threats=frozenset()), list(plan.properties),
                                   plan.budget, args.workers, _split(args.mutant) or None)

        written = build(plan, out, command, key, args.pdf, args.force, tests, on_done=done, cache=cache)
    cache_cli.report(cache)
    console.print(f"evidence pack written to {escape(str(out))}: {written.files} files, {written.bytes / 1e6:.1f} MB, "
                  f"{written.findings} findings, {written.unknown} unknown verdicts", highlight=False)
    console.print(phases_line(written.phases), highlight=False)
    console.print(f"open {escape(str(out / 'index.html'))}; re-verify with: otaproof verify {escape(str(out))}",
                  highlight=False)
    return EXIT_UNKNOWN if written.unknown else EXIT_OK


def _cmd_verify(args: argparse.Namespace, console: Console) -> int:
    try:
        solvers = tuple(_split([args.solvers]))
        unknown = [s for s in solvers if s not in SOLVERS]
        if unknown or "z3" not in solvers:
            raise EvidenceError(f"--solvers {args.solvers}: " + (f"unknown solver {unknown[0]!r}; known: "
                                f"{', '.join(SOLVERS)}" if unknown else "z3 is needed (cvc5 is extra evidence)"))
        key = load_public_key(args.public_key) if args.public_key else None
        result = verify(Path(args.dir), key, args.workers, solvers,
                        progress=lambda k, n, what: print(f"[{k}/{n}] {what}", file=sys.stderr, flush=True))
    except (EvidenceError, PackError, KeyFileError) as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    rows = result.rows
    failed = [r for r in rows if not r.ok]
    table = Table(title=f"Verification of {args.dir}", title_justify="left")
    for col in ("file", "check", "result", "detail"):
        table.add_column(col)
    shown = rows if args.all else [r for r in rows if not r.ok or r.check == "signature"]
    for r in shown:
        table.add_row(escape(r.file), r.check, "[green]ok[/]" if r.ok else "[red]FAILED[/]", escape(r.detail))
    counts: dict[str, list[int]] = {}
    for r in rows:
        counts.setdefault(r.check, [0, 0])[0 if r.ok else 1] += 1
    for check, (ok, bad) in counts.items():
        table.add_row(f"[bold]all {check} checks[/]", check, "[green]ok[/]" if not bad else "[red]FAILED[/]",
                      f"{ok} passed, {bad} failed")
    console.print(table)
    if result.proofs:
        proofs = Table(title="Proofs re-checked from their obligation files", title_justify="left")
        for col in ("proof", "files", *solvers):
            proofs.add_column(col)
        for p in result.proofs:
            cells = [f"{p.solvers[s][0]} {p.solvers[s][1]:.1f} s" if s in p.solvers else
                     ("not independently re-checked" if not p.covered else "-") for s in solvers]
            proofs.add_row(escape(p.key), str(len(p.files)), *(escape(c) for c in cells))
        console.print(proofs)
    for r in failed:
        print(f"FAILED {r.file}: {r.check}: {r.detail}")
    console.print(f"{len(rows) - len(failed)} passed, {len(failed)} failed", highlight=False)
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_keygen(args: argparse.Namespace, console: Console) -> int:
    private, public = Path(args.private), Path(args.public)
    for p in (private, public):
        if p.exists():
            print(f"otaproof: error: {p} exists: keygen never overwrites a key", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not p.resolve().parent.is_dir():
            print(f"otaproof: error: {p}: directory {p.resolve().parent} does not exist", file=sys.stderr)
            return EXIT_BAD_INPUT
    if private.resolve() == public.resolve():
        print("otaproof: error: the private and public key files must differ", file=sys.stderr)
        return EXIT_BAD_INPUT
    secret, shared = keypair()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    public.write_bytes(shared)
    console.print(f"Ed25519 key pair written: {escape(str(private))} (private, keep it secret; sign with "
                  f"otaproof evidence --sign-key) and {escape(str(public))} (public, give it to readers: "
                  f"otaproof verify DIR --public-key)", highlight=False)
    return EXIT_OK


def add_parsers(sub: Any, add_parameter_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``evidence``, ``verify`` and ``keygen`` to the otaproof command's subparsers."""
    e = sub.add_parser(
        "evidence", help="write a self-contained evidence pack (HTML, Markdown, JSON, traces, certificates)",
        description="Check the verdict matrix once (as otaproof matrix) and write an evidence pack a security "
                    "sub-committee can read, forward and re-verify: index.html (one offline page), report.md "
                    "(Mermaid sequence charts), evidence.json (schema otaproof.evidence/2), traces/, "
                    "certificates/ (SMT-LIB obligation files, gzip), storm.png/.svg, manifest.json with the "
                    "SHA-256 of every file (and manifest.sig with --sign-key), timings.json. Same inputs and seeds, "
                    "same files (but timings.json). Exit 0 written, 3 written with unknown verdicts, 2 bad input.")
    e.add_argument("--out", required=True, metavar="DIR", help="directory to create (must not exist unless --force)")
    e.add_argument("--force", action="store_true", help="replace DIR if it exists")
    e.add_argument("--variant", action="append", metavar="V",
                   help="designs (default: secmp0007 and the --variant-file designs if any, else all; see otaproof "
                        "variants)")
    add_variant_file_flag(e)
    e.add_argument("--baseline", metavar="A", help="design change assessment: the reference design (with --change)")
    e.add_argument("--change", metavar="B", help="design change assessment: the changed design (with --baseline)")
    e.add_argument("--threat-model", action="append", metavar="T",
                   help="threat models: none, a threat, or threats joined by + (default: none and each threat alone)")
    e.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                   help=f"fault models applied to every row: {', '.join(FAULTS)}")
    e.add_argument("--property", action="append", metavar="ID", help="property IDs (default: all)")
    e.add_argument("--depth", type=int, default=25, help="BMC / k-induction bound (default: 25)")
    e.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"outer wall-clock cap per engine and property part (default: {DEFAULT_TIMEOUT:g})")
    e.add_argument("--seed", type=int, default=0, help="Z3 and Monte Carlo seed (default: 0)")
    e.add_argument("--workers", type=int, default=None, help="parallel engine processes (default: CPU count)")
    cache_cli.add_cache_flags(e)
    add_scheduler_flags(e)
    e.add_argument("--storm-runs", type=int, default=STORM_RUNS,
                   help=f"Monte Carlo runs per randomised storm policy (default: {STORM_RUNS})")
    e.add_argument("--sign-key", metavar="PEM", help="Ed25519 private key (otaproof keygen): writes manifest.sig")
    e.add_argument("--pdf", action="store_true", help="also print report.pdf from index.html with headless Chromium")
    e.add_argument("--with-tests", action="store_true",
                   help="also generate the conformance suite of the reference design and run it against the seeded "
                        "faults of the reference implementation: coverage and mutation score in the report (slow)")
    e.add_argument("--mutant", action="append", metavar="NAME", help="with --with-tests: only these mutants")
    add_parameter_flags(e)
    e.set_defaults(func=_cmd_evidence)
    v = sub.add_parser(
        "verify", help="re-verify an evidence pack: signature, hashes, certificates, traces",
        description="Check manifest.sig with --public-key, the SHA-256 of every file, re-check every proof from "
                    "its SMT-LIB obligation files (each must be the model's obligation; each solver, a fresh "
                    "process per file, must answer unsat) and replay every trace on the model. Exit 0 all "
                    "hold, 1 some check fails (each failing file is named), 2 no or corrupt manifest or unusable key.")
    v.add_argument("dir", metavar="DIR", help="the pack's directory")
    v.add_argument("--public-key", metavar="PEM", help="the signer's Ed25519 public key")
    v.add_argument("--workers", type=int, default=None, help="parallel re-check processes (default: CPU count)")
    v.add_argument("--solvers", default=",".join(SOLVERS), metavar="LIST",
                   help=f"solvers that must answer unsat for every obligation file, comma-separated (default: "
                        f"{','.join(SOLVERS)}; z3 is required)")
    v.add_argument("--all", action="store_true", help="list every check, not only failures and the signature")
    v.set_defaults(func=_cmd_verify)
    k = sub.add_parser("keygen", help="make an Ed25519 key pair for signing evidence packs",
                       description="Write a new Ed25519 private key (PKCS#8 PEM, mode 0600) and its public key "
                                   "(PEM). Never overwrites a file. Exit 0 written, 2 bad input.")
    k.add_argument("private", metavar="PRIVATE.pem")
    k.add_argument("public", metavar="PUBLIC.pem")
    k.set_defaults(func=_cmd_keygen)
