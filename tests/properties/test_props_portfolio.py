"""The portfolio: parallel engines, first definitive answer per property, unknown on timeout."""

from __future__ import annotations

from model.config import Scenario
from properties.catalogue import get_property
from properties.check import check
from properties.verdict import Budget, Proved, Unknown, Violated


def test_portfolio_decides_a_proof_and_a_violation_in_order() -> None:
    props = [get_property("P-LOCAL-BANNED"), get_property("P-CPL-NOW")]
    seen: list[str] = []
    outcomes = check(Scenario(), props, "portfolio", Budget(timeout=60, depth=12), workers=2,
                     on_done=lambda o: seen.append(o.property.id))
    assert [o.property.id for o in outcomes] == ["P-LOCAL-BANNED", "P-CPL-NOW"]
    assert isinstance(outcomes[0].verdict, Proved) and outcomes[0].verdict.certificate.checked
    assert isinstance(outcomes[1].verdict, Violated)
    assert sorted(seen) == sorted(["P-LOCAL-BANNED", "P-CPL-NOW"])


def test_tiny_budget_gives_unknown_never_proved() -> None:
    [outcome] = check(Scenario(), [get_property("P-SMI")], "portfolio", Budget(timeout=0.3, depth=30), workers=2)
    assert isinstance(outcome.verdict, Unknown)
    assert outcome.verdict.reason
