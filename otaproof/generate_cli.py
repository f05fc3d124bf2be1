"""``otaproof generate`` and ``otaproof mutants``: counterexamples and coverage goals become a pytest
suite; seeded faults of the reference implementation measure how good that suite is.

Exit codes: generate 0 written, 2 bad input, 3 written but some cell (a property on a scenario) or
coverage goal could not be decided (each is named); mutants 0 kill rate at least
``--min-kill-rate``, 1 below it, 2 bad input (including a suite that fails without mutants).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from otaproof import cache_cli
from otaproof.arguments import add_scheduler_flags, fraction, int_in, seconds, split, unknown
from otaproof.files import check_output_dir, check_output_file, write_json_atomic
from otaproof.generators.adapter import Adapter
from otaproof.generators.automutants import (
    MutmutMissing,
    function_table,
    run_auto,
    selected,
    survivors_text,
)
from otaproof.generators.automutants import describe as describe_auto
from otaproof.generators.automutants import to_json as auto_json
from otaproof.generators.coverage import PROOF_RLIMIT, PROOF_SECONDS, RLIMIT, SAFETY_SECONDS, coverage_table
from otaproof.generators.edges import edge_traces
from otaproof.generators.explore import CONE_STATES, STATES, WALKS
from otaproof.generators.mutants import MUTANTS
from otaproof.generators.mutation import (
    MutantResult,
    SuiteFailsWithoutMutants,
    describe_score,
    report_table,
    run_mutants,
    to_json,
)
from otaproof.generators.plan import plan_suite
from otaproof.generators.results import generate_document
from otaproof.generators.suite import DEFAULT_SUT, scenario_key, write_suite
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.variants import REGISTRY, get_variant
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.verdict import Budget
from otaproof.reports.matrix import run_facts
from otaproof.variant_cli import add_variant_file_flag, default_variants, trial_build

EXIT_OK, EXIT_BELOW_TARGET, EXIT_BAD_INPUT, EXIT_UNDECIDED = 0, 1, 2, 3


class GenerateError(Exception):
    """Bad input to generate or mutants: one line, exit code 2."""


# The property checks' budget: Z3 resource units per engine and part decide (the same verdicts under
# any load); the seconds are only an outer cap, reported when they bind. Enough units for every
# cell of the verdict matrix the portfolio decides by PDR or lemmas within 600M (results/matrix.json).
CHECK_RLIMIT = 600_000_000
CHECK_SECONDS = 900.0

# By default a suite covers the approved design with no attacker and with every attacker at once:
# a device's signature, model, hardware and counter checks are only reachable with one on the HAN.
DEFAULT_THREAT_MODELS = ("none", "han_mitm+old_supplier+compromised_key")


def _threat_models(values: list[str] | None) -> list[frozenset[str]]:
    out = []
    for t in split(values) or list(DEFAULT_THREAT_MODELS):
        parts = frozenset() if t == "none" else frozenset(t.split("+"))
        for p in parts:
            if p not in THREATS:
                raise GenerateError(unknown("threat", p, THREATS) + f" (in --threat-model {t!r}; or none)")
        out.append(parts)
    return out


def load_factory(spec: str) -> Callable[[], Adapter]:
    """``module:factory`` → the factory, checked to build an object with the Adapter interface."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise GenerateError(f"--sut {spec!r}: expected module:factory, e.g. {DEFAULT_SUT}")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise GenerateError(f"--sut {spec!r}: cannot import it ({e})") from None
    if not isinstance(factory(), Adapter):
        raise GenerateError(f"--sut {spec!r}: what it builds lacks start/perform/observe (generators.adapter.Adapter)")
    return factory  # type: ignore[no-any-return]


