"""README figures come from committed results: a stale README fails this test."""

from __future__ import annotations

import json
from pathlib import Path

from otaproof.reports.readme import (
    ROOT,
    automutants_block,
    conformance_block,
    matrix_block,
    mutants_block,
    render,
)


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


RUN = {"date": "2026-12-06", "wall_seconds": 312.0, "cpus": 2, "load_average": [2.5, 2.0, 1.0],
       "load_average_end": [3.25, 2.5, 1.5]}


def test_the_conformance_block_gives_size_time_load_and_the_table_per_criterion() -> None:
    doc = {"settings": {"variants": ["secmp0007", "pre-secmp0007"], "threat_models": ["none"], "seed": 0},
           "suite": {"tests": 12, "reproductions": 3, "guards": 2, "conformance": 6, "oracle_runs": 1,
                     "trace_files": 11},
           "coverage": [{"scenario": "secmp0007__none__none", "traces_kept": 6, "traces_found": 9, "depth": 20,
                         "criteria": [{"criterion": "action", "goals": 4, "covered": 3, "unreachable": 1,
                                       "unknown": 0},
                                      {"criterion": "total", "goals": 4, "covered": 3, "unreachable": 1,
                                       "unknown": 0}]}],
           "undecided": [], "run": RUN}
    text = conformance_block(doc)
    assert text.startswith("`otaproof generate` (secmp0007, pre-secmp0007; threat models none; seed 0): 12 tests "
                           "(3 reproductions, 2 guards, 6 conformance, 1 oracle runs), 11 trace files; generated in "
                           "5 min 12 s on 2 cores, load average 2.5 at the start and 3.2 at the end, 2026-12-06; "
                           "every cell and goal decided (exit 0).")
    assert "| action | 4 | 3 | 1 | 0 |" in text and "| total | 4 | 3 | 1 | 0 |" in text
    doc["undecided"] = ["P-CPL on x: unknown"]
    assert "1 cells or goals undecided (exit 3)." in conformance_block(doc)


def test_the_mutants_block_gives_the_score_and_every_mutant() -> None:
    doc = {"oracle": False, "killed": 1, "total": 2, "kill_rate": 0.5, "survived": 1, "timed_out": 0, "crashed": 0,
           "mutants": [{"name": "skip-cpl-check", "status": "killed", "killing_tests": ["a", "b"]},
                       {"name": "no-timeout", "status": "survived", "killing_tests": []}], "run": RUN}
    text = mutants_block(doc)
    assert text.startswith("Mutation score 1/2 = 50% (killed / all seeded mutants, without the oracle test; "
                           "1 survived, 0 timed out, 0 crashed); 5 min 12 s on 2 cores")
    assert "| `skip-cpl-check` | killed | 2 |" in text and "| `no-timeout` | survived | 0 |" in text


def test_the_automutants_block_gives_the_score_the_functions_left_and_every_survivor() -> None:
    mutant = {"function": "refimpl/hub.py:CommsHub._on_query", "before": "a < b", "after": "a <= b"}
    doc = {"killed": 1, "total": 3, "equivalent": 1, "kill_rate": 0.5, "run": RUN, "mutants": [
        {**mutant, "verdict": "killed"}, {**mutant, "verdict": "equivalent: only the value 'x' changes"},
        {**mutant, "verdict": "not killed: a gap"},
        {**mutant, "function": "refimpl/cpl.py:CPLRegistry.lookup", "verdict": "killed"}]}
    text = automutants_block(doc)
    assert text.startswith("Derived mutants (mutmut, the refimpl's decision code): **1 of 2 killed = 50.0%** "
                           "(killed / mutants not proved equivalent; 1 of 3 proved equivalent, 1 survived); 5 min")
    assert "| `refimpl/hub.py:CommsHub._on_query` | 3 | 1 | 1 | 1 |" in text and "CPLRegistry" not in text
    assert "- `CommsHub._on_query`: `a < b` -> `a <= b`" in text


def test_the_readme_agrees_with_the_committed_results() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render(readme) == readme, "README.md is stale: run python -m otaproof.reports.readme"
