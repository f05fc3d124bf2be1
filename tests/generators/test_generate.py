"""Traces replay on the reference implementation through the adapter; divergences are reported
at the step they happen; guards, generated suites and the model-as-oracle run end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otaproof import generate_cli
from otaproof.cli import main
from otaproof.files import OutputError
from otaproof.generators import plan as plan_module
from otaproof.generators.adapter import Adapter, Setup, Step, abstract_state, divergences
from otaproof.generators.counterexamples import Reproduction, guard_for
from otaproof.generators.coverage import CoverageResult, CoveringTrace
from otaproof.generators.duis import OBSERVATION as DUIS_REQUESTS
from otaproof.generators.edges import EDGES
from otaproof.generators.goals import Goal
from otaproof.generators.mutants import applied
from otaproof.generators.oracle import run_oracle
from otaproof.generators.plan import plan_suite
from otaproof.generators.refimpl_adapter import RefimplAdapter
from otaproof.generators.replay import Divergence, Replay
from otaproof.generators.suite import SuitePlan, write_suite
from otaproof.model.config import Scenario
from otaproof.model.explicit import Interpreter
from otaproof.model.variants import build
from otaproof.properties.trace import Trace, make_trace
from otaproof.properties.verdict import Budget
from otaproof.refimpl.image import OtaHeader

PPMID_UPDATE = [("CPL_list_entry", {"img": "PPMID_v2"}),
                ("SR11_4_update_PPMID_firmware", {"by": "S1", "d": "P1", "img": "PPMID_v2", "hash_ok": True,
                                                  "version_ok": True, "future": False}),
                ("CH_receive_CS05c", {"d": "P1"}), ("query_next_image[P1]", {"d": "P1"}),
                ("CH_answer_query_next_image", {"d": "P1"}), ("verify_image[P1]", {"d": "P1"}),
                ("CH_receive_upgrade_end", {"d": "P1"}), ("activate_at_upgrade_time[P1]", {"d": "P1"}),
                ("DSP_receive_CCS08_alert", {"d": "P1"}), ("CH_relay_to_DSP", {"d": "P1"}),
                ("DSP_receive_CS09_alert", {"d": "P1"})]
HCALCS_UPDATE = [("CPL_list_entry", {"img": "HCALCS_v2"}),
                 ("SR11_1_update_firmware", {"by": "S1", "d": "H1", "img": "HCALCS_v2", "hash_ok": True,
                                            "version_ok": True}),
                 ("CH_relay_to_device", {"d": "H1"}), ("verify_image[H1]", {"d": "H1"}),
                 ("CH_relay_to_DSP", {"d": "H1"}), ("DSP_receive_distribution_receipt", {"d": "H1"}),
                 ("SR11_3_activate_firmware",
                  {"by": "S1", "d": "H1", "img": "HCALCS_v2", "future": False, "signed_by": "S1"}),
                 ("CH_relay_to_device", {"d": "H1"}), ("activate_on_CS06[H1]", {"d": "H1"}),
                 ("CH_relay_to_DSP", {"d": "H1"}), ("DSP_receive_CS06_response", {"d": "H1"})]


def trace_of(steps: list[tuple[str, dict[str, Any]]], variant: str = "secmp0007",
             threats: frozenset[str] = frozenset()) -> Trace:
    """A model trace built by action name (each step must be enabled in the explicit semantics)."""
    system = build(Scenario(variant, threats)).system
    interp, choices = Interpreter(system), []
    state = interp.initial_state()
    for action, params in steps:
        index = next(i.index for i in system.instances if i.action == action and dict(i.params) == params)
        assert index in interp.enabled(state), f"{action}{params} is not enabled"
        state = interp.step(state, index)
        choices.append(index)
    return make_trace(system, None, choices, "test", sorted(threats), [])


def replay(trace: Trace, sut: Adapter | None = None) -> Replay:
    run = Replay(sut or RefimplAdapter(), trace.to_json())
    run.start()
    for s in trace.steps:
        run.step(s.step)
    return run


@pytest.mark.parametrize("steps", [PPMID_UPDATE, HCALCS_UPDATE], ids=["sr11_4", "sr11_1_and_sr11_3"])
def test_approved_flows_replay_step_by_step_on_the_refimpl(steps: list[tuple[str, dict[str, Any]]]) -> None:
    run = replay(trace_of(steps))
    device = "PPMID.P1" if steps is PPMID_UPDATE else "HCALCS.H1"
    assert run.observed[f"{device}.running"].endswith("_v2")
    assert run.observed[f"DSP.SMI[{device.split('.')[1]}].DeviceFirmwareVersion"] == 2


def test_the_abstract_state_of_a_model_state_names_every_observation() -> None:
    trace = trace_of(PPMID_UPDATE[:3])
    obs = abstract_state(trace.steps[-1].state, trace.parameters)
    assert obs["CH.ota_image[P1]"] == "PPMID_v2" and obs["CH->P1"] == ("IMAGE_NOTIFY",)
    assert obs["DSP.SMI[P1].DeviceFirmwareVersion"] == 1
    assert obs["DSP.SMI[P1].DeviceFirmwareVersionStatus"] == "update_in_progress"
    sut = RefimplAdapter()
    sut.start(Setup("secmp0007", (), (), trace.parameters))
    assert set(sut.observe()) == set(abstract_state(trace.initial_state, trace.parameters)) | {DUIS_REQUESTS}


def test_a_broken_refimpl_fails_at_the_step_that_diverges_and_says_how() -> None:
    trace = trace_of(PPMID_UPDATE)
    with applied("smi-on-distribution"), pytest.raises(Divergence) as e:
        replay(trace)
    message = str(e.value)
    assert message.startswith("step 9 (DSP: DSP_receive_CCS08_alert(d=P1))")
    assert "DSP.SMI[P1].DeviceFirmwareVersion: model 1, SUT 2" in message


def test_a_dsp_answer_other_than_the_models_branch_is_a_divergence() -> None:
    trace = trace_of([PPMID_UPDATE[1]])
    assert trace.steps[0].branch == "rejected_not_on_cpl"
    expected = "DSP answers 'rejected_not_on_cpl', the SUT's 'accepted'"
    with applied("skip-cpl-check"), pytest.raises(Divergence, match=expected):
        replay(trace)


def _sr11_4(img: str, version_ok: bool = True, future: bool = False) -> tuple[str, dict[str, Any]]:
    return ("SR11_4_update_PPMID_firmware",
            {"by": "S1", "d": "P1", "img": img, "hash_ok": True, "version_ok": version_ok, "future": future})


_TRANSFER = [("CH_receive_CS05c", {"d": "P1"}), ("query_next_image[P1]", {"d": "P1"}),
             ("CH_answer_query_next_image", {"d": "P1"})]
FORMER_EQUIVALENTS = {  # mutant -> a model trace that tells it apart, and how its replay diverges
    "cpl-ignore-version": ([_sr11_4("PPMID_v1", version_ok=False)],  # the representative misstatement
                           "DSP answers 'rejected_version_mismatch', the SUT's 'accepted'"),
    "hub-skips-image-type-check": ([("CPL_list_entry", {"img": "PPMID_otherType"}), _sr11_4("PPMID_otherType"),
                                    *_TRANSFER], r"step 5 \(CH: CH_answer_query_next_image\(d=P1\)\)"),
    "ignore-upgrade-time": ([("CPL_list_entry", {"img": "PPMID_v2"}), _sr11_4("PPMID_v2", future=True), *_TRANSFER,
                             ("verify_image[P1]", {"d": "P1"}), ("CH_receive_upgrade_end", {"d": "P1"}),
                             ("activate_at_upgrade_time[P1]", {"d": "P1"})],
                            r"step 8 .*\n(.*\n)*  PPMID.P1.running: model PPMID_v1, SUT PPMID_v2"),
}


@pytest.mark.parametrize("name", FORMER_EQUIVALENTS)
def test_the_three_former_equivalent_mutants_diverge_from_a_model_trace(name: str) -> None:
    """Each once changed nothing a model trace could show; the model now has the behaviour, so a
    trace of it replays on the refimpl and fails, at the step that shows it, with the mutant on."""
    steps, expected = FORMER_EQUIVALENTS[name]
    trace = trace_of(steps)
    replay(trace)
    with applied(name), pytest.raises(Divergence, match=expected):
        replay(trace)


def test_a_cs06_signed_by_another_supplier_is_refused_by_the_dsp_unless_its_check_is_skipped() -> None:
    """The P-AUTH boundary: the registered supplier's SR 11.3 carries S2's signature (compromised_key)."""
    steps = [("SR11_3_activate_firmware",
              {"by": "S1", "d": "H1", "img": "HCALCS_v1", "future": False, "signed_by": "S2"})]
    trace = trace_of(steps, threats=frozenset({"compromised_key"}))
    assert trace.steps[0].branch == "rejected_not_authorised"
    replay(trace)
    with applied("skip-cs06-originator-check"), pytest.raises(
            Divergence, match="DSP answers 'rejected_not_authorised', the SUT's 'accepted'"):
        replay(trace)


def test_a_cs02b_copied_to_another_device_is_refused_unless_the_target_check_is_skipped() -> None:
    """han_mitm: the P1's CS02b, copied byte for byte onto H1's link, names P1 as its business target."""
    steps = [("CoS_change_of_supplier", {"new": "S2"}), ("DSP_send_CS02b", {"d": "P1"}),
             ("CH_relay_to_device", {"d": "P1"}), ("HAN_redirect_credentials[H1]", {"other": "P1"}),
             ("replace_supplier_anchor[H1]", {"d": "H1"})]
    trace = trace_of(steps, threats=frozenset({"han_mitm"}))
    assert trace.steps[-1].branch == "wrong_target"
    assert replay(trace).observed["HCALCS.H1.supplier_anchor"] == "S1"
    with applied("skip-target-check"), pytest.raises(
            Divergence, match=r"step 5 .*\n(.*\n)*  HCALCS.H1.supplier_anchor: model S1, SUT S2"):
        replay(trace)


def test_the_man_in_the_middle_substitution_is_served_block_by_block() -> None:
    steps = PPMID_UPDATE[:5] + [("HAN_substitute_image[P1]", {"img": "PPMID_rogue"}),
                                ("verify_image[P1]", {"d": "P1"}), ("CH_receive_upgrade_end", {"d": "P1"})]
    run = replay(trace_of(steps, threats=frozenset({"han_mitm"})))
    assert run.observed["PPMID.P1.held"] == "none" and run.observed["CH->DSP[P1]"] == ("CCS08(image_discarded)",)


def test_guard_of_a_local_update_is_the_approved_designs_refusal_of_step_1() -> None:
    trace = trace_of([("LOCAL_installer_update[P1]", {"img": "PPMID_v2"})], variant="geo-local-daily-alert")
    guard = guard_for(Reproduction("P-CPL", Scenario("geo-local-daily-alert"), trace))
    assert guard is not None and guard.step == 1 and guard.refused is not None and not guard.prefix.steps
    run = Replay(RefimplAdapter(), {**guard.prefix.to_json(), "refused": guard.refused})
    run.start()
    assert "no local update port" in run.refused()


def test_no_guard_when_the_approved_design_takes_every_step_alike() -> None:
    trace = trace_of(PPMID_UPDATE[:2], variant="geo-local-daily-alert")
    assert guard_for(Reproduction("P-CPL", Scenario("geo-local-daily-alert"), trace)) is None


def test_written_suite_passes_serially_and_with_xdist_and_fails_under_a_mutant(tmp_path: Path) -> None:
    sc = Scenario("geo-local-daily-alert")
    rep = Reproduction("P-CPL", sc, trace_of([("LOCAL_installer_update[P1]", {"img": "PPMID_v2"})],
                                             variant=sc.variant))
    plan = SuitePlan(reproductions=[rep], guards=[guard_for(rep)], oracle=[Scenario()], oracle_examples=5)
    out = tmp_path / "suite"
    summary = write_suite(plan, out)
    assert summary.modules == {"test_oracle": 1, "test_p_cpl": 2} and summary.traces == 2
    text = (out / "test_p_cpl.py").read_text()
    assert "run.step(1)  # PPMID: LOCAL_installer_update[P1](img=PPMID_v2) -> ok" in text
    assert "assert run.observed['PPMID.P1.running'] == 'PPMID_v2'" in text
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for extra in ([], ["-p", "xdist", "-n", "2"]):
        proc = subprocess.run([sys.executable, "-m", "pytest", str(out), "-q", *extra], env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout
    proc = subprocess.run([sys.executable, "-m", "pytest", str(out / "test_p_cpl.py"), "-q"],
                          env={**env, "OTAPROOF_MUTANT": "skip-signature-verification"}, capture_output=True, text=True)
    assert proc.returncode == 0  # this suite has no unsigned image: the mutant survives it
    with pytest.raises(OutputError, match="pass --force"):
        write_suite(plan, out)


def test_model_as_oracle_passes_on_the_refimpl_and_shrinks_a_failure(tmp_path: Path) -> None:
    run_oracle(RefimplAdapter, "secmp0007", (), (), {}, examples=15)
    with applied("skip-cpl-check"), pytest.raises(Divergence, match="DSP answers"):
        run_oracle(RefimplAdapter, "secmp0007", (), (), {}, examples=60, failures=tmp_path)
    written = (tmp_path / "test_oracle_failure.py").read_text()
    assert "run.step(" in written and (tmp_path / "oracle_failure.json").is_file()


class _Silent:
    """An adapter that accepts everything and never changes: every step diverges."""

    def start(self, setup: Setup) -> None:
        self.sut = RefimplAdapter()
        self.sut.start(setup)

    def perform(self, step: Step) -> str | None:
        return "accepted" if step.action.startswith("SR") else None

    def observe(self) -> dict[str, Any]:
        return self.sut.observe()


def test_a_third_party_adapter_is_just_the_protocol() -> None:
    assert isinstance(_Silent(), Adapter)
    with pytest.raises(Divergence, match=r"step 1 \(CPL: CPL_list_entry\(img=PPMID_v2\)\)"):
        replay(trace_of(PPMID_UPDATE), _Silent())


def test_divergences_name_each_observation() -> None:
    assert divergences({"a": 1, "b": ("X",)}, {"a": 2, "b": []}) == ["a: model 1, SUT 2",
                                                                    "b: model [X], SUT [] (nothing in flight)"]


def test_generate_rejects_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path / "s"), "--sut", "nosuchmodule:X"]) == 2
    assert main(["generate", "--out", str(tmp_path), "--no-coverage"]) == 2
    assert main(["generate", "--out", str(tmp_path / "s"), "--threat-model", "wizard"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("otaproof: error: ") for line in err)
    assert "nosuchmodule" in err[0] and "exists" in err[1] and "wizard" in err[2]
    assert not (tmp_path / "s").exists()


def test_mutants_rejects_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mutants", "--suite", str(tmp_path)]) == 2
    (tmp_path / "conftest.py").write_text("")
    assert main(["mutants", "--suite", str(tmp_path), "--mutant", "no-such-fault"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no generated suite there" in err[0] and "unknown mutant 'no-such-fault'; known: skip-cpl-check" in err[1]


def test_coverage_traces_are_written_once_and_indexed_per_criterion(tmp_path: Path) -> None:
    """Each kept coverage trace is one test, in the module of the criterion it is kept for (a goal
    no other kept trace covers); INDEX.md has the table per criterion and the suite's size."""
    first, second = trace_of(PPMID_UPDATE[:2]), trace_of(HCALCS_UPDATE[:2])
    goals = (Goal("action:CPL_list_entry", "action", "CPL_list_entry", None, ""),
             Goal("frame:x/y/z", "frame", "x", "y", ""), Goal("input:x/p=1", "input", "x", None, ""),
             Goal("sequence:x>y/z", "sequence", "y", None, ""))
    result = CoverageResult(goals, (CoveringTrace(first, ("action:CPL_list_entry", "frame:x/y/z")),
                                    CoveringTrace(second, ("action:CPL_list_entry", "input:x/p=1"))),
                            {"action:CPL_list_entry": 0, "frame:x/y/z": 0, "input:x/p=1": 1},
                            ("sequence:x>y/z",), (), 1.0, traces_found=3, depth=20)
    plan = SuitePlan(coverage=[(Scenario(), result)], seconds=12.0)
    summary = write_suite(plan, tmp_path / "suite")
    assert summary.modules == {"test_cover_frame": 1, "test_cover_input": 1} and summary.traces == 2
    index = (tmp_path / "suite" / "INDEX.md").read_text()
    assert "Suite size: 2 tests, 2 trace files; generated in 12 s." in index
    assert "| frame | 1 | 1 | 0 | 0 |" in index and "| sequence | 1 | 0 | 1 | 0 |" in index
    assert "| total | 4 | 3 | 1 | 0 |" in index
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "suite"), "-q"],
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_generate_exits_3_naming_each_cell_it_could_not_decide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    undecided = ["P-CPL on secmp0007 (threats: none): unknown within the budget (timeout); no reproduction"]
    monkeypatch.setattr(generate_cli, "plan_suite", lambda *a, **k: SuitePlan(undecided=list(undecided)))
    assert main(["generate", "--out", str(tmp_path / "s"), "--no-oracle", "--no-coverage"]) == 3
    assert f"undecided: {undecided[0]}" in capsys.readouterr().out.replace("\n", " ")
    assert undecided[0] in (tmp_path / "s" / "INDEX.md").read_text()  # written, with what it lacks


