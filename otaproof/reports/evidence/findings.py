"""Cells and findings: every verdict of the matrix with the place of its evidence in the pack,
and each distinct counterexample (a finding) described in words generated from its trace.

A finding is one counterexample of one property on one design; when the same steps violate the
property under several threat models it is one finding (each cell keeps its own trace file).
Findings are numbered F1, F2, ... with those that matter most first: the reference design before
the others (for a design change: the verdicts it flips first), fewer attacker capabilities before
more, then catalogue order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from otaproof.model.config import Scenario
from otaproof.model.lang import Expr, Next, Var, walk
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.catalogue import CATALOGUE, Property
from otaproof.properties.check import Outcome
from otaproof.properties.trace import Trace
from otaproof.properties.verdict import Proved, Violated
from otaproof.reports.matrix import Row
from otaproof.reports.questions import SPELLED_OUT_STEPS

ORDER = {p.id: n for n, p in enumerate(CATALOGUE)}
NON_SYSTEM = ("attacker", "fault", "environment")


@dataclass(frozen=True)
class Cell:
    """One verdict: a design under a threat model, one property."""

    row: Row
    outcome: Outcome

    @property
    def variant(self) -> str:
        return self.row.scenario.variant

    @property
    def threat_model(self) -> str:
        return self.row.threat_model

    @property
    def prop(self) -> Property:
        return self.outcome.property

    @property
    def key(self) -> str:
        return f"{self.variant}/{self.threat_model}/{self.prop.id}"

    @property
    def anchor(self) -> str:
        return "cell-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)

    @property
    def trace_file(self) -> str | None:
        return f"traces/{self.key}.json" if isinstance(self.outcome.verdict, Violated) else None


def cells(rows: list[Row]) -> list[Cell]:
    return [Cell(row, o) for row in rows for o in row.outcomes]


@cache
def built_model(scenario: Scenario) -> BuiltModel:
    """The model a cell was checked on (built once per scenario)."""
    return build(scenario)


@dataclass(frozen=True)
class Finding:
    id: str
    cells: tuple[Cell, ...]   # the cells this counterexample violates (same design and property)
    trace: Trace              # the first cell's trace
    how: str                  # the counterexample in words (generated)

    @property
    def anchor(self) -> str:
        return f"finding-{self.id}"

    @property
    def first(self) -> Cell:
        return self.cells[0]

    @property
    def threat_models(self) -> list[str]:
        return [c.threat_model for c in self.cells]


def _signature(trace: Trace) -> tuple[Any, ...]:
    return tuple((s.machine, s.action, tuple(sorted(map(str, s.parameters.items()))), s.branch) for s in trace.steps)


def findings(all_cells: list[Cell], first_design: str, first_cells: frozenset[str] = frozenset()) -> list[Finding]:
    """Group the violated cells into findings, most important first (those of ``first_cells``,
    say the verdicts a design change flips, then ``first_design``'s), numbered F1, F2, ..."""
    groups: dict[tuple[Any, ...], list[Cell]] = {}
    for c in all_cells:
        v = c.outcome.verdict
        if isinstance(v, Violated):
            groups.setdefault((c.variant, c.prop.id, _signature(v.trace)), []).append(c)

    def rank(group: list[Cell]) -> tuple[bool, bool, int, int, str, int]:
        c = group[0]
        depth = len(c.outcome.verdict.trace.steps)  # type: ignore[union-attr]
        return (not any(x.key in first_cells for x in group), c.variant != first_design,
                len(c.row.scenario.threats), ORDER.get(c.prop.id, 999), c.variant, depth)

    ordered = sorted(groups.values(), key=rank)
    out = []
    for n, group in enumerate(ordered, 1):
        trace = group[0].outcome.verdict.trace  # type: ignore[union-attr]
        out.append(Finding(f"F{n}", tuple(group), trace, describe(group[0], trace)))
    return out


# ---- the counterexample in words -------------------------------------------------------------------
def formula_variables(built: BuiltModel, prop: Property) -> set[str]:
    """Names of the state variables the property's formula reads (its subject)."""
    formula = prop.formula(built)
    names: set[str] = set()
    for f in formula if isinstance(formula, list) else [formula]:
        for attr in ("pred", "trigger", "response", "target"):
            e = getattr(f, attr, None)
            if isinstance(e, Expr):
                for n in walk(e):
                    if isinstance(n, Var):
                        names.add(n.name)
                    elif isinstance(n, Next):
                        names.add(n.var.name)
    return names


def image_words(built: BuiltModel, image: str, state: dict[str, Any]) -> str | None:
    """How a firmware image stands, from the model's image catalogue and the CPL in ``state``."""
    m = built.model
    info = m.catalogue.get(image)
    if info is None:
        return None
    if not info.signed:
        return f"a rogue {info.model} image (no valid manufacturer signature), which the CPL cannot list"
    what = f"a genuine {info.model} image" + ("" if info.hw_ok else " built for another hardware revision")
    listed, ever = m.listed.get(image), m.ever_listed.get(image)
    if listed is not None and state.get(listed.name):
        return f"{what} listed on the CPL"
    if ever is not None and state.get(ever.name):
        return f"{what} removed from the CPL"
    return f"{what} never listed on the CPL"


def _step_words(trace: Trace, n: int) -> str:
    s = trace.steps[n]
    args = ", ".join(f"{k}={v}" for k, v in s.parameters.items())
    return f"{s.machine}'s {s.action}({args})"


def describe(cell: Cell, trace: Trace) -> str:
    """The counterexample in one clause: what an attacker, the network or the environment did,
    and what the violating step changed (images described by catalogue and CPL status)."""
    built = built_model(cell.row.scenario)
    prop = cell.prop
    if not trace.steps:
        return "the initial state already violates it"
    roles = {name: a.role for name, a in built.system.actions.items()}
    if len(trace.steps) <= SPELLED_OUT_STEPS:
        before = "after " + ", ".join(_step_words(trace, n) for n in range(len(trace.steps)))
    else:
        moves = [n for n, s in enumerate(trace.steps) if roles.get(s.action) in NON_SYSTEM]
        shown = moves[:3]
        before = "after " + ", ".join(_step_words(trace, n) for n in shown) if shown else \
            "with only the system's own steps"
        if len(moves) > len(shown):
            before += f" and {len(moves) - len(shown)} more such step(s)"
    if prop.kind == "REACH":
        formula = prop.formula(built)
        subjects = [getattr(f, "subject", "the target") for f in (formula if isinstance(formula, list) else [formula])]
        return f"{before}, no sequence of legitimate steps leads any more to: {'; '.join(subjects)}"
    subject = formula_variables(built, prop)
    last = trace.steps[-1]
    visible = {k: v for k, v in last.changes.items() if k in built_visible(built)}
    chosen = {k: v for k, v in visible.items() if k in subject} or visible
    effects = []
    for name, (old, new) in sorted(chosen.items())[:3]:
        words = image_words(built, str(new), last.state)
        effects.append(f"{name} goes from {old} to {new}" + (f", {words}" if words else ""))
    effect = "; ".join(effects) or f"{last.action} fires"
    if prop.kind == "BR":
        return (f"{before}, the response it requires does not come within the bound (k = "
                f"{built.system.parameters.get('response_bound')} counted steps); the last step: {effect}")
    return f"{before}, the violating step {last.action}: {effect}"


def built_visible(built: BuiltModel) -> frozenset[str]:
    """Non-ghost state variables of the machines (not channel slots, not proof bookkeeping)."""
    return frozenset(v.name for v in built.system.variables
                     if not v.ghost and v.owner != "monitor" and not v.owner.startswith("channel:"))


def proved_cells(all_cells: list[Cell]) -> list[Cell]:
    return [c for c in all_cells if isinstance(c.outcome.verdict, Proved)]