def _cmd_generate(args: argparse.Namespace, console: Console) -> int:
    variants = split(args.variant) or default_variants()
    for v in variants:
        if v not in REGISTRY:
            raise GenerateError(unknown("variant", v, REGISTRY))
    models = _threat_models(args.threat_model)
    faults = frozenset(split(args.fault))
    for f in faults:
        if f not in FAULTS:
            raise GenerateError(unknown("fault", f, FAULTS))
    props = [get_property(p) for p in split(args.property)] or list(CATALOGUE)
    out = check_output_dir(args.out, "--out", args.force)
    if args.json:
        check_output_file(args.json, "--json")
    load_factory(args.sut)
    cache = cache_cli.cache_use(args)
    params = Parameters().with_values({k[6:]: v for k, v in vars(args).items()
                                       if k.startswith("param_") and v is not None})
    cex = [Scenario(v, t, faults, params) for v in variants for t in models]
    approved = [Scenario("secmp0007", t, faults, params) for t in models]
    # each other design: the goals of what it changes, without an attacker (cf. generators.goals)
    changes = [Scenario(v, frozenset(), faults, params) for v in variants if v != "secmp0007"]
    trial_build(cex)
    budget = Budget(timeout=args.timeout, depth=args.depth, seed=args.seed, rlimit=args.rlimit)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                        transient=True, disable=not console.is_terminal)
    start, started, load = time.monotonic(), time.time(), os.getloadavg()

    def log(text: str) -> None:  # not a terminal: each step as a line on stderr, with the time since the start
        print(f"[{time.monotonic() - start:6.0f} s] {text}", file=sys.stderr, flush=True)

    with progress:
        task = progress.add_task("planning", total=None)
        coverage = [] if args.no_coverage else approved + changes
        plan = plan_suite(cex, coverage, [] if args.no_oracle else approved, props,
                          budget, coverage_depth=args.coverage_depth, coverage_seconds=args.coverage_timeout,
                          coverage_rlimit=args.coverage_rlimit, proof_seconds=args.proof_timeout,
                          proof_rlimit=args.proof_rlimit, coverage_states=args.coverage_states,
                          coverage_walks=args.coverage_walks, coverage_cone_states=args.coverage_cone_states,
                          workers=args.workers, sut=args.sut, oracle_examples=args.oracle_examples,
                          progress=(lambda text: progress.update(task, description=text)) if console.is_terminal
                          else log, coverage_progress=None if console.is_terminal else log, cache=cache)
    cache_cli.report(cache)
    if not args.no_coverage:  # frames at the edges of the fields the model abstracts, on the approved design
        plan.edges = edge_traces(Scenario("secmp0007", frozenset(), faults, params))
    # the suite's traces name these designs: it keeps their files and its conftest registers them
    plan.variant_files = {v: get_variant(v).file for v in variants if get_variant(v).origin == "file"}
    plan.notes += [f"reproductions on {v} need a system under test configured as {v} (the adapter's start() for "
                   f"variant {v}); an adapter without one fails them, naming the gap" for v in plan.variant_files
                   if any(r.scenario.variant == v for r in plan.reproductions)]
    plan.seconds = time.monotonic() - start
    summary = write_suite(plan, out, force=args.force)
    for phase, spent in plan.phases.items():
        console.print(f"phase: {phase}: {spent:.1f} s")
    if args.json:
        settings = {"variants": variants, "threat_models": ["+".join(sorted(t)) or "none" for t in models],
                    "faults": sorted(faults), "properties": [p.id for p in props], "depth": args.depth,
                    "timeout": args.timeout, "rlimit": args.rlimit, "coverage_depth": args.coverage_depth,
                    "coverage_states": args.coverage_states, "coverage_walks": args.coverage_walks,
                    "coverage_cone_states": args.coverage_cone_states,
                    "coverage_rlimit": args.coverage_rlimit, "proof_rlimit": args.proof_rlimit, "seed": args.seed,
                    "oracle": not args.no_oracle, "cache": cache is not None}
        run = {**run_facts(started, time.monotonic() - start, load),
               "load_average_end": [round(x, 2) for x in os.getloadavg()]}
        write_json_atomic(args.json, generate_document(plan, summary, settings, run))
        console.print(f"run summary written to {args.json}")
    for sc, result in plan.coverage:
        table = coverage_table(result)
        table.title = f"Coverage per criterion, {scenario_key(sc)}: {table.title}"
        console.print(table)
    table = Table(title=f"Generated suite {out}", title_justify="left")
    table.add_column("module")
    table.add_column("tests", justify="right")
    for module, n in summary.modules.items():
        table.add_row(f"{module}.py", str(n))
    table.add_row("[bold]total[/]", f"[bold]{summary.tests}[/]")
    console.print(table)
    conformance = summary.tests - len(plan.reproductions) - len(plan.guards) - len(plan.oracle) - len(plan.edges)
    console.print(f"suite size: {summary.tests} tests ({len(plan.reproductions)} reproductions, {len(plan.guards)} "
                  f"guards, {conformance} conformance, {len(plan.edges)} wire edges, {len(plan.oracle)} oracle runs), "
                  f"{summary.traces} trace files; generated in {plan.seconds:.0f} s; {len(plan.unguarded)} "
                  f"counterexamples also hold on the approved design; run: pytest {out}  (or pytest {out} -n auto)")
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {note}")
    if plan.undecided:
        console.print(f"[red]could not decide {len(plan.undecided)} cell(s)/goal(s)[/] (the suite lacks their tests; "
                      "raise --timeout for a cell; --coverage-cone-states, --coverage-depth / --coverage-rlimit "
                      "or --proof-rlimit for a goal):")
        for u in plan.undecided:
            console.print(f"  undecided: {u}")
        return EXIT_UNDECIDED
    return EXIT_OK