def test_generate_json_says_what_the_run_produced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--json``: the suite's size, the coverage table per criterion, what is undecided, the time per
    phase and the load, as the README's conformance block reads them."""
    goals = (Goal("action:CPL_list_entry", "action", "CPL_list_entry", None, ""),
             Goal("frame:x/y/z", "frame", "x", "y", ""), Goal("input:x/p=1", "input", "x", None, ""))
    result = CoverageResult(goals, (CoveringTrace(trace_of(PPMID_UPDATE[:2]), ("action:CPL_list_entry",)),),
                            {"action:CPL_list_entry": 0}, ("frame:x/y/z",), ("input:x/p=1",), 2.0, 4, 20)
    undecided = ["coverage goal input:x/p=1 on secmp0007 (threats: none): neither covered nor proved unreachable"]
    plan = SuitePlan(coverage=[(Scenario(), result)], undecided=undecided, phases={"property checks": 1.25})
    monkeypatch.setattr(generate_cli, "plan_suite", lambda *a, **k: plan)
    out = tmp_path / "run.json"
    assert main(["generate", "--out", str(tmp_path / "s"), "--no-oracle", "--variant", "secmp0007",
                 "--threat-model", "none", "--json", str(out)]) == 3
    edges = len(EDGES)  # generate adds the wire-edge tests on the approved design
    doc = json.loads(out.read_text())
    assert doc["schema"] == "otaproof.generate/1" and doc["undecided"] == undecided
    assert doc["suite"]["tests"] == 1 + edges and doc["suite"]["conformance"] == 1
    assert doc["suite"]["wire_edges"] == edges and doc["suite"]["reproductions"] == 0
    assert doc["settings"]["variants"] == ["secmp0007"] and doc["settings"]["threat_models"] == ["none"]
    cov = doc["coverage"][0]
    assert cov["scenario"] == "secmp0007__none__none" and (cov["traces_kept"], cov["traces_found"]) == (1, 4)
    assert {"criterion": "frame", "goals": 1, "covered": 0, "unreachable": 1, "unknown": 0} in cov["criteria"]
    assert cov["criteria"][-1] == {"criterion": "total", "goals": 3, "covered": 1, "unreachable": 1, "unknown": 1}
    assert cov["unknown"] == ["input:x/p=1"] and doc["phases"] == {"property checks": 1.2}
    assert doc["run"]["cpus"] >= 1 and len(doc["run"]["load_average_end"]) == 3


