"""``--variant-file PATH.py``: a design change given as a file is listed, checked, diffed, exported
and turned into tests like a built-in one; every mistake in it is one located error, exit 2, and
nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from otaproof import cli
from otaproof.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATED, build_parser, main
from otaproof.model.config import Scenario
from otaproof.model.variants import REGISTRY, build
from otaproof.properties.templates import family, with_templates
from otaproof.variant_cli import variant_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "variants"

HEADER = '''"""A design change written for a test."""
from otaproof.model.variants.api import TRUE, assign, case, outcome

NAME = "{name}"
DOC = "a design change"
SOURCE = "a test"


def apply(m):
'''
# installers keep the local port: P-LOCAL-BANNED is violated in one step
TINY = HEADER.format(name="tiny-local-port").replace('SOURCE = "a test"\n', 'SOURCE = "a test"\n'
                                                     'PARAMETERS = {"local_updates": True}\n') + "    pass\n"


def _file(tmp_path: Path, text: str, name: str = "change.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _marked_line(text: str) -> int:
    """The line a mistake is on: the one marked ``# <-``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if "# <-" in line)


def _body(*lines: str, name: str = "my-change") -> str:
    return HEADER.format(name=name) + "".join(f"    {line}\n" for line in lines)


# (case, file text, fragment of the message); the line is the one marked ``# <-`` (else line 1)
MISTAKES = [
    ("syntax error", HEADER.format(name="x").replace("def apply(m):", "def apply(m)  # <-") + "    pass\n",
     "syntax error: expected ':'"),
    ("NameError at import", HEADER.format(name="x").replace('DOC = "a design change"', "DOC = descripton  # <-")
     + "    pass\n", "NameError: name 'descripton' is not defined"),
    ("AttributeError at import", HEADER.format(name="x").replace(
        'SOURCE = "a test"', 'import otaproof.model.variants.api as api\nSOURCE = api.cse  # <-') + "    pass\n",
     "AttributeError: module 'otaproof.model.variants.api' has no attribute 'cse' (did you mean 'case'?)"),
    ("missing NAME", HEADER.format(name="x").replace('NAME = "x"\n', "") + "    pass\n",
     "a variant file needs NAME, a non-empty string"),
    ("NAME not a string", HEADER.format(name="x").replace('NAME = "x"', "NAME = 7  # <-") + "    pass\n",
     "needs NAME, a non-empty string: the variant's name, as commands and traces use it, got int 7"),
    ("NAME not a name", HEADER.format(name="My Change").replace('NAME = "My Change"', 'NAME = "My Change"  # <-')
     + "    pass\n", "NAME 'My Change' must be 1-48 lower-case letters, digits and hyphens"),
    ("empty DOC", HEADER.format(name="x").replace('DOC = "a design change"', 'DOC = ""  # <-') + "    pass\n",
     "a variant file needs DOC, a non-empty string"),
    ("missing SOURCE", HEADER.format(name="x").replace('SOURCE = "a test"\n', "") + "    pass\n",
     "a variant file needs SOURCE"),
    ("PARAMETERS not a dict", HEADER.format(name="x").replace('SOURCE = "a test"', 'SOURCE = "a test"\n'
                                                             'PARAMETERS = ["ppmids"]  # <-') + "    pass\n",
     "PARAMETERS must be a dict from model parameter names to values"),
    ("PARAMETERS key", HEADER.format(name="x").replace('SOURCE = "a test"', 'SOURCE = "a test"\nPARAMETERS = {\n'
                                                      '    "hcalcs": 1,\n    "ppmid": 2,  # <-\n}') + "    pass\n",
     "PARAMETERS: 'ppmid' is not a model parameter (did you mean 'ppmids'?); known: ppmids, hcalcs"),
    ("PARAMETERS type", HEADER.format(name="x").replace('SOURCE = "a test"', 'SOURCE = "a test"\n'
                                                       'PARAMETERS = {"ppmids": True}  # <-') + "    pass\n",
     "PARAMETERS: ppmids takes an integer, got True"),
    ("PARAMETERS value", HEADER.format(name="x").replace('SOURCE = "a test"', 'SOURCE = "a test"\n'
                                                        'PARAMETERS = {"ppmids": 99}  # <-') + "    pass\n",
     "PARAMETERS: parameter ppmids=99 must be an integer in 0..8"),
    ("missing apply", HEADER.format(name="x").replace("def apply(m):\n", "def change(m):\n") + "    pass\n",
     "a variant file needs a function apply(m) that edits the model m"),
    ("apply not a function", HEADER.format(name="x").replace("def apply(m):\n", "apply = print  # <-\n"),
     "a variant file needs a function apply(m)"),
    ("apply's arguments", HEADER.format(name="x").replace("def apply(m):", "def apply(m, when):  # <-")
     + "    pass\n", "apply takes exactly one argument, the model m; it takes 2"),
    ("unknown handle in apply", _body("print(m.registered_suplier)  # <-"),
     "unknown handle m.registered_suplier (did you mean 'registered_supplier'?) (the handles are listed in "
     "docs/variants.md)"),
    ("unknown handle in an action", _body(
        "def body(d):",
        "    return case(m.ota_imag[d] == 'none', [])  # <-",
        "m.b.machine('CH').action('CH_look', body, params={'d': m.ppmids})"),
     "unknown handle m.ota_imag (did you mean 'ota_image'?)"),
    ("guard not boolean", _body(
        "def body(d):",
        "    return case(m.version_of(m.running[d]), [])  # <-",
        "m.b.machine('CH').action('CH_look', body, params={'d': m.ppmids})"),
     "CH.CH_look(d=P1): the guard is int[0..2], not bool"),
    ("branch condition not boolean", _body(
        "def body(d):",
        "    return case(TRUE, outcome('late', m.running[d], []))  # <-",
        "m.b.machine('CH').action('CH_look', body, params={'d': m.ppmids})"),
     "the condition of branch 'late' is Image, not bool"),
    ("strengthened guard not boolean", _body(
        "def extra(d):",
        "    return m.running[d]",
        "m.b.strengthen_guard('CH_relay_to_device', extra)  # <-"),
     "CH.CH_relay_to_device(d=P1): the guard added by strengthen_guard is Image, not bool"),
    ("another machine's variable", _body(
        "def body(d):",
        "    return case(TRUE, assign(m.registered_supplier, 'S2'))",
        "m.b.machine('CH').action('CH_switch', body, params={'d': m.ppmids})  # <-"),
     "CH.CH_switch(d=P1): effect writes DSP.registered_supplier, a variable of machine DSP"),
    ("unknown action", _body("m.b.replace_action('CH_relay_to_hub', lambda d: None)  # <-"),
     "unknown action 'CH_relay_to_hub'; known: ["),
    ("withdrawing an unknown action", _body("m.withdraw('SR11_5_update_firmware')  # <-"),
     "unknown action 'SR11_5_update_firmware'"),
    ("an action declared twice", _body("m.b.machine('CH').action('CH_receive_CS05c', lambda d: None)  # <-"),
     "duplicate action 'CH_receive_CS05c' (already declared on machine CH)"),
    ("name clash with a built-in", HEADER.format(name="secmp0007").replace(
        'NAME = "secmp0007"', 'NAME = "secmp0007"  # <-') + "    pass\n",
     "NAME 'secmp0007' is taken by the built-in variant 'secmp0007' (otaproof.model.variants.approved)"),
    ("an unexpected exception", _body("x = 1", "x = x / (x - 1)  # <-"), "ZeroDivisionError: division by zero"),
]


