"""The report's sentences are generated from verdicts: change a verdict and the sentence changes.
Verdicts here are built by hand around a real trace of the model (replayed, no solver)."""

from __future__ import annotations

from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import build
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import Outcome
from otaproof.properties.trace import make_trace
from otaproof.properties.verdict import Certificate, Proved, Unknown, Verdict, Violated
from otaproof.reports.evidence.findings import cells, findings
from otaproof.reports.evidence.summary import answer, change_sentences, changes, design_summary, finding_sentence
from otaproof.reports.matrix import Row
from otaproof.reports.questions import QUESTIONS

PROVED = Proved("lemmas", 1.0, Certificate("inductive-invariant", "true", 1, True))


def _violated(variant: str, pid: str, threats: frozenset[str] = frozenset()) -> Violated:
    """A two-step trace of the model (any enabled steps), labelled as a counterexample to ``pid``."""
    built = build(Scenario(variant, threats))
    interp = Interpreter(built.system)
    s = interp.initial_state()
    choices = []
    for _ in range(2):
        c = interp.enabled(s)[0]
        choices.append(c)
        s = interp.step(s, c)
    return Violated("bmc", 1.0, make_trace(built.system, None, choices, pid, sorted(threats), []))


def _row(variant: str, verdicts: dict[str, Verdict], threats: frozenset[str] = frozenset()) -> Row:
    return Row(Scenario(variant, threats), [Outcome(get_property(p), v) for p, v in verdicts.items()])


def test_design_summary_follows_the_verdicts() -> None:
    rows = [_row("secmp0007", {"P-CPL": PROVED, "P-SMI": _violated("secmp0007", "P-SMI")})]
    found = findings(cells(rows), "secmp0007")
    by_cell = {c.key: f for f in found for c in f.cells}
    text = " ".join(design_summary("secmp0007", cells(rows), by_cell).sentences)
    assert "Proved" in text and "P-CPL" in text and "P-SMI (without an attacker) — F1" in text
    rows = [_row("secmp0007", {"P-CPL": Unknown("pdr", 1.0, "out of time"), "P-SMI": PROVED})]
    text = " ".join(design_summary("secmp0007", cells(rows), {}).sentences)
    assert "No property checked is violated" in text and "Undecided" in text and "P-CPL (without an attacker)" in text


def test_finding_sentence_is_made_from_the_trace() -> None:
    v = _violated("secmp0007", "P-CPL-NOW")
    rows = [_row("secmp0007", {"P-CPL-NOW": v})]
    (f,) = findings(cells(rows), "secmp0007")
    sentence = finding_sentence(f)
    assert sentence.startswith("Without an attacker, secmp0007 loses P-CPL-NOW: after ")
    assert all(s.action in sentence for s in v.trace.steps) and "(2 steps, finding F1)." in sentence


def test_findings_group_threat_models_and_rank_the_reference_design_first() -> None:
    mitm = frozenset({"han_mitm"})
    rows = [_row("gateway-screening", {"P-SMI": _violated("gateway-screening", "P-SMI")}),
            _row("secmp0007", {"P-SMI": _violated("secmp0007", "P-SMI")}),
            _row("secmp0007", {"P-SMI": _violated("secmp0007", "P-SMI", mitm)}, mitm)]
    found = findings(cells(rows), "secmp0007")
    assert [f.first.variant for f in found] == ["secmp0007", "gateway-screening"]
    assert found[0].threat_models == ["none", "han_mitm"]  # the same steps under both: one finding


def test_change_sentences_say_what_flips_and_why() -> None:
    broken = _violated("gateway-screening", "P-LOCAL-BANNED")
    rows = [_row("secmp0007", {"P-LOCAL-BANNED": PROVED, "P-CPL": PROVED}),
            _row("gateway-screening", {"P-LOCAL-BANNED": broken, "P-CPL": PROVED})]
    found = findings(cells(rows), "gateway-screening")
    by_cell = {c.key: f for f in found for c in f.cells}
    said = change_sentences(changes(rows, "secmp0007", "gateway-screening"), "secmp0007", "gateway-screening", by_cell)
    assert said[0].startswith("gateway-screening breaks P-LOCAL-BANNED without an attacker: it is proved in "
                              "secmp0007 and violated in gateway-screening because after")
    assert "1 verdict proved in both designs" in said[-1]
    swapped = change_sentences(changes(rows, "gateway-screening", "secmp0007"), "gateway-screening", "secmp0007",
                               by_cell)
    assert swapped[0].startswith("secmp0007 fixes P-LOCAL-BANNED")
    same = [_row("secmp0007", {"P-CPL": PROVED}), _row("gateway-screening", {"P-CPL": PROVED})]
    assert change_sentences(changes(same, "secmp0007", "gateway-screening"), "secmp0007", "gateway-screening",
                            {})[0].startswith("No verdict flips")


def test_questions_answer_only_what_was_checked() -> None:
    q1 = next(q for q in QUESTIONS if q.id == "Q1")
    local = frozenset({"local_physical"})
    rows = [_row(d, {"P-CPL": PROVED, "P-LOCAL-BANNED": PROVED}, t)
            for d in ("secmp0007", "gateway-screening") for t in (frozenset(), local)]
    rows[2] = _row("gateway-screening", {"P-CPL": PROVED, "P-LOCAL-BANNED": _violated("gateway-screening",
                                                                                         "P-LOCAL-BANNED")})
    all_cells = cells(rows)
    found = findings(all_cells, "secmp0007")
    by_cell = {c.key: f for f in found for c in f.cells}
    text = answer(q1, all_cells, by_cell, []).paragraph
    assert "P-LOCAL-BANNED holds in secmp0007 and is violated in gateway-screening (without an attacker; F1)" in text
    assert "Designs that satisfy P-CPL and P-LOCAL-BANNED without an attacker and under local_physical: " \
           "secmp0007 (of secmp0007 and gateway-screening" in text
    text = answer(q1, cells(rows[:1]), {}, []).paragraph
    assert "No design was checked for all of P-CPL and P-LOCAL-BANNED" in text
    q3 = next(q for q in QUESTIONS if q.id == "Q3")
    assert answer(q3, all_cells, by_cell, []).paragraph.startswith("Not answered by this pack")