def _cmd_mutants(args: argparse.Namespace, console: Console) -> int:
    suite = Path(args.suite)
    if not (suite / "conftest.py").is_file():
        raise GenerateError(f"--suite {suite}: no generated suite there (no conftest.py); run otaproof generate first")
    if args.auto and args.scheduler:
        raise GenerateError("--auto runs mutmut on this machine: leave out --scheduler")
    if args.auto:
        return _cmd_auto_mutants(args, suite, console)
    if args.function:
        raise GenerateError("--function selects derived mutants: use it with --auto")
    names = split(args.mutant) or list(MUTANTS)
    for n in names:
        if n not in MUTANTS:
            raise GenerateError(unknown("mutant", n, MUTANTS))
    if args.json:
        check_output_file(args.json, "--json")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
    start, started, load = time.monotonic(), time.time(), os.getloadavg()
    finished = 0

    def tell(result: MutantResult) -> None:
        """Advance the bar; not a terminal: each mutant's result as a line on stderr."""
        nonlocal finished
        finished += 1
        progress.advance(task)
        if not console.is_terminal:
            print(f"[{time.monotonic() - start:6.0f} s] [{finished}/{len(names)}] {result.name}: {result.status.value}"
                  f" ({len(result.killing_tests)} killing tests, {result.seconds:.1f} s)", file=sys.stderr, flush=True)

    with progress:
        task = progress.add_task(f"running {suite} against {len(names)} mutants", total=len(names))
        try:
            report = run_mutants(suite, names, jobs=args.jobs, timeout=args.timeout, progress=tell,
                                 oracle=not args.no_oracle)
        except SuiteFailsWithoutMutants as e:
            raise GenerateError(str(e)) from None
    console.print(report_table(report))
    for r in report.survivors:
        console.print(f"survivor [bold]{r.name}[/] ({r.fault}): {r.verdict}")
    console.print(f"{describe_score(report)}; target {args.min_kill_rate:.0%}")
    if args.json:
        run = {**run_facts(started, time.monotonic() - start, load),
               "load_average_end": [round(x, 2) for x in os.getloadavg()], "jobs": args.jobs}
        write_json_atomic(args.json, {**to_json(report), "run": run})
        console.print(f"report written to {args.json}")
    return EXIT_OK if report.kill_rate >= args.min_kill_rate else EXIT_BELOW_TARGET