@pytest.mark.parametrize("case,text,fragment", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_one_message_with_file_and_line_exit_2_nothing_written(
        case: str, text: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = _file(tmp_path, text), tmp_path / "verdicts.json"
    line = _marked_line(text) if "# <-" in text else 1
    code = main(["check", "--variant-file", str(path), "--property", "P-COMPAT", "--json", str(out)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert err.startswith(f"otaproof: error: {path}:{line}: "), err
    assert fragment in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["change.py"]
    assert "my-change" not in REGISTRY and "x" not in REGISTRY  # nothing stays registered


def test_a_name_taken_by_another_file_names_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _file(tmp_path, TINY, "first.py"), _file(tmp_path, TINY.replace(
        'NAME = "tiny-local-port"', 'NAME = "tiny-local-port"  # <-'), "second.py")
    assert main(["variants", "--variant-file", str(first), "--variant-file", str(second)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.strip() == (f"otaproof: error: {second}:4: NAME 'tiny-local-port' is taken by the file variant "
                           f"'tiny-local-port' ({first}); choose another name")


def test_a_mistake_under_one_threat_model_is_found_before_the_check(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = _body("if 'han_mitm' in m.threats:", "    m.attacker_memory  # <-")
    path = _file(tmp_path, text)
    assert main(["variants", "--variant-file", str(path)]) == EXIT_OK  # fine without the attacker
    capsys.readouterr()
    assert main(["check", "--variant-file", str(path), "--threat", "han_mitm", "--property", "P-COMPAT"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"otaproof: error: {path}:{_marked_line(text)}: unknown handle m.attacker_memory "
                           "(the handles are listed in docs/variants.md) (building my-change | han_mitm | no faults)")


def test_a_missing_file_and_a_file_that_is_not_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--variant-file", str(tmp_path / "nope.py")]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip() == f"otaproof: error: {tmp_path / 'nope.py'}: no such variant file"
    notes = _file(tmp_path, TINY, "change.txt")
    assert main(["check", "--variant-file", str(notes)]) == EXIT_BAD_INPUT
    assert "a variant file is a Python file whose name ends in .py" in capsys.readouterr().err


def test_variants_lists_built_in_and_file_variants_with_their_origin(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, TINY)
    assert main(["variants", "--variant-file", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "tiny-local-port" in out and "otaproof.model.variants" in out and "origin" in out  # paths fold
    rows = [line for line in out.splitlines() if "tiny-local-port" in line]
    assert "file" in rows[0] and "built-in" in next(line for line in out.splitlines() if "secmp0007 " in line)
    assert "tiny-local-port" not in REGISTRY  # registered for the command only


def test_check_takes_the_design_of_the_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The checks run in forked worker processes, which know the file variant by name. Its
    proofs use candidates generated from its structure, not the design's hand-written ones."""
    path, out = _file(tmp_path, TINY), tmp_path / "v.json"
    code = main(["check", "--variant-file", str(path), "--property", "P-LOCAL-BANNED,P-COMPAT", "--json", str(out)])
    assert code == EXIT_VIOLATED, capsys.readouterr()
    doc = json.loads(out.read_text())
    assert doc["variant"] == "tiny-local-port"
    verdicts = {r["property"]: r["verdict"] for r in doc["results"]}
    assert verdicts == {"P-LOCAL-BANNED": "violated", "P-COMPAT": "proved"}


@pytest.mark.parametrize(("flag", "design"),
                         [([], False), (["--design-lemmas"], True), (["--no-design-lemmas"], False)])
def test_a_file_design_gets_generated_lemma_candidates_unless_told(tmp_path: Path, flag: list[str],
                                                                   design: bool) -> None:
    """The design's hand-written candidates were written for the built-in designs; a file's
    design gets candidates generated from its own structure unless --design-lemmas asks."""
    path = _file(tmp_path, TINY)
    args = build_parser().parse_args(["check", "--variant-file", str(path), *flag])
    with variant_files(args):
        built = with_templates(build(cli._scenario(args)), 0)
    names = {lm.name for lm in built.lemmas}
    hand_written = {lm.name for lm in build(Scenario(design_lemmas=True)).lemmas}
    assert bool(names & hand_written) == design
    assert any(family(n) for n in names) != design


def test_diff_against_the_file_design_records_where_it_came_from(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path, out = _file(tmp_path, TINY), tmp_path / "d.json"
    assert main(["diff", "secmp0007", "--variant-file", str(path), "--property", "P-LOCAL-BANNED",
                 "--design-lemmas", "--json", str(out)]) == EXIT_OK
    assert "broken by B" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert (doc["a"], doc["b"]) == ("secmp0007", "tiny-local-port")
    assert doc["designs"]["tiny-local-port"] == {"name": "tiny-local-port", "origin": "file", "location": str(path),
                                                 "doc": "a design change", "source": "a test"}
    assert doc["designs"]["secmp0007"]["origin"] == "built-in" and doc["run"]["cpus"] >= 1


def test_diff_without_b_needs_exactly_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "secmp0007"]) == EXIT_BAD_INPUT
    assert "diff needs design B: name it, or give exactly one --variant-file" in capsys.readouterr().err
    one, two = _file(tmp_path, TINY, "one.py"), _file(tmp_path, TINY.replace("tiny-local-port", "tiny-two"), "two.py")
    assert main(["diff", "secmp0007", "--variant-file", str(one), "--variant-file", str(two)]) == EXIT_BAD_INPUT
    assert "(2 files give tiny-local-port, tiny-two)" in capsys.readouterr().err


def test_matrix_takes_the_approved_design_and_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = _file(tmp_path, TINY), tmp_path / "m.json"
    assert main(["matrix", "--variant-file", str(path), "--threat-model", "none", "--property", "P-LOCAL-BANNED",
                 "--design-lemmas", "--json", str(out)]) == EXIT_OK
    entries = json.loads(out.read_text())["entries"]
    assert [(e["variant"], e["verdict"]) for e in entries] == [("secmp0007", "proved"), ("tiny-local-port", "violated")]


def test_export_writes_the_file_design(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = _file(tmp_path, TINY), tmp_path / "tiny.pml"
    assert main(["export", "--promela", str(out), "--variant-file", str(path), "--property", "P-LOCAL-BANNED"]) == 0
    assert "variant tiny-local-port" in out.read_text() and "LOCAL_installer_update" in out.read_text()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_every_example_is_listed_and_builds(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["variants", "--variant-file", str(example)]) == EXIT_OK
    assert example.stem in capsys.readouterr().out


def test_a_generated_suite_keeps_the_file_and_its_traces_replay(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The suite's traces name the file's design: the suite copies the file and its conftest
    registers it, so the trace checks (which build the model by name) pass in a fresh process.
    The reference implementation has no configuration for the new design, so its reproduction
    fails with that gap named (the note says so); without the copied file it is a bad trace."""
    path, suite = _file(tmp_path, TINY), tmp_path / "suite"
    assert main(["generate", "--out", str(suite), "--variant-file", str(path), "--variant", "tiny-local-port",
                 "--threat-model", "none", "--property", "P-LOCAL-BANNED", "--no-coverage", "--no-oracle"]) == EXIT_OK
    assert "a system under test configured as tiny-local-port" in capsys.readouterr().out
    assert (suite / "variants" / "tiny-local-port.py").read_text() == TINY
    traces = [json.loads(p.read_text()) for p in (suite / "traces").glob("*.json")]
    assert "tiny-local-port" in {t["variant"] for t in traces}

    def run() -> str:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", str(suite)], cwd=suite,
                              capture_output=True, text=True, timeout=600)
        return done.stdout

    out = run()
    assert "1 failed, 1 passed" in out, out  # the guard on the approved design passes
    assert "cannot drive variant:tiny-local-port" in out and "not a valid trace" not in out, out
    for f in (suite / "variants").iterdir():
        f.unlink()
    out = run()
    assert "not a valid trace: ModelError: unknown variant 'tiny-local-port'" in out, out


def test_evidence_packs_the_file_and_verify_rebuilds_its_design(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The pack keeps the variant file (hashed in the manifest); verify's fresh worker processes
    register it, so the counterexample on the file's design replays."""
    path, pack = _file(tmp_path, TINY), tmp_path / "pack"
    assert main(["evidence", "--out", str(pack), "--variant-file", str(path), "--baseline", "secmp0007",
                 "--change", "tiny-local-port", "--threat-model", "none", "--property", "P-LOCAL-BANNED",
                 "--storm-runs", "20"]) == EXIT_OK
    assert (pack / "variants" / "tiny-local-port.py").read_text() == TINY
    manifest = json.loads((pack / "manifest.json").read_text())
    assert "variants/tiny-local-port.py" in manifest["files"] and "--variant-file" in manifest["command"]
    capsys.readouterr()
    assert main(["verify", str(pack), "--all"]) == EXIT_OK, capsys.readouterr().out
    assert "replay" in capsys.readouterr().out


PLUGIN = TINY.replace("tiny-local-port", "tiny-plugin")


def test_an_installed_plugin_is_listed_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A distribution on sys.path with an entry point in group otaproof.variants."""
    (tmp_path / "tiny_plugin.py").write_text(PLUGIN)
    info = tmp_path / "tiny_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[otaproof.variants]\ntiny-plugin = tiny_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["variants"]) == EXIT_OK
    row = next(line for line in capsys.readouterr().out.splitlines() if "tiny-plugin" in line)
    assert "plugin" in row and "entry point" in row
    out = tmp_path / "v.json"
    assert main(["check", "--variant", "tiny-plugin", "--property", "P-LOCAL-BANNED", "--design-lemmas",
                 "--json", str(out)]) == 1
    assert json.loads(out.read_text())["results"][0]["verdict"] == "violated"
    clash = _file(tmp_path, PLUGIN.replace('NAME = "tiny-plugin"', 'NAME = "tiny-plugin"  # <-'))
    capsys.readouterr()
    assert main(["variants", "--variant-file", str(clash)]) == EXIT_BAD_INPUT
    assert "NAME 'tiny-plugin' is taken by the plugin variant 'tiny-plugin' (entry point tiny-plugin = " \
           "tiny_plugin (tiny-plugin 1.0))" in capsys.readouterr().err


def test_every_handle_of_the_public_api_exists() -> None:
    """The handles docs/variants.md promises are attributes of the model a variant edits."""
    from otaproof.model.config import Parameters
    from otaproof.model.secmp0007 import Secmp0007
    from otaproof.model.variants import api

    m = Secmp0007(Parameters(), frozenset(), frozenset())
    assert [h for group in api.HANDLES.values() for h in group if not hasattr(m, h)] == []
    assert [n for n in api.BUILDER if "." not in n and not hasattr(m.b, n)] == []


def test_docs_variants_md_agrees_with_the_api_and_the_committed_results() -> None:
    from otaproof.reports.variant_results import DOC, RESULTS, RESULTS_GENERATED, render

    text = DOC.read_text(encoding="utf-8")
    generated = json.loads(RESULTS_GENERATED.read_text(encoding="utf-8"))
    assert "<!-- generated:variant-verdicts-generated -->" in text
    assert render(text, json.loads(RESULTS.read_text(encoding="utf-8")), generated) == text, \
        "docs/variants.md is stale: run python -m otaproof.reports.variant_results"


def test_a_hub_side_cpl_check_leaves_the_window_after_the_hubs_last_step(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """cpl-check-at-activation.py on P-CPL-NOW: the hub no longer answers Upgrade End or relays a
    CS06 for a delisted image, yet the entry can still be removed after the hub's last step of the
    exchange and before the device activates."""
    out = tmp_path / "v.json"
    code = main(["check", "--variant-file", str(EXAMPLES / "cpl-check-at-activation.py"), "--property", "P-CPL-NOW",
                 "--timeout", "900", "--quiet", "--json", str(out)])  # a generous budget: the verdict, not the speed
    assert code == EXIT_VIOLATED, capsys.readouterr()
    steps = [s["action"] for s in json.loads(out.read_text())["results"][0]["trace"]["steps"]]
    hub = max(i for i, a in enumerate(steps) if a in ("CH_relay_to_device", "CH_receive_upgrade_end"))
    assert steps[-1].startswith("activate_") and steps.index("CPL_remove_entry") > hub, steps


def test_the_verdict_tables_mark_what_a_change_fixes_and_breaks() -> None:
    from otaproof.reports.variant_results import verdicts_block

    def run(variant: str, verdicts: dict[str, str]) -> dict[str, object]:
        return {"variant": variant, "faults": [], "command": f"otaproof check {variant}", "wall_seconds": 1.0,
                "cpus": 2, "load_average": {"before": 1.0, "after": 2.0}, "date": "today",
                "verdicts": [{"property": p, "verdict": v, **({"depth": 3} if v == "violated" else {})}
                             for p, v in verdicts.items()]}

    block = verdicts_block({"runs": [run("change", {"P-A": "proved", "P-B": "violated", "P-C": "unknown"}),
                                     run("secmp0007", {"P-A": "violated", "P-B": "proved", "P-C": "proved"})]})
    assert "| property | secmp0007 | change |" in block  # the approved design first
    assert "| P-A | ✘3 | **✔** |" in block and "| P-B | ✔ | **✘3** |" in block and "| P-C | ✔ | **?** |" in block
    assert "- `change`: fixes P-A; breaks P-B; unknown: P-C." in block
