"""Message sequence charts of counterexamples: events read from a trace and the model, drawn as
SVG (offline, deterministic) and written as Mermaid ``sequenceDiagram`` text.

Nothing here knows a particular trace or action: which machine acted comes from the trace step,
which messages moved from the changes of the model's channels (each channel names its sending
and receiving machine), which machines took part from the action's ``joint`` machines, and whose
state changed from each variable's owner. Ghost variables (proof bookkeeping) are left out.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape
from typing import Any

from otaproof.model.variants import BuiltModel
from otaproof.properties.trace import Trace, TraceStep

# the lifelines a reader expects, in this order; other machines follow when they act
LIFELINES = ("Supplier", "DSP", "CPL", "CH", "PPMID", "HCALCS", "Attacker", "Network")
ATTACK_ROLES = ("attacker",)
FAULT_ROLES = ("fault",)


@dataclass(frozen=True)
class ModelFacts:
    """What a chart needs to know about the model a trace ran on."""

    machines: tuple[str, ...]
    channels: dict[str, tuple[str, str]]    # channel -> (sending machine, receiving machine)
    owners: dict[str, str]                  # visible state variable -> owning machine
    defaults: dict[str, Any]                # channel slot field variable -> its initial value
    roles: dict[str, str]                   # action -> system | environment | attacker | fault
    joint: dict[str, tuple[str, ...]]       # action -> the other machines taking part
    devices: dict[str, tuple[str, ...]]     # device machine -> its devices (P1, H1, ...)


def model_facts(built: BuiltModel) -> ModelFacts:
    """Read lifelines, channels and variable owners from a built model."""
    system = built.system
    channels = {name: (ch.src, ch.dst) for name, ch in built.model.b.channels.items()}
    owners, defaults = {}, {}
    for v in system.variables:
        if v.owner.startswith("channel:"):
            defaults[v.name] = v.sort.decode(v.init)
        elif not v.ghost and v.owner != "monitor":
            owners[v.name] = v.owner
    m = built.model
    devices = {"PPMID": tuple(m.ppmids), "HCALCS": tuple(m.hcalcs)}
    return ModelFacts(tuple(system.machines), channels, owners, defaults,
                      {name: a.role for name, a in system.actions.items()},
                      {name: tuple(a.joint) for name, a in system.actions.items()}, devices)


@dataclass(frozen=True)
class Event:
    """One row of a chart. ``kind``: action (a box on ``source``), message (an arrow ``source`` ->
    ``target``), attack / fault (an arrow of the attacker or the network), state (a box of
    changed state on ``source``), violation (the violated check, across the chart)."""

    step: int
    kind: str
    source: str
    target: str
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    lifelines: tuple[tuple[str, str], ...]  # (machine, label)
    events: tuple[Event, ...]


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "{" + ", ".join(map(str, v)) + "}"
    return str(v).lower() if isinstance(v, bool) else str(v)


def _call(name: str, params: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={_value(v)}' for k, v in params.items())})"


def _message(facts: ModelFacts, state: dict[str, Any], channel: str, slot: int) -> str:
    """A message as ``KIND(field=value, ...)``: ghost fields and fields at their default left out."""
    prefix = f"{channel}[{slot}]."
    fields = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    kind = fields.pop("kind", "message")
    shown = {k: v for k, v in fields.items()
             if not k.startswith("g_") and v != facts.defaults.get(prefix + k)}
    return _call(str(kind), shown) if shown else str(kind)


def _channel_of(name: str, facts: ModelFacts) -> str | None:
    for ch in facts.channels:
        if name == f"{ch}.len" or name.startswith(f"{ch}["):
            return ch
    return None


def step_events(step: TraceStep, before: dict[str, Any], facts: ModelFacts) -> list[Event]:
    """The chart rows of one trace step: the action, the messages it moved, the state it changed."""
    actor, role = step.machine, facts.roles.get(step.action, "system")
    joint = facts.joint.get(step.action, ())
    events: list[Event] = []
    touched: dict[str, list[str]] = {}
    for name in step.changes:
        ch = _channel_of(name, facts)
        if ch is not None:
            touched.setdefault(ch, []).append(name)
    taken, moved = [], []
    for ch in sorted(touched):
        src, dst = facts.channels[ch]
        old, new = (step.changes.get(f"{ch}.len") or [before.get(f"{ch}.len", 0)] * 2)
        if new > old:
            sender = src if src in (actor, *joint) else actor
            moved.append(Event(step.step, _arrow_kind(role), sender, dst,
                               f"{_message(facts, step.state, ch, new - 1)} on {ch}"))
        elif new < old:
            what = _message(facts, before, ch, 0)
            if actor == dst or dst in joint:
                taken.append(what)
            else:
                verb = "loses" if role in FAULT_ROLES else "drops"
                moved.append(Event(step.step, _arrow_kind(role), actor, dst, f"{verb} {what} on {ch}"))
        else:
            was, now = _message(facts, before, ch, 0), _message(facts, step.state, ch, 0)
            moved.append(Event(step.step, _arrow_kind(role), actor, dst, f"alters {was} on {ch} into {now}"))
    label = f"{step.step}. {_call(step.action, step.parameters)}"
    if step.branch not in ("ok", "?"):
        label += f" → {step.branch}"
    if taken:
        label += f" (takes {', '.join(taken)})"
    if joint:
        events += [Event(step.step, "message", actor, other, label) for other in joint]
    else:
        events.append(Event(step.step, "action", actor, actor, label))
    events += moved
    for machine, lines in _state_changes(step, facts).items():
        events.append(Event(step.step, "state", machine, machine, "; ".join(lines)))
    return events


def _arrow_kind(role: str) -> str:
    return "attack" if role in ATTACK_ROLES else "fault" if role in FAULT_ROLES else "message"


def _state_changes(step: TraceStep, facts: ModelFacts) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, (old, new) in step.changes.items():
        owner = facts.owners.get(name)
        if owner is None:
            continue
        short = name.removeprefix(f"{owner}.")
        out.setdefault(owner, []).append(f"{short}: {_value(old)} → {_value(new)}")
    return out


def chart(trace: Trace, facts: ModelFacts, violated: str) -> Chart:
    """The whole counterexample as a chart; ``violated`` says which check fails at the end."""
    events: list[Event] = []
    before = dict(trace.initial_state)
    for step in trace.steps:
        events += step_events(step, before, facts)
        before = step.state
    last = trace.steps[-1].step if trace.steps else 0
    events.append(Event(last, "violation", "", "", violated))
    used = {e.source for e in events} | {e.target for e in events}
    present = [m for m in LIFELINES if m in facts.machines]
    present += [m for m in facts.machines if m not in present and m in used]
    lifelines = tuple((m, f"{m} ({', '.join(facts.devices[m])})" if facts.devices.get(m) else m) for m in present)
    return Chart(f"Counterexample to {trace.property} on {trace.variant} "
                 f"({'+'.join(trace.threats) or 'no attacker'}, {len(trace.steps)} steps)", lifelines, tuple(events))


# ---- SVG ---------------------------------------------------------------------------------------
COLUMN, LEFT, TOP, LINE, FONT, CHAR, BOLD_CHAR = 150, 46, 56, 14, 11, 6.4, 7.4
COLOURS = {"message": "#1f4e79", "attack": "#b00020", "fault": "#8a5a00", "action": "#333333",
           "state": "#2e6b30", "violation": "#b00020"}


def _wrap(text: str, width_px: float) -> list[str]:
    return textwrap.wrap(text, max(8, int(width_px / CHAR)), break_long_words=True, break_on_hyphens=False) or [""]


def _text(x: float, y: float, lines: list[str], anchor: str = "middle", colour: str = "#222", weight: str = "normal"
          ) -> str:
    spans = "".join(f'<tspan x="{x:.0f}" dy="{0 if i == 0 else LINE}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-size="{FONT}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}">{spans}</text>')


def svg(c: Chart) -> str:
    """The chart as one standalone SVG element (no scripts, no external references)."""
    xs = {m: LEFT + COLUMN / 2 + i * COLUMN for i, (m, _) in enumerate(c.lifelines)}
    width = LEFT + COLUMN * len(c.lifelines) + 10
    body: list[str] = []
    y = TOP + 10
    last_step = None
    for e in c.events:
        colour = COLOURS[e.kind]
        if e.step != last_step and e.kind != "violation":
            body.append(f'<line x1="4" x2="{width - 4}" y1="{y - 4}" y2="{y - 4}" stroke="#eeeeee"/>')
            body.append(_text(18, y + 10, [str(e.step)], "middle", "#666", "bold"))
            last_step = e.step
        if e.kind in ("action", "state") and e.source in xs:
            box = min(2 * COLUMN - 20, max(COLUMN - 10, len(e.text) * CHAR + 16))
            lines = _wrap(e.text, box - 14)
            h = LINE * len(lines) + 8
            x = min(max(xs[e.source], LEFT + box / 2), width - 10 - box / 2)
            fill = "#f4f4f4" if e.kind == "action" else "#eaf5ea"
            body.append(f'<rect x="{x - box / 2:.0f}" y="{y}" width="{box:.0f}" height="{h}" rx="3" '
                        f'fill="{fill}" stroke="{colour}"/>')
            body.append(_text(x, y + 13, lines, colour=colour))
            y += h + 8
        elif e.kind == "violation":
            lines = _wrap("✘ " + e.text, (width - LEFT - 30) * CHAR / BOLD_CHAR)
            h = LINE * len(lines) + 10
            body.append(f'<rect x="{LEFT}" y="{y}" width="{width - LEFT - 10}" height="{h}" rx="3" fill="#fde8ea" '
                        f'stroke="{colour}" stroke-width="2"/>')
            body.append(_text(LEFT + 10, y + 15, lines, "start", colour, "bold"))
            y += h + 8
        elif e.source in xs and e.target in xs:
            x1, x2 = xs[e.source], xs[e.target]
            span = max(abs(x2 - x1), COLUMN) - 10
            lines = _wrap(e.text, span)
            ty = y + 10
            y += LINE * len(lines) + 4
            dash = ' stroke-dasharray="5,3"' if e.kind in ("attack", "fault") else ""
            if x1 == x2:  # a machine sending to itself: a small loop
                body.append(f'<path d="M{x1:.0f},{y} h30 v10 h-30" fill="none" stroke="{colour}"{dash}/>')
                body.append(_text(x1 + 36, ty, lines, "start", colour))
                y += 18
            else:
                tip = -8 if x2 > x1 else 8
                body.append(f'<line x1="{x1:.0f}" y1="{y}" x2="{x2:.0f}" y2="{y}" stroke="{colour}" '
                            f'stroke-width="1.5"{dash}/>')
                body.append(f'<path d="M{x2:.0f},{y} l{tip},-4 v8 z" fill="{colour}"/>')
                body.append(_text((x1 + x2) / 2, ty, lines, colour=colour))
                y += 12
    height = y + 10
    head = [f'<rect x="{xs[m] - COLUMN / 2 + 8:.0f}" y="8" width="{COLUMN - 16}" height="30" rx="4" fill="#e8eef6" '
            f'stroke="#1f4e79"/>' + _text(xs[m], 27, _wrap(label, COLUMN - 20)[:1], weight="bold")
            for m, label in c.lifelines]
    lines = [f'<line x1="{x:.0f}" y1="38" x2="{x:.0f}" y2="{height - 4}" stroke="#9aa9bb" stroke-dasharray="4,4"/>'
             for x in xs.values()]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="msc" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" font-family="DejaVu Sans, Arial, sans-serif">'
            f'<title>{escape(c.title)}</title><rect width="100%" height="100%" fill="#ffffff"/>'
            + "".join(lines + head + body) + "</svg>")


# ---- Mermaid -----------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Mermaid ends a statement at ';' and reads '#' as an entity: keep both out of labels."""
    return text.replace(";", ",").replace("#", "No. ").replace("\n", " ")


def mermaid(c: Chart) -> str:
    """The chart as a Mermaid ``sequenceDiagram`` (GitHub and GitLab draw it)."""
    out = ["sequenceDiagram"]
    out += [f"    participant {m} as {_mermaid_text(label)}" if label != m else f"    participant {m}"
            for m, label in c.lifelines]
    first, last = c.lifelines[0][0], c.lifelines[-1][0]
    arrows = {"message": "->>", "attack": "--)", "fault": "-x"}
    for e in c.events:
        text = _mermaid_text(e.text)
        if e.kind == "violation":
            out.append(f"    Note over {first},{last}: ✘ {text}")
        elif e.kind == "action":
            out.append(f"    Note over {e.source}: {text}")
        elif e.kind == "state":
            out.append(f"    Note right of {e.source}: {text}")
        else:
            out.append(f"    {e.source}{arrows[e.kind]}{e.target}: {text}")
    return "\n".join(out)
