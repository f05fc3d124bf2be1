"""Message sequence charts: events come from the model's channels, owners and roles, not from
knowledge of particular actions. Traces here are found by a small search in the explicit
semantics (no solver), so they follow the model whatever its actions are called."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import deque

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import BuiltModel, build
from otaproof.properties.trace import Trace, make_trace
from otaproof.reports.evidence import msc


def _search(built: BuiltModel, goal, depth: int = 4) -> list[int]:  # type: ignore[no-untyped-def]
    """The shortest instance sequence whose last step satisfies ``goal(instance, before, after)``."""
    interp = Interpreter(built.system)
    start = interp.initial_state()
    queue, seen = deque([(start, [])]), {start}
    while queue:
        state, path = queue.popleft()
        if len(path) >= depth:
            continue
        for index, nxt in interp.successors(state):
            if goal(built.system.instances[index], state, nxt):
                return [*path, index]
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*path, index]))
    raise AssertionError("no such step within the depth")


def _lengths(built: BuiltModel) -> dict[str, int]:
    return {name: built.system.var(f"{name}.len").index for name in built.model.b.channels}


def _trace(built: BuiltModel, choices: list[int]) -> Trace:
    return make_trace(built.system, None, choices, "P-TEST", sorted(built.scenario.threats), [])


def test_a_send_and_a_receipt_become_an_arrow_and_an_action() -> None:
    built = build(Scenario("secmp0007"))
    lengths = _lengths(built)
    channels = built.model.b.channels
    sent = _search(built, lambda i, s, t: any(t[v] > s[v] for v in lengths.values()))
    interp = Interpreter(built.system)
    states = [interp.initial_state()]
    for c in sent:
        states.append(interp.step(states[-1], c))
    channel = next(n for n, v in lengths.items() if states[-1][v] > states[-2][v])
    src, dst = channels[channel].src, channels[channel].dst
    facts = msc.model_facts(built)
    chart = msc.chart(_trace(built, sent), facts, "P-TEST violated")
    arrows = [e for e in chart.events if e.kind == "message" and channel in e.text]
    assert arrows and arrows[0].target == dst and arrows[0].source in (src, built.system.instances[sent[-1]].machine)
    assert chart.events[-1].kind == "violation" and chart.events[-1].text == "P-TEST violated"
    names = [m for m, _ in chart.lifelines]
    assert names[:4] == ["Supplier", "DSP", "CPL", "CH"] and {"PPMID", "HCALCS"} <= set(names)
    for e in chart.events:
        if e.kind == "state":
            assert e.source in facts.machines and "→" in e.text
    picture = msc.svg(chart)
    root = ET.fromstring(picture)
    assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}title") is not None
    assert picture == msc.svg(msc.chart(_trace(built, sent), facts, "P-TEST violated"))
    text = msc.mermaid(chart)
    assert text.splitlines()[0] == "sequenceDiagram" and f"->>{dst}:" in text


def test_an_attacker_changing_a_message_is_an_attack_arrow() -> None:
    built = build(Scenario("secmp0007", frozenset({"han_mitm"})))
    lengths = set(_lengths(built).values())
    slots = {v.index for v in built.system.variables if v.owner.startswith("channel:") and not v.ghost}

    def alters(inst, s, t) -> bool:  # type: ignore[no-untyped-def]
        changed = {i for i, (a, b) in enumerate(zip(s, t, strict=True)) if a != b}
        return inst.role == "attacker" and bool(changed & slots) and not changed & lengths

    choices = _search(built, alters, depth=5)
    chart = msc.chart(_trace(built, choices), msc.model_facts(built), "P-TEST violated")
    attacks = [e for e in chart.events if e.kind == "attack"]
    assert attacks and attacks[-1].source == "Attacker" and attacks[-1].text.startswith("alters ")
    assert "--)" in msc.mermaid(chart)


def test_mermaid_labels_stay_mermaid() -> None:
    chart = msc.Chart("t", (("A", "A"), ("B", "B (x; y)")),
                      (msc.Event(1, "message", "A", "B", "a; b #1"), msc.Event(1, "violation", "", "", "P; Q")))
    text = msc.mermaid(chart)
    assert ";" not in text and "#" not in text
