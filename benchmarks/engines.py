"""Engine benchmark: every engine and the portfolio on every property, at several hub sizes.

Prints, per size, a table of wall-clock seconds (verdict initial in brackets: P proved,
V violated, ? unknown) and each engine's ratio to the fastest definitive engine measured in the
same run. Sizes are devices per hub: n -> ceil(n/2) PPMIDs + floor(n/2) HCALCSs (2 = default).

    python benchmarks/engines.py                        # sizes 2 (default), 1, 2, 4, 8; 10 s budget
    python benchmarks/engines.py --sizes 2 --timeout 30 --properties P-COMPAT,P-CPL-NOW
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from otaproof.model.config import Parameters, Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.check import ENGINES, check, run_engine
from otaproof.properties.verdict import Budget

ENGINE_NAMES = (*ENGINES, "portfolio")


def measure(size: int, props: list[str], budget: Budget) -> list[tuple[str, dict[str, tuple[float, str]]]]:
    params = Parameters(ppmids=(size + 1) // 2, hcalcs=size // 2)
    scenario = Scenario(parameters=params)
    built = build(scenario)
    rows = []
    for pid in props:
        prop = get_property(pid)
        times: dict[str, tuple[float, str]] = {}
        for engine in ENGINE_NAMES:
            start = time.monotonic()
            if engine == "portfolio":
                verdict = check(scenario, [prop], "portfolio", budget)[0].verdict
            else:
                verdict = run_engine(built, prop, engine, budget)
            times[engine] = (time.monotonic() - start, verdict.verdict)
        rows.append((pid, times))
    return rows


def render(console: Console, size: int, rows: list[tuple[str, dict[str, tuple[float, str]]]], timeout: float) -> None:
    table = Table(title=f"{size} device(s) per hub — seconds \\[verdict], ×ratio to the fastest definitive engine "
                        f"(budget {timeout:g} s)", title_justify="left")
    table.add_column("property")
    for e in ENGINE_NAMES:
        table.add_column(e, justify="right")
    for pid, times in rows:
        definitive = [t for t, v in times.values() if v != "unknown"]
        best = min(definitive) if definitive else None
        cells = []
        for e in ENGINE_NAMES:
            t, v = times[e]
            ratio = f" ×{t / best:.1f}" if best and v != "unknown" else ""
            cells.append(f"{t:.2f} \\[{ {'proved': 'P', 'violated': 'V', 'unknown': '?'}[v] }]{ratio}")
        table.add_row(pid, *cells)
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2,1,4,8", help="devices per hub, comma-separated (default 2,1,4,8)")
    ap.add_argument("--properties", default=",".join(p.id for p in CATALOGUE))
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per engine run (default 10)")
    ap.add_argument("--depth", type=int, default=25)
    args = ap.parse_args()
    console = Console(width=200)  # wide enough for every engine column when printed to a file
    budget = Budget(timeout=args.timeout, depth=args.depth)
    for size in [int(s) for s in args.sizes.split(",")]:
        start = time.monotonic()
        rows = measure(size, args.properties.split(","), budget)
        render(console, size, rows, args.timeout)
        console.print(f"size {size}: {time.monotonic() - start:.1f} s in all\n")


if __name__ == "__main__":
    main()
