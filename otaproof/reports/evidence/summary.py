"""The report's sentences, each generated from verdicts, findings and storm figures (no stored
conclusion): the one-page summary, the answers to the working group's questions, and what a
design change fixes and breaks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from otaproof.model.variants import get_variant
from otaproof.properties.verdict import Violated
from otaproof.reports.diff import Comparison, compare
from otaproof.reports.evidence.findings import Cell, Finding
from otaproof.reports.matrix import Row
from otaproof.reports.questions import Question, storm_lines
from otaproof.reports.storm import StormResult


def join(items: list[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def under(models: list[str]) -> str:
    """Threat models in words: 'without an attacker', 'under han_mitm', ..."""
    named = [m for m in models if m != "none"]
    if "none" in models:
        return "without an attacker" + (f" and under {join(named)}" if named else "")
    return f"under {join(named)}"


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") and word[-2:] not in ("ay", "ey", "oy") else f"{n} {word}s"


def finding_sentence(f: Finding) -> str:
    """'Under han_mitm, secmp0007 loses P-CPL: <how> (8 steps, finding F3).'"""
    where = under(f.threat_models)
    return (f"{where[0].upper()}{where[1:]}, {f.first.variant} loses {f.first.prop.id}: {f.how} "
            f"({plural(len(f.trace.steps), 'step')}, finding {f.id}).")


@dataclass(frozen=True)
class DesignSummary:
    variant: str
    doc: str
    sentences: list[str]


def _listing(pairs: dict[str, list[str]], total_models: int) -> list[str]:
    out = []
    for pid, models in pairs.items():
        every = len(models) == total_models > 1
        out.append(f"{pid} ({'under every threat model checked' if every else under(models)})")
    return out


def design_summary(variant: str, all_cells: list[Cell], by_cell: dict[str, Finding],
                   unchecked: frozenset[str] = frozenset()) -> DesignSummary:
    """Which properties hold for one design under which threat models, in plain sentences
    (``unchecked``: keys of proved cells whose certificate was not independently re-checked)."""
    mine = [c for c in all_cells if c.variant == variant]
    models = list(dict.fromkeys(c.threat_model for c in mine))
    props = list(dict.fromkeys(c.prop.id for c in mine))
    status: dict[str, dict[str, list[str]]] = {p: {"proved": [], "violated": [], "unknown": []} for p in props}
    for c in mine:
        status[c.prop.id][c.outcome.verdict.verdict].append(c.threat_model)
    holds = [p for p in props if len(status[p]["proved"]) == len(models)]
    lost = {p: status[p]["violated"] for p in props if status[p]["violated"]}
    open_ = {p: status[p]["unknown"] for p in props if status[p]["unknown"]}
    sentences = [f"{plural(len(props), 'property')} checked {under(models)}"
                 + (f" ({plural(len(models), 'threat model')})" if len(models) > 1 else "") + "."]
    if holds:
        alone = [p for p in holds if any(c.key in unchecked for c in mine if c.prop.id == p)]
        caveat = f"; {join(alone)} by a proof not independently re-checked (see Proofs)" if alone else ""
        sentences.append(f"Proved under every threat model checked (each proof's obligations solved again by a "
                         f"fresh Z3 process{caveat}): {join(holds)}.")
    if lost:
        firsts: dict[str, list[str]] = {}
        for c in mine:
            f = by_cell.get(c.key)
            if f is not None:
                firsts.setdefault(c.prop.id, []).append(f.id)
        items = [f"{text} — {join(sorted(set(firsts.get(pid, [])), key=lambda x: int(x[1:])))}"
                 for pid, text in zip(lost, _listing(lost, len(models)), strict=True)]
        sentences.append(f"Violated, each by a counterexample replayed on the model: {'; '.join(items)}.")
    else:
        sentences.append("No property checked is violated.")
    if open_:
        sentences.append(f"Undecided within the budget (unknown, never counted as holding): "
                         f"{'; '.join(_listing(open_, len(models)))}.")
    return DesignSummary(variant, get_variant(variant).doc, sentences)


def headline(all_cells: list[Cell], found: list[Finding], designs: list[str], models: list[str]) -> str:
    count = Counter(str(c.outcome.verdict.verdict) for c in all_cells)
    props = len({c.prop.id for c in all_cells})
    return (f"This pack checks {plural(len(designs), 'design')} under {plural(len(models), 'threat model')} "
            f"against {plural(props, 'security property')}: {plural(count['proved'], 'verdict')} proved, "
            f"{count['violated']} violated ({plural(len(found), 'distinct counterexample')}, the findings), "
            f"{count['unknown']} unknown.")


# ---- the working group's questions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    question: Question
    paragraph: str
    checked: list[Cell]  # the cells that back it (its table)


def answer(q: Question, all_cells: list[Cell], by_cell: dict[str, Finding], storms: list[StormResult]) -> Answer:
    """One paragraph from the verdicts of the question's properties under its threat models."""
    cells_ = [c for c in all_cells if c.prop.id in q.properties and c.threat_model in q.threat_models]
    parts: list[str] = []
    if not cells_ and q.properties:
        parts.append(f"Not answered by this pack: it checks none of {join(list(q.properties))} "
                     f"{under(list(q.threat_models))}.")
    designs = list(dict.fromkeys(c.variant for c in cells_))
    for pid in q.properties:
        mine = [c for c in cells_ if c.prop.id == pid]
        if not mine:
            continue
        holds = [d for d in designs if all(c.outcome.verdict.verdict == "proved" for c in mine if c.variant == d)]
        broken = []
        for d in designs:
            bad = [c for c in mine if c.variant == d and isinstance(c.outcome.verdict, Violated)]
            if bad:
                ids = sorted({by_cell[c.key].id for c in bad if c.key in by_cell}, key=lambda x: int(x[1:]))
                broken.append(f"{d} ({under([c.threat_model for c in bad])}; {join(ids)})")
        unknown = [d for d in designs if any(c.outcome.verdict.verdict == "unknown" for c in mine if c.variant == d)]
        text = f"{pid} holds in {join(holds) or 'none of the designs checked'}"
        if broken:
            text += f" and is violated in {join(broken)}"
        if unknown:
            text += f"; it is undecided in {join(unknown)}"
        parts.append(text + ".")
    if len(q.properties) > 1 and cells_:
        required = {(pid, tm) for pid in q.properties for tm in q.threat_models}
        full = [d for d in designs if required <= {(c.prop.id, c.threat_model) for c in cells_ if c.variant == d}]
        good = [d for d in full if all(c.outcome.verdict.verdict == "proved" for c in cells_ if c.variant == d)]
        if full:
            parts.append(f"Designs that satisfy {join(list(q.properties))} {under(list(q.threat_models))}: "
                         f"{join(good) or 'none'} (of {join(full)}, the designs checked for all of them).")
        else:
            parts.append(f"No design was checked for all of {join(list(q.properties))} "
                         f"{under(list(q.threat_models))}, so this pack does not say which designs satisfy them all.")
    if q.storm and storms:
        lines = storm_lines(storms)
        parts.append("Alert storm: " + "; ".join(lines[:-1]) + f". The {lines[-1]}.")
    return Answer(q, " ".join(parts), cells_)


