"""README figures come from committed results: a stale README fails this test."""

from __future__ import annotations

import json
from pathlib import Path

from otaproof.reports.readme import (
    ROOT,
    automutants_block,
    cache_block,
    conformance_block,
    devices_block,
    explicit_block,
    matrix_block,
    mutants_block,
    render,
    spin_block,
    violations_block,
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


def _spin_row(size: int, pid: str, ours: str, seconds: float, spin: str, search: float) -> dict[str, object]:
    agree = None if "unknown" in (ours, spin) else ours == spin
    return {"size": size, "property": pid, "agree": agree, "spin_cap_seconds": 10 * seconds,
            "otaproof": {"verdict": ours, "seconds": seconds, "memory_mb": 90, "engine": "lemmas", "depth": None},
            "spin": {"verdict": spin, "compile_seconds": 2.0, "seconds": search, "states": 1234567, "depth": 99,
                     "memory_mb": 1300.0, "note": "stopped after 20 s" if spin == "unknown" else "complete search"},
            "load": {"mean": 1.0, "peak": 1.5}}


def test_the_spin_block_gives_each_row_its_ratio_and_each_size_its_summary() -> None:
    doc = {"date": "2026-12-07", "cpus": 2, "spin_version": "Spin Version 6.5.2", "disagreements": [],
           "settings": {"spin_factor": 10, "spin_least": 10, "spin_seconds": 300, "spin_memory_mb": 8192},
           "run": {"wall_seconds": 75, "load_average": [0.5, 0.4, 0.3], "load_sampled": {"mean": 1.2, "peak": 2.0}},
           "rows": [_spin_row(4, "P-CPL", "proved", 2.0, "unknown", 20.0),
                    _spin_row(4, "P-AUTH", "violated", 1.0, "violated", 0.5),
                    _spin_row(4, "P-SMI", "unknown", 30.0, "unknown", 300.0),
                    {**_spin_row(4, "P-CPL-NOW", "violated", 4.0, "unknown", 40.0), "agree": True,
                     "spin_bounded": {"verdict": "violated", "seconds": 3.5}}]}
    text = spin_block(doc)
    assert "Both tools gave a verdict on 2 of 4 rows (SPIN's include violations found by its search bounded by " \
        "otaproof's counterexample depth), and all of them agree." in text
    assert "| 4 | P-CPL-NOW | violated | 4.0 | 90 | unknown (stopped after 20 s); within the counterexample's " \
        "depth: violated (3.5 s) | 2.0 + 40.0 |" in text
    assert ("* 4 devices per hub: otaproof proved 1 property in 2.0 s each; SPIN completed 0 of these searches, and "
            "its time over otaproof's is at least ×11.0 on every one; otaproof found 2 violations in 1.0-4.0 s, SPIN's "
            "search 1 in 0.5 s of search (2.5 s with its compile), and SPIN bounded by the counterexample's depth "
            "confirmed 1 more; otaproof left P-SMI unknown.") in text
    stopped = "unknown (stopped after 20 s)"
    assert f"| 4 | P-CPL | proved | 2.0 | 90 | {stopped} | 2.0 + 20.0 | 1,234,567 | 1,300 | ≥ ×11.0 |" in text
    assert "| 4 | P-AUTH | violated | 1.0 | 90 | violated | 2.0 + 0.5 | 1,234,567 | 1,300 | ×2.5 |" in text
    assert f"| 4 | P-SMI | unknown | 30.0 | 90 | {stopped} | 2.0 + 300.0 | 1,234,567 | 1,300 | - |" in text
    doc["disagreements"] = ["size 4 P-AUTH"]
    assert "**1 disagree**: size 4 P-AUTH" in spin_block(doc)
    doc["remeasured"] = [{"date": "2026-12-08", "command": "python benchmarks/spin.py --merge",
                          "rows": ["size 4 P-AUTH"], "run": {"wall_seconds": 61, "load_sampled": {"mean": 1.5}}}]
    assert "Re-measured 2026-12-08 (`python benchmarks/spin.py --merge`, 1 min 1 s, load mean 1.5): size 4 P-AUTH." \
        in spin_block(doc)


def test_the_devices_block_gives_every_n_and_why_a_property_is_not_proved_for_all_n() -> None:
    def size(n: int, verdict: str, seconds: float) -> dict[str, object]:
        return {"devices": n, "ppmids": (n + 1) // 2, "hcalcs": n // 2, "wall_seconds": 61, "load_sampled":
                {"mean": 1.0, "peak": 2.0}, "results": [
                    {"property": "P-CPL", "verdict": "proved", "engine": "lemmas", "seconds": 0.5},
                    {"property": "P-AUTH", "verdict": verdict, "engine": "bmc", "seconds": seconds,
                     **({"depth": 9} if verdict == "violated" else {})}]}
    doc = {"date": "2026-12-07", "cpus": 2, "timeout": 60, "sizes": [size(1, "violated", 1.25), size(8, "unknown", 60)],
           "all_n": {"wall_seconds": 30, "load_sampled": {"mean": 1.5, "peak": 2.5}, "results": [
               {"property": "P-CPL", "status": "proved for all N", "seconds": 2.0, "parts": []},
               {"property": "P-AUTH", "status": "not proved for all N", "seconds": 20.0, "parts": [
                   {"device_model": "PPMID", "status": "not proved for all N", "reason": "a 9-step counterexample"},
                   {"device_model": "HCALCS", "status": "no part about this type", "reason": "none"}]}]}}
    text = devices_block(doc)
    assert "N = 1 (1 PPMID, 0 HCALCSs): 1 min 1 s, load mean 1.0, peak 2.0; N = 8 (4 PPMIDs, 4 HCALCSs)" in text
    assert "| property | N = 1 | N = 8 | for all N |" in text
    assert "| P-CPL | ✔ 0.5 s | ✔ 0.5 s | ✔ proved (2.0 s) |" in text
    assert "| P-AUTH | ✘9 1.2 s | ? 60.0 s | not proved (20.0 s) |" in text
    assert text.rstrip().endswith("* P-AUTH: PPMID: a 9-step counterexample")


def test_the_cache_block_gives_each_run_and_whether_the_verdicts_held() -> None:
    run = {"seconds": 30.04, "load_sampled": {"mean": 1.0, "peak": 2.0}, "exit": 1}
    doc = {"date": "2026-12-07", "cpus": 2, "variants": ["secmp0007"], "threat_models": ["none"], "cells": 34,
           "edit": "activation-after-receipt.py", "verdicts_differ": [], "other_designs_changed": [],
           "runs": [{**run, "label": "cold (empty cache)", "cache": "0/38 parts re-checked"},
                    {**run, "label": "warm (everything cached)", "cache": "38/38 parts re-checked"}]}
    text = cache_block(doc)
    assert "| warm (everything cached) | 30.0 | 1.0 / 2.0 | 38/38 parts re-checked |" in text
    assert text.rstrip().endswith("Every verdict equal to the cold run's; the other designs' verdicts unchanged "
                                  "after the edit.")
    doc["runs"].append({**run, "label": "edited, --no-cache (reference)", "cache": "no cache"})  # type: ignore[attr-defined]
    assert "Every verdict equal to the cold run's, and the edited run's equal to the --no-cache run's;" \
        in cache_block(doc)
    doc["verdicts_differ"] = ["x"]
    assert "**1 verdicts differ**" in cache_block(doc)


def test_the_explicit_block_gives_throughput_and_how_far_the_enumeration_got() -> None:
    row = {"model": "default", "limit": 1000, "states": 1000, "depth": 3, "complete": False, "seconds": 0.5,
           "cpu_s": 0.25, "peak_mb": 99.0, "load_sampled": {"mean": 1.0, "peak": 1.5}, "layers": [1, 20, 200, 779]}
    doc = {"date": "2026-12-07", "cpus": 2, "throughput": [{**row, "model": "one PPMID", "complete": True}],
           "enumeration": [row]}
    text = explicit_block(doc)
    assert "| one PPMID | 1,000 | 1,000 | 3 | yes | 0.5 | 2,000 | 4,000 | 99 | 1.0 / 1.5 |" in text
    assert "| default | 1,000 | 1,000 | 3 | no | 0.5 | 2,000 | 4,000 | 99 | 1.0 / 1.5 |" in text
    assert text.rstrip().endswith("default: not enumerated whole within 1,000 states; states within each depth 1, "
                                  "20, 200, 779 (depth 3 over depth 2: ×3.9).")


def test_the_violations_block_counts_those_within_5_s_and_names_the_slow_and_the_differing() -> None:
    def row(pid: str, depth: int, verdict: str, seconds: float, found: int) -> dict[str, object]:
        return {"variant": "secmp0007", "threats": "none", "property": pid, "readme_depth": depth, "load": [1.0, 2.0],
                "portfolio": {"verdict": verdict, "seconds": seconds, "engine": "bmc", "depth": found}}
    doc = {"date": "2026-12-07", "cpus": 2, "generated_by": "python benchmarks/explicit.py --columns portfolio",
           "violations": [row("P-CPL-NOW", 9, "violated", 2.0, 9), row("P-AUTH", 9, "violated", 7.5, 9),
                          row("P-CPL", 1, "violated", 1.0, 1)]}
    text = violations_block(doc)
    assert "of the 3 safety violations of the matrix, 3 found, 2 within 5 s; median 2.0 s, slowest 7.5 s. Every one " \
        "at the matrix's depth." in text
    assert "| secmp0007 | none | P-AUTH | 9 | 7.5 | bmc |" in text and "| P-CPL-NOW |" not in text
    doc["violations"].append(row("P-SMI", 4, "unknown", 60.0, 0))  # type: ignore[attr-defined]
    assert "**1 differ from the matrix**" in violations_block(doc)
    assert "secmp0007/none/P-SMI (matrix ✘4, here unknown 0)" in violations_block(doc)
