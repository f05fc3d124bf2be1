"""The Promela export means what otaproof means: SPIN agrees on proofs, violations and model slips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from otaproof.cli import main
from otaproof.model.lang import IntSort
from otaproof.model.system import System, SystemBuilder, assign, case, otherwise, outcome
from otaproof.properties.formulas import Invariant, StepInvariant, to_safety
from otaproof.reports.promela import Exported, export

needs_spin = pytest.mark.skipif(shutil.which("spin") is None or shutil.which("gcc") is None,
                                reason="SPIN or gcc not installed (CI installs Debian's spin)")


def _spin(model: str, tmp_path: Path) -> str:
    """SPIN's exhaustive safety search of ``model``; its report."""
    (tmp_path / "m.pml").write_text(model)
    subprocess.run(["spin", "-a", "m.pml"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["gcc", "-O1", "-DSAFETY", "-o", "pan", "pan.c"], cwd=tmp_path, check=True, capture_output=True)
    return subprocess.run(["./pan", "-m100000"], cwd=tmp_path, capture_output=True, text=True, timeout=120).stdout


def _counter(top: int, wrap_at: int | None = None) -> System:
    """n counts up to ``top`` (or wraps to 0 at ``wrap_at``); an attacker may reset it to 1."""
    b = SystemBuilder("toy")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    branches = [outcome("wrap", n == wrap_at, assign(n, 0))] if wrap_at is not None else []
    m.action("tick", lambda: case(n < top, *branches, otherwise("inc", assign(n, n + 1))))
    m.action("bump", lambda: case(n == 0, assign(n, 1)), role="attacker", threat="han_mitm")
    return b.build(threats={"han_mitm"})


@needs_spin
@pytest.mark.parametrize("top, wrap_at, holds", [(3, None, False), (3, 2, True)])
def test_spin_agrees_on_an_invariant(tmp_path: Path, top: int, wrap_at: int | None, holds: bool) -> None:
    system = _counter(top, wrap_at)
    task = to_safety(system, Invariant(system.var("M.n") != 3))
    report = _spin(export(system, [Exported("P-N", task)], "toy"), tmp_path)
    assert ("errors: 0" in report) == holds, report
    if not holds:
        assert "assertion violated" in report


@needs_spin
def test_spin_sees_a_step_property_through_its_monitor(tmp_path: Path) -> None:
    system = _counter(3, 2)
    n = system.var("M.n")
    never_to_zero = StepInvariant(~(system.fired("tick") & (n == 2)))  # the wrap branch is taken
    report = _spin(export(system, [Exported("P-STEP", to_safety(system, never_to_zero))], "toy"), tmp_path)
    assert "assertion violated" in report and "errors: 1" in report


@needs_spin
def test_an_assignment_outside_the_domain_is_a_model_slip(tmp_path: Path) -> None:
    b = SystemBuilder("slip")
    m = b.machine("M")
    n = m.var("n", IntSort(0, 3), 0)
    m.action("inc", lambda: case(True, assign(n, n + 1)))  # unguarded: 3 + 1 leaves the domain
    system = b.build()
    report = _spin(export(system, [], "slip"), tmp_path)
    assert "assertion violated" in report and "errors: 1" in report


@needs_spin
def test_the_approved_design_violates_p_auth_in_spin_too(tmp_path: Path) -> None:
    out = tmp_path / "auth.pml"
    assert main(["export", "--promela", str(out), "--property", "P-AUTH", "--hcalcs", "0"]) == 0
    text = out.read_text()
    assert "properties (assertions): P-AUTH" in text
    assert "assertion violated" in _spin(text, tmp_path)


def test_reach_properties_are_left_out_and_said_so(tmp_path: Path) -> None:
    out = tmp_path / "strand.pml"
    assert main(["export", "--promela", str(out), "--property", "P-NO-STRAND,P-CPL"]) == 0
    head = out.read_text().splitlines()[:5]
    assert any("not exported (REACH, not a safety property): P-NO-STRAND" in line for line in head)


def test_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.pml"
    assert main(["export", "--promela", str(out), "--variant", "secmp007"]) == 2
    assert "did you mean 'secmp0007'" in capsys.readouterr().err and not out.exists()
