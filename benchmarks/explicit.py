"""Explicit-state benchmark: the compiled semantics' throughput, full enumeration, and the time to
each violation of the README's verdict matrix: the portfolio (with the ``swarm`` engine racing
from the first second), the swarm alone and BMC alone.

"States/s" counts distinct reachable states discovered (stored) per second by the breadth-first
enumeration of the compiled system (the system compiled beforehand: compile time is separate).
Each measurement runs in a forked process (fresh memory, fresh Z3 state); peak memory is that
process's maximum resident set. The machine's load average is printed with every table.

    python benchmarks/explicit.py                         # everything (the matrix: several minutes)
    python benchmarks/explicit.py --throughput-states 1000000 --enumerate-states 5000000 --no-matrix
    python benchmarks/explicit.py --cells secmp0007 --timeout 120
    python benchmarks/explicit.py --cells geo-local-daily-alert/han_mitm/SMI-BOUNDED --timeout 600

Writes what it measured to ``results/explicit.json`` (``--out``); ``python -m
otaproof.reports.readme`` renders its throughput and enumeration into the README.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import os
import re
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sampling import header, load_sampled, summary, write_results

from otaproof.model.compiled import CompiledSystem
from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import check, parts
from otaproof.properties.engines import bmc, swarm
from otaproof.properties.engines.problem import Problem
from otaproof.properties.verdict import Budget, Violated

README = Path(__file__).resolve().parent.parent / "README.md"
OUT = README.parent / "results" / "explicit.json"


def in_fork(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` in a forked process; its result plus the process's peak memory (MB)."""
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()

    def child() -> None:
        try:
            out = fn()
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put(out)

    proc = ctx.Process(target=child)
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


# ---- throughput and enumeration ---------------------------------------------------------------


def enumerate_model(scenario: Scenario, max_states: int) -> dict[str, Any]:
    """Breadth-first enumeration of a whole model (no slicing, no property)."""
    start = time.monotonic()
    compiled = CompiledSystem(build(scenario).system)
    compiled_at = time.monotonic()
    cpu = time.process_time()
    search = swarm.Breadth(compiled, max_states)
    while (done := search.run(swarm.ROUND_WORK)) is None:
        pass
    end = time.monotonic()
    return {"states": done.states, "depth": done.depth, "complete": done.complete,
            "compile_s": compiled_at - start, "seconds": end - compiled_at, "cpu_s": time.process_time() - cpu,
            "variables": len(compiled.system.variables), "instances": len(compiled.system.instances),
            "layers": search.reached}


def throughput_table(console: Console, scenarios: dict[str, Scenario], max_states: int) -> list[dict[str, Any]]:
    table = Table(title=f"Breadth-first enumeration, whole model, up to {max_states:,} states — {load()}",
                  title_justify="left")
    for col in ("model", "vars", "instances", "compile s", "states", "depth", "complete", "seconds",
                "states/s", "CPU s", "states/CPU s", "peak MB"):
        table.add_column(col, justify="right" if col != "model" else "left")
    rows = []
    for name, scenario in scenarios.items():
        with load_sampled() as samples:
            r = in_fork(functools.partial(enumerate_model, scenario, max_states))
        rows.append({"model": name, "limit": max_states, "load_sampled": summary(samples), **r})
        if "error" in r:
            table.add_row(name, r["error"])
            continue
        table.add_row(name, str(r["variables"]), str(r["instances"]), f"{r['compile_s']:.2f}", f"{r['states']:,}",
                      str(r["depth"]), "yes" if r["complete"] else "no", f"{r['seconds']:.1f}",
                      f"{r['states'] / r['seconds']:,.0f}", f"{r['cpu_s']:.1f}", f"{r['states'] / r['cpu_s']:,.0f}",
                      f"{r['peak_mb']:,.0f}")
        if not r["complete"]:
            console.print(f"{name}: states within each depth: "
                          + ", ".join(f"{d}: {n:,}" for d, n in enumerate(r["layers"])))
    console.print(table)
    return rows


