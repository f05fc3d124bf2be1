"""The examples in docs/refimpl.md and in the scenario module run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import otaproof.refimpl.scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "refimpl.md"


def test_guide_example_runs() -> None:
    [example] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    exec(compile(example, str(DOC), "exec"), {})


def test_scenario_docstring_example_runs() -> None:
    doc = otaproof.refimpl.scenario.__doc__ or ""
    lines = [line for line in doc.splitlines() if line.startswith("    ")]
    exec(textwrap.dedent("\n".join(lines)), {"Premises": otaproof.refimpl.scenario.Premises,
                                             "PremisesConfig": otaproof.refimpl.scenario.PremisesConfig})
