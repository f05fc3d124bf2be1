"""SPIN side by side: the same design and properties checked by SPIN's exhaustive search and by
otaproof's portfolio, at several hub sizes; every verdict must agree.

Needs Debian's ``spin`` and ``gcc`` (``apt-get install spin gcc``). For each size and property,
otaproof writes the Promela model (``otaproof export --promela``: the full, unsliced design with
that property's monitors and assertion), SPIN compiles and runs its verifier (``-DSAFETY
-DCOLLAPSE``, depth-first, memory and time capped), and otaproof checks the same property with
its portfolio. A disagreement between two definite verdicts is a bug in one of the tools and
makes the benchmark exit 1. SPIN running out of memory or time is "unknown", not a verdict.

Sizes are devices per hub: 1 = one PPMID, 2 = one PPMID and one HCALCS (the default), 4 = two
of each. Printed per row: verdicts, seconds, SPIN's states stored and memory, otaproof's peak
memory of the parent process, and the ratio of SPIN's time (compile and search) to otaproof's.

    python benchmarks/spin.py                                  # sizes 1, 2, 4; all INV/HIST/BR properties
    python benchmarks/spin.py --sizes 1 --properties P-CPL,P-AUTH --spin-seconds 60
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import check
from otaproof.properties.formulas import Reach, to_safety
from otaproof.properties.verdict import Budget
from otaproof.reports.promela import Exported, export


@dataclass(frozen=True)
class SpinRun:
    verdict: str  # proved | violated | unknown
    compile_seconds: float  # spin -a and gcc
    seconds: float  # the verifier's search
    states: int
    memory_mb: float
    note: str


def _devices(size: int) -> Parameters:
    return Parameters(ppmids=(size + 1) // 2, hcalcs=size // 2)


def run_spin(model: str, seconds: float, memory_mb: int) -> SpinRun:
    """SPIN's verdict on ``model``: violated on an assertion, proved on a complete search, else unknown."""
    with tempfile.TemporaryDirectory(prefix="otaproof-spin.") as tmp:
        Path(tmp, "m.pml").write_text(model)
        start = time.monotonic()
        subprocess.run(["spin", "-a", "m.pml"], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["gcc", "-O2", "-DSAFETY", "-DCOLLAPSE", f"-DMEMLIM={memory_mb}", "-o", "pan", "pan.c"],
                       cwd=tmp, check=True, capture_output=True)
        compiled = time.monotonic() - start
        start = time.monotonic()
        try:
            proc = subprocess.run(["./pan", "-m10000000", "-w26"], cwd=tmp, capture_output=True, text=True,
                                  timeout=seconds)
        except subprocess.TimeoutExpired:
            return SpinRun("unknown", compiled, time.monotonic() - start, 0, 0.0, f"stopped after {seconds:g} s")
        elapsed = time.monotonic() - start
    out = proc.stdout
    states = int(m.group(1)) if (m := re.search(r"(\d+) states, stored", out)) else 0
    memory = float(m.group(1)) if (m := re.search(r"([\d.]+)\s+total actual memory usage", out)) else 0.0
    if "assertion violated" in out:
        return SpinRun("violated", compiled, elapsed, states, memory, "assertion violated")
    if "errors: 0" in out and "Search not completed" not in out and "out of memory" not in out:
        return SpinRun("proved", compiled, elapsed, states, memory, "complete search")
    return SpinRun("unknown", compiled, elapsed, states, memory, "out of memory or depth" if states else "no result")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,4", help="devices per hub (default: 1,2,4)")
    parser.add_argument("--properties", default="", help="property IDs (default: every INV/HIST/BR property)")
    parser.add_argument("--spin-seconds", type=float, default=600.0, help="SPIN's time cap per run (default: 600)")
    parser.add_argument("--spin-memory", type=int, default=8192, help="SPIN's memory cap in MB (default: 8192)")
    parser.add_argument("--timeout", type=float, default=120.0, help="otaproof's budget per engine (default: 120)")
    args = parser.parse_args(argv)
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        print("needs SPIN and gcc: apt-get install spin gcc", file=sys.stderr)
        return 2
    console = Console(width=160)
    ids = [p for p in args.properties.split(",") if p] or [p.id for p in CATALOGUE if p.kind != "REACH"]
    console.print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    disagreements = 0
    for size in [int(s) for s in args.sizes.split(",")]:
        scenario = Scenario(parameters=_devices(size))
        built = build(scenario)
        table = Table(title=f"{size} device(s) per hub: SPIN exhaustive search vs otaproof portfolio",
                      title_justify="left")
        for col in ("property", "SPIN", "compile s", "search s", "states", "MB", "otaproof", "s", "SPIN/otaproof"):
            table.add_column(col, justify="left" if col in ("property", "SPIN", "otaproof") else "right")
        for pid in ids:
            prop = get_property(pid)
            formula = prop.formula(built)
            if any(isinstance(f, Reach) for f in (formula if isinstance(formula, list) else [formula])):
                continue
            model = export(built.system, [Exported(pid, to_safety(built.system, formula))], f"{pid}, size {size}")
            spin = run_spin(model, args.spin_seconds, args.spin_memory)
            start = time.monotonic()
            ours = check(scenario, [prop], "portfolio", Budget(timeout=args.timeout))[0].verdict
            mine = time.monotonic() - start
            agree = "unknown" in (spin.verdict, ours.verdict) or spin.verdict == ours.verdict
            disagreements += not agree
            total = spin.compile_seconds + spin.seconds
            ratio = f"×{total / mine:.1f}" if spin.verdict != "unknown" else f"≥×{total / mine:.1f}"
            table.add_row(pid, spin.verdict + ("" if agree else " [red]DISAGREE[/]"), f"{spin.compile_seconds:.1f}",
                          f"{spin.seconds:.1f}",
                          f"{spin.states:,}", f"{spin.memory_mb:,.0f}", ours.verdict, f"{mine:.1f}", ratio)
        console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"otaproof parent process peak memory: {peak:,.0f} MB; "
                  f"load average {os.getloadavg()[0]:.1f} at the end")
    if disagreements:
        console.print(f"[red]{disagreements} verdict(s) disagree: a bug in one of the tools[/]")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