# ---- time to each violation of the README matrix ---------------------------------------------


def readme_violations() -> list[tuple[str, str, str, int]]:
    """(variant, threats, property, depth) for every ✘n cell of the README's verdict matrix."""
    lines = README.read_text().splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("| variant | threats |"))
    columns = [c.strip() for c in lines[header].strip("|").split("|")]
    cells = []
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        row = [c.strip() for c in line.strip("|").split("|")]
        for column, cell in zip(columns[2:], row[2:], strict=True):
            if (m := re.fullmatch(r"✘(\d+)", cell)) is not None:
                cells.append((row[0], row[1], "P-" + column, int(m.group(1))))
    return cells


def _scenario(variant: str, threats: str) -> Scenario:
    return Scenario(variant, frozenset() if threats == "none" else frozenset(threats.split("+")))


def _problems(variant: str, threats: str, pid: str) -> list[Problem]:
    return [job for job in parts(build(_scenario(variant, threats)), get_property(pid)) if isinstance(job, Problem)]


def run_swarm(variant: str, threats: str, pid: str, budget: Budget, walkers: int) -> dict[str, Any]:
    """The swarm on each part of the property until one is violated; the times are that part's
    own (the portfolio races a property's parts side by side)."""
    for problem in _problems(variant, threats, pid):
        phases: dict[str, float] = {}
        start = time.monotonic()
        verdict = swarm.search(problem, budget, walkers, phases)
        if isinstance(verdict, Violated):
            return {"verdict": "violated", "seconds": time.monotonic() - start, "depth": len(verdict.trace.steps),
                    **phases}
    return {"verdict": "not violated", "seconds": budget.timeout}


def run_portfolio(variant: str, threats: str, pid: str, budget: Budget, workers: int,
                  with_swarm: bool = True) -> dict[str, Any]:
    """``otaproof check`` on this one property: from the call (the model built, the lemma search
    and, with ``with_swarm``, the swarm started) to the verdict."""
    start = time.monotonic()
    [outcome] = check(_scenario(variant, threats), [get_property(pid)], "portfolio", budget, workers,
                      swarm=with_swarm)
    v = outcome.verdict
    return {"verdict": v.verdict.value, "seconds": time.monotonic() - start, "engine": v.engine,
            "depth": len(v.trace.steps) if isinstance(v, Violated) else "-"}


def run_bmc(variant: str, threats: str, pid: str, budget: Budget) -> dict[str, Any]:
    """BMC likewise, part by part."""
    for problem in _problems(variant, threats, pid):
        start = time.monotonic()
        verdict = bmc.check(problem, budget)
        if isinstance(verdict, Violated):
            return {"verdict": "violated", "seconds": time.monotonic() - start, "depth": len(verdict.trace.steps)}
    return {"verdict": "not violated", "seconds": budget.timeout}


