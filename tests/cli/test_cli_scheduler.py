"""`--scheduler`: a matrix on a Dask LocalCluster gives the local pool's verdicts and traces; a
scheduler that cannot be reached is one error line, exit 2, before any work; SIGTERM leaves no
process behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from otaproof.cli import EXIT_BAD_INPUT, main

# one variant, one threat model, three properties: two violated (traces to compare), one proved
MATRIX = ["matrix", "--variant", "pre-secmp0007", "--threat-model", "none",
          "--property", "P-LOCAL-BANNED,P-SMI,P-HUB-TRANSIENT", "--workers", "2", "--quiet"]
TIMING = ("seconds", "z3_units")  # how long each run took: the only fields allowed to differ
PATIENCE = 120.0  # seconds to wait for the run to act: generous, a busy machine never reaches it


def _entries(path: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in TIMING} for e in json.loads(path.read_text())["entries"]]


def test_matrix_on_a_local_cluster_gives_the_local_pools_verdicts_and_traces(tmp_path: Path) -> None:
    here, there = tmp_path / "pool.json", tmp_path / "dask.json"
    assert main([*MATRIX, "--json", str(here)]) == 0
    assert main([*MATRIX, "--scheduler", "local", "--json", str(there)]) == 0
    local, dask = _entries(here), _entries(there)
    assert [(e["property"], e["verdict"]) for e in dask] == [
        ("P-LOCAL-BANNED", "violated"), ("P-SMI", "violated"), ("P-HUB-TRANSIENT", "proved")]
    assert dask == local


@pytest.mark.parametrize("address, reason", [
    ("tcp://127.0.0.1:1", "Connection refused"),
    ("foo://scheduler:8786", "unknown address scheme 'foo'"),
])
def test_an_unreachable_scheduler_is_one_error_and_exit_2_before_any_work(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, address: str, reason: str) -> None:
    out_file = tmp_path / "m.json"
    code = main([*MATRIX, "--scheduler", address, "--scheduler-wait", "2", "--json", str(out_file)])
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert captured.err.startswith(f"otaproof: error: --scheduler {address}: cannot reach the Dask scheduler")
    assert reason in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "Verdict matrix" not in captured.out and not out_file.exists()


@pytest.mark.parametrize("command", [["check", "--property", "P-SMI"], ["questions"],
                                     ["generate", "--out", "{tmp}/suite"], ["mutants", "--suite", "{tmp}"],
                                     ["evidence", "--out", "{tmp}/pack"]])
def test_every_fanning_out_command_takes_the_scheduler_and_checks_it_first(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "conftest.py").write_text("")  # mutants needs a suite there
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1"]) == EXIT_BAD_INPUT
    assert "cannot reach the Dask scheduler ([Errno 111] Connection refused)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conftest.py"]  # nothing written


def test_a_variant_file_only_this_machine_has_is_refused_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parents[2] / "examples" / "variants" / "signed-ppmid-activation.py"
    assert main([*MATRIX, "--variant-file", str(example), "--scheduler", "local"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "variant 'signed-ppmid-activation' comes from a --variant-file" in err and len(err.splitlines()) == 1


def test_sigterm_ends_the_run_its_local_cluster_and_every_engine_with_exit_143() -> None:
    run = subprocess.Popen([sys.executable, "-m", "otaproof", "matrix", "--variant", "secmp0007", "--threat-model",
                            "none", "--property", "P-INTEGRITY", "--scheduler", "local", "--workers", "2", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        main_process, deadline = psutil.Process(run.pid), time.monotonic() + 3 * PATIENCE  # two workers to start
        while not _engine_started(main_process):
            assert run.poll() is None and time.monotonic() < deadline, "no engine started on the LocalCluster"
            time.sleep(0.2)
        started = main_process.children(recursive=True)
    finally:
        run.send_signal(signal.SIGTERM)  # also when the test failed: it must not leave the run behind
        _, err = run.communicate(timeout=PATIENCE)
    assert run.returncode == 143 and "Traceback" not in err
    _, alive = psutil.wait_procs(started, timeout=PATIENCE)  # the workers end as the run ends, not after it
    left = [p for p in alive if _running(p)]
    assert not left, f"still running after SIGTERM: {[p.pid for p in left]}"


def _engine_started(main_process: psutil.Process) -> bool:
    """Whether an engine runs in a worker of the LocalCluster (a child of a child of the run)."""
    try:
        return any(worker.children() for worker in main_process.children())
    except psutil.NoSuchProcess:  # a process ended while we looked: look again
        return False


def _running(process: psutil.Process) -> bool:
    """Whether the process still runs (a zombie or a vanished process does not)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
