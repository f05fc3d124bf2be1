"""README figures generated from committed results, so a figure cannot drift from its run.

The README holds blocks between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``;
each is rendered from a file in ``results/`` (written by the command the block names). Run
``python -m otaproof.reports.readme`` after refreshing a result, ``--check`` in the tests: it
fails when the README and the results disagree.
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
from otaproof.properties.parametric import NO_PART, PROVED_ALL_N

ROOT = Path(__file__).resolve().parents[2]
MARK = {"proved": "✔", "violated": "✘{depth}", "unknown": "?"}
BLOCK = re.compile(r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated:(?P=name) -->)", re.S)


def _threat_model(entry: dict[str, Any]) -> str:
    return "+".join(entry["threats"]) or "none"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def matrix_block(doc: dict[str, Any]) -> str:
    """The verdict matrix and its one-line summary, from an ``otaproof matrix --json`` document."""
    entries = doc["entries"]
    props = list(dict.fromkeys(e["property"] for e in entries))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for e in entries:
        mark = MARK[e["verdict"]].format(depth=e.get("depth", ""))
        rows.setdefault((e["variant"], _threat_model(e)), {})[e["property"]] = mark
    counts = {k: sum(e["verdict"] == k for e in entries) for k in MARK}
    run = doc.get("run", {})
    definite = counts["proved"] + counts["violated"]
    summary = (f"{'All' if definite == len(entries) else ''} {definite} of {len(entries)} verdicts definite "
               f"({counts['proved']} proved, {counts['violated']} violated, {counts['unknown']} unknown)").strip()
    if run:
        load = f"load average {run['load_average'][0]:.1f} at the start"
        if sampled := run.get("load_sampled"):
            load += f", {sampled['mean']:.1f} mean and {sampled['peak']:.1f} peak during the run"
        summary += f"; {_duration(run['wall_seconds'])} wall time on {run['cpus']} cores, {load}, {run['date']}"
    lines = [summary + ".", "",
             "| variant | threats | " + " | ".join(p.removeprefix("P-") for p in props) + " |",
             "|---|---|" + "---|" * len(props)]
    for (variant, threats), cells in rows.items():
        lines.append(f"| {variant} | {threats} | " + " | ".join(cells.get(p, "") for p in props) + " |")
    return "\n".join(lines) + "\n"


def _load(run: dict[str, Any]) -> str:
    """A run's date, wall time and load, as a README sentence ends."""
    load = f"load average {run['load_average'][0]:.1f} at the start"
    if end := run.get("load_average_end"):
        load += f" and {end[0]:.1f} at the end"
    return f"{_duration(run['wall_seconds'])} on {run['cpus']} cores, {load}, {run['date']}"


def conformance_block(doc: dict[str, Any]) -> str:
    """The generated suite's size, generation time and coverage table per criterion, from an
    ``otaproof generate --json`` document (``otaproof.generate/1``)."""
    suite, settings = doc["suite"], doc["settings"]
    undecided = len(doc["undecided"])
    lines = [f"`otaproof generate` ({', '.join(settings['variants'])}; threat models "
             f"{' and '.join(settings['threat_models'])}; seed {settings['seed']}): {suite['tests']} tests "
             f"({suite['reproductions']} reproductions, {suite['guards']} guards, {suite['conformance']} conformance, "
             + (f"{suite['wire_edges']} wire edges, " if "wire_edges" in suite else "")
             + f"{suite['oracle_runs']} oracle runs), {suite['trace_files']} trace files; generated in "
             f"{_load(doc['run'])}; " + (f"{undecided} cells or goals undecided (exit 3)." if undecided
                                         else "every cell and goal decided (exit 0)."), ""]
    for cov in doc["coverage"]:
        lines += [f"Coverage of `{cov['scenario']}` ({cov['traces_kept']} traces kept of {cov['traces_found']} "
                  f"found, depth {cov['depth']}):", "",
                  "| criterion | goals | covered | unreachable (proved) | unknown |", "|---|---|---|---|---|"]
        lines += [f"| {c['criterion']} | {c['goals']} | {c['covered']} | {c['unreachable']} | {c['unknown']} |"
                  for c in cov["criteria"]]
        lines.append("")
    return "\n".join(lines)


