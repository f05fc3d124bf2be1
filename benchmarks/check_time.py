"""How long the everyday commands take: ``otaproof check`` on the approved design and ``otaproof
diff secmp0007 --variant-file F`` for a worked design change, each with an empty certificate
cache (cold) and again with the cache the cold run filled (warm), ``--runs`` times each.

Every run is a fresh process, timed from start to exit, with the machine's load average before
and after and the verdicts it printed (the runs must agree: exit 1 otherwise). Python may write
the package's bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped from the runs' environment) and
one untimed run of each command comes first, so the timed runs start as every run after the
first does on an installed machine (compiling the package's sources takes about 0.5 s). Writes
``results/check-time.json``; ``python -m otaproof.reports.readme`` renders it into the README.

    python benchmarks/check_time.py                    # 3 runs each, the cpl-check-at-activation change
    python benchmarks/check_time.py --runs 5 --variant-file examples/variants/hub-retries-once.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "check-time.json"
CHANGE = "examples/variants/cpl-check-at-activation.py"
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # bytecode as installed


def timed(command: list[str], cache: Path) -> dict[str, Any]:
    """One run of ``command`` with ``cache`` as its certificate cache: seconds, load, verdicts."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out.json"
        load_before, started = os.getloadavg()[0], time.monotonic()
        done = subprocess.run([*command, "--cache-dir", str(cache), "--quiet", "--json", str(target)], cwd=ROOT,
                              capture_output=True, text=True, check=False, env=ENVIRONMENT)
        wall, load_after = time.monotonic() - started, os.getloadavg()[0]
        if done.returncode not in (0, 1) or not target.exists():
            raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}): {done.stderr.strip()}")
        document = json.loads(target.read_text(encoding="utf-8"))
    return {"seconds": round(wall, 2), "load_before": round(load_before, 2), "load_after": round(load_after, 2),
            "exit": done.returncode, "verdicts": verdicts_of(document)}


def verdicts_of(document: dict[str, Any]) -> dict[str, str]:
    """Property (per design, for a diff) -> verdict, from a ``check`` or ``diff`` JSON document."""
    if "results" in document:  # otaproof check
        return {r["property"]: r["verdict"] for r in document["results"]}
    return {r["property"]: f"{r['a']['verdict']} -> {r['b']['verdict']}" for r in document["properties"]}


def measure(name: str, command: list[str], runs: int) -> dict[str, Any]:
    """``runs`` cold runs (each with a new, empty cache), each followed by a warm run on its cache."""
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="otaproof-cache-") as cache:
        timed(command, Path(cache))  # untimed: compiles the package's bytecode, as any first run
    for n in range(runs):
        with tempfile.TemporaryDirectory(prefix="otaproof-cache-") as cache:
            cold.append(timed(command, Path(cache)))
            warm.append(timed(command, Path(cache)))
        print(f"{name} run {n + 1}/{runs}: cold {cold[-1]['seconds']} s, warm {warm[-1]['seconds']} s "
              f"(load {cold[-1]['load_before']} -> {warm[-1]['load_after']})", file=sys.stderr, flush=True)
    verdicts = {json.dumps(r["verdicts"], sort_keys=True) for r in cold + warm}
    return {"name": name, "command": " ".join(command), "runs": runs,
            "cold": [r["seconds"] for r in cold], "warm": [r["seconds"] for r in warm],
            "cold_median": statistics.median(r["seconds"] for r in cold),
            "warm_median": statistics.median(r["seconds"] for r in warm),
            "load": [min(r["load_before"] for r in cold + warm), max(r["load_after"] for r in cold + warm)],
            "exit": cold[0]["exit"], "verdicts": cold[0]["verdicts"], "verdicts_agree": len(verdicts) == 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="cold and warm runs of each command (default: 3)")
    parser.add_argument("--variant-file", default=CHANGE, metavar="PATH.py",
                        help=f"the design change the diff compares with the approved design (default: {CHANGE})")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not (ROOT / args.variant_file).is_file():
        parser.error(f"--variant-file {args.variant_file}: no such file")
    commands = {"check": ["otaproof", "check"],
                "diff": ["otaproof", "diff", "secmp0007", "--variant-file", args.variant_file]}
    measured = [measure(name, command, args.runs) for name, command in commands.items()]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"generated_by": "python benchmarks/check_time.py", "cpus": os.cpu_count(),
                               "bytecode": "compiled by an untimed first run",
                               "date": datetime.now(UTC).strftime("%Y-%m-%d"), "commands": measured},
                              indent=2, sort_keys=True) + "\n", encoding="utf-8")
    disagree = [m["name"] for m in measured if not m["verdicts_agree"]]
    if disagree:
        print(f"verdicts differ between runs of: {', '.join(disagree)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
