"""Seeded faults of the refimpl: each changes a concrete scenario, patches only what it names, and
restores everything when left; the mutation-analysis runner on tiny throwaway suites (a kill is a
failing test; a run that times out or crashes is reported as such)."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

import otaproof.refimpl.commands
import otaproof.refimpl.cpl
import otaproof.refimpl.devices
import otaproof.refimpl.dsp
import otaproof.refimpl.hub
import otaproof.refimpl.image
import otaproof.refimpl.smi
from otaproof.generators.mutants import MUTANTS, applied, apply_from_env
from otaproof.generators.mutation import (
    GAP,
    SCHEMA,
    MutantResult,
    MutationReport,
    Status,
    SuiteFailsWithoutMutants,
    _run_suite,
    describe_score,
    report_table,
    run_mutants,
    to_json,
)
from otaproof.refimpl import Premises, PremisesConfig, RejectionError
from otaproof.refimpl import messages as m
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.messages import ActivationOutcome, TransferOutcome

REQUIRED = {"skip-cpl-check", "skip-dsp-hash-check", "skip-authorisation", "skip-update-in-progress-check",
            "skip-signature-verification", "accept-stale-counter", "smi-on-distribution", "image-to-wrong-device",
            "ignore-hardware-version", "activate-without-hash-compare", "keep-old-supplier-rights",
            "keep-image-on-hub", "no-anti-rollback", "no-ccs08-on-failure", "smi-not-failed-on-failure",
            "wrong-version-in-read", "cs09-wrong-version", "no-timeout"}


# --- helpers -----------------------------------------------------------------------------------
def _premises(initial_version: int = 1) -> Premises:
    return Premises(PremisesConfig(seed=1, initial_version=initial_version))


def _rejection(action: Callable[[], object]) -> str:
    """The name of the RejectionError ``action`` raises, or 'accepted'."""
    try:
        action()
    except RejectionError as err:
        return type(err).__name__
    return "accepted"


def _inbox(p: Premises, kind: str) -> list[dict[str, object]]:
    return [body for k, _, body in p.suppliers[p.registered_supplier].inbox if k == kind]


# --- one scenario per fault; each returns what it observes --------------------------------------
def unlisted_image() -> object:
    p = _premises()
    image = p.firmware("PPMID", 2, list_on_cpl=False)
    return _rejection(lambda: p.update_ppmid(image)), p.ppmid.running_version


def image_differs_from_stated_hash() -> object:
    p = _premises()
    listed, other = p.firmware("PPMID", 2), p.firmware("PPMID", 3, list_on_cpl=False)
    return _rejection(lambda: p.update_ppmid(other, version=2, stated_hash=sha256(listed))), p.ppmid.running_version


def sr_from_unregistered_supplier() -> object:
    p = _premises()
    image = p.firmware("PPMID", 2)
    return _rejection(lambda: p.update_ppmid(image, supplier="S2")), p.ppmid.running_version


def second_sr_while_in_progress() -> object:
    p = _premises()
    p.update_ppmid(p.firmware("PPMID", 2), run=False)
    v3 = p.firmware("PPMID", 3)
    second = _rejection(lambda: p.update_ppmid(v3))
    p.run()
    return second, [r.state for r in p.dsp.requests], p.smi.record(p.ppmid.device_id).state


def cs06_signed_by_another_supplier() -> object:
    p = _premises()
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    forged = p.suppliers["S2"].activate_firmware_command(p.hcalcs.device_id, sha256(image))
    verdict = _rejection(lambda: p.dsp.submit_sr11_3("S1", forged))
    p.run()
    return verdict, p.smi.record(p.hcalcs.device_id).state


def future_dated_ppmid_update() -> object:
    p = _premises()
    p.update_ppmid(p.firmware("PPMID", 2), activation_time=p.now + 7200)
    entry = p.read_inventory(p.ppmid.device_id)
    return p.ppmid.running_version, entry.DeviceFirmwareVersion, entry.DeviceFirmwareVersionStatus


def unsigned_ppmid_image() -> object:
    p = _premises()
    p.update_ppmid(p.firmware("PPMID", 2, signed=False))
    return (p.ppmid.running_version, p.smi.record(p.ppmid.device_id).state,
            [alert["outcome"] for alert in _inbox(p, m.CCS08)])


def removed_cpl_entry() -> object:
    p = _premises()
    image = p.firmware("PPMID", 2)
    p.cpl.remove(p.models["PPMID"], sha256(image))
    return _rejection(lambda: p.update_ppmid(image)), p.ppmid.running_version


def wrong_stated_version() -> object:
    p = _premises()
    image = p.firmware("PPMID", 2)
    return _rejection(lambda: p.update_ppmid(image, version=5)), p.ppmid.running_version


def hcalcs_distribution() -> object:
    p = _premises()
    req = p.distribute(p.firmware("HCALCS", 2))
    return None if p.hcalcs.held is None else p.hcalcs.held.header.file_version, req.state


def hcalcs_image_listed_for_the_ppmid() -> object:
    p = _premises()
    image = p.firmware("HCALCS", 2, list_on_cpl=False)
    p.cpl.list_hash(p.models["PPMID"], 2, sha256(image))
    p.update_ppmid(image)
    blocks = [e for e in p.log.of("message") if e.data["message"] == m.IMAGE_BLOCK_REQUEST]
    return [alert["outcome"] for alert in _inbox(p, m.CCS08)], p.ppmid.running_version, len(blocks)


def ppmid_update() -> object:
    p = _premises()
    p.update_ppmid(p.firmware("PPMID", 2))
    return p.ppmid.running_version, p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion, p.hub.held_images()


def stalled_transfer() -> object:
    p = _premises()
    p.faults.lose(m.UPGRADE_END)
    p.update_ppmid(p.firmware("PPMID", 2))
    p.advance(3600)
    return ([alert["outcome"] for alert in _inbox(p, m.CCS08)], p.smi.record(p.ppmid.device_id).state,
            p.hub.held_images())


def images_for_other_hardware() -> object:
    p = _premises()
    p.update_ppmid(p.firmware("PPMID", 2, hardware=(5, 9)))       # the hub checks first
    p.distribute(p.firmware("HCALCS", 2, hardware=(5, 9)))        # only the device checks
    return p.ppmid.running_version, p.hcalcs.held


def ppmid_image_listed_for_the_hcalcs() -> object:
    p = _premises()
    image = p.firmware("PPMID", 2, list_on_cpl=False)
    p.cpl.list_hash(p.models["HCALCS"], 2, sha256(image))
    p.distribute(image)
    return p.hcalcs.held


def older_image() -> object:
    p = _premises(initial_version=3)
    p.update_ppmid(p.firmware("PPMID", 2))
    return p.ppmid.running_version


def replayed_cs06() -> object:
    p = _premises()
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.activate(image)
    [cs06] = p.network.captured(m.CS06, dst=p.hcalcs.device_id)
    return p.hcalcs.running_version, _rejection(lambda: p.hcalcs.activate_firmware(cs06["command"]))


def cs06_for_another_device() -> object:
    p = _premises()
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    command = p.suppliers["S1"].activate_firmware_command(p.ppmid.device_id, sha256(image))
    return _rejection(lambda: p.hcalcs.activate_firmware(command)), p.hcalcs.running_version


def old_supplier_after_change_of_supplier() -> object:
    p = _premises()
    p.change_of_supplier("S2")
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    command = p.suppliers["S1"].activate_firmware_command(p.hcalcs.device_id, sha256(image))
    return _rejection(lambda: p.hcalcs.activate_firmware(command)), p.hcalcs.running_version


def cs06_for_another_image() -> object:
    p = _premises()
    p.distribute(p.firmware("HCALCS", 2))
    p.activate(p.firmware("HCALCS", 3))
    return p.hcalcs.running_version, [body.get("outcome") for body in _inbox(p, m.CS06_RESPONSE)]


def read_while_an_image_is_held() -> object:
    p = _premises()
    p.distribute(p.firmware("HCALCS", 2))
    p.read_firmware_version(p.hcalcs.device_id)
    return [body["firmware_version"] for body in _inbox(p, m.CS08_RESPONSE)]


# mutant -> (scenario, what it observes on the correct refimpl)
SCENARIOS: dict[str, tuple[Callable[[], object], object]] = {
    "skip-cpl-check": (unlisted_image, ("NotOnCPL", 1)),
    "skip-dsp-hash-check": (image_differs_from_stated_hash, ("HashMismatch", 1)),
    "skip-authorisation": (sr_from_unregistered_supplier, ("NotAuthorised", 1)),
    "skip-update-in-progress-check": (second_sr_while_in_progress, ("UpdateInProgress", ["completed", "rejected"],
                                                                    "current")),
    "skip-cs06-originator-check": (cs06_signed_by_another_supplier, ("NotAuthorised", "current")),
    "smi-on-distribution": (future_dated_ppmid_update, (1, 1, "Update In Progress")),
    "smi-not-failed-on-failure": (unsigned_ppmid_image, (1, "failed", [TransferOutcome.IMAGE_DISCARDED])),
    "cpl-accept-removed": (removed_cpl_entry, ("NotOnCPL", 1)),
    "cpl-ignore-version": (wrong_stated_version, ("NotOnCPL", 1)),
    "image-to-wrong-device": (hcalcs_distribution, (2, "completed")),
    "hub-skips-image-type-check": (hcalcs_image_listed_for_the_ppmid, ([TransferOutcome.IMAGE_DISCARDED], 1, 0)),
    "keep-image-on-hub": (ppmid_update, (2, 2, {})),
    "no-ccs08-on-failure": (unsigned_ppmid_image, (1, "failed", [TransferOutcome.IMAGE_DISCARDED])),
    "no-timeout": (stalled_transfer, ([TransferOutcome.FILE_TRANSFER_FAILURE], "failed", {})),
    "ignore-hardware-version": (images_for_other_hardware, (1, None)),
    "skip-signature-verification": (unsigned_ppmid_image, (1, "failed", [TransferOutcome.IMAGE_DISCARDED])),
    "skip-model-check": (ppmid_image_listed_for_the_hcalcs, None),
    "no-anti-rollback": (older_image, 3),
    "accept-stale-counter": (replayed_cs06, (2, "StaleCounter")),
    "skip-target-check": (cs06_for_another_device, ("UnknownDevice", 1)),
    "keep-old-supplier-rights": (old_supplier_after_change_of_supplier, ("BadSignature", 1)),
    "activate-without-hash-compare": (cs06_for_another_image, (1, [ActivationOutcome.HASH_MISMATCH])),
    "wrong-version-in-read": (read_while_an_image_is_held, [1]),
    "cs09-wrong-version": (ppmid_update, (2, 2, {})),
    "ignore-upgrade-time": (future_dated_ppmid_update, (1, 1, "Update In Progress")),
}


def test_the_catalogue_has_every_required_mutant_and_a_scenario_for_each() -> None:
    assert REQUIRED <= set(MUTANTS) and len(MUTANTS) >= 18
    assert set(SCENARIOS) == set(MUTANTS)
    for name, mutant in MUTANTS.items():
        assert mutant.name == name and mutant.fault and mutant.where.startswith("otaproof/refimpl/")


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_mutant_changes_its_scenario_and_only_while_applied(name: str) -> None:
    scenario, expected = SCENARIOS[name]
    assert scenario() == expected
    with applied(name):
        assert scenario() != expected
    assert scenario() == expected


# --- mutants that are edited copies of a refimpl function: the original must not have moved on ---
# where -> digest of the original's code (docstring and comments aside) when its copy was written
COPIED = {
    "otaproof/refimpl/dsp.py:DSP._check_targets": "bc1bc14a3376498d",
    "otaproof/refimpl/dsp.py:DSP.submit_sr11_3": "eb3406b70c067f93",
    "otaproof/refimpl/cpl.py:CPLRegistry.require_listed": "18075771a25c516f",
    "otaproof/refimpl/devices.py:HanDevice.verify_image": "4534862eb7dd25d1",
    "otaproof/refimpl/devices.py:HanDevice.check_critical": "84453c7067e3b0a6",
    "otaproof/refimpl/devices.py:HCALCS.activate_firmware": "fab12baf09c1ea76",
    "otaproof/refimpl/devices.py:HanDevice._on_read_version": "946c667c432688c3",
}


def _resolve(where: str) -> Any:
    path, qualname = where.split(":")
    target: Any = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _code_digest(function: Any) -> str:
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(node, ast.FunctionDef)
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    return hashlib.sha256(ast.dump(node).encode()).hexdigest()[:16]


@pytest.mark.parametrize("where", list(COPIED))
def test_the_refimpl_functions_mutants_copy_are_unchanged(where: str) -> None:
    # If this fails, refimpl changed the function: bring the mutant's copy in generators/mutants.py
    # up to date (the same code with the one check left out), then record the new digest here.
    assert _code_digest(_resolve(where)) == COPIED[where], f"{where} changed: review the mutants that copy it"


# --- patching: exactly where it says, restored afterwards ---------------------------------------
MODULES: tuple[ModuleType, ...] = (otaproof.refimpl.commands, otaproof.refimpl.cpl, otaproof.refimpl.devices,
                                   otaproof.refimpl.dsp, otaproof.refimpl.hub,
                                   otaproof.refimpl.image, otaproof.refimpl.smi)


def _snapshot() -> dict[str, object]:
    """Every module global and class attribute of the patchable refimpl modules, keyed like ``where``."""
    out: dict[str, object] = {}
    for module in MODULES:
        path = module.__name__.replace(".", "/") + ".py"
        for name, value in vars(module).items():
            out[f"{path}:{name}"] = value
            if isinstance(value, type) and value.__module__ == module.__name__:
                out.update({f"{path}:{name}.{attr}": v for attr, v in vars(value).items()})
    return out


def _changed(before: dict[str, object], after: dict[str, object]) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) is not after.get(key)}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_mutant_patches_exactly_its_where_and_restores_it(name: str) -> None:
    before = _snapshot()
    with applied(name):
        during = _snapshot()
    assert _changed(before, during) == set(MUTANTS[name].where.split(", "))
    assert _changed(before, _snapshot()) == set()


def test_no_mutant_changes_nothing() -> None:
    before = _snapshot()
    with applied(None):
        assert _changed(before, _snapshot()) == set()
        assert unlisted_image() == ("NotOnCPL", 1)


def test_unknown_mutant_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown mutant 'no-such-fault'; known: skip-cpl-check, ") as info:
        applied("no-such-fault")
    assert all(name in str(info.value) for name in MUTANTS)


def test_apply_from_env_does_nothing_when_unset_and_refuses_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot()
    monkeypatch.delenv("OTAPROOF_MUTANT", raising=False)
    apply_from_env()
    monkeypatch.setenv("OTHER_VAR", "no-such-fault")
    with pytest.raises(ValueError, match="unknown mutant 'no-such-fault'"):
        apply_from_env("OTHER_VAR")
    assert _changed(before, _snapshot()) == set()


@pytest.mark.parametrize("value, expected", [("skip-cpl-check", "_cpl_unchecked"), ("", "_check_cpl")])
def test_apply_from_env_switches_the_named_mutant_on_for_the_process(value: str, expected: str) -> None:
    code = ("from otaproof.generators.mutants import apply_from_env\napply_from_env()\n"
            "from otaproof.refimpl.dsp import DSP\nprint(DSP._check_cpl.__name__)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OTAPROOF_MUTANT": value},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected


# --- the runner on a throwaway suite ------------------------------------------------------------
CONFTEST = "from otaproof.generators.mutants import apply_from_env\n\napply_from_env()\n"
KILLS_SKIP_CPL = '''
    import pytest
    from otaproof.refimpl import NotOnCPL, Premises, PremisesConfig


    class TestCPL:
        @pytest.mark.parametrize("version", [2, 3])
        def test_unlisted_image_is_refused(self, version):
            p = Premises(PremisesConfig(seed=1))
            with pytest.raises(NotOnCPL):
                p.update_ppmid(p.firmware("PPMID", version, list_on_cpl=False))
'''
KILLS_NOTHING_CHOSEN = '''
    from otaproof.refimpl import Premises, PremisesConfig


    def test_listed_image_is_installed():
        p = Premises(PremisesConfig(seed=1))
        p.update_ppmid(p.firmware("PPMID", 2))
        assert p.ppmid.running_version == 2
'''


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway suites need no entry-point plugins; not loading hypothesis saves ~1 s per pytest run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def _suite(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"conftest.py": CONFTEST, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


BREAKS_COLLECTION_UNDER = '''
    import os

    if os.environ.get("OTAPROOF_MUTANT") == "hub-skips-image-type-check":
        raise ImportError("this module cannot be imported with that mutant on")


    def test_nothing():
        pass
'''


def test_run_mutants_reports_killers_survivors_crashes_and_the_score(tmp_path: Path) -> None:
    suite = _suite(tmp_path, {"dsp/test_cpl.py": KILLS_SKIP_CPL, "test_update.py": KILLS_NOTHING_CHOSEN,
                              "test_fragile.py": BREAKS_COLLECTION_UNDER})
    names = ["skip-cpl-check", "keep-image-on-hub", "hub-skips-image-type-check"]
    seen: list[str] = []
    report = run_mutants(suite, names, jobs=2, timeout=120, progress=lambda r: seen.append(r.name))
    assert [r.name for r in report.results] == names and sorted(seen) == sorted(names)
    killed, gap, crashed = report.results
    assert killed.killed and killed.verdict == "killed" and killed.status is Status.KILLED
    assert killed.killing_tests == ("dsp/test_cpl.py::TestCPL::test_unlisted_image_is_refused[2]",
                                    "dsp/test_cpl.py::TestCPL::test_unlisted_image_is_refused[3]")
    assert not gap.killed and gap.killing_tests == () and gap.verdict == GAP and gap.status is Status.SURVIVED
    # a collection error is no failing test: the run crashed, which is not a kill
    assert crashed.status is Status.CRASHED and not crashed.killed
    assert crashed.verdict.startswith("crashed: pytest exit status 2") and "not counted as killed" in crashed.verdict
    assert report.kill_rate == pytest.approx(1 / 3)  # killed / all seeded
    assert [r.name for r in report.survivors] == ["keep-image-on-hub", "hub-skips-image-type-check"]
    assert all(r.seconds > 0 for r in report.results)
    _check_renderings(report)


def _check_renderings(report: MutationReport) -> None:
    data = to_json(report)
    assert json.loads(json.dumps(data)) == data
    assert data["schema"] == SCHEMA and (data["killed"], data["total"]) == (1, 3)
    assert (data["survived"], data["timed_out"], data["crashed"]) == (1, 0, 1)
    assert data["survivors"] == ["keep-image-on-hub", "hub-skips-image-type-check"]
    assert [m["status"] for m in data["mutants"]] == ["killed", "survived", "crashed"]
    assert data["mutants"][0]["killing_tests"][0].startswith("dsp/test_cpl.py::TestCPL::")
    console = Console(record=True, width=400)
    console.print(report_table(report))
    text = console.export_text()
    assert "mutation score 1/3 = 33.3% (killed / all seeded mutants; 1 survived, 0 timed out, 1 crashed)" in text
    assert "2: dsp/test_cpl.py::TestCPL::test_unlisted_image_is_refused[2]" in text
    assert "not killed: a gap in the suite's coverage" in text and "crashed: pytest exit status 2" in text


HANGS_UNDER_A_MUTANT = '''
    import os
    import time


    def test_hangs_with_a_mutant_on():
        while os.environ.get("OTAPROOF_MUTANT"):
            time.sleep(1)
'''
EXITS_UNDER_A_MUTANT = '''
    import os


    def test_the_interpreter_dies_with_a_mutant_on():
        if os.environ.get("OTAPROOF_MUTANT"):
            os._exit(9)
'''


def test_a_run_that_times_out_is_reported_as_timed_out_not_as_killed(tmp_path: Path) -> None:
    suite = _suite(tmp_path, {"test_hang.py": HANGS_UNDER_A_MUTANT})
    assert _run_suite(suite, None, 120).status is Status.SURVIVED
    run = _run_suite(suite, "skip-cpl-check", 3)  # the test never ends with a mutant on, however fast the machine
    assert (run.status, run.failing, run.detail) == (Status.TIMED_OUT, (), "no result within 3 s")


def test_a_run_whose_interpreter_dies_is_reported_as_crashed_not_as_killed(tmp_path: Path) -> None:
    suite = _suite(tmp_path, {"test_exit.py": EXITS_UNDER_A_MUTANT})
    run = _run_suite(suite, "skip-cpl-check", 120)
    assert (run.status, run.failing) == (Status.CRASHED, ()) and run.detail.startswith("pytest exit status 9")


def test_the_score_counts_every_seeded_mutant_and_only_kills() -> None:
    def result(name: str, status: Status, detail: str = "") -> MutantResult:
        return MutantResult(name, "fault", "where", status, ("t.py::t",) if status is Status.KILLED else (), 1.0,
                            detail)
    report = MutationReport("suite", (result("a", Status.KILLED), result("b", Status.TIMED_OUT, "no result within 9 s"),
                                      result("c", Status.CRASHED, "pytest exit status 3"), result("d", Status.KILLED)))
    assert report.killed == 2 and report.kill_rate == pytest.approx(2 / 4)
    assert describe_score(report) == ("mutation score 2/4 = 50.0% (killed / all seeded mutants; 0 survived, "
                                      "1 timed out, 1 crashed)")
    assert report.results[1].verdict == "timed out: no result within 9 s (not counted as killed)"
    assert [r.name for r in report.survivors] == ["b", "c"]
    assert MutationReport("suite", ()).kill_rate == 0.0


def test_run_mutants_refuses_a_suite_that_fails_without_mutants(tmp_path: Path) -> None:
    suite = _suite(tmp_path, {"test_broken.py": "def test_broken():\n    assert False\n"})
    with pytest.raises(SuiteFailsWithoutMutants, match=r"does not pass without mutants \(failing: test_broken.py::t"):
        run_mutants(suite, ["skip-cpl-check"])


def test_run_mutants_checks_its_arguments_first(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown mutant 'nope'"):
        run_mutants(tmp_path, ["nope"])
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        run_mutants(tmp_path, ["skip-cpl-check"], jobs=0)


ORACLE_KILLS_EVERYTHING = '''
    import os


    def test_model_as_oracle():
        assert not os.environ.get("OTAPROOF_MUTANT")
'''


def test_without_the_oracle_only_the_deterministic_tests_can_kill(tmp_path: Path) -> None:
    suite = _suite(tmp_path, {"test_oracle.py": ORACLE_KILLS_EVERYTHING, "test_cpl.py": KILLS_SKIP_CPL})
    names = ["skip-cpl-check", "keep-image-on-hub"]
    with_oracle = run_mutants(suite, names, jobs=2, timeout=120)
    assert [r.status for r in with_oracle.results] == [Status.KILLED, Status.KILLED]
    report = run_mutants(suite, names, jobs=2, timeout=120, oracle=False)
    assert [r.status for r in report.results] == [Status.KILLED, Status.SURVIVED]
    assert not any("oracle" in t for r in report.results for t in r.killing_tests)
    assert to_json(report)["oracle"] is False and to_json(with_oracle)["oracle"] is True
    assert "killed / all seeded mutants, without the oracle test;" in describe_score(report)


def test_mutants_prints_each_result_as_a_line_when_piped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a terminal (CI, a log file): the progress bar is off, so each mutant's result is a line
    on stderr as it finishes; a whole run takes minutes."""
    from otaproof.cli import main

    suite = _suite(tmp_path, {"dsp/test_cpl.py": KILLS_SKIP_CPL, "test_update.py": KILLS_NOTHING_CHOSEN})
    (suite / "conftest.py").touch()
    code = main(["mutants", "--suite", str(suite), "--mutant", "skip-cpl-check,keep-image-on-hub", "--jobs", "2"])
    err = capsys.readouterr().err
    assert code == 1  # 1 of 2 killed: below the default target
    lines = [line.split("] ", 1)[1].split(" (")[0] for line in err.splitlines() if "/2] " in line]
    assert [line.split()[0] for line in lines] == ["[1/2]", "[2/2]"]  # in the order they finished
    assert sorted(line.split(" ", 1)[1] for line in lines) == ["keep-image-on-hub: survived", "skip-cpl-check: killed"]
