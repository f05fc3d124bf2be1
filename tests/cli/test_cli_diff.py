"""`otaproof diff A B`: verdict flips between two designs, with the replayed counterexamples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otaproof.cli import EXIT_BAD_INPUT, EXIT_OK, main


def test_diff_shows_the_flip_and_its_trace_and_what_holds_in_both(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    out_file = tmp_path / "d.json"
    code = main(["diff", "secmp0007", "pre-secmp0007", "--property", "P-LOCAL-BANNED,P-COMPAT",
                 "--json", str(out_file)])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "broken by B" in out and "LOCAL_installer_update[" in out
    assert "holds in both designs: P-COMPAT" in out
    doc = json.loads(out_file.read_text())
    assert doc["schema"] == "otaproof.diff/1" and (doc["a"], doc["b"]) == ("secmp0007", "pre-secmp0007")
    by_id = {p["property"]: p for p in doc["properties"]}
    assert by_id["P-LOCAL-BANNED"]["change"] == "broken by B"
    assert by_id["P-LOCAL-BANNED"]["b"]["trace"]["steps"][0]["action"].startswith("LOCAL_installer_update[")
    assert by_id["P-COMPAT"]["change"] == "holds in both"


def test_diff_with_an_unknown_design_exits_2_and_writes_nothing(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    out_file = tmp_path / "d.json"
    code = main(["diff", "secmp0007", "secmp9999", "--json", str(out_file)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "unknown variant 'secmp9999'" in err and len(err.strip().splitlines()) == 1
    assert not out_file.exists()
