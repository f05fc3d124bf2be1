"""``otaproof evidence``, ``verify`` and ``keygen`` end to end on a small design-change pack.

The pack (secmp0007 against gateway-screening, no attacker, three properties) is built once per
test session and shared by the xdist workers through a file lock; the determinism test builds
a second one and compares every byte but ``timings.json``.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from otaproof.cli import main
from otaproof.properties.catalogue import get_property
from otaproof.properties.obligations import obligations
from otaproof.properties.trace import Trace
from otaproof.properties.verdict import Certificate, CertificateKind
from otaproof.reports.evidence.certificates import obligation_path, scenario_of
from otaproof.reports.evidence.findings import built_model
from otaproof.reports.evidence.pack import PACK_PHASES, phases_line

PROPERTIES = "P-CPL-NOW,P-LOCAL-BANNED,P-NO-STRAND"


def pack_command(out: Path, key: Path) -> list[str]:
    return ["evidence", "--out", str(out), "--baseline", "secmp0007", "--change", "gateway-screening",
            "--threat-model", "none", "--property", PROPERTIES, "--timeout", "600", "--storm-runs", "20",
            "--workers", "2", "--sign-key", str(key)]


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_pack(factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(pack, private key, public key): built by the first worker that asks, reused by the others."""
    root = _shared_root(factory) / "evidence-pack"
    root.mkdir(exist_ok=True)
    pack, private, public = root / "pack", root / "key.pem", root / "key.pub.pem"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (pack / "manifest.json").is_file():
            if not private.exists():
                assert main(["keygen", str(private), str(public)]) == 0
            assert main(pack_command(pack, private)) == 0
        fcntl.flock(lock, fcntl.LOCK_UN)
    return pack, private, public


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return shared_pack(tmp_path_factory)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _copy(pack: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(pack, target)
    return target


def _rehash(pack: Path, name: str) -> None:
    """Record a changed file's hash in the manifest (and drop the signature): only the re-checks can object."""
    manifest = json.loads((pack / "manifest.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256((pack / name).read_bytes()).hexdigest()
    (pack / "manifest.json").write_text(json.dumps(manifest))
    (pack / "manifest.sig").unlink(missing_ok=True)


def test_layout_manifest_and_no_paths(built: tuple[Path, Path, Path]) -> None:
    pack, _, _ = built
    files = _files(pack)
    for name in ("index.html", "report.md", "evidence.json", "storm.png", "storm.svg", "manifest.json",
                 "manifest.sig", "timings.json"):
        assert name in files, name
    assert files["storm.png"].startswith(b"\x89PNG")
    manifest = json.loads(files["manifest.json"])
    assert manifest["schema"] == "otaproof.manifest/1"
    listed = manifest["files"]
    assert set(listed) == set(files) - {"manifest.json", "manifest.sig", "timings.json"}
    for name, info in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == info["sha256"], name
    assert manifest["command"][:2] == ["otaproof", "evidence"] and "--baseline" in manifest["command"]
    assert {"otaproof", "python", "z3"} <= set(manifest["versions"])
    assert manifest["seeds"] == {"storm": 0, "z3": 0}
    base = str(pack.parent)
    for name, data in files.items():
        if name != "timings.json":
            assert base.encode() not in data, f"{name} holds an absolute path"


def test_evidence_json_matches_the_files(built: tuple[Path, Path, Path]) -> None:
    pack, _, _ = built
    doc = json.loads((pack / "evidence.json").read_text())
    assert doc["schema"] == "otaproof.evidence/2" and doc["kind"] == "design-change"
    cells = {c["key"]: c for c in doc["cells"]}
    assert len(cells) == 2 * 3
    findings = {f["id"]: f for f in doc["findings"]}
    certificates = set()
    for c in cells.values():
        if c["verdict"] == "violated":
            trace = Trace.from_json(json.loads((pack / c["trace"]).read_text()))
            assert trace.property == c["property"] and len(trace.steps) == c["depth"]
            assert c["key"] in findings[c["finding"]]["cells"]
        elif c["verdict"] == "proved":
            assert c["certificate"]["recheck"] == "accepted"
            for ob in c["certificate"]["obligations"]:
                assert ob["file"].startswith(f"certificates/{c['key']}/") and ob["accepted_by"] == ["z3"]
                data = (pack / ob["file"]).read_bytes()
                assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0: the same text gives the same bytes
                text = gzip.decompress(data).decode()
                assert len(text.encode()) == ob["bytes"] and text.startswith("; otaproof certificate obligation")
                defined = "base" if ob["file"].endswith("/base-step.smt2.gz") else "inv"  # the row's shared lemmas
                assert f"\n(define-fun {defined} (" in text and text.endswith("(check-sat)\n(exit)\n")
                certificates.add(ob["file"])
    assert {n for n in _files(pack) if n.startswith("certificates/")} == certificates != set()
    # the design change: P-LOCAL-BANNED is proved in secmp0007 and violated in gateway-screening
    a, b = cells["secmp0007/none/P-LOCAL-BANNED"], cells["gateway-screening/none/P-LOCAL-BANNED"]
    assert (a["verdict"], b["verdict"]) == ("proved", "violated")
    flip = [s for s in doc["change"]["sentences"] if "P-LOCAL-BANNED" in s]
    assert flip and flip[0].startswith("gateway-screening breaks P-LOCAL-BANNED without an attacker")
    assert f"finding {b['finding']}" in flip[0]
    # generated from the trace: the sentence names the trace's steps
    trace = json.loads((pack / b["trace"]).read_text())
    assert all(s["action"] in flip[0] for s in trace["steps"])
    # the flip's finding comes first
    assert doc["findings"][0]["cells"] == ["gateway-screening/none/P-LOCAL-BANNED"]


def test_timings_split_the_verdicts_from_the_pack(built: tuple[Path, Path, Path]) -> None:
    """timings.json says how long the verdicts took and each phase of the pack beyond them; every
    obligation file is the one the worker that found the proof printed and had Z3 solve."""
    pack, _, _ = built
    timings = json.loads((pack / "timings.json").read_text())
    build = timings["build"]
    assert set(PACK_PHASES) - {"pdf"} <= set(build) and {"verdicts", "pack", "total", "storm_process"} <= set(build)
    assert build["pack"] == pytest.approx(sum(build[p] for p in PACK_PHASES if p in build), abs=0.01)
    assert build["verdicts"] + build["pack"] <= build["total"] + 0.01
    certificates = [n for n in _files(pack) if n.startswith("certificates/")]
    assert timings["obligation_files"] == {"from_workers": len(certificates), "printed_by_the_pack": 0}
    proved = [c for c in timings["cells"].values() if "recheck" in c]
    assert proved and all(c["from"] == "worker" for c in proved)
    line = phases_line(build)
    assert line.startswith(f"{build['total']:.1f} s: verdicts {build['verdicts']:.1f} s, pack {build['pack']:.1f} s (")
    assert f"obligations {build['obligations']:.1f} s" in line and f"hashing {build['hashing']:.1f} s" in line


def test_report_md_has_a_mermaid_chart_per_finding(built: tuple[Path, Path, Path]) -> None:
    pack, _, _ = built
    text = (pack / "report.md").read_text()
    doc = json.loads((pack / "evidence.json").read_text())
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert len(blocks) == len(doc["findings"]) >= 3
    for block in blocks:
        lines = block.splitlines()
        assert lines[0] == "sequenceDiagram" and "    participant Supplier" in lines
        assert all(";" not in line for line in lines)
    assert any("->>" in block for block in blocks)  # messages derived from channel traffic


def test_index_html_is_self_contained(built: tuple[Path, Path, Path]) -> None:
    html = (built[0] / "index.html").read_text()
    assert "<script" not in html and " src=" not in html
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith("#"), href
    for url in re.findall(r"https?://[^\s\"'<>]+", html):
        assert url.startswith(("http://www.w3.org/", "http://purl.org/", "http://creativecommons.org/")), url
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="msc"') == len(
        json.loads((built[0] / "evidence.json").read_text())["findings"])


def test_same_inputs_same_bytes(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    pack, private, _ = built
    again = tmp_path / "pack"
    assert main(pack_command(again, private)) == 0
    first, second = _files(pack), _files(again)
    first.pop("timings.json")
    second.pop("timings.json")
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_verify_accepts_the_pack_and_checks_the_key(built: tuple[Path, Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pack, _, public = built
    assert main(["verify", str(pack), "--public-key", str(public)]) == 0
    out, err = capsys.readouterr()
    assert "0 failed" in out and "accepted" in out
    doc = json.loads((pack / "evidence.json").read_text())
    jobs = sum(c["verdict"] == "proved" for c in doc["cells"]) + sum("trace" in c for c in doc["cells"])
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == jobs and progress[-1].startswith(f"[{jobs}/{jobs}] ")  # one line per re-check, piped
    other, other_pub = tmp_path / "other.pem", tmp_path / "other.pub.pem"
    assert main(["keygen", str(other), str(other_pub)]) == 0
    capsys.readouterr()
    assert main(["verify", str(pack), "--public-key", str(other_pub)]) == 1
    assert "FAILED manifest.sig" in capsys.readouterr().out


def test_verify_names_a_tampered_trace(built: tuple[Path, Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pack = _copy(built[0], tmp_path)
    name = next(p for p in _files(pack) if p.startswith("traces/"))
    data = bytearray((pack / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (pack / name).write_bytes(bytes(data))
    assert main(["verify", str(pack), "--public-key", str(built[2]), "--solvers", "z3"]) == 1
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAILED ")]
    assert f"FAILED {name}: sha256: content differs from the manifest (changed)" in failed
    assert all(line.startswith(f"FAILED {name}: ") for line in failed)


def _failed(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAILED ")]


def _certificate_files(pack: Path) -> list[str]:
    doc = json.loads((pack / "evidence.json").read_text())
    return [ob["file"] for c in doc["cells"] for ob in c.get("certificate", {}).get("obligations", [])]


def test_verify_names_a_changed_certificate_file(built: tuple[Path, Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pack = _copy(built[0], tmp_path)
    name = next(f for f in _certificate_files(pack) if f.endswith("/step.smt2.gz"))
    text = gzip.decompress((pack / name).read_bytes()).decode()
    changed = text.replace("(assert (not (inv ", "(assert (not (and true (inv ", 1)
    assert changed != text
    changed = changed.replace("\n(check-sat)", ")\n(check-sat)", 1)
    (pack / name).write_bytes(gzip.compress(changed.encode(), mtime=0))
    assert main(["verify", str(pack), "--public-key", str(built[2]), "--solvers", "z3"]) == 1
    failed = _failed(capsys.readouterr().out)
    assert f"FAILED {name}: sha256: content differs from the manifest (changed)" in failed
    # the manifest re-hashed (and the signature dropped): the re-check itself objects, naming the file
    _rehash(pack, name)
    assert main(["verify", str(pack), "--solvers", "z3"]) == 1
    failed = _failed(capsys.readouterr().out)
    assert len(failed) == 1 and failed[0].startswith(f"FAILED {name}: certificate: is not the obligation step"), failed


def test_verify_solves_a_weakened_certificate_and_names_the_failing_obligation(
        built: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file of the proof carries the invariant ``true`` (and the base ``true``: the proof's
    files include its base-step), consistently: the files are the model's obligations for that
    invariant, so only the solver can refute it (Base ∧ Inv ⇒ P fails)."""
    pack = _copy(built[0], tmp_path)
    doc = json.loads((pack / "evidence.json").read_text())
    cell = next(c for c in doc["cells"] if c["verdict"] == "proved")
    model = built_model(scenario_of(cell))
    assert any(ob["file"].endswith("/base-step.smt2.gz") for ob in cell["certificate"]["obligations"])
    cert = Certificate(CertificateKind(cell["certificate"]["kind"]), "true", 1, base="true")
    for ob in obligations(model, get_property(cell["property"]), cert):
        path = obligation_path(cell["key"], ob.filename)
        (pack / path).write_bytes(ob.packed)
        _rehash(pack, path)
    assert main(["verify", str(pack), "--solvers", "z3"]) == 1
    failed = _failed(capsys.readouterr().out)
    safe = f"certificates/{cell['key']}/safe.smt2.gz"
    assert len(failed) == 1 and failed[0].startswith(f"FAILED {safe}: certificate: obligation safe (Base ∧ Inv ⇒ P): "
                                                     "z3 sat: the claim fails"), failed


def test_verify_replays_traces(built: tuple[Path, Path, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    pack = _copy(built[0], tmp_path)
    doc = json.loads((pack / "evidence.json").read_text())
    trace_name = next(c["trace"] for c in doc["cells"] if c.get("depth", 0) > 2)
    trace = json.loads((pack / trace_name).read_text())
    step = trace["steps"][0]
    step["parameters"] = {k: v for k, v in step["parameters"].items()} | {"no_such_parameter": 1}
    (pack / trace_name).write_text(json.dumps(trace))
    _rehash(pack, trace_name)
    assert main(["verify", str(pack), "--solvers", "z3"]) == 1
    failed = _failed(capsys.readouterr().out)
    assert len(failed) == 1 and failed[0].startswith(f"FAILED {trace_name}: replay: does not replay"), failed


def test_verify_bad_input(built: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _copy(built[0], tmp_path)
    (pack / "manifest.json").write_text("{ not json")
    assert main(["verify", str(pack)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("otaproof: error:") and "corrupt" in err and len(err.splitlines()) == 1
    (pack / "manifest.json").unlink()
    assert main(["verify", str(pack)]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["verify", str(built[0]), "--public-key", str(built[0] / "index.html")]) == 2
    assert "--public-key" in capsys.readouterr().err


def test_evidence_bad_input_writes_nothing(built: tuple[Path, Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pack"
    cases = [
        (["evidence", "--out", str(out), "--baseline", "secmp0007"], "--baseline and --change"),
        (["evidence", "--out", str(out), "--variant", "no-such-design"], "no-such-design"),
        (["evidence", "--out", str(out), "--property", "P-NOPE"], "P-NOPE"),
        (["evidence", "--out", str(out), "--threat-model", "han_mitm+aliens"], "aliens"),
        (["evidence", "--out", str(out), "--sign-key", str(built[0] / "index.html")], "--sign-key"),
        (["evidence", "--out", str(tmp_path / "missing" / "pack")], "does not exist"),
        (["evidence", "--out", str(built[0])], "exists"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, (argv, err)
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_keygen_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    assert main(["keygen", str(private), str(public)]) == 0
    assert private.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PUBLIC KEY" in public.read_bytes()
    before = private.read_bytes()
    assert main(["keygen", str(private), str(tmp_path / "other.pub.pem")]) == 2
    assert "exists" in capsys.readouterr().err and private.read_bytes() == before