def mutants_block(doc: dict[str, Any]) -> str:
    """The seeded-mutant score and each mutant's result, from ``otaproof mutants --json``
    (``otaproof.mutants/2``)."""
    without = "" if doc.get("oracle", True) else ", without the oracle test"
    run = f"; {_load(doc['run'])}" if "run" in doc else ""
    lines = [f"Mutation score {doc['killed']}/{doc['total']} = {doc['kill_rate']:.0%} (killed / all seeded "
             f"mutants{without}; {doc['survived']} survived, {doc['timed_out']} timed out, {doc['crashed']} "
             f"crashed){run}.", "", "| mutant | result | killing tests |", "|---|---|---|"]
    lines += [f"| `{m['name']}` | {m['status']} | {len(m['killing_tests'])} |" for m in doc["mutants"]]
    return "\n".join(lines) + "\n"


def automutants_block(doc: dict[str, Any]) -> str:
    """The derived-mutant score, the functions with mutants not killed and every survivor, from
    ``otaproof mutants --auto --json`` (``otaproof.automutants/1``)."""
    mutants = doc["mutants"]
    equivalent = [m for m in mutants if m["verdict"].startswith("equivalent")]
    gaps = [m for m in mutants if m["verdict"].startswith("not killed")]
    run = f"; {_load(doc['run'])}" if "run" in doc else ""
    lines = [f"Derived mutants (mutmut, the refimpl's decision code): **{doc['killed']} of "
             f"{doc['total'] - doc['equivalent']} killed = {doc['kill_rate']:.1%}** (killed / mutants not proved "
             f"equivalent; {doc['equivalent']} of {doc['total']} proved equivalent, {len(gaps)} survived){run}.", "",
             "| function | mutants | killed | equivalent | survived |", "|---|---|---|---|---|"]
    by_function: dict[str, list[dict[str, Any]]] = {}
    for m in mutants:
        by_function.setdefault(m["function"], []).append(m)
    for function, ms in by_function.items():
        eq = sum(m in equivalent for m in ms)
        left = sum(m in gaps for m in ms)
        if eq or left:
            lines.append(f"| `{function}` | {len(ms)} | {len(ms) - eq - left} | {eq} | {left} |")
    lines += ["", f"<details><summary>The {len(gaps)} survivors (function: mutated line -> mutant)</summary>", ""]
    lines += [f"- `{m['function'].split(':')[1]}`: `{m['before'][:90]}` -> `{m['after'][:90]}`" for m in gaps]
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def check_time_block(doc: dict[str, Any]) -> str:
    """Cold and warm seconds of ``otaproof check`` and of a ``diff`` with a design change, from
    ``benchmarks/check_time.py``'s results."""
    lines = ["| command | cold: empty cache (median; each run) | warm: the cold run's cache (median; each run) "
             "| load average | verdicts |", "|---|---|---|---|---|"]
    for m in doc["commands"]:
        agree = "the same in every run" if m["verdicts_agree"] else "**differ between runs**"
        lines.append(f"| `{m['command']}` | {m['cold_median']:.1f} s ({_seconds(m['cold'])}) | "
                     f"{m['warm_median']:.1f} s ({_seconds(m['warm'])}) | {m['load'][0]:.1f}-{m['load'][1]:.1f} | "
                     f"{_verdict_counts(m['verdicts'])}; {agree} |")
    return "\n".join([f"Measured {doc['date']} on {doc['cpus']} cores (`python benchmarks/check_time.py`, "
                      f"{doc['commands'][0]['runs']} runs each; every run a fresh process, timed to its exit"
                      + (", after an untimed first run that compiles the package's bytecode" if doc.get("bytecode")
                         else "") + "):",
                      "", *lines]) + "\n"


