"""The evidence pack's cost over the verdicts: ``otaproof matrix --json`` and ``otaproof evidence``
run with the same arguments, one after the other, and compared. The issue's budget: the pack is
written in at most the matrix's time plus 30 s. Prints both wall times, the pack's phases from
its ``timings.json`` (verdicts, then obligations, storm, rendering, hashing, writing), the
overhead, the pack's size and files, whether the two runs gave the same verdicts, and the load
average (sampled every 5 s during each run: the machine is shared, so read the figures with it).
Exit 0 within the budget, 1 over it, 2 a run failed.

    python benchmarks/evidence.py                                   # every design (slow)
    python benchmarks/evidence.py --variant secmp0007 --threat-model none,han_mitm

Both run with ``--no-cache``: the benchmark measures the engines and the pack, not the
certificate cache the first run would fill for the second. ``--keep-matrix FILE`` keeps the
matrix run's document with its load samples (as ``benchmarks/load.py --keep`` writes
results/matrix.json), so that ``benchmarks/load.py --as-is FILE`` need only run the busy half.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import results_document
from sampling import describe, load_sampled, uptime

BUDGET = 30.0  # seconds the pack may take beyond the matrix (issue: "at most the matrix's time plus 30 s")
PHASES = ("obligations", "storm", "rendering", "hashing", "writing")


def _timed(command: list[str]) -> tuple[int, float, list[float]]:
    """Run one otaproof command: its exit code, wall seconds and the load averages sampled meanwhile."""
    with load_sampled() as samples:
        start = time.monotonic()
        code = subprocess.run([sys.executable, "-m", "otaproof.cli", *command], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False).returncode
    return code, time.monotonic() - start, samples


def _matrix_verdicts(path: Path) -> dict[tuple[str, str, str], str]:
    entries = json.loads(path.read_text())["entries"] if path.is_file() else []
    return {(e["variant"], "+".join(e["threats"]) or "none", e["property"]): e["verdict"] for e in entries}


def _pack_verdicts(pack: Path) -> dict[tuple[str, str, str], str]:
    cells = json.loads((pack / "evidence.json").read_text())["cells"] if (pack / "evidence.json").is_file() else []
    return {(c["variant"], c["threat_model"], c["property"]): c["verdict"] for c in cells}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", help="designs (comma-separated; default: all)")
    parser.add_argument("--threat-model", help="threat models (comma-separated; default: none and each threat)")
    parser.add_argument("--workers", type=int, help="engine processes for both runs (default: CPU count)")
    parser.add_argument("--keep", metavar="DIR", help="keep the pack in DIR (must not exist)")
    parser.add_argument("--keep-matrix", type=Path, metavar="FILE", help="write the matrix run's document, "
                        "traces stripped and load sampled, to FILE (e.g. results/matrix.json)")
    args = parser.parse_args()
    extra = [*(["--variant", args.variant] if args.variant else []),
             *(["--threat-model", args.threat_model] if args.threat_model else []),
             *(["--workers", str(args.workers)] if args.workers else [])]
    if args.keep and Path(args.keep).exists():
        parser.error(f"--keep {args.keep} exists")
    print(f"before: {uptime()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        matrix_json = Path(tmp) / "matrix.json"
        pack = Path(args.keep) if args.keep else Path(tmp) / "pack"
        m_code, m_seconds, m_load = _timed(["matrix", "--no-cache", "--json", str(matrix_json), *extra])
        print(f"matrix:   exit {m_code}, {m_seconds:.1f} s, {describe(m_load)}", flush=True)
        if args.keep_matrix is not None and matrix_json.is_file():
            args.keep_matrix.write_text(results_document(json.loads(matrix_json.read_text()), m_load))
        e_code, e_seconds, e_load = _timed(["evidence", "--no-cache", "--out", str(pack), *extra])
        print(f"evidence: exit {e_code}, {e_seconds:.1f} s, {describe(e_load)} ({os.cpu_count()} cores); "
              f"after: {uptime()}", flush=True)
        if m_code not in (0, 3) or e_code not in (0, 3) or not (pack / "timings.json").is_file():
            print("a run failed: no comparison")
            return 2
        build = json.loads((pack / "timings.json").read_text())["build"]
        files = [p for p in pack.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        certificates = sum(1 for p in files if p.relative_to(pack).parts[0] == "certificates")
        matrix, packed = _matrix_verdicts(matrix_json), _pack_verdicts(pack)
        differ = sorted(k for k in matrix.keys() | packed.keys() if matrix.get(k) != packed.get(k))
    phases = ", ".join(f"{name} {build[name]:.1f} s" for name in PHASES if name in build)
    print(f"evidence phases: verdicts {build['verdicts']:.1f} s, pack {build['pack']:.1f} s ({phases}); "
          f"the storm process ran {build.get('storm_process', 0.0):.1f} s beside the verdicts")
    print(f"pack: {len(files)} files ({certificates} obligation files), {size / 1e6:.1f} MB")
    for k in differ:
        print(f"  verdict differs: {' / '.join(k)}: matrix {matrix.get(k, 'missing')}, "
              f"evidence {packed.get(k, 'missing')}")
    print(f"{len(matrix)} cells; {len(differ)} verdicts differ between the two runs")
    overhead = e_seconds - m_seconds
    within = overhead <= BUDGET
    print(f"overhead: evidence - matrix = {overhead:+.1f} s (budget +{BUDGET:.0f} s: "
          f"{'within' if within else 'OVER'}); the pack's own phases {build['pack']:.1f} s")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