# ---- a design change ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """Design A against design B under one threat model."""

    threat_model: str
    comparisons: list[Comparison]
    a_row: Row
    b_row: Row


def changes(rows: list[Row], baseline: str, change: str) -> list[Change]:
    """Pair the baseline's and the changed design's rows by threat model."""
    a = {r.threat_model: r for r in rows if r.scenario.variant == baseline}
    b = {r.threat_model: r for r in rows if r.scenario.variant == change}
    return [Change(tm, compare(a[tm].outcomes, b[tm].outcomes), a[tm], b[tm]) for tm in a if tm in b]


def change_sentences(found: list[Change], baseline: str, change: str, by_cell: dict[str, Finding]) -> list[str]:
    """Which properties flip between the designs, under which threat models, and why (the
    counterexample on the side where the property fails)."""
    flips: dict[tuple[str, str], list[tuple[str, Comparison]]] = {}
    for ch in found:
        for cmp in ch.comparisons:
            if cmp.change in ("broken by B", "fixed by B"):
                flips.setdefault((cmp.change, cmp.a.property.id), []).append((ch.threat_model, cmp))
    out = []
    models = [ch.threat_model for ch in found]
    for (kind, pid), items in sorted(flips.items(), key=lambda kv: (kv[0][0] != "broken by B", kv[0][1])):
        tms = [tm for tm, _ in items]
        side = change if kind == "broken by B" else baseline
        key = f"{side}/{tms[0]}/{pid}"
        f = by_cell.get(key)
        why = f" because {f.how} (finding {f.id})" if f else ""
        verb = "breaks" if kind == "broken by B" else "fixes"
        holder = baseline if kind == "broken by B" else change
        out.append(f"{change} {verb} {pid} {under(tms)}: it is proved in {holder} and violated in {side}{why}.")
    same = Counter(cmp.change for ch in found for cmp in ch.comparisons)
    out.append(f"Unchanged {under(models)}: {plural(same['holds in both'], 'verdict')} proved in both designs, "
               f"{same['violated in both']} violated in both"
               + (f", {same['undecided in one'] + same['unknown in both']} undecided in at least one design"
                  if same["undecided in one"] + same["unknown in both"] else "") + ".")
    if not flips:
        out.insert(0, f"No verdict flips between {baseline} and {change} {under(models)}.")
    return out