def _cmd_auto_mutants(args: argparse.Namespace, suite: Path, console: Console) -> int:
    """``mutants --auto``: mutmut's mutants of the refimpl's decision code (``generators.automutants``)."""
    if args.mutant:
        raise GenerateError("--mutant names seeded mutants: leave it out with --auto (use --function)")
    try:
        selected(split(args.function))
    except ValueError as e:
        raise GenerateError(str(e)) from None
    if args.json:
        check_output_file(args.json, "--json")
    start, started, load = time.monotonic(), time.time(), os.getloadavg()
    with console.status("mutmut: deriving and running mutants of the decision code", spinner="dots") as status:
        def progress(text: str) -> None:  # a terminal: the status line; piped: a line on stderr each time
            if console.is_terminal:
                status.update(text)
            else:
                print(f"[{time.monotonic() - start:6.0f} s] {text}", file=sys.stderr, flush=True)

        try:
            report = run_auto(suite, split(args.function), jobs=args.jobs, timeout=args.timeout * 60,
                              progress=progress)
        except MutmutMissing as e:
            raise GenerateError(str(e)) from None
    console.print(function_table(report))
    for line in survivors_text(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"{describe_auto(report)}; target {args.min_kill_rate:.0%}")
    if args.json:
        run = {**run_facts(started, time.monotonic() - start, load),
               "load_average_end": [round(x, 2) for x in os.getloadavg()]}
        write_json_atomic(args.json, {**auto_json(report), "run": run})
        console.print(f"report written to {args.json}")
    return EXIT_OK if report.kill_rate >= args.min_kill_rate else EXIT_BELOW_TARGET


