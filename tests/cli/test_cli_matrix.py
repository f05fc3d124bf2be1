"""`otaproof matrix`: verdicts per variant and threat model, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otaproof.cli import EXIT_BAD_INPUT, EXIT_OK, main


def test_matrix_shows_the_ban_holding_in_the_approved_design_only(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    out_file = tmp_path / "m.json"
    code = main(["matrix", "--variant", "secmp0007,pre-secmp0007", "--threat-model", "none",
                 "--property", "P-LOCAL-BANNED", "--json", str(out_file)])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    rows = {line.split("│")[1].strip(): line.split("│")[3].strip() for line in out.splitlines()
            if line.startswith("│")}
    assert rows == {"secmp0007": "✔", "pre-secmp0007": "✘1"}
    doc = json.loads(out_file.read_text())
    assert doc["schema"] == "otaproof.matrix/1"
    verdicts = {(e["variant"], e["property"]): e["verdict"] for e in doc["entries"]}
    assert verdicts == {("secmp0007", "P-LOCAL-BANNED"): "proved", ("pre-secmp0007", "P-LOCAL-BANNED"): "violated"}
    trace = next(e["trace"] for e in doc["entries"] if e["verdict"] == "violated")
    assert trace["steps"][0]["action"].startswith("LOCAL_installer_update[")


@pytest.mark.parametrize("argv, message", [
    (["--variant", "nope"], "unknown variant 'nope'"),
    (["--threat-model", "han_mitm+telepathy"], "unknown threat 'telepathy'"),
    (["--property", "P-NOPE"], "unknown property 'P-NOPE'"),
    (["--timeout", "0"], "argument --timeout: '0': give a finite number of seconds above 0"),
])
def test_bad_matrix_input_exits_2_with_one_message_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str) -> None:
    out_file = tmp_path / "m.json"
    code = main(["matrix", *argv, "--json", str(out_file)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out_file.exists()


def test_storm_is_wired_into_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["storm", "--policy", "fixed-time"]) == EXIT_OK
    assert "26,000,000" in capsys.readouterr().out
