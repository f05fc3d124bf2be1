"""Devices per hub: every property checked at N = 1, 2, 4, 8 devices (the concrete model, the
portfolio) and for all N (``otaproof check --all-n``: the representative-device abstraction).

Sizes are devices per hub, split as evenly as the two types allow (PPMIDs first): 1 = one PPMID,
2 = one of each (the default model), 4 = two of each, 8 = four of each. Printed: per property
the verdict and seconds at each N, then its "for all N" result with the seconds it took, and the
machine's load while each part ran (the machine is shared: every figure goes with its load).
A verdict at one N is about that N only; "proved for all N" is the only claim about every N.
Writes ``results/devices.json`` (``--out``); ``python -m otaproof.reports.readme`` renders it into
the README.

    python benchmarks/devices.py                                   # N = 1, 2, 4, 8; all properties
    python benchmarks/devices.py --sizes 1,2 --properties P-CPL,P-SMI --timeout 60 --out /tmp/d.json
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sampling import describe, header, load_sampled, summary, uptime, write_results

from otaproof.model.config import Parameters, Scenario
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import check
from otaproof.properties.parametric import check_all_n
from otaproof.properties.verdict import DEFAULT_RLIMIT, Budget, Violated

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "devices.json"


def split(n: int) -> tuple[int, int]:
    """(PPMIDs, HCALCSs) for ``n`` devices per hub."""
    return (n + 1) // 2, n // 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,2,4,8", help="devices per hub, comma-separated (1..16; default 1,2,4,8)")
    ap.add_argument("--properties", default="", help="property IDs, comma-separated (default: all)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="wall-clock cap in seconds per engine run and property part (default: 120)")
    ap.add_argument("--rlimit", type=int, default=DEFAULT_RLIMIT, help="Z3 resource units per engine run")
    ap.add_argument("--workers", type=int, default=None, help="engine processes for the concrete checks")
    ap.add_argument("--no-all-n", action="store_true", help="skip the 'for all N' column")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        props = [get_property(p) for p in args.properties.split(",") if p] or list(CATALOGUE)
        for n in sizes:
            Parameters(ppmids=split(n)[0], hcalcs=split(n)[1])
    except Exception as e:  # a bad size or property: one line, exit 2
        print(f"devices.py: error: {e}", file=sys.stderr)
        return 2
    budget = Budget(timeout=args.timeout, rlimit=args.rlimit)
    console = Console(width=160)
    console.print(f"machine: {uptime()}")
    cells: dict[tuple[str, int], str] = {}
    document: dict[str, Any] = {
        **header("devices.py", argv), "timeout": args.timeout,
        "rlimit": args.rlimit, "sizes": [], "all_n": None}
    for n in sizes:
        ppmids, hcalcs = split(n)
        scenario = Scenario(parameters=dataclasses.replace(Parameters(), ppmids=ppmids, hcalcs=hcalcs))
        with load_sampled() as load:
            start = time.monotonic()
            outcomes = check(scenario, props, "portfolio", budget, workers=args.workers)
            total = time.monotonic() - start
        for o in outcomes:
            cells[o.property.id, n] = f"{o.verdict.verdict} {o.verdict.seconds:.1f}"
        document["sizes"].append({
            "devices": n, "ppmids": ppmids, "hcalcs": hcalcs, "wall_seconds": round(total, 1),
            "load_sampled": summary(load),
            "results": [{"property": o.property.id, "verdict": o.verdict.verdict.value, "engine": o.verdict.engine,
                         "seconds": round(o.verdict.seconds, 2),
                         **({"depth": len(o.verdict.trace.steps)} if isinstance(o.verdict, Violated) else {})}
                        for o in outcomes]})
        console.print(f"N={n} ({ppmids} PPMID, {hcalcs} HCALCS): {total:.1f} s, {describe(load)}: "
                      + ", ".join(f"{o.property.id} {cells[o.property.id, n]}" for o in outcomes))
    all_n: dict[str, str] = {}
    if not args.no_all_n:
        results = []
        with load_sampled() as load:
            start = time.monotonic()
            for r in check_all_n(Scenario(), props, budget):
                all_n[r.prop.id] = f"{r.status} {r.seconds:.1f}"
                console.print(f"for all N: {r.prop.id} {all_n[r.prop.id]}")
                results.append({"property": r.prop.id, "status": r.status, "seconds": round(r.seconds, 2),
                                "parts": [{"device_model": t.device_model, "status": t.status, "reason": t.reason}
                                          for t in r.results]})
            total = time.monotonic() - start
        document["all_n"] = {"wall_seconds": round(total, 1), "load_sampled": summary(load), "results": results}
        console.print(f"for all N: {total:.1f} s (abstraction builds included), {describe(load)}")
    table = Table(title="verdict and seconds per property (portfolio at each N; lemmas, pdr, bmc on the "
                        "abstraction for all N)", title_justify="left")
    table.add_column("property", no_wrap=True)
    for n in sizes:
        table.add_column(f"N={n}", no_wrap=True)
    if all_n:
        table.add_column("for all N", no_wrap=True)
    for p in props:
        table.add_row(p.id, *(cells.get((p.id, n), "") for n in sizes), *([all_n[p.id]] if all_n else []))
    console.print(table)
    write_results(args.out, document)
    console.print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
