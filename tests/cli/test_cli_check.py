"""The CLI as a user runs it: verdict tables, JSON output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otaproof.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATED, main
from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties.catalogue import CATALOGUE, get_property
from otaproof.properties.formulas import to_safety
from otaproof.properties.trace import Trace, instance_index, replay


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_properties_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "properties")
    assert code == EXIT_OK
    for p in CATALOGUE:
        assert p.id in out


def test_variants_lists_variants_threats_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "variants")
    assert code == EXIT_OK
    for name in ("secmp0007", "han_mitm", "compromised_key", "loss", "power"):
        assert name in out


def test_proved_property_exits_0_and_writes_checked_certificate(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    out_file = tmp_path / "v.json"
    code, out, _ = run(capsys, "check", "--property", "P-LOCAL-BANNED", "--engine", "pdr", "--json", str(out_file))
    assert code == EXIT_OK, out
    doc = json.loads(out_file.read_text())
    assert doc["schema"] == "otaproof.verdicts/1"
    [result] = doc["results"]
    assert result["verdict"] == "proved"
    assert result["certificate"]["checked"] is True


def test_violation_exits_1_and_its_json_trace_replays(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "v.json"
    code, out, _ = run(capsys, "check", "--property", "P-CPL-NOW", "--engine", "bmc", "--depth", "12",
                       "--json", str(out_file))
    assert code == EXIT_VIOLATED
    assert "Counterexample to P-CPL-NOW" in out
    [result] = json.loads(out_file.read_text())["results"]
    trace = Trace.from_json(result["trace"])
    built = build(Scenario())
    prop = get_property("P-CPL-NOW")
    task = to_safety(built.system, prop.formula(built))
    states = replay(task.system, task.bad, [instance_index(task.system, s) for s in trace.steps])
    assert len(states) == result["depth"] + 1


def test_same_seed_gives_the_same_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    docs = []
    for n in range(2):
        f = tmp_path / f"v{n}.json"
        run(capsys, "check", "--property", "P-AUTH", "--engine", "bmc", "--depth", "12", "--json", str(f))
        doc = json.loads(f.read_text())
        for r in doc["results"]:
            r.pop("seconds")
        docs.append(doc)
    assert docs[0] == docs[1]


@pytest.mark.parametrize("argv, words", [
    (["check", "--property", "P-NOPE"], ["unknown property 'P-NOPE'", "P-CPL"]),
    (["check", "--variant", "nope"], ["unknown variant 'nope'", "secmp0007"]),
    (["check", "--threat", "wizard"], ["unknown threat 'wizard'", "han_mitm"]),
    (["check", "--fault", "meteor"], ["unknown fault 'meteor'", "loss"]),
    (["check", "--depth", "-1"], ["argument --depth: -1 is out of range: give 0..200"]),
    (["check", "--ppmids", "99"], ["argument --ppmids: 99 is out of range: give 0..8"]),
    (["check", "--ppmids", "0", "--hcalcs", "0"], ["no device"]),
    (["check", "--timeout", "0"], ["--timeout"]),
])
def test_bad_input_exits_2_with_one_clear_message_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], words: list[str]) -> None:
    out_file = tmp_path / "v.json"
    code, _, err = run(capsys, *argv, "--json", str(out_file))
    assert code == EXIT_BAD_INPUT
    flat = " ".join(err.split())
    for w in words:
        assert w in flat
    assert len(err.strip().splitlines()) <= 3
    assert not out_file.exists()
    assert list(tmp_path.iterdir()) == []


def test_json_into_missing_directory_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", "--property", "P-LOCAL-BANNED", "--engine", "pdr",
                       "--json", str(tmp_path / "missing" / "v.json"))
    assert code == EXIT_BAD_INPUT
    assert "does not exist" in err


def test_piped_output_shows_the_stages_before_the_first_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """With stdout not a terminal, stderr says what the row is doing before any verdict is in
    (the lemma search), then one line per verdict; ``--quiet`` silences both."""
    code, _, err = run(capsys, "check", "--property", "P-BOOTABLE", "--no-cache", "--workers", "2")
    lines = err.splitlines()
    assert code == EXIT_OK
    search = [n for n, line in enumerate(lines) if line.startswith("  lemma search (Houdini) over ")]
    kept = [n for n, line in enumerate(lines) if line.startswith("  lemma search: ") and "candidates inductive" in line]
    verdict = [n for n, line in enumerate(lines) if line.startswith("[1/1] P-BOOTABLE: proved")]
    assert len(search) == len(kept) == len(verdict) == 1 and search[0] < kept[0] < verdict[0], lines
    assert run(capsys, "check", "--property", "P-BOOTABLE", "--no-cache", "--quiet")[2] == ""
