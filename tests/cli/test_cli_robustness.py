"""Bad numbers and names are refused before any work; piped runs show progress; tables explain themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from otaproof.cli import main

FAST = ["--property", "P-COMPAT", "--engine", "lemmas"]


@pytest.mark.parametrize("args", [["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "-1"],
                                  ["--workers", "0"], ["--workers", "-3"], ["--depth", "500"],
                                  ["--ppmids", "99"]])
def test_impossible_numbers_are_one_line_and_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *FAST, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("otaproof check: error: argument ")


def test_a_property_named_three_times_is_checked_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--property", "P-COMPAT", "--property", "P-COMPAT,P-COMPAT", "--engine", "lemmas",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("P-COMPAT ") == 1


def test_json_into_a_directory_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *FAST, "--json", str(tmp_path)]) == 2
    err = capsys.readouterr()
    assert err.err.strip() == f"otaproof: error: --json {tmp_path}: is a directory, expected a file name"
    assert err.out == ""  # nothing was checked


@pytest.mark.parametrize("command", [["matrix", "--variant", "secmp0007"], ["diff", "secmp0007", "pre-secmp0007"],
                                     ["questions"]])
def test_every_command_checks_json_first(command: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--json", str(tmp_path / "missing" / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_fault_that_cannot_happen_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *FAST, "--fault", "reordering", "--quiet"]) == 0
    assert "--fault reordering cannot happen with --capacity 1" in capsys.readouterr().err


def test_unknown_names_suggest_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--property", "P-CPL-N0W"]) == 2
    assert "did you mean 'P-CPL-NOW'?" in capsys.readouterr().err
    assert main(["matrix", "--threat-model", "han_mitm+old_suplier"]) == 2
    assert "did you mean 'old_supplier'?" in capsys.readouterr().err


def test_a_piped_run_prints_one_progress_line_per_property(capsys: pytest.CaptureFixture[str]) -> None:
    """One line per verdict, after the row's stage lines (indented: the lemma search)."""
    assert main(["check", "--property", "P-COMPAT,P-BOOTABLE", "--engine", "lemmas"]) == 0
    err = capsys.readouterr().err.splitlines()
    verdicts = [line.split(":")[0] for line in err if not line.startswith("  ")]
    assert verdicts in (["[1/2] P-COMPAT", "[2/2] P-BOOTABLE"], ["[1/2] P-BOOTABLE", "[2/2] P-COMPAT"])
    assert all(line.startswith("  lemma search") for line in err if line.startswith("  ")), err


def test_the_verdict_table_has_a_legend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *FAST, "--quiet"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "proved: holds in every reachable state" in out and "REACH recovery always possible" in out