def test_coverage_searches_run_in_processes_of_their_own_and_come_back_in_scenario_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each scenario's search runs in a forked process alongside the checks; the plan lists the
    results in scenario order, their unknown goals as undecided; a search that dies is an error."""
    goal = Goal("action:CPL_list_entry", "action", "CPL_list_entry", None, "")

    def fake_cover(bm: Any, **settings: Any) -> CoverageResult:
        if bm.scenario.threats == {"han_mitm"}:
            os._exit(1)  # the process dies without a result
        unknown = ("action:CPL_list_entry",) if bm.scenario.threats else ()
        return CoverageResult((goal,), (), {}, (), unknown, float(os.getpid()), 0, settings["depth"])

    monkeypatch.setattr(plan_module, "cover", fake_cover)
    scenarios = [Scenario("secmp0007"), Scenario("secmp0007", frozenset({"old_supplier"}))]
    plan = plan_suite([], scenarios, [], [], Budget(), sut="x:y", coverage_depth=7)
    assert [sc for sc, _ in plan.coverage] == scenarios and all(r.depth == 7 for _, r in plan.coverage)
    assert {r.seconds for _, r in plan.coverage}.isdisjoint({float(os.getpid())})  # not in this process
    assert plan.undecided == ["coverage goal action:CPL_list_entry on secmp0007 | old_supplier | no faults: "
                              "neither covered nor proved unreachable"]
    with pytest.raises(RuntimeError, match=r"coverage search on secmp0007 [|] han_mitm [|] no faults ended without"):
        plan_suite([], [Scenario("secmp0007", frozenset({"han_mitm"}))], [], [], Budget(), sut="x:y")


def test_mutants_auto_rejects_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "conftest.py").write_text("")
    assert main(["mutants", "--suite", str(tmp_path), "--auto", "--function", "NoSuch.function"]) == 2
    assert main(["mutants", "--suite", str(tmp_path), "--function", "DSP._check_cpl"]) == 2
    assert main(["mutants", "--suite", str(tmp_path), "--auto", "--mutant", "skip-cpl-check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "matches no decision-code function" in err[0] and "use it with --auto" in err[1]
    assert "leave it out with --auto" in err[2]


@pytest.mark.parametrize("check", [lambda h, hw: h.min_hardware_version < hw <= h.max_hardware_version,
                                   lambda h, hw: h.min_hardware_version <= hw < h.max_hardware_version],
                         ids=["min_exclusive", "max_exclusive"])
def test_an_updates_hardware_range_sits_at_the_devices_revision_so_an_off_by_one_check_diverges(
        monkeypatch: pytest.MonkeyPatch, check: Any) -> None:
    """The adapter builds each update for exactly the devices' hardware revision (both edges of its
    range): a hardware check that excludes an edge refuses it, where the model holds the image."""
    trace = trace_of(PPMID_UPDATE)
    replay(trace)
    monkeypatch.setattr(OtaHeader, "supports_hardware", check)
    with pytest.raises(Divergence):
        replay(trace)
