"""`otaproof questions`: answers generated from computed verdicts and storm figures."""

from __future__ import annotations

import pytest

from otaproof.cli import EXIT_BAD_INPUT, main
from otaproof.model.config import Scenario
from otaproof.properties.catalogue import get_property
from otaproof.properties.check import check
from otaproof.properties.verdict import Budget
from otaproof.reports.matrix import Row
from otaproof.reports.questions import QUESTIONS, answer
from otaproof.reports.storm import StormInput, analyse, parse_policy

Q3 = next(q for q in QUESTIONS if q.id == "Q3")
Q5 = next(q for q in QUESTIONS if q.id == "Q5")
STRANDING = next(q for q in QUESTIONS if q.id == "Stranding")


def test_every_question_names_its_evidence_as_data() -> None:
    assert [q.id for q in QUESTIONS] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Stranding"]
    for q in QUESTIONS:
        assert q.properties or q.storm
        for pid in q.properties:
            get_property(pid)


def test_answers_follow_the_verdicts_not_a_script() -> None:
    prop = get_property("P-INVENTORY")
    rows = [Row(sc, check(sc, [prop], "portfolio", Budget(timeout=30)))
            for sc in (Scenario("secmp0007"), Scenario("pre-secmp0007"))]
    lines = answer(Q3, rows, [])
    assert "P-INVENTORY proved in: secmp0007 (threats: none)" in lines
    violated = [line for line in lines if line.startswith("P-INVENTORY violated in: pre-secmp0007")]
    assert len(violated) == 1 and "SR8_2_read_inventory" in violated[0]
    assert "evidence: traces/pre-secmp0007/none/P-INVENTORY" in violated[0]
    assert lines[-1] == "designs satisfying P-INVENTORY under threat models none: secmp0007"
    swapped = answer(Q3, rows[::-1][:1], [])  # with only the pre-SECMP0007 row, no design satisfies it
    assert swapped[-1].endswith(": none of those checked")


def test_the_stranding_answer_comes_from_p_no_strand() -> None:
    """Banning local updates strands a PPMID after a change to a supplier that does not support
    its firmware; the installer's local update (the pre-SECMP0007 design) always recovers it."""
    prop = get_property("P-NO-STRAND")
    rows = [Row(sc, check(sc, [prop], "portfolio", Budget(timeout=60)))
            for sc in (Scenario("secmp0007"), Scenario("pre-secmp0007"))]
    lines = answer(STRANDING, rows, [])
    assert lines[0] == "P-NO-STRAND proved in: pre-secmp0007 (threats: none)"
    assert lines[1].startswith("P-NO-STRAND violated in: secmp0007 (threats: none) (2-step trace: ")
    assert "CoS_change_of_supplier(new=S2)" in lines[1] and "evidence: traces/secmp0007/none/P-NO-STRAND" in lines[1]
    assert lines[-1] == "designs satisfying P-NO-STRAND under threat models none: pre-secmp0007"


def test_the_storm_answer_is_computed_from_the_figures() -> None:
    storms = [analyse(StormInput(parse_policy(p), runs=5)) for p in ("fixed-time", "on-change")]
    lines = answer(Q5, [], storms)
    assert lines[0] == "P-ALERT-BUDGET proved in: none"  # no verdicts given: nothing is claimed
    storm = [line for line in lines if line.startswith("fixed-time:")]
    assert storm[0].startswith("fixed-time: peak 26,000,000 alerts/s (exact) exceeds the capacity of 600/s")
    assert lines[-1] == "policies that avoid a storm at this capacity: on-change"


@pytest.mark.parametrize("argv, message", [(["--variant", "nope"], "unknown variant 'nope'"),
                                           (["--runs", "0"], "argument --runs: 0 is out of range"),
                                           (["--timeout", "-1"], "argument --timeout: '-1'")])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["questions", *argv]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