def violation_table(console: Console, cells: list[tuple[str, str, str, int]], budget: Budget, walkers: int,
                    columns: set[str], workers: int, with_swarm: bool = True) -> list[dict[str, Any]]:
    portfolio_budget = Budget(timeout=budget.timeout)  # the CLI's state limit
    table = Table(title=f"Time to each README violation (seconds; budget {budget.timeout:g} s per engine and part; "
                        f"portfolio: otaproof check on the one property, {workers} workers, from the call; swarm and "
                        f"BMC alone: the violated part, model built; swarm: 1 enumeration + {walkers} walker "
                        f"processes, {budget.max_states:,} states) — {load()}", title_justify="left")
    for col in ("variant", "threats", "property", "README", "portfolio s", "by", "depth", "swarm found s",
                "depth found→shortened", "swarm reported s", "depth", "BMC s", "depth"):
        table.add_column(col, justify="left" if col in ("variant", "threats", "property", "by") else "right")
    rows = []
    for variant, threats, pid, depth in cells:
        if get_property(pid).kind == "REACH":
            table.add_row(variant, threats, pid, f"✘{depth}", "REACH: not a safety task (explicit engine)")
            continue
        started_load = os.getloadavg()[0]
        p = in_fork(functools.partial(run_portfolio, variant, threats, pid, portfolio_budget, workers,
                                            with_swarm)) \
            if "portfolio" in columns else {}
        s = in_fork(functools.partial(run_swarm, variant, threats, pid, budget, walkers)) if "swarm" in columns else {}
        b = in_fork(functools.partial(run_bmc, variant, threats, pid, budget)) if "bmc" in columns else {}
        found = f"{s['found']:.2f}" if "found" in s else "-"
        lengths = f"{s['found_depth']:.0f}→{s['shortened_depth']:.0f}" if "found" in s else "-"
        table.add_row(variant, threats, pid, f"✘{depth}", _seconds(p), str(p.get("engine", "-")),
                      str(p.get("depth", "-")), found, lengths, _seconds(s), str(s.get("depth", "-")),
                      _seconds(b), str(b.get("depth", "-")))
        rows.append({"variant": variant, "threats": threats, "property": pid, "readme_depth": depth,
                     "portfolio": p, "swarm": s, "bmc": b, "load": [started_load, os.getloadavg()[0]]})
        console.print(f"{variant} | {threats} | {pid}: portfolio {p.get('seconds', 0):.1f} s "
                      f"({p.get('verdict', '-')}, {p.get('engine', '-')}), swarm {s.get('seconds', 0):.1f} s, "
                      f"BMC {b.get('seconds', 0):.1f} s — {load()}", style="dim")
    console.print(table)
    return rows


def _seconds(run: dict[str, Any]) -> str:
    if run.get("verdict") == "violated":
        return f"{run['seconds']:.2f}"
    return str(run.get("verdict", run.get("error", "-")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--throughput-states", type=int, default=1_000_000,
                    help="state limit of the throughput runs (default 1,000,000)")
    ap.add_argument("--enumerate-states", type=int, default=5_000_000,
                    help="state limit of the attempt to enumerate the whole default model (default 5,000,000)")
    ap.add_argument("--no-matrix", action="store_true", help="skip the time-to-violation table")
    ap.add_argument("--cells", default="", help="only matrix cells matching one of these comma-separated "
                                                "VARIANT[/THREATS[/PROPERTY]] prefixes")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per engine run (default 120)")
    ap.add_argument("--walkers", type=int, default=swarm.WALKERS)
    ap.add_argument("--max-states", type=int, default=1_000_000,
                    help="the swarm's enumeration state limit (default 1,000,000)")
    ap.add_argument("--columns", default="portfolio,swarm,bmc",
                    help="which runs of the time-to-violation table (comma-separated: portfolio, swarm, bmc)")
    ap.add_argument("--workers", type=int, default=2, help="the portfolio's worker processes (default 2)")
    ap.add_argument("--no-swarm", action="store_true", help="the portfolio without the swarm, as `otaproof check` "
                    "runs by default")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT.relative_to(README.parent)})")
    args = ap.parse_args()
    console = Console(width=200)
    document: dict[str, Any] = header("explicit.py")
    if args.throughput_states:
        document["throughput"] = throughput_table(console, {"default (secmp0007)": Scenario(),
                                   "one PPMID, one version": Scenario(parameters=Parameters(ppmids=1, hcalcs=0,
                                                                                           versions=1))},
                         args.throughput_states)
    if args.enumerate_states:
        document["enumeration"] = throughput_table(console, {"default (secmp0007)": Scenario()},
                                                   args.enumerate_states)
    if not args.no_matrix:
        cells = readme_violations()
        wanted = [w for w in args.cells.split(",") if w]
        if wanted:
            cells = [c for c in cells if any(f"{c[0]}/{c[1]}/{c[2][2:]}".startswith(w) for w in wanted)]
        budget = Budget(timeout=args.timeout, max_states=args.max_states)
        document["violations"] = violation_table(console, cells, budget, args.walkers, set(args.columns.split(",")),
                                                 args.workers, not args.no_swarm)
    write_results(args.out, document)
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    main()
