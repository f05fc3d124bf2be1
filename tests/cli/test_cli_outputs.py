"""Output paths: checked before any work, never clobbering a user's file, a device or a folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from otaproof.cli import main
from otaproof.files import (
    MARKER,
    OutputError,
    check_output_dir,
    check_output_file,
    new_output_dir,
    replace_dir,
    write_atomic,
)


def _generate(out: Path, *extra: str) -> int:
    return main(["generate", "--out", str(out), "--variant", "secmp0007", "--property", "P-CPL", *extra])


def test_generate_force_refuses_a_folder_otaproof_did_not_write(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    assert _generate(out, "--force") == 2
    err = capsys.readouterr().err
    assert "was not written by otaproof" in err and len(err.strip().splitlines()) == 1
    assert (out / "chapter1.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # nothing renamed aside, nothing left


def test_generate_force_refuses_a_plain_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    assert _generate(out, "--force") == 2
    assert "is not a directory" in capsys.readouterr().err
    assert out.read_text() == "keep me"


def test_generate_without_force_refuses_an_existing_directory(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "suite"
    out.mkdir()
    assert _generate(out) == 2
    assert "pass --force" in capsys.readouterr().err


def test_force_replaces_only_an_earlier_otaproof_output(tmp_path: Path) -> None:
    out = tmp_path / "suite"
    first = new_output_dir(out)
    (first / "test_a.py").write_text("old")
    replace_dir(first, out)
    assert (out / MARKER).is_file()
    check_output_dir(out, "--out", force=True)  # accepted: otaproof wrote it
    second = new_output_dir(out)
    (second / "test_b.py").write_text("new")
    replace_dir(second, out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "test_b.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suite"]


def test_output_directories_and_files_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "suite"
        replace_dir(new_output_dir(out), out)
        write_atomic(tmp_path / "report.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644


def test_json_to_a_directory_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["storm", "--plot", str(tmp_path / "storm.png"), "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--json" in err and "is a directory" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "storm.png").exists()  # the check came before the work


def test_output_into_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        check_output_file(tmp_path / "no" / "such" / "out.json", "--json")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_device_is_never_replaced(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a regular file"):
        write_atomic("/dev/full", "x")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_an_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    f = tmp_path / "shared.json"
    f.write_text("old")
    f.chmod(0o664)
    write_atomic(f, "new")
    assert stat.S_IMODE(f.stat().st_mode) == 0o664 and f.read_text() == "new"


@pytest.mark.parametrize("option, value", [("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "0"),
                                           ("--coverage-timeout", "-1"), ("--workers", "0"), ("--workers", "-2"),
                                           ("--depth", "201")])
def test_generate_rejects_impossible_numbers(tmp_path: Path, option: str, value: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _generate(tmp_path / "suite", option, value) == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not (tmp_path / "suite").exists()


def test_unknown_names_get_a_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path / "s"), "--variant", "secmp007"]) == 2
    assert "did you mean 'secmp0007'?" in capsys.readouterr().err
