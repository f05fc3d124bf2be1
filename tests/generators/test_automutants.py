"""``mutants --auto``'s mutmut runner (generators/automutants.py), with a stand-in for mutmut: it
reports progress from mutmut's result files while mutmut runs, returns its exit code and output,
and kills mutmut's whole process group on a timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from otaproof.generators.automutants import MutmutMissing, _run_mutmut, mangled

PREFIX = mangled("cpl", "CPLRegistry.lookup")

# writes mutmut's result file in two rounds: 1 of 2 chosen mutants tested, then 2 of 2 (another
# function's mutant is never counted), then says goodbye
FAKE = f"""
import json, pathlib, sys, time
meta = pathlib.Path("mutants/otaproof/refimpl/cpl.py.meta")
meta.parent.mkdir(parents=True, exist_ok=True)
other = "otaproof.refimpl.cpl.x_other__mutmut_1"
for done in (1, 2):
    codes = {{f"{PREFIX}__mutmut_{{k}}": (1 if k <= done else None) for k in (1, 2)}}
    codes[other] = None
    meta.write_text(json.dumps({{"exit_code_by_key": codes}}))
    time.sleep(0.6)
print("mutmut done")
sys.exit(0)
"""


def test_progress_comes_from_the_result_files_and_the_output_is_kept(tmp_path: Path) -> None:
    said: list[str] = []
    code, output = _run_mutmut([sys.executable, "-c", FAKE], tmp_path, dict(os.environ), 60, [PREFIX],
                               said.append, interval=0.2)
    assert code == 0 and "mutmut done" in output
    assert "mutmut: 1 of 2 mutants tested" in said and said[-1] == "mutmut: 2 of 2 mutants tested"
    assert len(said) == len(set(said))  # each news once


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_timeout_kills_mutmuts_whole_process_group(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    script = ("import subprocess, sys, time, pathlib\n"
              f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"pathlib.Path({str(child)!r}).write_text(str(p.pid))\n"
              "time.sleep(60)\n")
    with pytest.raises(MutmutMissing, match="did not finish within"):
        _run_mutmut([sys.executable, "-c", script], tmp_path, dict(os.environ), 2, [PREFIX], lambda _m: None,
                    interval=0.2)
    pid = int(child.read_text())
    for _ in range(50):  # the grandchild is gone (killed with the group, then reaped by init)
        if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"mutmut's child {pid} outlived the timeout")
