"""The certificate cache as a user meets it: a re-run re-checks cached certificates instead of
running the engines, an edited design re-proves exactly the parts whose certificates no longer
hold, a corrupt entry is reported and proved over, and ``otaproof cache`` shows and clears it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otaproof.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATED, main
from otaproof.properties.cache import ENV

HEADER = '''"""A design change written for a test."""
from otaproof.model.variants.api import FALSE

NAME = "edited-design"
DOC = "a design change"
SOURCE = "a test"
{parameters}

def apply(m):
    {body}
'''
AS_APPROVED = HEADER.format(parameters="", body="pass")  # the approved design under another name
# HCALCS activation never happens: fewer behaviours, so every invariant of the approved design stays inductive
NO_ACTIVATION = HEADER.format(parameters="", body='m.b.strengthen_guard("SR11_3_activate_firmware", lambda **p: FALSE)')
# installers keep the local port: P-LOCAL-BANNED is violated in one step, its certificate no longer holds
LOCAL_PORT = HEADER.format(parameters='PARAMETERS = {"local_updates": True}', body="pass")
PROPERTY = "P-LOCAL-BANNED"


def _check(tmp_path: Path, design: str, cache: Path, *extra: str) -> tuple[int, dict[str, object]]:
    """``otaproof check`` of PROPERTY on the design file (rewritten in place, as a user edits it)."""
    variant = tmp_path / "edited.py"
    variant.write_text(design)
    out = tmp_path / "v.json"
    out.unlink(missing_ok=True)
    code = main(["check", "--variant-file", str(variant), "--property", PROPERTY, "--quiet", "--cache-dir",
                 str(cache), "--json", str(out), *extra])
    result = json.loads(out.read_text())["results"][0]
    return code, result


def test_an_edited_design_reuses_what_still_holds_and_reproves_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    code, first = _check(tmp_path, AS_APPROVED, cache)
    assert (code, first["verdict"], first["provenance"]) == (EXIT_OK, "proved", "run")  # the engines proved it
    code, again = _check(tmp_path, AS_APPROVED, cache)
    assert (code, again["verdict"], again["provenance"]) == (EXIT_OK, "proved", "cached")  # no engine ran
    assert again["certificate"] == first["certificate"]  # the very certificate a fresh run gives
    assert "1 of 1 property parts re-checked" in capsys.readouterr().err
    code, narrowed = _check(tmp_path, NO_ACTIVATION, cache)
    assert (code, narrowed["verdict"], narrowed["provenance"]) == (EXIT_OK, "proved", "cached-earlier-model")
    code, broken = _check(tmp_path, LOCAL_PORT, cache)  # the cached certificate fails its re-check
    assert (code, broken["verdict"], broken["provenance"]) == (EXIT_VIOLATED, "violated", "run")
    assert "1 no longer held (re-proved)" in capsys.readouterr().err
    code, replayed = _check(tmp_path, LOCAL_PORT, cache)  # now the counterexample is cached: replayed
    assert (code, replayed["verdict"], replayed["provenance"]) == (EXIT_VIOLATED, "violated", "cached")
    assert replayed["trace"] == broken["trace"]


def test_a_corrupt_entry_is_reported_and_proved_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    _check(tmp_path, AS_APPROVED, cache)
    entries = list((cache / "objects").glob("*.json"))
    assert entries
    for entry in entries:  # a certificate that would prove anything, and a file cut short
        data = json.loads(entry.read_text())
        data["certificate"]["smtlib"] = "true"
        entry.write_text(json.dumps(data))
    code, result = _check(tmp_path, AS_APPROVED, cache)
    assert (code, result["verdict"], result["provenance"]) == (EXIT_OK, "proved", "run")  # re-proved, not trusted
    assert "1 no longer held (re-proved)" in capsys.readouterr().err
    for entry in (cache / "objects").glob("*.json"):
        entry.write_text(entry.read_text()[:100])
    code, result = _check(tmp_path, AS_APPROVED, cache)
    assert (code, result["verdict"], result["provenance"]) == (EXIT_OK, "proved", "run")
    err = capsys.readouterr().err
    assert "is unreadable" in err and "ignored" in err


def test_no_cache_writes_nothing_and_clear_empties(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    code, fresh = _check(tmp_path, AS_APPROVED, cache, "--no-cache")
    assert (code, fresh["provenance"]) == (EXIT_OK, "run") and not cache.exists()
    monkeypatch.setenv(ENV, str(cache))  # the environment variable relocates it as --cache-dir does
    assert main(["cache", "info"]) == EXIT_OK
    assert "entries: 0" in capsys.readouterr().out
    _check(tmp_path, AS_APPROVED, cache)
    code, cached = _check(tmp_path, AS_APPROVED, cache)
    assert cached["provenance"] == "cached"
    assert cached["certificate"] == fresh["certificate"]  # an exact hit is what a fresh run of the engines gives
    assert main(["cache", "info"]) == EXIT_OK
    out = capsys.readouterr().out
    assert str(cache) in out and "entries: 1" in out
    (cache / "unrelated.txt").write_text("not the cache's")  # clear removes only the cache's own files
    assert main(["cache", "clear"]) == EXIT_OK
    assert "2 files removed" in capsys.readouterr().out
    assert not (cache / "objects").exists() and (cache / "unrelated.txt").exists()
    assert main(["cache", "info"]) == EXIT_OK
    assert "entries: 0" in capsys.readouterr().out


def test_a_cache_dir_that_is_a_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["cache", "info", "--cache-dir", str(blocker)]) == EXIT_BAD_INPUT
    assert main(["check", "--property", PROPERTY, "--cache-dir", str(blocker)]) == EXIT_BAD_INPUT
    assert "--cache-dir" in capsys.readouterr().err
