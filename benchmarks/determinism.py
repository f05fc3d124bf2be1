"""Does load change a generated suite? Runs ``otaproof generate`` twice with the same arguments
and seed: once as the machine is, once with a busy loop on every core (processes this script
starts and stops), then compares the two suites file by file, ignoring only the timing figures
INDEX.md reports. Prints each run's exit code, seconds and load average, and every file that
differs; exits 1 if any does (0: identical apart from timings).

    python benchmarks/determinism.py                       # generate's defaults, seed 0
    python benchmarks/determinism.py --keep /tmp/det -- --variant secmp0007 --no-oracle
"""

from __future__ import annotations

import argparse
import difflib
import multiprocessing as mp
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# INDEX.md's timing figures: "generated in 812 s." and "..., BMC depth 20, 640 s."
TIMINGS = re.compile(r"(generated in |BMC depth \d+, )\d+ s\.")


def _spin() -> None:
    """A busy loop: one core's worth of load until terminated."""
    while True:
        pass


def run(out: Path, args: list[str]) -> tuple[int, float, tuple[float, float, float], tuple[float, float, float]]:
    """``otaproof generate --out OUT ARGS``: exit code, seconds, load averages before and after."""
    before = os.getloadavg()
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "otaproof", "generate", "--no-cache", "--out", str(out), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - start
    (out.parent / f"{out.name}.log").write_text(done.stdout)
    return done.returncode, seconds, before, os.getloadavg()


def normalised(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    return TIMINGS.sub(r"\1<t> s.", text).splitlines() if path.name == "INDEX.md" else text.splitlines()


def differences(a: Path, b: Path) -> list[str]:
    """Files present in only one suite, and unified diffs of files whose content differs."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    out = [f"only in {a.name}: {f}" for f in sorted(files_a - files_b)]
    out += [f"only in {b.name}: {f}" for f in sorted(files_b - files_a)]
    for f in sorted(files_a & files_b):
        la, lb = normalised(a / f), normalised(b / f)
        if la != lb:
            out.append("".join(difflib.unified_diff([x + "\n" for x in la], [x + "\n" for x in lb],
                                                    f"{a.name}/{f}", f"{b.name}/{f}", n=1)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", metavar="DIR", help="write both suites here (default: a temporary directory)")
    ap.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy loops in the second run (default: "
                                                                         "one per core)")
    ap.add_argument("generate_args", nargs="*", help="arguments for otaproof generate (after --)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        rc1, s1, b1, a1 = run(root / "as-is", args.generate_args)
        loops = [mp.Process(target=_spin, daemon=True) for _ in range(args.busy)]
        for p in loops:
            p.start()
        try:
            rc2, s2, b2, a2 = run(root / "busy", args.generate_args)
        finally:
            for p in loops:
                p.terminate()
                p.join()
        print(f"run 1 (machine as it is): exit {rc1}, {s1:.0f} s, load average {b1[0]:.2f} -> {a1[0]:.2f} "
              f"(5 min {a1[1]:.2f})")
        print(f"run 2 (+{args.busy} busy loops):   exit {rc2}, {s2:.0f} s, load average {b2[0]:.2f} -> {a2[0]:.2f} "
              f"(5 min {a2[1]:.2f})")
        diff = differences(root / "as-is", root / "busy")
        if rc1 != rc2:
            diff.insert(0, f"exit codes differ: {rc1} and {rc2}")
        files = sum(1 for p in (root / "as-is").rglob("*") if p.is_file())
        if diff:
            print(f"the suites differ ({len(diff)} differences):")
            print("\n".join(diff))
            return 1
        print(f"identical apart from timings: {files} files")
        return 0


if __name__ == "__main__":
    sys.exit(main())
