"""What the certificate cache saves: ``otaproof matrix`` cold (empty cache), warm (every
certificate cached: each is re-checked from its obligations, no engine runs), warm again for the
variants alone (issue 20's matrix: the built-in designs by default) and after a one-variant
change (a ``--variant-file`` design edited between runs: only the cells whose certificates no
longer hold are re-proved).

The matrix is the chosen variants plus one design given as a file, ``bench-edited``: first the
approved design unchanged, then edited to the change of ``--edit`` (default: the
activation-after-receipt example). Each run is a fresh ``otaproof matrix`` process with its own
empty cache directory at the start; printed per run: seconds, the load average (sampled every
5 s), what the cache gave, and whether the verdicts equal the cold run's (the edited run is
compared with a fresh ``--no-cache`` run of the same matrix when ``--check-change`` is given).
Writes ``results/cache.json`` (``--out``); ``python -m otaproof.reports.readme`` renders it into
the README.

    python benchmarks/cache.py --variant secmp0007 --variant gateway-screening \\
        --threat-model none --threat-model han_mitm
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sampling import header, load_sampled, summary, write_results

from otaproof.model.config import THREATS
from otaproof.model.variants import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "cache.json"
EDITED = "bench-edited"
APPROVED_COPY = f'''"""The approved design, unchanged, under another name (the benchmark edits this file)."""

NAME = "{EDITED}"
DOC = "the approved design, before the edit"
SOURCE = "benchmarks/cache.py"


def apply(m):
    pass
'''
SUMMARY = re.compile(r"(\d+) of (\d+) property parts re-checked.*?, (\d+) no longer held.*?, (\d+) not cached")

Cells = dict[tuple[str, str, str], str]  # (variant, threats, property) -> verdict (+ depth)


@dataclass
class Run:
    label: str
    seconds: float
    load: list[float]
    code: int
    cells: Cells
    cache: str  # what the cache gave, from the run's summary line


def _matrix(label: str, design: Path | None, variants: list[str], models: list[str], cache: Path | None,
            workers: int | None) -> Run:
    """One ``otaproof matrix`` process, with the load sampled while it runs (``design`` None:
    the variants alone, without the edited design)."""
    with load_sampled() as samples, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.json"
        command = [sys.executable, "-m", "otaproof.cli", "matrix", "--quiet", "--json", str(out),
                   *(["--variant-file", str(design)] if design is not None else []),
                   *(f"--variant={v}" for v in [*variants, *([EDITED] if design is not None else [])]),
                   *(f"--threat-model={t}" for t in models)]
        command += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
        command += [f"--workers={workers}"] if workers else []
        start = time.monotonic()
        done_run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        document = json.loads(out.read_text()) if out.exists() else {"entries": []}
    if done_run.returncode not in (0, 3):
        sys.stderr.write(done_run.stderr)
    cells = {(e["variant"], "+".join(e["threats"]) or "none", e["property"]):
             e["verdict"] + (f"@{len(e['trace']['steps'])}" if e.get("trace") else "")
             for e in document["entries"]}
    found = SUMMARY.search(done_run.stderr)
    gave = (f"{found[1]}/{found[2]} parts re-checked from the cache, {found[3]} re-proved (no longer held), "
            f"{found[4]} not cached") if found else ("no cache" if cache is None else "-")
    return Run(label, seconds, samples, done_run.returncode, cells, gave)


def _differences(a: Cells, b: Cells) -> list[str]:
    return [f"{' '.join(k)}: {a.get(k)} vs {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", metavar="V", help="variants (default: every built-in one)")
    ap.add_argument("--threat-model", action="append", metavar="T",
                    help="threat models (default: none and each threat alone, as otaproof matrix)")
    ap.add_argument("--edit", type=Path, default=ROOT / "examples" / "variants" / "activation-after-receipt.py",
                    help="a variant file whose change the edited design takes (its NAME is replaced)")
    ap.add_argument("--workers", type=int, default=None, help="otaproof matrix --workers (default: CPU count)")
    ap.add_argument("--check-change", action="store_true",
                    help="also run the edited matrix with --no-cache and compare the verdicts")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT.relative_to(ROOT)})")
    args = ap.parse_args()
    variants = args.variant or [name for name, v in REGISTRY.items() if v.origin == "built-in"]
    models = args.threat_model or ["none", *THREATS]
    edited_text = re.sub(r'^NAME = .*$', f'NAME = "{EDITED}"', args.edit.read_text(), count=1, flags=re.M)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="otaproof-bench-cache-") as tmp:
        design, cache = Path(tmp) / "edited.py", Path(tmp) / "cache"
        design.write_text(APPROVED_COPY)
        print(f"matrix: variants {', '.join(variants)} + {EDITED}; threat models {', '.join(models)}; "
              f"{os.cpu_count()} CPUs; load before {os.getloadavg()[0]:.2f}", flush=True)
        runs.append(_matrix("cold (empty cache)", design, variants, models, cache, args.workers))
        runs.append(_matrix("warm (everything cached)", design, variants, models, cache, args.workers))
        runs.append(_matrix("warm, the variants alone (without bench-edited)", None, variants, models, cache,
                            args.workers))
        design.write_text(edited_text)
        runs.append(_matrix(f"one variant edited ({args.edit.name})", design, variants, models, cache,
                            args.workers))
        if args.check_change:
            runs.append(_matrix("edited, --no-cache (reference)", design, variants, models, None, args.workers))
    print(f"\n{'run':<44} {'seconds':>8} {'load mean/peak':>15}  exit  cache")
    for r in runs:
        load = f"{sum(r.load) / len(r.load):.1f}/{max(r.load):.1f}"
        print(f"{r.label:<44} {r.seconds:>8.1f} {load:>15}  {r.code:>4}  {r.cache}")
    cold, warm, alone, edited = runs[0], runs[1], runs[2], runs[3]
    same = _differences(cold.cells, warm.cells) + \
        _differences({k: v for k, v in cold.cells.items() if k[0] != EDITED}, alone.cells)
    print(f"\nwarm verdicts equal the cold run's: {'yes' if not same else 'NO'} ({len(cold.cells)} cells)")
    for line in same:
        print(f"  {line}")
    unchanged = {k: v for k, v in cold.cells.items() if k[0] != EDITED}
    kept = _differences(unchanged, {k: v for k, v in edited.cells.items() if k[0] != EDITED})
    print(f"after the edit, the other designs' verdicts are unchanged: {'yes' if not kept else 'NO'}")
    if args.check_change:
        fresh = _differences(edited.cells, runs[4].cells)
        print(f"edited run's verdicts equal a --no-cache run's: {'yes' if not fresh else 'NO'}")
        for line in fresh:
            print(f"  {line}")
        same += fresh
    record(args.out, variants, models, args.edit, runs, same, kept)
    return 0 if not same and not kept and all(r.code in (0, 3) for r in runs) else 1


def record(out: Path, variants: list[str], models: list[str], edit: Path, runs: list[Run],
           differ: list[str], changed: list[str]) -> None:
    """The runs and the comparisons, as ``results/cache.json``."""
    document: dict[str, Any] = {
        **header("cache.py"), "variants": variants,
        "threat_models": models, "edit": edit.name, "cells": len(runs[0].cells),
        "runs": [{"label": r.label, "seconds": round(r.seconds, 1), "load_sampled": summary(r.load), "exit": r.code,
                  "cache": r.cache} for r in runs],
        "verdicts_differ": differ, "other_designs_changed": changed}
    write_results(out, document)
    print(f"written to {out}")


if __name__ == "__main__":
    sys.exit(main())
