"""The worked design changes of examples/variants/: verdicts and wall-clock time of
``otaproof check --variant-file X`` for each, and of the approved design, with no attacker and
under each fault model given; the machine's load is recorded with every run.

Writes ``results/variants.json`` after every run (a stopped run keeps what it measured; a run
replaces the earlier one of the same design and faults, the others stay);
``python -m otaproof.reports.variant_results`` renders it into docs/variants.md. With
``--no-design-lemmas`` the checks use only generated lemma candidates (docs/lemmas.md) and the
runs go to ``results/variants-no-design-lemmas.json`` instead.

    python benchmarks/variant_examples.py                       # no faults, then --fault loss
    python benchmarks/variant_examples.py --faults loss --design secmp0007 --design examples/variants/x.py
    python benchmarks/variant_examples.py --no-design-lemmas --property P-SMI-BOUNDED
    python benchmarks/variant_examples.py --no-design-lemmas --faults none --design gateway-screening
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "variants").glob("*.py"))
OUT = ROOT / "results" / "variants.json"
OUT_GENERATED = ROOT / "results" / "variants-no-design-lemmas.json"
APPROVED = "secmp0007"


def run(design: str, faults: str, timeout: float, design_lemmas: bool = True,
        properties: tuple[str, ...] = ()) -> dict[str, Any]:
    """One ``otaproof check`` in a fresh process: its command, verdicts, time and load."""
    flags = ["--variant-file", design] if design.endswith(".py") else ["--variant", design]
    flags += [] if faults == "none" else ["--fault", faults]
    flags += ["--design-lemmas" if design_lemmas else "--no-design-lemmas"]  # a file's default is generated ones
    flags += [f for p in properties for f in ("--property", p)]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "verdicts.json"
        command = ["otaproof", "check", "--no-cache", *flags, "--timeout", f"{timeout:g}", "--quiet"]
        load_before, started = os.getloadavg(), time.monotonic()
        done = subprocess.run([*command, "--json", str(target)], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        wall, load_after = time.monotonic() - started, os.getloadavg()
        if not target.exists():
            raise SystemExit(f"{' '.join(command)} wrote no verdicts (exit {done.returncode}): {done.stderr}")
        document = json.loads(target.read_text(encoding="utf-8"))
    verdicts = []
    for r in document["results"]:
        entry = {k: r[k] for k in ("property", "verdict", "engine", "seconds")}
        entry.update({k: r[k] for k in ("depth", "reason") if k in r})
        verdicts.append(entry)
    return {"variant": document["variant"], "command": " ".join(command), "faults": document["faults"],
            "budget": document["budget"], "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "wall_seconds": round(wall, 1), "cpus": os.cpu_count(),
            "load_average": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
            "exit": done.returncode, "verdicts": verdicts}


def main(argv: list[str] | None = None) -> int:
    """Measure each example (and the approved design) under each fault model, in order."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", action="append", metavar="F",
                        help="fault models, one run each: none or a fault name (default: none, loss)")
    parser.add_argument("--design", action="append", metavar="D",
                        help="a built-in variant's name (`otaproof variants`) or a variant file's path, in this order "
                             f"(default: the examples, then {APPROVED})")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per engine and part (default: 120)")
    parser.add_argument("--no-design-lemmas", action="store_true",
                        help=f"generated lemma candidates only; results go to {OUT_GENERATED.relative_to(ROOT)}")
    parser.add_argument("--property", action="append", default=[], metavar="ID",
                        help="check only these properties (repeatable; default: all)")
    args = parser.parse_args(argv)
    out = OUT_GENERATED if args.no_design_lemmas else OUT
    designs = args.design or [*(str(p.relative_to(ROOT)) for p in EXAMPLES), APPROVED]
    for faults in args.faults or ["none", "loss"]:
        for design in designs:
            last = run(design, faults, args.timeout, not args.no_design_lemmas, tuple(args.property))
            print(f"{last['command']}: {last['wall_seconds']} s, load {last['load_average']}", file=sys.stderr)
            kept = json.loads(out.read_text(encoding="utf-8"))["runs"] if out.exists() else []
            runs = [r for r in kept if (r["variant"], r["faults"]) != (last["variant"], last["faults"])] + [last]
            out.parent.mkdir(exist_ok=True)
            out.write_text(json.dumps({"generated_by": "python benchmarks/variant_examples.py", "runs": runs},
                                      indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
