"""An interrupted check leaves nothing behind: SIGTERM and SIGINT end every worker process, write
no output file, print no traceback and exit 143 / 130; a main process killed outright takes its
workers with it. Each case runs ``otaproof check`` in a process group of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAIT = 120.0  # seconds for the workers to appear and for the processes to end (a busy machine)


def _group(pgid: int) -> set[int]:
    """The live (not zombie) processes of a process group."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


def _until(condition: object, what: str) -> None:
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT:g} s: {what}")


def _interrupted_check(tmp_path: Path, sig: signal.Signals) -> tuple[subprocess.Popen[str], set[int], Path]:
    """Start a check whose two workers would run for 10 minutes (BMC never proves: it searches two
    properties that hold to depth 200), wait for them, send ``sig`` to the main process only."""
    out = tmp_path / "verdicts.json"
    proc = subprocess.Popen([sys.executable, "-m", "otaproof.cli", "check", "--engine", "bmc", "--depth", "200",
                             "--property", "P-CPL,P-LOCAL-BANNED", "--timeout", "600", "--workers", "2",
                             "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    _until(lambda: len(_group(proc.pid)) >= 3 or proc.poll() is not None, "engine workers started")
    assert proc.poll() is None, proc.communicate()
    workers = _group(proc.pid) - {proc.pid}
    os.kill(proc.pid, sig)
    return proc, workers, out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lists processes through /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_every_worker_and_writes_nothing(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    proc, workers, out = _interrupted_check(tmp_path, sig)
    stdout, stderr = proc.communicate(timeout=WAIT)
    assert proc.returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert not list(tmp_path.iterdir())  # no JSON file, no temporary file beside it
    assert workers
    _until(lambda: not _group(proc.pid), f"workers {sorted(_group(proc.pid))} ended")
    assert not out.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
def test_workers_die_with_a_main_process_killed_outright(tmp_path: Path) -> None:
    proc, workers, _ = _interrupted_check(tmp_path, signal.SIGKILL)
    proc.communicate(timeout=WAIT)
    assert workers
    _until(lambda: not _group(proc.pid), f"workers {sorted(_group(proc.pid))} ended")


HARD = """(set-logic QF_BV)
(declare-const x (_ BitVec 32))
(declare-const y (_ BitVec 32))
(assert (bvugt x #x00000001))
(assert (bvugt y #x00000001))
(assert (= (bvmul ((_ zero_extend 32) x) ((_ zero_extend 32) y)) #x1fffffffffffffff))
(check-sat)
"""  # 2^61 - 1 is prime: Z3 needs far longer than this test to show that bit-blasted

SOLVER = """
import sys
from pathlib import Path
from otaproof.properties.recheck import Limits, run_solver
run_solver("z3", Path(sys.argv[1]), Limits(z3_rlimit=4_000_000_000, wall_cap=600.0))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="solver processes die with their parent on Linux")
def test_a_solver_process_dies_with_the_worker_that_started_it(tmp_path: Path) -> None:
    """``otaproof verify`` and the engine workers kill a worker on SIGINT/SIGTERM; its Z3 or cvc5
    process used to run on until its wall-clock cap (up to 15 minutes)."""
    hard = tmp_path / "hard.smt2"
    hard.write_text(HARD)
    worker = subprocess.Popen([sys.executable, "-c", SOLVER, str(hard)], start_new_session=True)
    _until(lambda: len(_group(worker.pid)) >= 2 or worker.poll() is not None, "the solver process started")
    assert worker.poll() is None
    solver = _group(worker.pid) - {worker.pid}
    worker.kill()
    worker.wait(timeout=WAIT)
    _until(lambda: not (_group(worker.pid) & solver), f"solver {sorted(solver)} ended")
