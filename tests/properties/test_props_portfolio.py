"""The portfolio: parallel engines, first definitive answer per property, unknown on timeout."""

from __future__ import annotations

import pytest
import z3

from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties import certificate
from otaproof.properties.catalogue import get_property
from otaproof.properties.certificate import check_certificate
from otaproof.properties.check import check, check_rows, parts
from otaproof.properties.engines import pdr
from otaproof.properties.jobs import FIRST_STAGE, EngineRun, whole
from otaproof.properties.solver import GaveUp
from otaproof.properties.trace import replay
from otaproof.properties.verdict import Budget, Proved, Unknown, Violated


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


def test_a_property_of_one_response_per_device_is_checked_part_by_part() -> None:
    built = build(Scenario())
    assert len(parts(built, get_property("P-SMI-BOUNDED"))) == len(built.model.devices)
    assert len(parts(built, get_property("P-HUB-TRANSIENT"))) == len(built.model.ppmids) + bool(built.model.hub_records)
    assert len(parts(built, get_property("P-CPL"))) == 1
    [reach] = parts(built, get_property("P-NO-STRAND"))
    assert isinstance(reach, list)


def test_the_parts_certificates_together_are_an_invariant_of_the_whole_property() -> None:
    """Each part is proved on its own slice; their conjunction must also be accepted by the
    checker as an inductive invariant of the whole property's task (monitors keep their names)."""
    prop = get_property("P-FAIL-VISIBLE")
    [outcome] = check(Scenario(), [prop], "portfolio", Budget(timeout=60, depth=12), workers=2)
    v = outcome.verdict
    assert isinstance(v, Proved) and v.certificate.kind == "conjunction", v
    assert len(v.certificate.parts) == 2 and all(c.checked for c in v.certificate.parts)
    whole_task = whole(build(Scenario()), prop)
    assert not isinstance(whole_task, list)
    assert check_certificate(whole_task.task, v.certificate.smtlib, timeout=120).ok
    one_part = v.certificate.parts[0].smtlib
    assert not check_certificate(whole_task.task, one_part, timeout=120).ok  # one part is not enough


def test_a_violated_part_decides_the_property() -> None:
    [outcome] = check(Scenario(variant="geo-local-daily-alert"), [get_property("P-HUB-TRANSIENT")], "portfolio",
                      Budget(timeout=60, depth=12), workers=2)
    assert isinstance(outcome.verdict, Violated)
    steps = [s.instance for s in outcome.verdict.trace.steps]
    replay(build(Scenario(variant="geo-local-daily-alert")).system, None, steps)


def test_rows_share_one_pool_and_come_back_in_row_and_property_order() -> None:
    props = [get_property("P-LOCAL-BANNED"), get_property("P-CPL")]
    rows = [(Scenario(), props), (Scenario(variant="pre-secmp0007"), props[::-1])]
    seen: list[tuple[int, str]] = []
    results = check_rows(rows, "portfolio", Budget(timeout=60, depth=12), workers=2,
                         on_done=lambda row, o: seen.append((row, o.property.id)))
    assert [[o.property.id for o in r] for r in results] == [["P-LOCAL-BANNED", "P-CPL"], ["P-CPL", "P-LOCAL-BANNED"]]
    assert [o.verdict.verdict for o in results[0]] == ["proved", "proved"]
    assert [o.verdict.verdict for o in results[1]] == ["violated", "violated"]  # installers load anything locally
    assert sorted(seen) == [(0, "P-CPL"), (0, "P-LOCAL-BANNED"), (1, "P-CPL"), (1, "P-LOCAL-BANNED")]


def test_a_row_whose_lemma_search_fails_is_still_checked_without_the_shared_lemmas(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The lemma search is a pool job: when it gives up, the row's engines run without the
    shared lemmas (the lemma engine then finds its own on the slice) rather than the row being lost."""
    import otaproof.properties.jobs as jobs

    def gives_up(*args: object, **kw: object) -> None:
        raise GaveUp("Houdini gave up (test)")

    monkeypatch.setattr(jobs, "model_lemmas", gives_up)
    props = [get_property("P-LOCAL-BANNED"), get_property("P-CPL-NOW")]
    [outcomes] = check_rows([(Scenario(), props)], "portfolio", Budget(timeout=60, depth=12), workers=2)
    assert isinstance(outcomes[0].verdict, Proved) and outcomes[0].verdict.certificate.checked
    assert isinstance(outcomes[1].verdict, Violated)


def test_the_pool_parent_creates_no_z3_terms() -> None:
    """Engines fork from a parent that never touched Z3, so an engine's search (Spacer's run
    depends on Z3's term order) is the same whatever rows the parent opened before."""
    import subprocess
    import sys
    script = ("import z3\n"
              "from otaproof.model.config import Scenario\n"
              "from otaproof.properties.catalogue import get_property\n"
              "from otaproof.properties.check import check_rows\n"
              "from otaproof.properties.verdict import Budget\n"
              "props = [get_property('P-LOCAL-BANNED')]\n"
              "rows = [(Scenario(), props), (Scenario(variant='pre-secmp0007'), props)]\n"
              "results = check_rows(rows, 'portfolio', Budget(timeout=60, depth=6), workers=2)\n"
              "assert [r[0].verdict.verdict for r in results] == ['proved', 'violated'], results\n"
              "print('parent z3 context:', z3.z3._main_ctx is not None)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "parent z3 context: False" in done.stdout


def test_an_engine_run_leaves_its_certificate_to_the_fresh_z3_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``EngineRun`` the engine does not check its certificate in-process: the obligation
    files solved by a fresh Z3 process are the check, and they refuse a certificate that does not
    exclude the bad states."""
    built, prop = build(Scenario()), get_property("P-LOCAL-BANNED")
    [job] = parts(built, prop)

    def in_process(*_: object, **__: object) -> None:
        raise AssertionError("the engine checked its certificate in-process")

    monkeypatch.setattr(certificate, "check_certificate", in_process)
    answers: list[object] = []
    EngineRun(built, job, prop, FIRST_STAGE, Budget())(answers.append)
    [proof] = answers
    assert isinstance(proof, Proved) and proof.certificate.checked and len(proof.certificate.obligations) == 3
    monkeypatch.setattr(pdr, "relatively_inductive", lambda *_: z3.BoolVal(True))  # "proves" anything
    answers.clear()
    EngineRun(built, job, prop, FIRST_STAGE, Budget())(answers.append)
    [refused] = answers
    assert isinstance(refused, Unknown) and refused.detail.startswith("independent re-check: rejected"), refused
