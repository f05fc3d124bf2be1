"""``otaproof check --all-n``: each property's per-device part proved for every number of devices
per hub on the representative-device abstraction (``properties.parametric``), one table row per
property. Exit 0 if every property is proved for all N, 3 otherwise: an abstract counterexample
is never reported as a violation (it is not a trace of any concrete model)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from otaproof.files import check_output_file, write_json_atomic
from otaproof.model.config import Scenario
from otaproof.properties.catalogue import Property
from otaproof.properties.parametric import PROVED_ALL_N, AllN, TypeResult, check_all_n
from otaproof.properties.verdict import Budget

HELP = ("prove each property's per-device part for every number of PPMIDs and HCALCSs per hub: one device of a "
        "type stays concrete, every other device's state is havocked (its steps keep their effect on the shared "
        "state: DSP, CPL, hub); a proof there holds for all N. Results are 'proved for all N' or 'not proved for "
        "all N' (a counterexample on the abstraction is not a concrete trace: check a given N without this flag). "
        "--ppmids/--hcalcs are ignored; engines lemmas, then pdr, then bmc, one process (docs/scale.md)")
LEGEND = ("proved for all N: every part about that device type proved on its abstraction (certificate re-checked); "
          "no part: the property says nothing about that type; not proved for all N: the reason is given.")
SCHEMA = "otaproof.all-n/1"
INCOMPATIBLE = ("certificates", "swarm", "scheduler")


def rejected_flags(args: argparse.Namespace) -> list[str]:
    """The flags given with --all-n that it does not support."""
    bad = [f"--{name}" for name in INCOMPATIBLE if getattr(args, name, None)]
    if args.engine != "portfolio":
        bad.append("--engine")
    return bad


def run(args: argparse.Namespace, scenario: Scenario, props: list[Property], budget: Budget, console: Console) -> int:
    """Check ``props`` for all N and print the table; the exit code."""
    if args.json:
        check_output_file(args.json, "--json")

    def done(found: AllN) -> None:
        if not args.quiet:
            print(f"{found.prop.id}: {found.status} ({found.seconds:.1f} s)", file=sys.stderr, flush=True)

    results = check_all_n(scenario, props, budget, done)
    console.print(table(results, f"{scenario.describe()} — any number of devices per hub"))
    if args.json:
        write_json_atomic(args.json, document(scenario, results))
        console.print(f"results written to {args.json}")
    return 0 if all(r.status == PROVED_ALL_N for r in results) else 3


def table(results: list[AllN], title: str) -> Table:
    """One row per property: the result for all N and each device type's part."""
    t = Table(title=title, title_justify="left", caption=LEGEND, caption_justify="left")
    for col in ("property", "for all N", "PPMID part", "HCALCS part", "time (s)"):
        t.add_column(col, no_wrap=col in ("property", "for all N", "time (s)"))
    for r in results:
        style = "green" if r.status == PROVED_ALL_N else "yellow"
        parts = {p.device_model: _part(p) for p in r.results}
        t.add_row(r.prop.id, f"[{style}]{r.status}[/]", parts.get("PPMID", ""), parts.get("HCALCS", ""),
                  f"{r.seconds:.1f}")
    return t


def _part(p: TypeResult) -> str:
    return f"{p.status}: {p.reason}"


def document(scenario: Scenario, results: list[AllN]) -> dict[str, object]:
    """The results as JSON (schema ``otaproof.all-n/1``)."""
    return {"schema": SCHEMA, "scenario": scenario.describe(),
            "properties": [{"id": r.prop.id, "status": r.status, "seconds": round(r.seconds, 3),
                            "parts": [{"device_model": p.device_model, "status": p.status, "reason": p.reason,
                                       "engine": p.verdict.engine if p.verdict else None,
                                       "seconds": round(p.seconds, 3)} for p in r.results]}
                           for r in results]}
