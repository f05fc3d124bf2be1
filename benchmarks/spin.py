"""SPIN side by side: the same design and properties checked by SPIN's exhaustive search and by
otaproof's portfolio, at several hub sizes; every verdict must agree.

Needs Debian's ``spin`` and ``gcc`` (``apt-get install spin gcc``). For each size and property,
otaproof writes the Promela model (``otaproof export --promela``: the full, unsliced design with
that property's monitors and assertion) and checks the property with its portfolio (no
certificate cache, two engine processes); then SPIN compiles and runs its verifier (``-DSAFETY
-DCOLLAPSE``, depth-first, one process) for ``--spin-factor`` times otaproof's time (at least 10
s, at most ``--spin-seconds``) and within ``--spin-memory``. A SPIN search still running at its
cap is stopped with SIGINT, which makes it print how far it got (states stored, memory): it is
"unknown", not a verdict, and the ratio is then a lower bound ("≥ ×10": SPIN did not finish in
ten times otaproof's time). A disagreement between two definite verdicts is a bug in one of the
tools and makes the benchmark exit 1.

Sizes are devices per hub: 1 = one PPMID, 2 = one PPMID and one HCALCS (the default), 4 = two
of each. Writes ``results/spin.json`` (``--out``); ``python -m otaproof.reports.readme`` renders
it into the README.

    python benchmarks/spin.py                                  # sizes 1, 2, 4; all INV/HIST/BR properties
    python benchmarks/spin.py --sizes 1 --properties P-CPL,P-AUTH --out /tmp/spin.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sampling import header, load_sampled, summary, write_results

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import check
from otaproof.properties.formulas import Reach, to_safety
from otaproof.properties.verdict import Budget, Violated
from otaproof.reports.promela import Exported, export
from otaproof.reports.readme import spin_ratio

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "spin.json"
SPIN_LEAST = 10.0  # seconds SPIN gets however fast otaproof was (its compile alone takes 1-2 s)
STOP_GRACE = 60.0  # seconds a stopped SPIN search has to print its statistics


@dataclass(frozen=True)
class SpinRun:
    """One SPIN verification run: its verdict, times, and how far its search got."""

    verdict: str  # proved | violated | unknown
    compile_seconds: float  # spin -a and gcc
    seconds: float  # the verifier's search
    states: int  # states stored
    depth: int  # the search's deepest point
    memory_mb: float  # SPIN's own count of the memory it used
    note: str


def _devices(size: int) -> Parameters:
    return Parameters(ppmids=(size + 1) // 2, hcalcs=size // 2)


def run_spin(model: str, seconds: float, memory_mb: int, bound: int | None = None) -> SpinRun:
    """SPIN's verdict on ``model``: violated on an assertion, proved on a complete search, else
    unknown; a search still running after ``seconds`` is stopped with SIGINT and reports its statistics.
    With ``bound``: a search of every state within that many SPIN steps (``-DREACH -m``), whose
    verdict is violated or "clear" (no violation within the bound)."""
    with tempfile.TemporaryDirectory(prefix="otaproof-spin.") as tmp:
        Path(tmp, "m.pml").write_text(model)
        start = time.monotonic()
        subprocess.run(["spin", "-a", "m.pml"], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["gcc", "-O2", "-DSAFETY", "-DCOLLAPSE", *(["-DREACH"] if bound else []),
                        f"-DMEMLIM={memory_mb}", "-o", "pan", "pan.c"], cwd=tmp, check=True, capture_output=True)
        compiled = time.monotonic() - start
        start = time.monotonic()
        with subprocess.Popen(["./pan", f"-m{bound or 10_000_000}", "-w26"], cwd=tmp, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as pan:
            try:
                out, _ = pan.communicate(timeout=seconds)
                stopped = False
            except subprocess.TimeoutExpired:
                pan.send_signal(signal.SIGINT)
                out, _ = pan.communicate(timeout=STOP_GRACE)
                stopped = True
        elapsed = time.monotonic() - start
    states = int(m.group(1)) if (m := re.search(r"(\d+) states, stored", out)) else 0
    depth = int(m.group(1)) if (m := re.search(r"depth reached (\d+)", out)) else 0
    memory = float(m.group(1)) if (m := re.search(r"([\d.]+)\s+total actual memory usage", out)) else 0.0
    if "assertion violated" in out:
        return SpinRun("violated", compiled, elapsed, states, depth, memory, "assertion violated")
    if stopped:
        return SpinRun("unknown", compiled, elapsed, states, depth, memory, f"stopped after {seconds:.0f} s")
    if bound and "errors: 0" in out and "out of memory" not in out:
        return SpinRun("clear", compiled, elapsed, states, depth, memory, f"no violation within {bound} SPIN steps")
    if "errors: 0" in out and "Search not completed" not in out and "out of memory" not in out:
        return SpinRun("proved", compiled, elapsed, states, depth, memory, "complete search")
    return SpinRun("unknown", compiled, elapsed, states, depth, memory,
                   "out of memory" if "out of memory" in out else "search not completed")


def compare(size: int, pid: str, timeout: float, factor: float, spin_seconds: float,
            spin_memory: int) -> dict[str, Any] | None:
    """One row: otaproof's portfolio, then SPIN with ``factor`` times otaproof's time; None for a
    property with a REACH part (not exported)."""
    model = exported(size, pid)
    if model is None:
        return None
    scenario = Scenario(parameters=_devices(size))
    with load_sampled() as load:
        ours = in_fork(scenario, pid, timeout)
        cap = min(spin_seconds, max(SPIN_LEAST, factor * ours["seconds"]))
        spin = run_spin(model, cap, spin_memory)
    definite = {"proved", "violated"}
    agree = None if {spin.verdict, ours["verdict"]} - definite else spin.verdict == ours["verdict"]
    row = {"size": size, "property": pid, "spin": asdict(spin), "spin_cap_seconds": round(cap, 1),
           "otaproof": ours, "agree": agree, "load": summary(load)}
    confirm(row, model, spin_seconds, spin_memory)
    return row


def confirm(row: dict[str, Any], model: str, seconds: float, memory_mb: int) -> None:
    """A violation otaproof found and SPIN's depth-first search did not: SPIN searches every state
    within the counterexample's depth (three SPIN steps per model step: the assertion, the
    step's ``d_step`` and the loop's ``goto``), so the verdicts are compared on every such row
    too. The timed comparison stays the unbounded search's."""
    if row["otaproof"]["verdict"] != "violated" or row["spin"]["verdict"] == "violated":
        return
    bounded = run_spin(model, seconds, memory_mb, bound=3 * row["otaproof"]["depth"] + 3)
    row["spin_bounded"] = asdict(bounded)
    row["agree"] = None if bounded.verdict == "unknown" else bounded.verdict == "violated"


