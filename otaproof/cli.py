"""The ``otaproof`` command: it only wires model, properties and reports together.

Exit codes: 0 every checked property holds (proved); 1 some property is violated; 2 bad input
or an internal error; 3 no violation found but some verdict is unknown (inconclusive).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from otaproof import evidence_cli, generate_cli, storm_cli
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import REGISTRY, get_variant
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import ENGINE_CHOICES, Outcome, check, check_rows
from otaproof.properties.verdict import Budget
from otaproof.render import print_outcomes, step_table
from otaproof.reports.diff import compare, diff_document, diff_table
from otaproof.reports.files import write_json_atomic
from otaproof.reports.matrix import Row, matrix_document, matrix_table
from otaproof.reports.questions import QUESTIONS, answer, questions_document
from otaproof.reports.storm import StormInput, analyse, parse_policy
from otaproof.reports.verdicts import verdicts_document

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


# seconds per engine and property part: the slowest proof of the built-in designs (PDR on the
# PPMID's version report in geo-local-daily-alert, a tight bounded response) takes 25-70 s
# depending on the Z3 seed and the load, so 60 s left it undecided in some runs
DEFAULT_TIMEOUT = 120.0


def _split(values: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


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
            g.add_argument(flag, dest=f"param_{f.name}", type=int, default=None, metavar="N",
                           help=f"{lo}..{hi} (default: {default})")


def _add_run_flags(p: argparse.ArgumentParser, json_help: str) -> None:
    """Properties, engine budget, workers and JSON output: the flags every checking command shares."""
    p.add_argument("--property", action="append", metavar="ID", help="property IDs (default: all)")
    p.add_argument("--depth", type=int, default=25, help="BMC / k-induction bound; for tail, the bound on the quiet run and on its prefix (default: 25)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds per engine and property part; decided cells stop early, so only unknowns cost the full "
                        f"budget (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default: 0)")
    p.add_argument("--workers", type=int, default=None, help="parallel engine processes (default: CPU count)")
    p.add_argument("--json", metavar="FILE", help=json_help)


def _budget(args: argparse.Namespace) -> Budget:
    """The engine budget, after checking the shared flags (and that --json can be written)."""
    if args.depth < 0 or args.depth > 200:
        raise UsageError(f"--depth {args.depth} is impossible: use 0..200")
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout} must be positive")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UsageError(f"--json {args.json}: output directory {Path(args.json).resolve().parent} does not exist")
    return Budget(timeout=args.timeout, depth=args.depth, seed=args.seed)


def _scenario(args: argparse.Namespace) -> Scenario:
    get_variant(args.variant)
    values = {f.name: getattr(args, f"param_{f.name}") for f in dataclasses.fields(Parameters)
              if getattr(args, f"param_{f.name}") is not None}
    params = Parameters().with_values(values)
    return Scenario(args.variant, frozenset(_split(args.threat)), frozenset(_split(args.fault)), params)


def _cmd_check(args: argparse.Namespace, console: Console) -> int:
    scenario = _scenario(args)
    props = [get_property(pid) for pid in _split(args.property)] or list(CATALOGUE)
    budget = _budget(args)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task(f"checking {scenario.describe()}", total=len(props))

        def done(o: Outcome) -> None:
            progress.advance(task)
            if not console.is_terminal:
                return
            progress.console.print(f"  {o.property.id}: {o.verdict.verdict} ({o.verdict.engine}, "
                                   f"{o.verdict.seconds:.1f} s)")

        outcomes = check(scenario, props, args.engine, budget, workers=args.workers, on_done=done)
    print_outcomes(console, outcomes, f"{scenario.describe()} — engine {args.engine}", show_traces=not args.quiet)
    if args.json:
        write_json_atomic(args.json, verdicts_document(scenario, outcomes, args.engine, budget))
        console.print(f"verdicts and traces written to {args.json}")
    verdicts = {o.verdict.verdict for o in outcomes}
    if "violated" in verdicts:
        return EXIT_VIOLATED
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def _cmd_matrix(args: argparse.Namespace, console: Console) -> int:
    variants = _split(args.variant) or list(REGISTRY)
    for v in variants:
        get_variant(v)
    models = _split(args.threat_model) or ["none", *THREATS]
    for t in models:
        for part in ([] if t == "none" else t.split("+")):
            if part not in THREATS:
                raise UsageError(f"unknown threat {part!r} in threat model {t!r}; known: none, {', '.join(THREATS)}")
    props = [get_property(pid) for pid in _split(args.property)] or list(CATALOGUE)
    budget = _budget(args)
    params = _scenario(argparse.Namespace(**{**vars(args), "variant": variants[0], "threat": []})).parameters
    scenarios = [Scenario(v, frozenset([] if t == "none" else t.split("+")), frozenset(_split(args.fault)), params)
                 for v in variants for t in models]
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("verdict matrix", total=len(scenarios) * len(props))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{scenarios[row].describe()}: {outcome.property.id}")

        results = check_rows([(sc, props) for sc in scenarios], "portfolio", budget, workers=args.workers,
                             on_done=done)
    rows = [Row(sc, outcomes) for sc, outcomes in zip(scenarios, results)]
    console.print(matrix_table(rows))
    if args.json:
        write_json_atomic(args.json, matrix_document(rows, "portfolio", budget))
        console.print(f"matrix written to {args.json}")
    verdicts = {o.verdict.verdict for r in rows for o in r.outcomes}
    return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK


def _cmd_diff(args: argparse.Namespace, console: Console) -> int:
    for v in (args.a, args.b):
        get_variant(v)
    base = _scenario(argparse.Namespace(**{**vars(args), "variant": args.a}))
    other = dataclasses.replace(base, variant=args.b)
    props = [get_property(pid) for pid in _split(args.property)] or list(CATALOGUE)
    budget = _budget(args)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    with progress:
        task = progress.add_task("diff", total=2 * len(props))

        def done(row: int, outcome: Outcome) -> None:
            progress.update(task, advance=1, description=f"{(base, other)[row].variant}: {outcome.property.id}")

        results = check_rows([(base, props), (other, props)], "portfolio", budget, workers=args.workers,
                             on_done=done)
    rows = compare(*results)
    console.print(diff_table(rows, base, other))
    for r in rows:
        if r.change in ("broken by B", "fixed by B"):
            side, name = (r.b, args.b) if r.change == "broken by B" else (r.a, args.a)
            console.print(f"\n[bold]{r.a.property.id}[/] {r.change}: the counterexample in {name} "
                          f"(replayed), step by step")
            console.print(step_table(side.verdict.trace))  # type: ignore[union-attr]
    both = [r.a.property.id for r in rows if r.change == "holds in both"]
    console.print(f"\nholds in both designs: {', '.join(both) or 'none'}")
    if args.json:
        write_json_atomic(args.json, diff_document(rows, base, other, budget))
        console.print(f"diff written to {args.json}")
    return EXIT_UNKNOWN if any("unknown" in (r.a.verdict.verdict, r.b.verdict.verdict) for r in rows) else EXIT_OK


QUESTION_DESIGNS = ("pre-secmp0007", "secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening")
QUESTION_POLICIES = ("fixed-time", "uniform-window:4", "uniform-window:24", "on-change")


def _cmd_questions(args: argparse.Namespace, console: Console) -> int:
    designs = _split(args.variant) or list(QUESTION_DESIGNS)
    for v in designs:
        get_variant(v)
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout} must be positive")
    if not 1 <= args.runs <= 100_000:
        raise UsageError(f"--runs {args.runs} must be in 1..100000")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise UsageError(f"--json {args.json}: output directory {Path(args.json).resolve().parent} does not exist")
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

        results = check_rows(jobs, "portfolio", budget, workers=args.workers, on_done=done)
    rows = [Row(sc, outcomes) for (sc, _), outcomes in zip(jobs, results)]
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
    table = Table(title="Property catalogue", title_justify="left")
    for col in ("ID", "kind", "statement", "why"):
        table.add_column(col)
    for p in CATALOGUE:
        table.add_row(p.id, p.kind, p.statement, p.rationale)
    console.print(table)
    return EXIT_OK


def _cmd_variants(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="Variants (design changes)", title_justify="left")
    for col in ("name", "design change", "source"):
        table.add_column(col)
    for v in REGISTRY.values():
        table.add_row(v.name, v.doc, v.source)
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
    from otaproof.refimpl.demo import main as demo_main

    return demo_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otaproof",
        description="Formal model, Z3 proofs and counterexamples for OTA firmware updates of GB smart-metering "
                    "HAN devices (SECMP0007: PPMID, HCALCS).",
        epilog="Exit codes: 0 all properties hold, 1 a property is violated, 2 bad input or internal error, "
               "3 no violation but some verdict unknown.")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check properties of a design under threat and fault models",
                       description="Check security properties with Z3. Verdicts: proved (certificate re-checked), "
                                   "violated (counterexample replayed), unknown (with the reason).")
    c.add_argument("--variant", default="secmp0007", help="design variant (see `otaproof variants`)")
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
    c.add_argument("--quiet", action="store_true", help="verdict table only, no step tables")
    _add_parameter_flags(c)
    c.set_defaults(func=_cmd_check)
    mx = sub.add_parser("matrix", help="verdicts of every variant x threat model x property",
                        description="Check every property of every design variant under each threat model "
                                    "(portfolio engine, in parallel processes) and print the verdict matrix. Exit "
                                    "0 when every verdict is definite (proved or violated: violations are findings "
                                    "here, not failures), 3 if any is unknown, 2 on bad input.")
    mx.add_argument("--variant", action="append", metavar="V", help="variants (default: all; see `otaproof variants`)")
    mx.add_argument("--threat-model", action="append", metavar="T",
                    help="threat models: none, a threat, or threats joined by + (default: none and each threat alone)")
    mx.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                    help=f"fault models applied to every row: {', '.join(FAULTS)}")
    _add_run_flags(mx, "write the matrix with traces as JSON (schema otaproof.matrix/1)")
    _add_parameter_flags(mx)
    mx.set_defaults(func=_cmd_matrix)
    df = sub.add_parser("diff", help="what changes between two designs: verdict flips with their traces",
                        description="Check both variants under the same threat and fault model and show the "
                                    "verdicts side by side, each flipped verdict's replayed counterexample as a "
                                    "step table, and the properties that hold in both. Exit 0 when every verdict "
                                    "is definite, 3 if any is unknown, 2 on bad input.")
    df.add_argument("a", metavar="A", help="the reference design (e.g. secmp0007)")
    df.add_argument("b", metavar="B", help="the changed design (e.g. geo-local-daily-alert)")
    df.add_argument("--threat", action="append", metavar="T", help=f"threats for both: {', '.join(THREATS)}")
    df.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                    help=f"faults for both: {', '.join(FAULTS)}")
    _add_run_flags(df, "write both sides with traces as JSON (schema otaproof.diff/1)")
    _add_parameter_flags(df)
    df.set_defaults(func=_cmd_diff)
    qs = sub.add_parser("questions", help="the working group's five questions, answered from verdicts and storm figures",
                        description="Answer the SECMP0007 working group's questions (August 2019) and the stranding "
                                    "concern from computed evidence: each question's properties are checked on the "
                                    "designs that were on the table under the relevant threat models, the alert "
                                    "storm is computed for the reporting policies, and every answer line is "
                                    "generated from those results (never written by hand).")
    qs.add_argument("--variant", action="append", metavar="V",
                    help=f"designs to compare (default: {', '.join(QUESTION_DESIGNS)})")
    qs.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help=f"seconds per engine and property part (default: {DEFAULT_TIMEOUT:g})")
    qs.add_argument("--runs", type=int, default=200, help="Monte Carlo runs per randomised storm policy (default: 200)")
    qs.add_argument("--seed", type=int, default=0, help="Z3 and Monte Carlo seed (default: 0)")
    qs.add_argument("--workers", type=int, default=None, help="parallel engine processes (default: CPU count)")
    qs.add_argument("--json", metavar="FILE", help="write answers, storm figures and traces (otaproof.questions/1)")
    qs.set_defaults(func=_cmd_questions)
    p = sub.add_parser("properties", help="list the property catalogue")
    p.set_defaults(func=_cmd_properties)
    v = sub.add_parser("variants", help="list variants, threat models and fault models")
    v.set_defaults(func=_cmd_variants)
    s = sub.add_parser("simulate", help="run the reference implementation's demonstration (one PPMID and one "
                                        "HCALCS update)")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=_cmd_simulate)
    storm_cli.add_parser(sub)
    generate_cli.add_parsers(sub, _add_parameter_flags)
    evidence_cli.add_parsers(sub, _add_parameter_flags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console = Console() if sys.stdout.isatty() else Console(width=140)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, console))
    except (ModelError, UsageError, FileNotFoundError, FileExistsError, generate_cli.GenerateError) as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
