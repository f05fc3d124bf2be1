"""The generated parts of docs/variants.md, so that they cannot drift from what they describe:
the public API of a variant file (block ``variant-api``, from ``otaproof.model.variants.api``) and
the verdicts of the worked design changes (block ``variant-verdicts``, from the committed
``results/variants.json`` that ``python benchmarks/variant_examples.py`` writes, and block
``variant-verdicts-generated``, from ``results/variants-no-design-lemmas.json``, the same runs
with ``--no-design-lemmas``).

Each block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``.
``python -m otaproof.reports.variant_results`` rewrites them; ``--check`` exits 1 when they are
stale (the tests run that).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otaproof.files import write_atomic
from otaproof.model.variants import api
from otaproof.reports.readme import BLOCK, MARK, ROOT

RESULTS = ROOT / "results" / "variants.json"
RESULTS_GENERATED = ROOT / "results" / "variants-no-design-lemmas.json"
DOC = ROOT / "docs" / "variants.md"
APPROVED = "secmp0007"


def _mark(v: dict[str, Any]) -> str:
    return MARK[v["verdict"]].format(depth=v.get("depth", ""))


def _faults(run: dict[str, Any]) -> str:
    return "+".join(run["faults"]) or "none"


def _changes(run: dict[str, Any], approved: dict[str, Any] | None) -> str:
    """What a design change fixes and breaks against the approved design under the same faults."""
    if approved is None:
        return "no run of the approved design to compare with"
    before = {v["property"]: v["verdict"] for v in approved["verdicts"]}
    fixed = [v["property"] for v in run["verdicts"] if before.get(v["property"]) == "violated"
             and v["verdict"] == "proved"]
    broken = [v["property"] for v in run["verdicts"] if before.get(v["property"]) == "proved"
              and v["verdict"] == "violated"]
    unknown = [v["property"] for v in run["verdicts"] if v["verdict"] == "unknown"]
    parts = [f"fixes {', '.join(fixed)}" if fixed else "fixes nothing",
             f"breaks {', '.join(broken)}" if broken else "breaks nothing"]
    if unknown:
        parts.append(f"unknown: {', '.join(unknown)}")
    return "; ".join(parts)


def verdicts_block(doc: dict[str, Any]) -> str:
    """Per fault model: each property's verdict in the approved design and in each example (a
    verdict that differs from the approved design's in bold), what each example fixes and breaks,
    and how long each check took under which load."""
    out: list[str] = []
    for faults in dict.fromkeys(_faults(r) for r in doc["runs"]):
        runs = [r for r in doc["runs"] if _faults(r) == faults]
        approved = next((r for r in runs if r["variant"] == APPROVED), None)
        ordered = ([approved] if approved else []) + [r for r in runs if r["variant"] != APPROVED]
        base = {v["property"]: v["verdict"] for v in approved["verdicts"]} if approved else {}
        props = list(dict.fromkeys(v["property"] for r in ordered for v in r["verdicts"]))
        out += [f"Faults: {faults}, no attacker.", "",
                "| property | " + " | ".join(r["variant"] for r in ordered) + " |",
                "|---|" + "---|" * len(ordered)]
        for pid in props:
            cells = []
            for r in ordered:
                v = next((v for v in r["verdicts"] if v["property"] == pid), None)
                text = "" if v is None else _mark(v)
                differs = v is not None and r is not approved and pid in base and base[pid] != v["verdict"]
                cells.append(f"**{text}**" if differs else text)
            out.append(f"| {pid} | " + " | ".join(cells) + " |")
        out.append("")
        out += [f"- `{r['variant']}`: {_changes(r, approved)}." for r in ordered if r is not approved]
        out += [f"- `{r['command']}`: {r['wall_seconds']:g} s wall time on {r['cpus']} cores, load average "
                f"{r['load_average']['before']:.1f} before and {r['load_average']['after']:.1f} after, "
                f"{r['date']}." for r in ordered]
        out.append("")
    return "\n".join(out)


def _table(head: tuple[str, str], rows: dict[str, str], prefix: str) -> list[str]:
    """A two-column Markdown table; a key with a dot (``Machine.var``) is shown without the prefix."""
    return [f"| {head[0]} | {head[1]} |", "|---|---|",
            *(f"| `{k if '.' in k else prefix + k}` | {v} |" for k, v in rows.items()), ""]


def api_block() -> str:
    """What a variant file may import, and the handles of ``m``, its builder and its channels."""
    exported = ", ".join(f"`{n}`" for n in api.__all__ if n not in ("BUILDER", "CHANNEL", "HANDLES"))
    out = [f"`from otaproof.model.variants.api import ...`: {exported}. Conditions are built with `&`, `|`, `~`, "
           "`==`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-` on expressions, or `all_of`, `any_of`, `implies`, `ite`; "
           "effects are lists of `assign(var, value)`.", ""]
    for group, handles in api.HANDLES.items():
        out += [f"**`m`: {group}**", "", *_table(("handle", "meaning"), handles, "m.")]
    out += ["**The builder `m.b` and its machines**", "", *_table(("call", "meaning"), api.BUILDER, "m.b.")]
    out += ["**A link `ch` (e.g. `m.wan_up[d]`)**", "", *_table(("call", "meaning"), api.CHANNEL, "ch.")]
    return "\n".join(out)


def render(text: str, doc: dict[str, Any], generated: dict[str, Any] | None = None) -> str:
    """``text`` (docs/variants.md) with its generated blocks re-rendered (the verdicts from ``doc``,
    those without design lemmas from ``generated``)."""
    blocks: dict[str, Callable[[], str]] = {"variant-api": api_block, "variant-verdicts": lambda: verdicts_block(doc)}
    if generated is not None:
        blocks["variant-verdicts-generated"] = lambda: verdicts_block(generated)

    def fill(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in blocks:
            raise KeyError(f"docs/variants.md block {name!r} has no renderer; known: {', '.join(blocks)}")
        return str(m.group(1) + blocks[name]() + m.group(4))

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/variants.md's verdict block (exit 0), or with ``--check`` exit 1 if it is stale."""
    parser = argparse.ArgumentParser(prog="python -m otaproof.reports.variant_results", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when docs/variants.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    generated = json.loads(RESULTS_GENERATED.read_text(encoding="utf-8")) if RESULTS_GENERATED.exists() else None
    fresh = render(current, json.loads(RESULTS.read_text(encoding="utf-8")), generated)
    if args.check:
        if fresh != current:
            print("docs/variants.md is stale: run python -m otaproof.reports.variant_results", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        write_atomic(Path(DOC), fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
