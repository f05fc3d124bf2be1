"""Terminal rendering: the verdict table and counterexample step tables (rich)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from otaproof.properties.check import Outcome
from otaproof.properties.recheck import Recheck
from otaproof.properties.trace import Trace
from otaproof.properties.verdict import RUN, Proved, Violated, provenance_of

STYLE = {"proved": "green", "violated": "red", "unknown": "yellow"}
RECHECK_COLUMN = "re-checked by (obligation files)"
_SLOT = re.compile(r"^(?P<chan>.+?)\[(?P<slot>\d+)\]\.(?P<field>[a-z_]+)$")
# the model's provenance ghosts (who authorised, which image the DSP validated, CPL history,
# accepted counters): bookkeeping for properties, folded away in step tables
_HISTORY = re.compile(r"(_validated|_authoriser|ever_listed|max_accepted_counter)(\[[^\]]*\])?$")


LEGEND = ("proved: holds in every reachable state (its certificate re-checked); violated: a counterexample, replayed; "
          "unknown: not decided within the budget. Kinds: INV a state invariant, HIST a property of every step, BR a "
          "bounded response, REACH recovery always possible. The invariant column gives the proof's size (clauses "
          "found by the engine + candidate lemmas it kept); depth is the counterexample's number of steps. An engine "
          "marked cached: the certificate or trace came from the certificate cache and was re-checked on this model "
          "(cached-earlier-model: it was found for an earlier version of the design).")


def verdict_table(outcomes: list[Outcome], title: str, rechecks: Mapping[str, Recheck] | None = None) -> Table:
    """One row per property; with ``rechecks``, a column saying which solvers independently
    accepted each proof from its obligation files, and how long they took."""
    table = Table(title=title, title_justify="left", caption=LEGEND, caption_justify="left")
    columns = ("property", "kind", "verdict", "engine", "depth / invariant", "time (s)")
    wrapped = ("depth / invariant", RECHECK_COLUMN)
    for col in columns + ((RECHECK_COLUMN,) if rechecks is not None else ()):
        table.add_column(col, no_wrap=col not in wrapped)
    for o in outcomes:
        v = o.verdict
        if isinstance(v, Proved):
            detail = v.detail + (", re-checked" if v.certificate.checked else "")
        elif isinstance(v, Violated):
            detail = v.detail
        else:
            detail = v.detail
        origin = provenance_of(v)
        engine = v.engine if origin == RUN else f"{v.engine} ({origin})"
        row = [o.property.id, o.property.kind, f"[{STYLE[v.verdict]}]{v.verdict}[/]", engine, detail,
               f"{v.seconds:.2f}"]
        if rechecks is not None:
            r = rechecks.get(o.property.id)
            row.append(r.summary() if r is not None else "-")
        table.add_row(*row)
    return table


def _summarise_changes(changes: dict[str, list[Any]], state: dict[str, Any]) -> list[str]:
    """Readable changes: channel traffic as messages, ghosts and slot internals folded away."""
    lines: list[str] = []
    channels: dict[str, tuple[int, int]] = {}
    for name, (old, new) in changes.items():
        if name.endswith(".len"):
            channels[name[:-4]] = (old, new)
    for chan, (old, new) in channels.items():
        if new > old:
            slot = new - 1
            fields = {m.group("field"): v for k, v in state.items()
                      if (m := _SLOT.match(k)) and m.group("chan") == chan and int(m.group("slot")) == slot
                      and not m.group("field").startswith("g_")}
            kind = fields.pop("kind", "message")
            shown = ", ".join(f"{k}={v}" for k, v in fields.items() if v not in ("none", 0, False, "S1") or k == "img")
            lines.append(f"sends {kind}({shown}) on {chan}")
        else:
            lines.append(f"takes a message from {chan}")
    for name, (old, new) in changes.items():
        m = _SLOT.match(name)
        if name.endswith(".len") or (m and m.group("chan") in channels):
            continue
        if m and m.group("field").startswith("g_"):
            continue
        if m:
            lines.append(f"{m.group('chan')} head {m.group('field')}: {old} -> {new}")
        elif _HISTORY.search(name):
            continue
        else:
            lines.append(f"{name}: {old} -> {new}")
    return lines


def step_table(trace: Trace) -> Table:
    table = Table(title=f"Counterexample to {trace.property} ({len(trace.steps)} steps)", title_justify="left")
    for col in ("step", "machine", "action", "what changed"):
        table.add_column(col)
    for s in trace.steps:
        params = ", ".join(f"{k}={v}" for k, v in s.parameters.items())
        action = f"{s.action}({params})" + (f"\n→ {s.branch}" if s.branch not in ("ok", "?") else "")
        table.add_row(str(s.step), s.machine, action, "\n".join(_summarise_changes(s.changes, s.state)) or "-")
    return table


def print_outcomes(console: Console, outcomes: list[Outcome], title: str, show_traces: bool = True,
                   rechecks: Mapping[str, Recheck] | None = None) -> None:
    console.print(verdict_table(outcomes, title, rechecks))
    if show_traces:
        for o in outcomes:
            if isinstance(o.verdict, Violated):
                console.print(f"\n[bold]{o.property.id}[/]: {o.property.statement}")
                console.print(step_table(o.verdict.trace))
                if o.property.kind == "REACH":
                    console.print("From the last state no sequence of legitimate actions reaches the target "
                                  "(established on the full reachable graph of the property's cone of influence).")