def add_parsers(sub: Any, add_parameter_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``generate`` and ``mutants`` to the otaproof command's subparsers."""
    g = sub.add_parser(
        "generate", help="write a pytest suite from counterexamples, coverage goals and the model as oracle",
        description="Check every property on each variant (x threat model) and turn every counterexample into a "
                    "reproduction test (the violation happens on the system under test configured as that variant) "
                    "and a guard test (the approved design refuses the attack at the step the model predicts); "
                    "add conformance tests covering every action, every guard outcome and every alert/response "
                    "outcome code of the approved design (trap properties, minimised), and a Hypothesis run with "
                    "the model as oracle. Every test replays a trace step by step through an adapter and compares "
                    "the observed abstract state with the model's after each step. Exit 0 written, 2 bad input, 3 "
                    "written but some property check or coverage goal undecided (each is named).")
    g.add_argument("--out", required=True, metavar="DIR", help="directory to create (must not exist unless --force)")
    g.add_argument("--force", action="store_true",
                   help="replace DIR if an earlier otaproof generate wrote it (anything else is refused)")
    g.add_argument("--sut", default=DEFAULT_SUT, metavar="MODULE:FACTORY",
                   help=f"adapter factory of the system under test (default: {DEFAULT_SUT}); the suite's "
                        "conftest also honours OTAPROOF_SUT at run time")
    g.add_argument("--variant", action="append", metavar="V",
                   help="variants for counterexamples (default: secmp0007 and the --variant-file designs if any, "
                        "else all)")
    add_variant_file_flag(g)
    g.add_argument("--threat-model", action="append", metavar="T",
                   help="threat models: none, a threat, or threats joined by + "
                        f"(default: {' and '.join(DEFAULT_THREAT_MODELS)})")
    g.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                   help=f"fault models for every scenario: {', '.join(FAULTS)}")
    g.add_argument("--property", action="append", metavar="ID", help="properties (default: all)")
    g.add_argument("--depth", type=int_in(0, 200), default=25, help="BMC bound for counterexamples (default: 25)")
    g.add_argument("--timeout", type=seconds, default=CHECK_SECONDS,
                   help="outer wall-clock cap in seconds per engine and property part of the checks; a cell it "
                        f"stops is reported unknown, naming the cap (default: {CHECK_SECONDS:g})")
    g.add_argument("--rlimit", type=int_in(1), default=CHECK_RLIMIT,
                   help="Z3 resource units per engine and property part of the checks: their budget, the same on an "
                        f"idle and a busy machine (default: {CHECK_RLIMIT:,})")
    cache_cli.add_cache_flags(g)
    g.add_argument("--coverage-depth", type=int_in(1, 200), default=20,
                   help="BMC bound for coverage goals (default: 20)")
    g.add_argument("--coverage-rlimit", type=int_in(1), default=RLIMIT,
                   help=f"Z3 resource limit per coverage BMC query (default: {RLIMIT}): a solver budget, so the "
                        "suite is the same however busy the machine is")
    g.add_argument("--coverage-states", type=int_in(0), default=STATES,
                   help=f"states the explicit search for coverage goals enumerates breadth first before any "
                        f"solver is asked (default: {STATES}); a count, so the suite is the same under any load")
    g.add_argument("--coverage-walks", type=int_in(0), default=WALKS,
                   help=f"seeded random walks (from --seed) of the explicit search after the enumeration "
                        f"(default: {WALKS})")
    g.add_argument("--coverage-cone-states", type=int_in(0), default=CONE_STATES,
                   help="states the explicit search of one goal's own cone of influence may enumerate, for each "
                        "goal the solver's bounded search leaves (no depth bound: a recovery after a refusal can "
                        f"need a second update cycle; default: {CONE_STATES:,}; 0: no such search)")
    g.add_argument("--proof-rlimit", type=int_in(1), default=PROOF_RLIMIT,
                   help=f"Z3 resource limit per solver query of a proof that a coverage goal is unreachable "
                        f"(default: {PROOF_RLIMIT})")
    g.add_argument("--proof-timeout", type=seconds, default=PROOF_SECONDS,
                   help=f"wall-clock safety net per proof that a coverage goal is unreachable "
                        f"(default: {PROOF_SECONDS:g})")
    g.add_argument("--coverage-timeout", type=seconds, default=SAFETY_SECONDS,
                   help=f"wall-clock safety net of the coverage search per scenario (default: {SAFETY_SECONDS:g}); "
                        "goals it cuts off are reported and generate exits 3")
    g.add_argument("--json", metavar="FILE",
                   help="also write what the run produced (suite size, coverage per criterion, undecided cells "
                        "and goals, seconds per phase, the machine's load) as JSON, schema otaproof.generate/1")
    g.add_argument("--no-coverage", action="store_true", help="no conformance-coverage tests")
    g.add_argument("--no-oracle", action="store_true", help="no model-as-oracle (Hypothesis) test")
    g.add_argument("--oracle-examples", type=int_in(1), default=40,
                   help="Hypothesis examples per scenario (default: 40)")
    g.add_argument("--seed", type=int, default=0, help="Z3 seed (default: 0)")
    g.add_argument("--workers", type=int_in(1), default=None, help="parallel engine processes (default: CPU count)")
    add_scheduler_flags(g, "proofs and counterexample searches")
    add_parameter_flags(g)
    g.set_defaults(func=_cmd_generate)
    mu = sub.add_parser(
        "mutants", help="mutation analysis: run a generated suite against seeded faults of the refimpl",
        description="Run a generated suite once on the correct reference implementation (it must pass), then once "
                    "per seeded fault (mutant), switched on by name through OTAPROOF_MUTANT without editing files, "
                    f"--jobs at a time. Reports which tests kill which mutant, the kill rate and every survivor "
                    f"with its reason. Mutants: {', '.join(MUTANTS)}. Exit 0 when the kill rate reaches "
                    "--min-kill-rate, 1 below it, 2 on bad input.")
    mu.add_argument("--suite", required=True, metavar="DIR", help="a suite written by otaproof generate")
    mu.add_argument("--auto", action="store_true",
                    help="instead of the seeded faults: mutants mutmut derives from the refimpl's decision code "
                         "(needs mutmut 3), run without the oracle test; survivors grouped by function")
    mu.add_argument("--function", action="append", metavar="GLOB",
                    help="with --auto: only these decision-code functions (e.g. 'HanDevice.*', 'dsp.DSP._check_cpl')")
    mu.add_argument("--mutant", action="append", metavar="NAME", help="mutants to run (default: all)")
    mu.add_argument("--no-oracle", action="store_true",
                    help='leave the oracle test out of every run (pytest -k "not oracle"): the score of the '
                         "deterministic tests alone (--auto always does)")
    mu.add_argument("--jobs", type=int_in(1), default=os.cpu_count() or 1,
                    help="mutants run in parallel (default: CPU count)")
    mu.add_argument("--timeout", type=seconds, default=600.0,
                    help="seconds per suite run; a longer run is reported as timed out, not as killed "
                         "(with --auto: x60 for the whole mutmut run)")
    mu.add_argument("--min-kill-rate", type=fraction, default=0.95, help="exit 1 below this kill rate (default: 0.95)")
    mu.add_argument("--json", metavar="FILE", help="write the report as JSON (schema otaproof.mutants/2)")
    add_scheduler_flags(mu, "seeded mutants' suite runs (the suite directory must be readable at the same path on "
                            "every worker; not with --auto)", "--jobs")
    mu.set_defaults(func=_cmd_mutants)
