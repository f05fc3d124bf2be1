"""``otaproof export --promela FILE``: a design (threats and faults included) and its safety
properties as a Promela model for SPIN, for an independent second opinion on the verdicts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console

from otaproof import __version__
from otaproof.arguments import split, unknown
from otaproof.files import check_output_file, write_atomic
from otaproof.model.config import FAULTS, THREATS, Parameters, Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import REGISTRY, build
from otaproof.properties.catalogue import BY_ID, CATALOGUE
from otaproof.properties.formulas import Reach, to_safety
from otaproof.reports.promela import Exported, export
from otaproof.variant_cli import add_variant_file_flag, default_variant, trial_build


def _exported(scenario: Scenario, ids: list[str]) -> tuple[str, list[Exported], list[str]]:
    """The Promela text, the properties exported, and the REACH properties left out."""
    built = build(scenario)
    chosen = [BY_ID[i] for i in ids] if ids else list(CATALOGUE)
    exported, left_out = [], []
    for prop in chosen:
        formula = prop.formula(built)
        items = formula if isinstance(formula, list) else [formula]
        if any(isinstance(f, Reach) for f in items):
            left_out.append(prop.id)
            continue
        exported.append(Exported(prop.id, to_safety(built.system, formula)))
    header = "\n".join([
        f"otaproof {__version__} Promela export: variant {scenario.variant}; threats: "
        f"{', '.join(sorted(scenario.threats)) or 'none'}; faults: {', '.join(sorted(scenario.faults)) or 'none'}",
        f"parameters: {scenario.parameters.as_dict()}",
        f"properties (assertions): {', '.join(p.property_id for p in exported) or 'none'}",
        *([f"not exported (REACH, not a safety property): {', '.join(left_out)}"] if left_out else []),
        "run: spin -a FILE && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m1000000",
    ])
    return export(built.system, exported, header), exported, left_out


def run(args: argparse.Namespace, console: Console) -> int:
    """Write the Promela file; exit 0, or 2 on bad input (nothing written)."""
    variant = args.variant or default_variant()
    if variant not in REGISTRY:
        raise ModelError(unknown("variant", variant, REGISTRY))
    threats, faults, ids = split(args.threat), split(args.fault), split(args.property)
    for t in threats:
        if t not in THREATS:
            raise ModelError(unknown("threat", t, THREATS))
    for f in faults:
        if f not in FAULTS:
            raise ModelError(unknown("fault", f, FAULTS))
    for i in ids:
        if i not in BY_ID:
            raise ModelError(unknown("property", i, BY_ID))
    target = check_output_file(args.promela, "--promela")
    values = {k[6:]: v for k, v in vars(args).items() if k.startswith("param_") and v is not None}
    scenario = Scenario(variant, frozenset(threats), frozenset(faults), Parameters().with_values(values))
    trial_build([scenario])
    text, exported, left_out = _exported(scenario, ids)
    write_atomic(target, text)
    console.print(f"wrote {args.promela}: {scenario.describe()}, {len(exported)} properties as assertions"
                  + (f"; not exported (REACH): {', '.join(left_out)}" if left_out else ""))
    return 0


def add_parser(sub: Any, add_parameter_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``export`` to the otaproof command's subparsers."""
    p = sub.add_parser(
        "export", help="write a design and its safety properties as Promela (for SPIN)",
        description="Write the grounded design (threats and faults included) as one Promela process that fires one "
                    "enabled action per step, with the monitors of each INV, HIST and BR property and an assertion "
                    "that no reachable state is bad; assignments outside a variable's domain fail their own "
                    "assertion (a modelling slip). REACH properties are left out. Exit 0 written, 2 bad input.")
    p.add_argument("--promela", required=True, metavar="FILE", help="the Promela file to write")
    p.add_argument("--variant", help="design variant (see `otaproof variants`; default: the design of the one "
                                      "--variant-file, else secmp0007)")
    add_variant_file_flag(p)
    p.add_argument("--threat", action="append", metavar="T", help=f"attacker capabilities: {', '.join(THREATS)}")
    p.add_argument("--faults", "--fault", dest="fault", action="append", metavar="F",
                   help=f"network/power faults: {', '.join(FAULTS)}")
    p.add_argument("--property", action="append", metavar="ID",
                   help="properties to export (default: every INV, HIST and BR property)")
    add_parameter_flags(p)
    p.set_defaults(func=run)
