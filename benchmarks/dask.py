"""The local process pool against a Dask cluster on a narrowed matrix: seconds, machine load, and
whether the verdicts and traces agree (they must: only the place the engines run changes).

Each side is one ``otaproof matrix`` process with ``--json``; the table gives the whole process's
wall-clock seconds (for ``--scheduler local`` that includes starting and stopping the
LocalCluster) and the matrix's own seconds from its JSON (``run.wall_seconds``: the checking
alone), the CPU seconds of every process of the run that ended before it (user + system; on a
shared machine a steadier figure than the wall clock), and the 1-minute load average before and
after.

    python benchmarks/dask.py                                  # local pool vs --scheduler local
    python benchmarks/dask.py --scheduler tcp://host:8786      # local pool vs a running cluster
    python benchmarks/dask.py --variant secmp0007,pre-secmp0007 --threat-model none,han_mitm --workers 2

Exit 0 when every cell agrees, 1 naming each cell that differs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TIMING = ("seconds", "z3_units")  # per-cell fields allowed to differ between the two runs
DEFAULT_PROPERTIES = "P-LOCAL-BANNED,P-SMI,P-HUB-TRANSIENT,P-CPL"


def run_matrix(args: argparse.Namespace, scheduler: str | None, out: Path) -> dict[str, Any]:
    """One ``otaproof matrix`` run; its seconds, load and cells."""
    command = [sys.executable, "-m", "otaproof", "matrix", "--variant", args.variant, "--quiet",
               "--property", args.property, "--workers", str(args.workers), "--json", str(out)]
    for t in args.threat_model.split(","):
        command += ["--threat-model", t]
    if scheduler:
        command += ["--scheduler", scheduler]
    load, before = os.getloadavg()[0], resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    doc = json.loads(out.read_text())
    cells = {(e["variant"], "+".join(e["threats"]) or "none", e["property"]):
             {k: v for k, v in e.items() if k not in TIMING} for e in doc["entries"]}
    return {"seconds": seconds, "cpu": cpu, "matrix_seconds": doc["run"]["wall_seconds"],
            "load": (load, os.getloadavg()[0]), "cells": cells}


def main() -> int:
    """Run both sides, print the table and the cells that differ."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scheduler", default="local", help="the Dask side: 'local' or a scheduler address")
    ap.add_argument("--variant", default="secmp0007", help="comma-separated variants (default: secmp0007)")
    ap.add_argument("--threat-model", default="none,old_supplier", help="comma-separated threat models")
    ap.add_argument("--property", default=DEFAULT_PROPERTIES, help=f"properties (default: {DEFAULT_PROPERTIES})")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="engine processes (default: CPUs)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pool = run_matrix(args, None, Path(tmp) / "pool.json")
        dask = run_matrix(args, args.scheduler, Path(tmp) / "dask.json")
    print(f"matrix: {args.variant} × {args.threat_model} × {args.property}; --workers {args.workers}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'executor':<28} {'process s':>10} {'matrix s':>10} {'CPU s':>8} {'load before':>12} {'load after':>11}")
    for name, side in (("local process pool", pool), (f"dask ({args.scheduler})", dask)):
        print(f"{name:<28} {side['seconds']:>10.1f} {side['matrix_seconds']:>10.1f} {side['cpu']:>8.1f} "
              f"{side['load'][0]:>12.2f} {side['load'][1]:>11.2f}")
    differ = sorted(k for k in pool["cells"].keys() | dask["cells"].keys()
                    if pool["cells"].get(k) != dask["cells"].get(k))
    print(f"{len(pool['cells'])} cells; {len(differ)} differ (verdict, engine, trace, certificate)")
    for k in differ:
        a, b = pool["cells"].get(k, {}), dask["cells"].get(k, {})
        print(f"  {' / '.join(k)}: {a.get('verdict')} ({a.get('engine')}) vs {b.get('verdict')} ({b.get('engine')})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