def _seconds(xs: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in xs)


def _verdict_counts(verdicts: dict[str, str]) -> str:
    """A verdict map as counts: '14 proved, 3 violated' (check) or '2 of 17 properties change
    verdict' (diff: values 'A -> B')."""
    if any("->" in v for v in verdicts.values()):
        changed = sum(a != b for a, b in (v.split(" -> ") for v in verdicts.values()))
        return f"{changed} of {len(verdicts)} properties change verdict"
    counts = {k: sum(v == k for v in verdicts.values()) for k in MARK}
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n)


def spin_block(doc: dict[str, Any]) -> str:
    """otaproof's portfolio against SPIN's exhaustive search on the same exported designs, with
    each size's summary (proofs, violations, agreement), from ``benchmarks/spin.py``'s results."""
    settings, run, rows = doc["settings"], doc["run"], doc["rows"]
    both = [r for r in rows if r["agree"] is not None]
    agreement = (f"Both tools gave a verdict on {len(both)} of {len(rows)} rows (SPIN's include violations found "
                 "by its search bounded by otaproof's counterexample depth), and "
                 + ("all of them agree" if not doc["disagreements"] else
                    f"**{len(doc['disagreements'])} disagree**: {', '.join(doc['disagreements'])}"))
    lines = [f"Measured {doc['date']} on {doc['cpus']} cores with {doc['spin_version']} (`python benchmarks/spin.py`; "
             f"SPIN, one process, gets {settings['spin_factor']:g} times otaproof's time on the same row, at least "
             f"{settings['spin_least']:g} s and at most {settings['spin_seconds']:g} s, and "
             f"{settings['spin_memory_mb']:,} MB; "
             f"otaproof's portfolio runs two engine processes with no certificate cache; "
             f"{_duration(run['wall_seconds'])} in all, load average {run['load_average'][0]:.1f} at the start, "
             f"{run['load_sampled']['mean']:.1f} mean and {run['load_sampled']['peak']:.1f} peak). {agreement}.",
             *(f"Re-measured {m['date']} (`{m['command']}`, {_duration(m['run']['wall_seconds'])}, load mean "
               f"{m['run']['load_sampled']['mean']:.1f}): {', '.join(m['rows'])}." for m in doc.get("remeasured", [])),
             ""]
    for size in dict.fromkeys(r["size"] for r in rows):
        lines.append(f"* {size} device{'s' if size > 1 else ''} per hub: " + _spin_summary([r for r in rows
                                                                                           if r["size"] == size]))
    lines += ["", "| devices | property | otaproof | s | MB | SPIN | s (compile + search) | states stored | SPIN MB "
              "| SPIN / otaproof |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        spin, ours = r["spin"], r["otaproof"]
        verdict = spin["verdict"] + (f" ({spin['note']})" if spin["verdict"] == "unknown" else "")
        if bounded := r.get("spin_bounded"):
            verdict += f"; within the counterexample's depth: {bounded['verdict']} ({bounded['seconds']:.1f} s)"
        lines.append(f"| {r['size']} | {r['property']} | {ours['verdict']} | {ours['seconds']:.1f} | "
                     f"{ours['memory_mb']:,} | {verdict} | {spin['compile_seconds']:.1f} + {spin['seconds']:.1f} | "
                     f"{spin['states']:,} | {spin['memory_mb']:,.0f} | {spin_ratio(r)} |")
    return "\n".join(lines) + "\n"


def spin_ratio(row: dict[str, Any]) -> str:
    """SPIN's time (compile and search) over otaproof's: exact when SPIN decided, a lower bound
    when SPIN was stopped, none when otaproof did not decide."""
    spin, ours = row["spin"], row["otaproof"]
    if ours["verdict"] == "unknown":
        return "-"
    r = (spin["compile_seconds"] + spin["seconds"]) / ours["seconds"]
    return f"≥ ×{r:.1f}" if spin["verdict"] == "unknown" else f"×{r:.1f}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _spin_summary(rows: list[dict[str, Any]]) -> str:
    """One size's proofs and violations: how many each tool decided and the ratios."""
    def spread(xs: list[float]) -> str:
        low, high = f"{min(xs):.1f}", f"{max(xs):.1f}"
        return low if low == high else f"{low}-{high}"

    parts = []
    proved = [r for r in rows if r["otaproof"]["verdict"] == "proved"]
    if proved:
        done = [r for r in proved if r["spin"]["verdict"] == "proved"]
        ratios = [(r["spin"]["compile_seconds"] + r["spin"]["seconds"]) / r["otaproof"]["seconds"] for r in proved]
        parts.append(f"otaproof proved {_count(len(proved), 'property', 'properties')} in "
                     f"{spread([r['otaproof']['seconds'] for r in proved])} s each; "
                     f"SPIN completed {len(done)} of these searches, and its time over otaproof's is "
                     f"{'at least ' if len(done) < len(proved) else ''}×{min(ratios):.1f} on every one")
    violated = [r for r in rows if r["otaproof"]["verdict"] == "violated"]
    if violated:
        found = [r for r in violated if r["spin"]["verdict"] == "violated"]
        bounded = [r for r in violated if r.get("spin_bounded", {}).get("verdict") == "violated"]
        parts.append(f"otaproof found {_count(len(violated), 'violation')} in "
                     f"{spread([r['otaproof']['seconds'] for r in violated])} s, SPIN's search {len(found)}"
                     + (f" in {spread([r['spin']['seconds'] for r in found])} s of search "
                        f"({spread([r['spin']['compile_seconds'] + r['spin']['seconds'] for r in found])} s with "
                        "its compile)" if found else "")
                     + (f", and SPIN bounded by the counterexample's depth confirmed {len(bounded)} more"
                        if bounded else ""))
    unknown = [r["property"] for r in rows if r["otaproof"]["verdict"] == "unknown"]
    if unknown:
        parts.append(f"otaproof left {', '.join(unknown)} unknown")
    return "; ".join(parts) + "."


def devices_block(doc: dict[str, Any]) -> str:
    """Each property's verdict and seconds at every number of devices per hub, and its "for all
    N" result with the reason where it is not proved, from ``benchmarks/devices.py``'s results."""
    sizes, all_n = doc["sizes"], doc["all_n"]
    runs = [f"N = {s['devices']} ({s['ppmids']} PPMID{'s' * (s['ppmids'] != 1)}, {s['hcalcs']} HCALCS"
            f"{'s' * (s['hcalcs'] != 1)}): {_duration(s['wall_seconds'])}, load mean {s['load_sampled']['mean']:.1f}, "
            f"peak {s['load_sampled']['peak']:.1f}" for s in sizes]
    if all_n:
        runs.append(f"for all N: {_duration(all_n['wall_seconds'])}, load mean {all_n['load_sampled']['mean']:.1f}, "
                    f"peak {all_n['load_sampled']['peak']:.1f}")
    lines = [f"Measured {doc['date']} on {doc['cpus']} cores (`python benchmarks/devices.py`; the portfolio at each N "
             f"with {doc['timeout']:g} s of wall clock per engine run at most; each cell is the verdict and the "
             f"deciding engine's seconds; ✔ proved, ✘n violated at depth n, ? unknown within the budget). "
             + "; ".join(runs) + ".", ""]
    props = list(dict.fromkeys(r["property"] for s in sizes for r in s["results"]))
    if all_n:
        props += [r["property"] for r in all_n["results"] if r["property"] not in props]
    head = [f"N = {s['devices']}" for s in sizes] + (["for all N"] if all_n else [])
    lines += ["| property | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    verdicts = {(r["property"], s["devices"]): r for s in sizes for r in s["results"]}
    general = {r["property"]: r for r in (all_n["results"] if all_n else [])}
    for pid in props:
        cells = []
        for s in sizes:
            r = verdicts.get((pid, s["devices"]))
            cells.append("" if r is None else f"{MARK[r['verdict']].format(depth=r.get('depth', ''))} "
                                              f"{r['seconds']:.1f} s")
        if all_n:
            r = general.get(pid)
            cells.append("" if r is None else
                         f"{'✔ proved' if r['status'] == PROVED_ALL_N else 'not proved'} ({r['seconds']:.1f} s)")
        lines.append(f"| {pid} | " + " | ".join(cells) + " |")
    refused = [r for r in general.values() if r["status"] != PROVED_ALL_N]
    if refused:
        lines += ["", "Not proved for all N, and why (each device type's part):", ""]
        lines += [f"* {r['property']}: " + "; ".join(f"{t['device_model']}: {t['reason']}" for t in r["parts"]
                                                     if t["status"] != NO_PART) for r in refused]
    return "\n".join(lines) + "\n"


def cache_block(doc: dict[str, Any]) -> str:
    """``otaproof matrix`` with an empty certificate cache, everything cached, and after one design
    was edited, with what the cache gave and whether the verdicts held, from ``benchmarks/cache.py``."""
    lines = [f"Measured {doc['date']} on {doc['cpus']} cores (`python benchmarks/cache.py`): variants "
             f"{', '.join(doc['variants'])} and `bench-edited` (a file: the approved design, then edited to "
             f"`{doc['edit']}`), threat models {', '.join(doc['threat_models'])}; {doc['cells']} cells.", "",
             "| run | seconds | load mean / peak | what the cache gave |", "|---|---|---|---|"]
    for r in doc["runs"]:
        lines.append(f"| {r['label']} | {r['seconds']:.1f} | {r['load_sampled']['mean']:.1f} / "
                     f"{r['load_sampled']['peak']:.1f} | {r['cache']} |")
    reference = any(r["label"].startswith("edited, --no-cache") for r in doc["runs"])
    held = (("every verdict equal to the cold run's" + (", and the edited run's equal to the --no-cache run's"
                                                         if reference else ""))
            if not doc["verdicts_differ"] else f"**{len(doc['verdicts_differ'])} verdicts differ**")
    kept = ("the other designs' verdicts unchanged after the edit" if not doc["other_designs_changed"] else
            f"**{len(doc['other_designs_changed'])} verdicts of other designs changed after the edit**")
    return "\n".join([*lines, "", f"{held[0].upper()}{held[1:]}; {kept}."]) + "\n"


def explicit_block(doc: dict[str, Any]) -> str:
    """The explicit-state engine's breadth-first throughput and how far it enumerates the default
    model, from ``benchmarks/explicit.py``'s results."""
    rows = [*doc.get("throughput", []), *doc.get("enumeration", [])]
    lines = [f"Measured {doc['date']} on {doc['cpus']} cores (`python benchmarks/explicit.py`; distinct states "
             "discovered per second of wall clock by the breadth-first enumeration of the whole model, compile "
             "time apart; each run a forked process):", "",
             "| model | state limit | states | depth | complete | seconds | states/s | states/CPU s | peak MB | "
             "load mean / peak |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['limit']:,} | {r['error']} | | | | | | | |")
            continue
        lines.append(f"| {r['model']} | {r['limit']:,} | {r['states']:,} | {r['depth']} | "
                     f"{'yes' if r['complete'] else 'no'} | {r['seconds']:.1f} | {r['states'] / r['seconds']:,.0f} | "
                     f"{r['states'] / r['cpu_s']:,.0f} | {r['peak_mb']:,.0f} | {r['load_sampled']['mean']:.1f} / "
                     f"{r['load_sampled']['peak']:.1f} |")
    partial = [r for r in doc.get("enumeration", []) if "error" not in r and not r["complete"]]
    for r in partial:
        layers = r["layers"]
        lines += ["", f"{r['model']}: not enumerated whole within {r['limit']:,} states; states within each depth "
                  + ", ".join(f"{n:,}" for n in layers) + f" (depth {len(layers) - 1} over depth {len(layers) - 2}: "
                  f"×{layers[-1] / max(1, layers[-2]):.1f})."]
    return "\n".join(lines) + "\n"


def violations_block(doc: dict[str, Any]) -> str:
    """How fast the portfolio finds each violation of the README's matrix, with the slowest ones
    and any cell whose verdict or depth differs from the matrix, from ``benchmarks/explicit.py``."""
    rows = [r for r in doc["violations"] if r.get("portfolio")]
    found = [r for r in rows if r["portfolio"].get("verdict") == "violated"]
    seconds = sorted(r["portfolio"]["seconds"] for r in found)
    fast = sum(x <= 5.0 for x in seconds)
    differ = [r for r in rows if r["portfolio"].get("verdict") != "violated"
              or r["portfolio"].get("depth") != r["readme_depth"]]
    loads = [x for r in rows for x in r["load"]]
    lines = [f"Measured {doc['date']} on {doc['cpus']} cores (`{doc['generated_by']}`; `otaproof check` on the one "
             "property with the portfolio, timed from the call: the model's build, the lemma search and every "
             f"engine included; load average {min(loads):.1f}-{max(loads):.1f}): of the {len(rows)} safety "
             f"violations of the matrix, {len(found)} found, {fast} within 5 s; median "
             f"{seconds[len(seconds) // 2]:.1f} s, slowest {seconds[-1]:.1f} s. "
             + (f"**{len(differ)} differ from the matrix** (verdict or depth)." if differ else
                "Every one at the matrix's depth.")]
    slow = sorted(found, key=lambda r: -r["portfolio"]["seconds"])[:max(0, len(found) - fast)][:10]
    if slow:
        lines += ["", f"The slowest of those over 5 s ({len(slow)} of {len(found) - fast}):", "",
                  "| variant | threats | property | depth | seconds | engine |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['variant']} | {r['threats']} | {r['property']} | {r['portfolio']['depth']} | "
                  f"{r['portfolio']['seconds']:.1f} | {r['portfolio']['engine']} |" for r in slow]
    if differ:
        lines += ["", "Differing from the matrix: " + ", ".join(
            f"{r['variant']}/{r['threats']}/{r['property']} (matrix ✘{r['readme_depth']}, here "
            f"{r['portfolio'].get('verdict', r['portfolio'].get('error'))} {r['portfolio'].get('depth', '')})"
            for r in differ) + "."]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "matrix": ("results/matrix.json", matrix_block),
    "conformance": ("results/coverage.json", conformance_block),
    "mutants": ("results/mutants.json", mutants_block),
    "automutants": ("results/automutants.json", automutants_block),
    "check-time": ("results/check-time.json", check_time_block),
    "spin": ("results/spin.json", spin_block),
    "devices": ("results/devices.json", devices_block),
    "cache": ("results/cache.json", cache_block),
    "explicit": ("results/explicit.json", explicit_block),
    "violations": ("results/violations.json", violations_block),
}


def render(readme: str, root: Path = ROOT) -> str:
    """``readme`` with every generated block re-rendered from its results file."""

    def fill(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in RENDERERS:
            raise KeyError(f"README block {name!r} has no renderer; known: {', '.join(RENDERERS)}")
        path, renderer = RENDERERS[name]
        doc = json.loads((root / path).read_text(encoding="utf-8"))
        return m.group(1) + renderer(doc) + m.group(4)

    return BLOCK.sub(fill, readme)


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md's generated blocks (exit 0), or with ``--check`` exit 1 if they are stale."""
    parser = argparse.ArgumentParser(prog="python -m otaproof.reports.readme", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the README is stale")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("README.md is stale: run python -m otaproof.reports.readme", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        write_atomic(path, fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
