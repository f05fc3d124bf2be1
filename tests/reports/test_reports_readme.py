"""README figures come from committed results: a stale README fails this test."""

from __future__ import annotations

import json
from pathlib import Path

from otaproof.reports.readme import ROOT, matrix_block, render


def _doc() -> dict[str, object]:
    def e(variant: str, threats: list[str], prop: str, verdict: str, depth: int | None = None) -> dict[str, object]:
        return {"variant": variant, "threats": threats, "faults": [], "property": prop, "verdict": verdict,
                **({"depth": depth} if depth else {})}
    return {"entries": [e("secmp0007", [], "P-CPL", "proved"), e("secmp0007", [], "P-AUTH", "violated", 9),
                        e("secmp0007", ["han_mitm"], "P-CPL", "violated", 8),
                        e("secmp0007", ["han_mitm"], "P-AUTH", "unknown")],
            "run": {"date": "2026-12-05", "wall_seconds": 754.4, "cpus": 2, "load_average": [0.2, 0.1, 0.0]}}


def test_the_matrix_block_says_what_the_results_say() -> None:
    text = matrix_block(_doc())
    assert text.startswith("3 of 4 verdicts definite (1 proved, 2 violated, 1 unknown); 12 min 34 s wall time "
                           "on 2 cores, load average 0.2 at the start, 2026-12-05.")
    assert "| secmp0007 | none | ✔ | ✘9 |" in text and "| secmp0007 | han_mitm | ✘8 | ? |" in text


def test_the_block_gives_the_load_sampled_during_the_run() -> None:
    doc = _doc()
    doc["run"]["load_sampled"] = {"mean": 7.25, "peak": 11.0}  # type: ignore[index]
    assert "load average 0.2 at the start, 7.2 mean and 11.0 peak during the run, 2026-12-05." in matrix_block(doc)


def test_a_stale_block_is_rewritten_from_the_results(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "matrix.json").write_text(json.dumps(_doc()))
    stale = "intro\n<!-- generated:matrix -->\n| hand | typed |\n<!-- /generated:matrix -->\nend\n"
    fresh = render(stale, tmp_path)
    assert "hand" not in fresh and "| secmp0007 | none | ✔ | ✘9 |" in fresh and fresh.endswith("end\n")
    assert render(fresh, tmp_path) == fresh


def test_the_readme_agrees_with_the_committed_results() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render(readme) == readme, "README.md is stale: run python -m otaproof.reports.readme"