def exported(size: int, pid: str) -> str | None:
    """The Promela text of one row's design and property (None: a REACH property, not exported)."""
    built = build(Scenario(parameters=_devices(size)))
    formula = get_property(pid).formula(built)
    if any(isinstance(f, Reach) for f in (formula if isinstance(formula, list) else [formula])):
        return None
    return export(built.system, [Exported(pid, to_safety(built.system, formula))], f"{pid}, size {size}")


def in_fork(scenario: Scenario, pid: str, timeout: float) -> dict[str, Any]:
    """otaproof's portfolio on one property, in a forked process so that its memory (the largest
    of that process and its engine processes) is its own and not SPIN's."""
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()

    def child() -> None:
        start = time.monotonic()
        verdict = check(scenario, [get_property(pid)], "portfolio", Budget(timeout=timeout))[0].verdict
        seconds = time.monotonic() - start
        peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        queue.put({"verdict": verdict.verdict.value, "engine": verdict.engine, "seconds": round(seconds, 2),
                   "depth": len(verdict.trace.steps) if isinstance(verdict, Violated) else None,
                   "memory_mb": round(peak / 1024)})

    process = ctx.Process(target=child)
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def disagreeing(rows: list[dict[str, Any]]) -> list[str]:
    """The rows whose two definite verdicts differ."""
    return [f"size {r['size']} {r['property']}" for r in rows if r["agree"] is False]


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with the rows of ``new`` in place of its rows of the same size and property, and
    a note of when and how they were re-measured (the settings must be the same)."""
    if old["settings"] != new["settings"]:
        raise SystemExit(f"--merge: the settings differ from the results file's ({old['settings']})")
    fresh = {(r["size"], r["property"]): r for r in new["rows"]}
    rows = [fresh.pop((r["size"], r["property"]), r) for r in old["rows"]] + list(fresh.values())
    note = {"date": new["date"], "command": new["generated_by"], "run": new["run"],
            "rows": [f"size {r['size']} {r['property']}" for r in new["rows"]]}
    return {**old, "rows": rows, "disagreements": disagreeing(rows), "remeasured": [*old.get("remeasured", []), note]}


def confirm_file(path: Path, seconds: float, memory_mb: int) -> int:
    """``confirm`` on every row of a results file that lacks it; the file is rewritten (exit 1 on a disagreement)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for row in document["rows"]:
        if "spin_bounded" not in row and (model := exported(row["size"], row["property"])) is not None:
            confirm(row, model, seconds, memory_mb)
            if "spin_bounded" in row:
                print(f"size {row['size']} {row['property']}: bounded SPIN {row['spin_bounded']['verdict']} "
                      f"in {row['spin_bounded']['seconds']:.1f} s", flush=True)
    document["disagreements"] = disagreeing(document["rows"])
    write_results(path, document)
    return 1 if document["disagreements"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,2,4", help="devices per hub (default: 1,2,4)")
    parser.add_argument("--properties", default="", help="property IDs (default: every INV/HIST/BR property)")
    parser.add_argument("--spin-factor", type=float, default=10.0,
                        help="SPIN's time cap as a multiple of otaproof's time on the same row (default: 10)")
    parser.add_argument("--spin-seconds", type=float, default=300.0, help="SPIN's largest time cap (default: 300)")
    parser.add_argument("--spin-memory", type=int, default=8192, help="SPIN's memory cap in MB (default: 8192)")
    parser.add_argument("--timeout", type=float, default=120.0, help="otaproof's budget per engine (default: 120)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT.relative_to(ROOT)})")
    parser.add_argument("--confirm", action="store_true", help="only add the bounded SPIN search to the rows of "
                        "--out where otaproof found a violation and SPIN's search did not (results of an earlier "
                        "version of this benchmark)")
    parser.add_argument("--merge", action="store_true", help="replace only the measured rows in --out (e.g. after "
                        "a change that affects some properties), keeping the others and saying which were re-measured")
    args = parser.parse_args(argv)
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        print("needs SPIN and gcc: apt-get install spin gcc", file=sys.stderr)
        return 2
    if args.confirm:
        return confirm_file(args.out, args.spin_seconds, args.spin_memory)
    if args.merge and not args.out.is_file():
        print(f"spin.py: error: --merge: {args.out} does not exist", file=sys.stderr)
        return 2
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        ids = [get_property(p).id for p in args.properties.split(",") if p] or [p.id for p in CATALOGUE]
        for size in sizes:
            _devices(size)
    except Exception as e:  # a bad size or property: one line, exit 2, before any work
        print(f"spin.py: error: {e}", file=sys.stderr)
        return 2
    console = Console(width=160)
    console.print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    rows: list[dict[str, Any]] = []
    with load_sampled() as load:
        started, load_at_start = time.monotonic(), os.getloadavg()
        for size in sizes:
            table = Table(title=f"{size} device(s) per hub: otaproof portfolio vs SPIN exhaustive search",
                          title_justify="left")
            for col in ("property", "otaproof", "s", "MB", "SPIN", "cap s", "compile s", "search s", "states",
                        "SPIN MB", "SPIN/otaproof", "load"):
                table.add_column(col, justify="left" if col in ("property", "SPIN", "otaproof") else "right")
            for pid in ids:
                row = compare(size, pid, args.timeout, args.spin_factor, args.spin_seconds, args.spin_memory)
                if row is None:
                    continue
                rows.append(row)
                spin, ours = row["spin"], row["otaproof"]
                table.add_row(pid, ours["verdict"], f"{ours['seconds']:.1f}", f"{ours['memory_mb']:,}",
                              spin["verdict"] + (" [red]DISAGREE[/]" if row["agree"] is False else ""),
                              f"{row['spin_cap_seconds']:.0f}", f"{spin['compile_seconds']:.1f}",
                              f"{spin['seconds']:.1f}", f"{spin['states']:,}", f"{spin['memory_mb']:,.0f}",
                              spin_ratio(row), f"{row['load']['mean']:.1f}")
                console.print(f"size {size} {pid}: otaproof {ours['verdict']} {ours['seconds']:.1f} s, SPIN "
                              f"{spin['verdict']} {spin['seconds']:.1f} s ({spin['states']:,} states)", style="dim")
            console.print(table)
        wall = time.monotonic() - started
    disagreements = disagreeing(rows)
    document = {**header("spin.py", argv),
                "spin_version": subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip(),
                "settings": {"spin_factor": args.spin_factor, "spin_seconds": args.spin_seconds,
                             "spin_least": SPIN_LEAST, "spin_memory_mb": args.spin_memory, "timeout": args.timeout},
                "run": {"wall_seconds": round(wall, 1), "load_average": [round(x, 2) for x in load_at_start],
                        "load_sampled": summary(load)},
                "rows": rows, "disagreements": disagreements}
    if args.merge:
        document = merged(json.loads(args.out.read_text(encoding="utf-8")), document)
        disagreements = document["disagreements"]
    write_results(args.out, document)
    console.print(f"{len(rows)} rows in {wall:.0f} s; written to {args.out}")
    if disagreements:
        console.print(f"[red]{len(disagreements)} verdict(s) disagree (a bug in one of the tools): "
                      f"{', '.join(disagreements)}[/]")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
