"""The ``otaproof`` command: it only wires model, properties and reports together.

Exit codes: 0 every checked property holds (proved); 1 some property is violated; 2 bad input
or an internal error; 3 no violation found but some verdict is unknown (inconclusive); 130 and
143 interrupted by SIGINT or SIGTERM (every worker ended, nothing written).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from otaproof import all_n_cli, cache_cli, evidence_cli, export_cli, generate_cli, storm_cli
from otaproof.arguments import add_scheduler_flags, int_in, seconds, split, unknown
from otaproof.files import OutputError, check_output_file, write_json_atomic
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import REGISTRY, build
from otaproof.properties.catalogue import BY_ID, CATALOGUE, Property
from otaproof.properties.check import ENGINE_CHOICES, Outcome, check, check_rows
from otaproof.properties.executors import SchedulerError, scheduler
from otaproof.properties.pool import Terminated, interruptions
from otaproof.properties.recheck import SOLVERS, recheck_verdicts
from otaproof.properties.verdict import DEFAULT_RLIMIT, Budget
from otaproof.refimpl import demo
from otaproof.render import print_outcomes, step_table
from otaproof.reports.catalogue_doc import catalogue_markdown
from otaproof.reports.diff import compare, diff_document, diff_table
from otaproof.reports.matrix import Row, matrix_document, matrix_table, run_facts
from otaproof.reports.questions import QUESTIONS, answer, questions_document
from otaproof.reports.storm import StormInput, analyse, parse_policy
from otaproof.reports.verdicts import verdicts_document
from otaproof.variant_cli import (
    add_variant_file_flag,
    changed_design,
    default_variant,
    default_variants,
    design_record,
    trial_build,
    variant_files,
)

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + 2, 128 + 15  # the shell's code for a death by SIGINT, SIGTERM


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


# an engine run's budget is Z3 resource units (--rlimit, load-independent); the seconds are only an
# outer cap, generous enough that a busy machine never reaches it before the resource limit
DEFAULT_TIMEOUT = 1800.0


def _split(values: Sequence[str] | None) -> list[str]:
    """Repeatable, comma-separated option values, each once (``--property P-CPL`` thrice checks it once)."""
    return split(values)


def _variants(names: list[str]) -> list[str]:
    for v in names:
        if v not in REGISTRY:
            raise UsageError(unknown("variant", v, REGISTRY))
    return names


def _threats(names: list[str], where: str = "") -> frozenset[str]:
    for t in names:
        if t not in THREATS:
            raise UsageError(unknown("threat", t, THREATS) + where)
    return frozenset(names)


def _faults(names: list[str]) -> frozenset[str]:
    for f in names:
        if f not in FAULTS:
            raise UsageError(unknown("fault", f, FAULTS))
    return frozenset(names)


def _properties(ids: list[str]) -> list[Property]:
    for pid in ids:
        if pid not in BY_ID:
            raise UsageError(unknown("property", pid, BY_ID))
    return [BY_ID[pid] for pid in ids] or list(CATALOGUE)


def _warn_impossible_faults(faults: frozenset[str], capacity: int) -> None:
    """Duplication, reordering and delay need a second message in a queue: say so instead of
    silently checking a fault that cannot happen."""
    idle = sorted(f for f in faults if f in ("duplication", "reordering", "delay"))
    if idle and capacity < 2:
        print(f"otaproof: warning: --fault {', '.join(idle)} cannot happen with --capacity {capacity} (a copy or "
              "an overtaking needs a second slot in a queue); use --capacity 2", file=sys.stderr)


def _report_progress(args: argparse.Namespace, console: Console) -> Callable[[str], None]:
    """One line per finished property or cell on stderr when stdout is not a terminal (a terminal
    shows the progress bar instead); ``--quiet`` silences it."""
    if console.is_terminal or getattr(args, "quiet", False):
        return lambda line: None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _verdict_line(o: Outcome) -> str:
    v = o.verdict
    return f"{o.property.id}: {v.verdict} ({v.engine}, {v.seconds:.1f} s)"


def _add_parameter_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model parameters (defaults keep checks fast)")
    defaults = Parameters()
    for f in dataclasses.fields(Parameters):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            g.add_argument(flag, dest=f"param_{f.name}", action=argparse.BooleanOptionalAction, default=None,
                           help=f"(default: {default})")
        else:
            lo, hi = Parameters.LIMITS[f.name]
            g.add_argument(flag, dest=f"param_{f.name}", type=int_in(lo, hi), default=None, metavar="N",
                           help=f"{lo}..{hi} (default: {default})")


def _add_run_flags(p: argparse.ArgumentParser, json_help: str) -> None:
    """Properties, engine budget, workers and JSON output: the flags every checking command shares."""
    p.add_argument("--property", action="append", metavar="ID", help="property IDs (default: all)")
    p.add_argument("--depth", type=int_in(0, 200), default=25,
                   help="BMC / k-induction bound; for tail, the bound on the quiet run and on its prefix (default: 25)")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT,
                   help="outer wall-clock cap in seconds per engine and property part; a run it stops is reported as "
                        f"stopped by the wall-clock cap (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--rlimit", type=int_in(1), default=DEFAULT_RLIMIT,
                   help="Z3 resource units per engine and property part: the budget, the same on an idle and a busy "
                        f"machine (default: {DEFAULT_RLIMIT:,})")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default: 0)")
    p.add_argument("--workers", type=int_in(1), default=None, help="parallel engine processes (default: CPU count)")
    add_scheduler_flags(p)
    p.add_argument("--quiet", action="store_true",
                   help="no step tables, and no progress lines on stderr when the output is not a terminal")
    p.add_argument("--json", metavar="FILE", help=json_help)
    cache_cli.add_cache_flags(p)


def _add_design_lemmas_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--design-lemmas", action=argparse.BooleanOptionalAction, default=None,
                   help="prove with the hand-written lemma candidates of the SECMP0007 design (model/invariants.py), "
                        "or with --no-design-lemmas with candidates generated from the model's structure instead "
                        "(docs/lemmas.md); default: the hand-written ones for a built-in variant, generated ones "
                        "for a design change from a file or plugin")


def _add_swarm_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--swarm", action="store_true",
                   help="the portfolio also races the explicit-state swarm engine on every safety part from the "
                        "first second (off by default: on 2 cores it slows the rest; docs/explicit.md)")


def _budget(args: argparse.Namespace) -> Budget:
    """The engine budget (argparse checked the numbers), after checking that --json can be written."""
    if args.json:
        check_output_file(args.json, "--json")
    return Budget(timeout=args.timeout, depth=args.depth, seed=args.seed, rlimit=args.rlimit)


def _scenario(args: argparse.Namespace) -> Scenario:
    variant = args.variant or default_variant()
    _variants([variant])
    values = {f.name: getattr(args, f"param_{f.name}") for f in dataclasses.fields(Parameters)
              if getattr(args, f"param_{f.name}") is not None}
    params = Parameters().with_values(values)
    faults = _faults(_split(args.fault))
    _warn_impossible_faults(faults, params.capacity)
    return Scenario(variant, _threats(_split(args.threat)), faults, params,
                    design_lemmas=getattr(args, "design_lemmas", None))


def _certificate_dir(value: str | None) -> Path | None:
    """``--certificates DIR``: a new or empty directory in an existing one (checked before any work)."""
    if value is None:
        return None
    path = Path(value)
    if not path.resolve().parent.is_dir():
        raise UsageError(f"--certificates {value}: directory {path.resolve().parent} does not exist")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"--certificates {value}: exists and is not an empty directory")
    return path


def _cmd_check(args: argparse.Namespace, console: Console) -> int:
    scenario = _scenario(args)
    props = _properties(_split(args.property))
    budget = _budget(args)
    if args.all_n:
        if rejected := all_n_cli.rejected_flags(args):
            raise UsageError(f"--all-n does not take {', '.join(rejected)}")
        trial_build([scenario])
        return all_n_cli.run(args, scenario, props, budget, console)
    certificates = _certificate_dir(args.certificates)
    cache = cache_cli.cache_use(args)
    trial_build([scenario])
    say = _report_progress(args, console)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task(f"checking {scenario.describe()}", total=len(props))

        def done(o: Outcome) -> None:
            progress.advance(task)
            say(f"[{progress.tasks[0].completed:.0f}/{len(props)}] {_verdict_line(o)}")
            if not console.is_terminal:
                return
            pending = ", cvc5 re-check pending" if o.verdict.verdict == "proved" and certificates is not None else ""
            progress.console.print(f"  {o.property.id}: {o.verdict.verdict} ({o.verdict.engine}, "
                                   f"{o.verdict.seconds:.1f} s{pending})")

        def noted(text: str) -> None:
            progress.update(task, description=f"{scenario.describe()}: {text}")
            say(f"  {text}")

        outcomes = check(scenario, props, args.engine, budget, workers=args.workers, on_done=done, swarm=args.swarm,
                         cache=cache, on_note=noted)
        solvers = SOLVERS if certificates is not None else ("z3",)
        progress.update(task, description="re-checking the proofs independently (the workers ran z3"
                                          + (", cvc5 now)" if certificates is not None else ")"))
        outcomes, rechecks = recheck_verdicts(build(scenario), outcomes, solvers, certificates, workers=args.workers)
    cache_cli.report(cache)
    print_outcomes(console, outcomes, f"{scenario.describe()} — engine {args.engine}", show_traces=not args.quiet,
                   rechecks=rechecks)
    if certificates is not None:
        console.print(f"obligation files of {len(rechecks)} proofs written to {certificates} (index: manifest.json)")
    if args.json:
        write_json_atomic(args.json, verdicts_document(scenario, outcomes, args.engine, budget, rechecks))
        console.print(f"verdicts and traces written to {args.json}")
    verdicts = {o.verdict.verdict for o in outcomes}
    if "violated" in verdicts:
        return EXIT_VIOLATED
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def _cmd_matrix(args: argparse.Namespace, console: Console) -> int:
    variants = _variants(_split(args.variant) or default_variants())
    models = _split(args.threat_model) or ["none", *THREATS]
    for t in models:
        _threats([] if t == "none" else t.split("+"), f" (in threat model {t!r}; or none)")
    props = _properties(_split(args.property))
    say = _report_progress(args, console)
    budget = _budget(args)
    params = _scenario(argparse.Namespace(**{**vars(args), "variant": variants[0], "threat": []})).parameters
    faults = _faults(_split(args.fault))
    scenarios = [Scenario(v, frozenset([] if t == "none" else t.split("+")), faults, params,
                          design_lemmas=args.design_lemmas)
                 for v in variants for t in models]
    cache = cache_cli.cache_use(args)
    trial_build(scenarios)
    cells = len(scenarios) * len(props)
    started, load = time.time(), os.getloadavg()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("verdict matrix", total=len(scenarios) * len(props))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{scenarios[row].describe()}: {outcome.property.id}")
            say(f"[{progress.tasks[0].completed:.0f}/{cells}] {scenarios[row].describe()}: {_verdict_line(outcome)}")

        def noted(row: int, text: str) -> None:
            progress.update(task, description=f"{scenarios[row].describe()}: {text}")
            say(f"  {scenarios[row].describe()}: {text}")

        results = check_rows([(sc, props) for sc in scenarios], "portfolio", budget, workers=args.workers,
                             on_done=done, swarm=args.swarm, cache=cache, on_note=noted)
    cache_cli.report(cache)
    rows = [Row(sc, outcomes) for sc, outcomes in zip(scenarios, results, strict=True)]
    console.print(matrix_table(rows))
    if args.json:
        run = run_facts(started, time.time() - started, load)
        write_json_atomic(args.json, matrix_document(rows, "portfolio", budget, run))
        console.print(f"matrix written to {args.json}")
    verdicts = {o.verdict.verdict for r in rows for o in r.outcomes}
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def _cmd_diff(args: argparse.Namespace, console: Console) -> int:
    b = args.b or changed_design()
    _variants([args.a, b])
    base = _scenario(argparse.Namespace(**{**vars(args), "variant": args.a}))
    other = dataclasses.replace(base, variant=b)
    props = _properties(_split(args.property))
    budget = _budget(args)
    say = _report_progress(args, console)
    cache = cache_cli.cache_use(args)
    trial_build([base, other])
    started, load = time.time(), os.getloadavg()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("diff", total=2 * len(props))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{(base, other)[row].variant}: {outcome.property.id}")
            say(f"[{progress.tasks[0].completed:.0f}/{2 * len(props)}] {(base, other)[row].variant}: "
                f"{_verdict_line(outcome)}")

        def noted(row: int, text: str) -> None:
            progress.update(task, description=f"{(base, other)[row].variant}: {text}")
            say(f"  {(base, other)[row].variant}: {text}")

        results = check_rows([(base, props), (other, props)], "portfolio", budget, workers=args.workers,
                             on_done=done, cache=cache, on_note=noted)
    cache_cli.report(cache)
    rows = compare(*results)
    console.print(diff_table(rows, base, other))
    for r in rows:
        if r.change in ("broken by B", "fixed by B"):
            side, name = (r.b, b) if r.change == "broken by B" else (r.a, args.a)
            console.print(f"\n[bold]{r.a.property.id}[/] {r.change}: the counterexample in {name} "
                          f"(replayed), step by step")
            console.print(step_table(side.verdict.trace))  # type: ignore[union-attr]
    both = [r.a.property.id for r in rows if r.change == "holds in both"]
    console.print(f"\nholds in both designs: {', '.join(both) or 'none'}")
    if args.json:
        document = diff_document(rows, base, other, budget)
        document["designs"] = {v: design_record(v) for v in (args.a, b)}  # where each design came from
        document["run"] = run_facts(started, time.time() - started, load)
        write_json_atomic(args.json, document)
        console.print(f"diff written to {args.json}")
    return EXIT_UNKNOWN if any("unknown" in (r.a.verdict.verdict, r.b.verdict.verdict) for r in rows) else EXIT_OK


QUESTION_DESIGNS = ("pre-secmp0007", "secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening")
QUESTION_POLICIES = ("fixed-time", "uniform-window:4", "uniform-window:24", "on-change")


def _cmd_questions(args: argparse.Namespace, console: Console) -> int:
    designs = _variants(_split(args.variant) or list(QUESTION_DESIGNS))
    if args.json:
        check_output_file(args.json, "--json")
    cache = cache_cli.cache_use(args)
    say = _report_progress(args, console)
    needed: dict[str, set[str]] = {}
    for q in QUESTIONS:
        for t in q.threat_models:
            needed.setdefault(t, set()).update(q.properties)
    budget = Budget(timeout=args.timeout, depth=25, seed=args.seed)
    jobs = [(Scenario(v, frozenset([] if t == "none" else [t])), [p for p in CATALOGUE if p.id in pids])
            for v in designs for t, pids in needed.items() if pids]
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("answering", total=sum(len(ps) for _, ps in jobs))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{jobs[row][0].describe()}: {outcome.property.id}")
            say(f"[{progress.tasks[0].completed:.0f}/{progress.tasks[0].total:.0f}] {jobs[row][0].describe()}: "
                f"{_verdict_line(outcome)}")

        results = check_rows(jobs, "portfolio", budget, workers=args.workers, on_done=done, cache=cache)
    cache_cli.report(cache)
    rows = [Row(sc, outcomes) for (sc, _), outcomes in zip(jobs, results, strict=True)]
    storms = [analyse(StormInput(parse_policy(p), runs=args.runs, seed=args.seed)) for p in QUESTION_POLICIES]
    answers = {q.id: answer(q, rows, storms) for q in QUESTIONS}
    for q in QUESTIONS:
        console.print(f"\n[bold]{q.id}. {q.text}[/]")
        for line in answers[q.id]:
            console.print(f"  • {line}")
    if args.json:
        write_json_atomic(args.json, questions_document(rows, storms, answers))
        console.print(f"\nanswers and evidence (traces keyed as in the answers) written to {args.json}")
    else:
        console.print("\n(evidence: run with --json FILE to keep every trace named in the answers)")
    verdicts = {o.verdict.verdict for r in rows for o in r.outcomes}
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def _cmd_properties(args: argparse.Namespace, console: Console) -> int:
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
        return EXIT_OK
    table = Table(title="Property catalogue", title_justify="left")
    for col in ("ID", "kind", "statement", "why"):
        table.add_column(col)
    for p in CATALOGUE:
        table.add_row(p.id, p.kind, p.statement, p.rationale)
    console.print(table)
    return EXIT_OK


def _cmd_variants(args: argparse.Namespace, console: Console) -> int:
    trial_build(Scenario(v.name) for v in REGISTRY.values())  # files and plugins: each builds, or a located error
    table = Table(title="Variants (design changes)", title_justify="left")
    for col in ("name", "origin", "design change", "source"):
        table.add_column(col, ratio=1 if col in ("name", "origin") else 3)
    table.add_column("defined in", ratio=3, overflow="fold")  # a path is folded, never cut short
    for v in REGISTRY.values():
        table.add_row(v.name, v.origin, v.doc, v.source, v.location)
    console.print(table)
    t2 = Table(title="Threat models (--threat)", title_justify="left")
    t2.add_column("name")
    t2.add_column("attacker capability")
    for k, d in THREATS.items():
        t2.add_row(k, d)
    console.print(t2)
    t3 = Table(title="Fault models (--fault)", title_justify="left")
    t3.add_column("name")
    t3.add_column("fault")
    for k, d in FAULTS.items():
        t3.add_row(k, d)
    console.print(t3)
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace, console: Console) -> int:
    return demo.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="otaproof",
        description="Formal model, Z3 proofs and counterexamples for OTA firmware updates of GB smart-metering "
                    "HAN devices (SECMP0007: PPMID, HCALCS).",
        epilog="Exit codes: 0 all properties hold, 1 a property is violated, 2 bad input or internal error, "
               "3 no violation but some verdict unknown.")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check properties of a design under threat and fault models",
                       description="Check security properties with Z3. Verdicts: proved (certificate re-checked), "
                                   "violated (counterexample replayed), unknown (with the reason).")
    c.add_argument("--variant", help="design variant (see `otaproof variants`; default: the design of the one "
                                      "--variant-file, else secmp0007)")
    add_variant_file_flag(c)
    c.add_argument("--threat", action="append", metavar="T",
                   help=f"attacker capability, repeatable or comma-separated: {', '.join(THREATS)}")
    c.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                   help=f"network/power faults, repeatable or comma-separated: {', '.join(FAULTS)}")
    c.add_argument("--engine", choices=ENGINE_CHOICES, default="portfolio",
                   help="lemmas: proof from the model's inductive lemmas only (fast); bmc: counterexamples; "
                        "kind: k-induction; pdr: Spacer PDR/IC3 strengthened by the lemmas; tail: bounded-response "
                        "counterexamples found tail first (the quiet run after the last interference, then a prefix "
                        "by BMC; for traces too deep for bmc); explicit: BFS (and REACH "
                        "on the state graph); recovery: REACH by one-step recovery (symbolic); "
                        "portfolio: lemmas on every property first, then bmc+pdr+kind (+tail on bounded responses) "
                        "race on the rest "
                        "(recovery+explicit for REACH), first definitive answer wins (default)")
    _add_run_flags(c, "write verdicts and traces as JSON (schema otaproof.verdicts/1)")
    _add_design_lemmas_flag(c)
    _add_swarm_flag(c)
    c.add_argument("--certificates", metavar="DIR",
                   help="keep every proof's obligations as standalone SMT-LIB files in DIR (new or empty) and "
                        "re-check them with cvc5 as well as Z3 (docs/certificates.md); without it the files are "
                        "re-checked by Z3 alone and not kept")
    c.add_argument("--all-n", action="store_true", help=all_n_cli.HELP)
    _add_parameter_flags(c)
    c.set_defaults(func=_cmd_check)
    mx = sub.add_parser("matrix", help="verdicts of every variant x threat model x property",
                        description="Check every property of every design variant under each threat model "
                                    "(portfolio engine, in parallel processes) and print the verdict matrix. Exit "
                                    "0 when every verdict is definite (proved or violated: violations are findings "
                                    "here, not failures), 3 if any is unknown, 2 on bad input.")
    mx.add_argument("--variant", action="append", metavar="V",
                    help="variants (default: secmp0007 and the --variant-file designs if any, else all; see "
                         "`otaproof variants`)")
    add_variant_file_flag(mx)
    mx.add_argument("--threat-model", action="append", metavar="T",
                    help="threat models: none, a threat, or threats joined by + (default: none and each threat alone)")
    mx.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                    help=f"fault models applied to every row: {', '.join(FAULTS)}")
    _add_run_flags(mx, "write the matrix with traces as JSON (schema otaproof.matrix/1)")
    _add_design_lemmas_flag(mx)
    _add_swarm_flag(mx)
    _add_parameter_flags(mx)
    mx.set_defaults(func=_cmd_matrix)
    df = sub.add_parser("diff", help="what changes between two designs: verdict flips with their traces",
                        description="Check both variants under the same threat and fault model and show the "
                                    "verdicts side by side, each flipped verdict's replayed counterexample as a "
                                    "step table, and the properties that hold in both. Exit 0 when every verdict "
                                    "is definite, 3 if any is unknown, 2 on bad input.")
    df.add_argument("a", metavar="A", help="the reference design (e.g. secmp0007)")
    df.add_argument("b", metavar="B", nargs="?",
                    help="the changed design (e.g. geo-local-daily-alert; default: the design of the one "
                         "--variant-file)")
    add_variant_file_flag(df)
    df.add_argument("--threat", action="append", metavar="T", help=f"threats for both: {', '.join(THREATS)}")
    df.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                    help=f"faults for both: {', '.join(FAULTS)}")
    _add_run_flags(df, "write both sides with traces as JSON (schema otaproof.diff/1)")
    _add_design_lemmas_flag(df)
    _add_parameter_flags(df)
    df.set_defaults(func=_cmd_diff)
    qs = sub.add_parser("questions",
                        help="the working group's five questions, answered from verdicts and storm figures",
                        description="Answer the SECMP0007 working group's questions (August 2019) and the stranding "
                                    "concern from computed evidence: each question's properties are checked on the "
                                    "designs that were on the table under the relevant threat models, the alert "
                                    "storm is computed for the reporting policies, and every answer line is "
                                    "generated from those results (never written by hand).")
    qs.add_argument("--variant", action="append", metavar="V",
                    help=f"designs to compare (default: {', '.join(QUESTION_DESIGNS)})")
    qs.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT,
                    help=f"outer wall-clock cap per engine and property part (default: {DEFAULT_TIMEOUT:g})")
    qs.add_argument("--runs", type=int_in(1, 100_000), default=200,
                    help="Monte Carlo runs per randomised storm policy (default: 200)")
    qs.add_argument("--seed", type=int, default=0, help="Z3 and Monte Carlo seed (default: 0)")
    qs.add_argument("--workers", type=int_in(1), default=None, help="parallel engine processes (default: CPU count)")
    add_scheduler_flags(qs)
    qs.add_argument("--quiet", action="store_true",
                    help="no progress lines on stderr when the output is not a terminal")
    qs.add_argument("--json", metavar="FILE", help="write answers, storm figures and traces (otaproof.questions/1)")
    cache_cli.add_cache_flags(qs)
    qs.set_defaults(func=_cmd_questions)
    p = sub.add_parser("properties", help="list the property catalogue")
    p.add_argument("--markdown", action="store_true",
                   help="print the catalogue as Markdown (regenerates docs/properties.md when redirected there)")
    p.set_defaults(func=_cmd_properties)
    v = sub.add_parser("variants", help="list variants (built-in, plugin, file), threat models and fault models",
                       description="List the design variants with their origin (built-in, an installed plugin's "
                                   "entry point in group otaproof.variants, or a --variant-file), design change, "
                                   "public source and where each is defined; each plugin and file variant is "
                                   "built once to check it.")
    add_variant_file_flag(v)
    v.set_defaults(func=_cmd_variants)
    s = sub.add_parser("simulate", help="run the reference implementation's demonstration (one PPMID and one "
                                        "HCALCS update)")
    demo.add_arguments(s)
    s.set_defaults(func=_cmd_simulate)
    storm_cli.add_parser(sub)
    cache_cli.add_parser(sub)
    generate_cli.add_parsers(sub, _add_parameter_flags)
    export_cli.add_parser(sub, _add_parameter_flags)
    evidence_cli.add_parsers(sub, _add_parameter_flags)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse with bad input reported in one line (the usage is one ``--help`` away), exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _slots(args: argparse.Namespace) -> int | None:
    """How many processes a ``--scheduler local`` cluster starts: ``--workers`` (``--jobs`` for mutants)."""
    return getattr(args, "workers", None) or getattr(args, "jobs", None)


def main(argv: Sequence[str] | None = None) -> int:
    console = Console() if sys.stdout.isatty() else Console(width=140)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or bad input (2), already printed
        return e.code if isinstance(e.code, int) else EXIT_BAD_INPUT
    try:
        with interruptions(), variant_files(args), \
                scheduler(getattr(args, "scheduler", None), _slots(args), getattr(args, "scheduler_wait", 0.0)):
            return int(args.func(args, console))
    except (ModelError, UsageError, OutputError, FileNotFoundError, FileExistsError,
            generate_cli.GenerateError, cache_cli.CacheDirError, SchedulerError) as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated:
        return EXIT_TERMINATED


if __name__ == "__main__":
    sys.exit(main())
