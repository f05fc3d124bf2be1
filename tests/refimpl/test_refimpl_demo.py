"""The demonstration ``python -m otaproof.refimpl``: runs, reads like the SEC process, is deterministic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from otaproof.refimpl.demo import main


def test_demo_walks_both_flows_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    steps = ["SR 11.4 Update PPMID Firmware", "CS05c Distribute Firmware to PPMID", "OTA Image Notify",
             "OTA Query Next Image Request", "OTA Image Block Response", "OTA Upgrade End Request",
             "CCS08 Firmware Transfer Alert", "CS09 PPMID Firmware Activation Alert", "SR 11.1 Update Firmware",
             "Firmware Distribution Receipt Alert", "SR 11.3 Activate Firmware", "CS06 Activate Firmware Response",
             "SR 11.2 Read Firmware Version", "SR 8.2 Read Inventory"]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)
    assert "0x8f8a" in out and "0x8f72" in out and "PPMID runs version 2, HCALCS runs version 2" in out


def test_demo_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--seed", "4"])
    first = capsys.readouterr().out
    main(["--seed", "4"])
    assert capsys.readouterr().out == first


def test_demo_bad_argument_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "x"]) == 2


def test_demo_runs_as_module() -> None:
    result = subprocess.run([sys.executable, "-m", "otaproof.refimpl", "--variant", "pre-secmp0007"],
                            capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "CS09 PPMID Firmware Activation Alert" in result.stdout
