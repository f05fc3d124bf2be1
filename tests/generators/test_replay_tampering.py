"""A tampered, truncated or stale trace fails its generated test; only a declared gap skips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otaproof.generators.adapter import Setup, Unsupported
from otaproof.generators.counterexamples import Reproduction
from otaproof.generators.refimpl_adapter import RefimplAdapter
from otaproof.generators.replay import BadTrace, Replay, check_trace
from otaproof.generators.suite import SuitePlan, write_suite
from otaproof.model.config import Scenario
from otaproof.model.variants import build
from otaproof.properties.trace import Trace, make_trace

VARIANT = "geo-local-daily-alert"


def _local_update() -> Trace:
    """One local PPMID update on the geo-local design: a one-step trace of the model."""
    system = build(Scenario(VARIANT)).system
    local = next(i.index for i in system.instances if i.action.startswith("LOCAL_installer_update")
                 and dict(i.params)["img"] == "PPMID_v2")
    return make_trace(system, None, [local], "P-CPL", (), ())


def _trace() -> dict[str, Any]:
    return _local_update().to_json()


def _suite(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "suite"
    write_suite(SuitePlan(reproductions=[Reproduction("P-CPL", Scenario(VARIANT), _local_update())]), out)
    (trace,) = sorted((out / "traces").glob("*.json"))
    return out, trace


def _pytest(suite: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", str(suite), "-q", "-rs"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_faithful_trace_passes_the_check() -> None:
    check_trace(_trace())


@pytest.mark.parametrize("tamper, message", [
    (lambda t: t["steps"][0].update(action="LOCAL_teleport_update[P1]"), "the model has no action"),
    (lambda t: t["steps"][0]["state"].update({"PPMID.P1.running": "PPMID_rogue"}), "not take this step as recorded"),
    (lambda t: t["steps"][0].update(branch="rejected"), "not take this step as recorded"),
    (lambda t: t.update(variant="no-such-design"), "unknown variant"),
    (lambda t: t.update(schema="otaproof.trace/0"), "schema"),
    (lambda t: t["steps"][0].pop("state"), "KeyError"),
])
def test_a_tampered_trace_is_rejected(tamper: Any, message: str) -> None:
    trace = _trace()
    tamper(trace)
    with pytest.raises(BadTrace, match=message):
        check_trace(trace)


def test_a_generated_test_fails_on_an_unknown_action_and_on_a_truncated_file(tmp_path: Path) -> None:
    suite, trace_file = _suite(tmp_path)
    assert _pytest(suite).returncode == 0
    data = json.loads(trace_file.read_text())
    data["steps"][0]["action"] = "LOCAL_teleport_update[P1]"
    trace_file.write_text(json.dumps(data))
    proc = _pytest(suite)
    assert proc.returncode == 1 and "skipped" not in proc.stdout.splitlines()[-1]
    assert f"{trace_file.name}: not a valid trace" in proc.stdout and "the model has no action" in proc.stdout
    trace_file.write_text(trace_file.read_text()[:40])
    proc = _pytest(suite)
    assert proc.returncode == 1 and f"{trace_file.name}: not a valid trace" in proc.stdout


class _Gappy(RefimplAdapter):
    """An adapter that gives up on an action it does not declare."""

    def perform(self, step: Any) -> str | None:
        raise Unsupported("not wired up")


def test_only_a_declared_gap_skips() -> None:
    trace = _trace()
    run = Replay(_Gappy(), trace)
    run.start()
    with pytest.raises(pytest.fail.Exception, match="does not declare"):
        run.step(1)
    trace["faults"] = ["power"]
    with pytest.raises(pytest.skip.Exception, match="fault:power"):
        Replay(RefimplAdapter(), trace).start()
    with pytest.raises(Unsupported):
        RefimplAdapter().start(Setup(VARIANT, (), ("power",), {}))
