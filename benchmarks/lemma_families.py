"""Which generated lemma families decide what (``--no-design-lemmas``, docs/lemmas.md).

For one design (the approved one, a built-in variant or a ``--variant-file``), with no attacker:
mines the generated candidates, runs the whole-model Houdini once, and for every INV, HIST and
BR part that the kept set makes inductive in one step, finds the lemmas its proof *uses*: the
closure, under unsat cores, of "the property is preserved" and "each lemma it uses is
preserved". Printed per part: the size of that support and its lemmas per family; parts the kept
set alone does not prove (the CTI search or PDR has to add clauses) are listed as such. Also
printed: candidates and kept lemmas per family, the Houdini time and the machine's load.

A core is one sufficient support, not the only one (another set of lemmas may prove the part
too), so the table says which families a proof leaned on, not that no other could do.

    python benchmarks/lemma_families.py
    python benchmarks/lemma_families.py --variant-file examples/variants/hub-retries-once.py --faults loss
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import z3
from rich.console import Console
from rich.table import Table
from sampling import uptime

from otaproof.model.config import Scenario
from otaproof.model.symbolic import Encoder
from otaproof.model.variant_files import load_variants
from otaproof.model.variants import build, registered
from otaproof.properties.catalogue import CATALOGUE
from otaproof.properties.engines.strengthen import Strengthening, inductive_subset
from otaproof.properties.formulas import SafetyTask, to_safety
from otaproof.properties.solver import Deadline
from otaproof.properties.templates import FAMILIES, family, template_lemmas


def support(task: SafetyTask, helper: Strengthening) -> list[str] | None:
    """The names of the lemmas a one-step proof of the task uses (closure under unsat cores),
    or None if ``helper`` does not make the task inductive."""
    enc = Encoder(task.system)
    s, a, t = enc.state("s"), enc.action("s"), enc.state("t")
    now = enc.exprs(list(helper.exprs), s)
    nxt = [z3.substitute(x, *zip(s, t, strict=True)) for x in now]
    solver = z3.Solver()
    solver.add(enc.domain(s), enc.trans(s, a, t), z3.Not(enc.expr(task.bad, s)))
    use = [z3.Bool(f"use#{k}") for k in range(len(now))]
    for k, x in enumerate(now):
        solver.add(z3.Implies(use[k], x))
    index = {u.get_id(): k for k, u in enumerate(use)}
    needed: set[int] = set()
    todo: list[z3.BoolRef] = [z3.Not(enc.expr(task.bad, t))]
    while todo:
        if solver.check(*use, z3.Not(todo.pop())) != z3.unsat:
            return None
        for lit in solver.unsat_core():
            found = index.get(lit.get_id())
            if found is not None and found not in needed:
                needed.add(found)
                todo.append(nxt[found])
    return [helper.names[k] for k in sorted(needed)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="", help="a built-in variant (default: the file's, else secmp0007)")
    ap.add_argument("--variant-file", action="append", default=[], metavar="PATH.py", help="a design change file")
    ap.add_argument("--faults", default="", help="fault models, comma-separated (default: none)")
    args = ap.parse_args(argv)
    console = Console(stderr=False)
    with registered(load_variants(args.variant_file)) as files:
        variant = args.variant or (files[0].name if files else "secmp0007")
        faults = frozenset(f for f in args.faults.split(",") if f)
        scenario = Scenario(variant=variant, faults=faults, design_lemmas=False)
        console.print(f"{variant}, no attacker, faults: {', '.join(sorted(faults)) or 'none'}; {uptime()}")
        built = build(scenario)
        started = time.monotonic()
        candidates = template_lemmas(built.system, 0)
        mined_s = time.monotonic() - started
        kept = inductive_subset(built.system, [(lm.name, lm.expr) for lm in candidates], Deadline(3600))
        houdini_s = time.monotonic() - started - mined_s
        console.print(f"{len(candidates)} candidates mined in {mined_s:.1f} s; Houdini kept {len(kept.names)} "
                      f"in {houdini_s:.1f} s; {uptime()}")
        families = Table("family", "candidates", "kept", title="generated candidates")
        made, held = Counter(family(lm.name) for lm in candidates), Counter(family(n) for n in kept.names)
        for name in FAMILIES:
            families.add_row(name, str(made[name]), str(held[name]))
        console.print(families)
        table = Table("property", "part", "support", "families in the support", title="what each proof uses")
        for prop in CATALOGUE:
            if prop.kind == "REACH":
                continue
            formula = prop.formula(built)
            parts = formula if isinstance(formula, list) and prop.kind == "BR" else [formula]
            for n, part in enumerate(parts):
                task = to_safety(built.system, part, n)
                own = [(lm.name, lm.expr) for lm in task.lemmas]
                helper = kept + inductive_subset(task.system, own, Deadline(600), background=kept) if own else kept
                used = support(task, helper)
                if used is None:
                    table.add_row(prop.id, str(n), "-", "not inductive with the kept set alone (violated, "
                                  "or the CTI search or PDR adds clauses)")
                    continue
                by = Counter(family(u) or "property's own" for u in used)
                table.add_row(prop.id, str(n), str(len(used)), ", ".join(f"{f} {c}" for f, c in by.most_common()))
        console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
