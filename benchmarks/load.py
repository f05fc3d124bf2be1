"""Load-independent verdicts: ``otaproof matrix`` as the machine is, then with every core kept
busy by a spinning process, and the two matrices compared cell by cell (verdict, and a
violation's depth). Budgets are Z3 resource units, so the verdicts must be identical; exit 1
if any cell differs, 3 if a run left a cell unknown.

    python benchmarks/load.py                                   # the whole matrix, twice
    python benchmarks/load.py --variant secmp0007 --threat-model none,han_mitm

The load average is sampled every 5 s during each run; the report gives its mean and peak.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _spin() -> None:
    while True:
        pass


Cells = dict[tuple[str, str, str], tuple[str, str]]  # (variant, threats, property) -> (verdict+depth, trace)


def _run(extra: list[str], busy: int) -> tuple[Cells, float, list[float], int]:
    """One matrix run with ``busy`` spinning processes: its cells, wall seconds, load samples, exit code."""
    spinners = [mp.get_context("fork").Process(target=_spin, daemon=True) for _ in range(busy)]
    for p in spinners:
        p.start()
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(5.0):
            samples.append(os.getloadavg()[0])

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "m.json"
            start = time.monotonic()
            command = [sys.executable, "-m", "otaproof.cli", "matrix", "--no-cache", "--json", str(out), *extra]
            code = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  check=False).returncode
            seconds = time.monotonic() - start
            document = json.loads(out.read_text()) if out.exists() else {"entries": []}
    finally:
        done.set()
        for p in spinners:
            p.kill()
            p.join()
    cells = {}
    for e in document["entries"]:
        depth = f"{len(e['trace']['steps'])}" if e.get("trace") else ""
        trace = json.dumps(e.get("trace"), sort_keys=True)
        cells[e["variant"], "+".join(e["threats"]) or "none", e["property"]] = (e["verdict"] + depth, trace)
    return cells, seconds, samples, code


def _uptime() -> str:
    """``uptime``'s line (the machine's load, shared with whatever else runs on it)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", help="variants (comma-separated; default: all)")
    parser.add_argument("--threat-model", help="threat models (comma-separated; default: none and each threat)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="spinning processes (default: cores)")
    args = parser.parse_args()
    extra = [*(["--variant", args.variant] if args.variant else []),
             *(["--threat-model", args.threat_model] if args.threat_model else [])]
    runs = {}
    print(f"before: {_uptime()}", flush=True)
    for name, busy in (("as is", 0), (f"{args.busy} cores busy", args.busy)):
        cells, seconds, samples, code = _run(extra, busy)
        runs[name] = cells
        load = f"load mean {sum(samples) / max(1, len(samples)):.1f}, peak {max(samples, default=0):.1f}"
        print(f"{name}: {len(cells)} cells, exit {code}, {seconds:.0f} s, {load} ({os.cpu_count()} cores); "
              f"after: {_uptime()}", flush=True)
    (a, first), (b, second) = runs.items()
    none = ("missing", "")
    differ = sorted(k for k in first.keys() | second.keys() if first.get(k, none)[0] != second.get(k, none)[0])
    for k in differ:
        print(f"  differs: {' / '.join(k)}: {a}: {first.get(k, none)[0]}, {b}: {second.get(k, none)[0]}")
    traces = sum(1 for k in first.keys() & second.keys() if first[k][1] != second[k][1])
    unknown = sum(v.startswith("unknown") for cells in runs.values() for v, _ in cells.values())
    print(f"{len(first)} cells; {len(differ)} verdicts differ; {traces} traces differ; {unknown} unknown")
    return 1 if differ else 3 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
