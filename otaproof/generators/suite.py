"""Write a generated test suite: a standalone pytest package of readable tests and their traces.

Layout of the package::

    conftest.py                the ``sut`` fixture (adapter factory; OTAPROOF_SUT overrides it)
    pytest.ini                 so that ``pytest DIR`` runs it on its own (and with ``-n auto``)
    traces/*.json              every trace a test replays (otaproof.trace/1)
    variants/*.py              the variant files (``--variant-file``) whose designs the traces name
    test_<property>.py         reproduction and guard tests of one property's counterexamples
    test_cover_<criterion>.py  conformance tests, one per kept coverage trace, in the module of the
                               first criterion (action, branch, ...) it is kept for
    test_oracle.py             the model as a random-testing oracle (Hypothesis)
    INDEX.md                   what each module holds and what was left out, with reasons

The directory is written to a temporary sibling and renamed into place: never half-written.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otaproof.files import check_output_dir, new_output_dir, replace_dir
from otaproof.generators.adapter import abstract_state
from otaproof.generators.counterexamples import APPROVED, Guard, Reproduction
from otaproof.generators.coverage import KINDS, CoverageResult, criterion_rows
from otaproof.generators.edges import Edge
from otaproof.model.config import Scenario
from otaproof.properties.catalogue import BY_ID
from otaproof.properties.trace import Trace

DEFAULT_SUT = "otaproof.generators.refimpl_adapter:RefimplAdapter"


@dataclass
class SuitePlan:
    """Everything a suite will contain, computed before anything is written."""

    reproductions: list[Reproduction] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    unguarded: list[Reproduction] = field(default_factory=list)  # the approved design is violated too
    coverage: list[tuple[Scenario, CoverageResult]] = field(default_factory=list)
    edges: list[tuple[Edge, Trace]] = field(default_factory=list)  # wire-edge frames after model traces
    oracle: list[Scenario] = field(default_factory=list)
    oracle_examples: int = 40
    sut: str = DEFAULT_SUT
    notes: list[str] = field(default_factory=list)
    variant_files: dict[str, str] = field(default_factory=dict)  # design name -> its variant file, copied in
    undecided: list[str] = field(default_factory=list)  # unknown cells and goals: generate exits 3
    seconds: float = 0.0  # time spent planning (checks and coverage), reported in INDEX.md
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the planning (not in INDEX.md)


@dataclass(frozen=True)
class SuiteSummary:
    """What was written: test count per module and the number of traces."""

    modules: dict[str, int]
    traces: int

    @property
    def tests(self) -> int:
        return sum(self.modules.values())


def scenario_key(sc: Scenario) -> str:
    """``variant__threats__faults`` as used in file and test names."""
    return "__".join([sc.variant, "+".join(sorted(sc.threats)) or "none", "+".join(sorted(sc.faults)) or "none"])


def _ident(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def _describe(sc: Scenario) -> str:
    return (f"variant {sc.variant}; threats: {', '.join(sorted(sc.threats)) or 'none'}; "
            f"faults: {', '.join(sorted(sc.faults)) or 'none'}")


def _step_comment(step: Any) -> str:
    args = ", ".join(f"{k}={v}" for k, v in step.parameters.items())
    return f"{step.machine}: {step.action}({args}) -> {step.branch}"


def _effects(trace: Trace, n: int) -> dict[str, Any]:
    """Observations that step ``n`` of ``trace`` changes, with their new values."""
    before = abstract_state(trace.initial_state if n == 1 else trace.steps[n - 2].state, trace.parameters)
    after = abstract_state(trace.steps[n - 1].state, trace.parameters)
    return {k: v for k, v in after.items() if before.get(k) != v}


def _wrap(text: str, indent: str) -> str:
    import textwrap

    return textwrap.fill(text, 100, initial_indent=indent, subsequent_indent=indent)


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.traces = 0
        self.modules: dict[str, list[str]] = {}
        (root / "traces").mkdir()

    def trace_file(self, name: str, data: dict[str, Any]) -> str:
        (self.root / "traces" / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        self.traces += 1
        return f"{name}.json"

    def add(self, module: str, test: str) -> None:
        self.modules.setdefault(module, []).append(test)

    def finish(self, headers: dict[str, str]) -> dict[str, int]:
        for module, tests in self.modules.items():
            head = headers.get(module, '"""Generated by otaproof generate."""')
            body = "\n\n".join(tests)
            (self.root / f"{module}.py").write_text(
                f"{head}\n\nfrom otaproof.generators.replay import Replay, load_trace\n\n"
                f"from conftest import TRACES\n\n\n{body}\n")
        return {m: len(t) for m, t in self.modules.items()}


def _reproduction_test(w: _Writer, rep: Reproduction) -> None:
    prop, sc, trace = BY_ID[rep.property_id], rep.scenario, rep.trace
    key = scenario_key(sc)
    name = f"{_ident(prop.id)}__{key}__reproduction"
    file = w.trace_file(name, trace.to_json())
    n = len(trace.steps)
    effects = _effects(trace, n)
    lines = [f"def test_{_ident(key)}__reproduction(sut):",
             f'    """{prop.id} is violated on {sc.variant} ({_describe(sc)}): reproduction.', "",
             _wrap(f"Property: {prop.statement}", "    "), "",
             _wrap(f"What it shows: the {n}-step counterexample the model found happens on the system under test "
                   f"configured as {sc.variant}; its last step is the violation.", "    "),
             '    """',
             f'    run = Replay(sut, load_trace(TRACES / "{file}"))',
             "    run.start()"]
    lines += [f"    run.step({s.step})  # {_step_comment(s)}" for s in trace.steps]
    lines.append("    # the violation, observed on the system under test:")
    lines += [f"    assert run.observed[{k!r}] == {v!r}" for k, v in sorted(effects.items())] or \
             [f"    assert run.observed == run.expected({n})"]
    w.add(f"test_{_ident(prop.id)}", "\n".join(lines))


def _guard_test(w: _Writer, g: Guard) -> None:
    rep = g.reproduction
    prop, sc = BY_ID[rep.property_id], rep.scenario
    key = scenario_key(sc)
    name = f"{_ident(prop.id)}__{key}__guard"
    data = g.prefix.to_json()
    if g.refused is not None:
        data["refused"] = g.refused
    file = w.trace_file(name, data)
    attack = rep.trace.steps[g.step - 1]
    approved_now = abstract_state(g.prefix.steps[-1].state if g.prefix.steps else g.prefix.initial_state,
                                  g.prefix.parameters)
    effects = {k: v for k, v in _effects(rep.trace, len(rep.trace.steps)).items()
               if k in approved_now and approved_now[k] != v}
    how = (f"refuses step {g.step} ({attack.action}) outright" if g.refused is not None else
           f"answers step {g.step} ({attack.action}) with {g.approved_branch!r} where {sc.variant} has "
           f"{g.attack_branch!r}")
    lines = [f"def test_{_ident(key)}__guard(sut):",
             f'    """{prop.id}: the attack that violates it on {sc.variant} is stopped by the approved design.', "",
             _wrap(f"Property: {prop.statement}", "    "), "",
             _wrap(f"What it shows: on {APPROVED} (threats: {', '.join(sorted(sc.threats)) or 'none'}; faults: "
                   f"{', '.join(sorted(sc.faults)) or 'none'}) the model {how}; the system under test must do "
                   f"the same, so the violation never happens.", "    "),
             '    """',
             f'    run = Replay(sut, load_trace(TRACES / "{file}"))',
             "    run.start()"]
    lines += [f"    run.step({s.step})  # {_step_comment(s)}" for s in g.prefix.steps]
    if g.refused is not None:
        lines.append(f"    how = run.refused()  # step {g.step}: {attack.machine}: {attack.action}"
                     f"({', '.join(f'{k}={v}' for k, v in attack.parameters.items())}) must be refused")
        lines.append("    assert how")
    else:
        lines.append(f"    assert run.outcome == {g.approved_branch!r}  # the attack's step {g.step} needed "
                     f"{g.attack_branch!r}")
    lines.append(f"    # the attack's effect (its last step on {sc.variant}) has not happened:")
    lines += [f"    assert run.observed[{k!r}] != {v!r}" for k, v in sorted(effects.items())]
    w.add(f"test_{_ident(prop.id)}", "\n".join(lines))


def _edge_test(w: _Writer, edge: Edge, trace: Trace) -> None:
    file = w.trace_file(f"edge__{edge.name}", trace.to_json())
    lines = [f"def test_{edge.name}(sut):",
             f'    """Wire edge on {trace.variant}: {edge.name.replace("_", " ")}.', "",
             _wrap(f"What it shows: {edge.rule}.", "    "),
             '    """',
             f'    run = Replay(sut, load_trace(TRACES / "{file}"))',
             "    run.start()"]
    lines += [f"    run.step({st.step})  # {_step_comment(st)}" for st in trace.steps]
    lines.append(f"    run.edge({edge.name!r})")
    w.add("test_wire_edges", "\n".join(lines))


def _coverage_tests(w: _Writer, sc: Scenario, result: CoverageResult) -> None:
    """One test per kept trace (each is written once: the suite stays minimised), in the module of
    the first criterion among the goals no other kept trace covers (the reason it is kept)."""
    goals = {g.id: g for g in result.goals}
    key = scenario_key(sc)
    rank = {k: n for n, k in enumerate(KINDS)}
    counts: dict[str, int] = {}
    for n, ct in enumerate(result.traces):
        others = {g for m, other in enumerate(result.traces) if m != n for g in other.goals}
        own = [g for g in ct.goals if g not in others] or list(ct.goals)
        kind = min((goals[g].kind for g in own), key=lambda k: rank[k])
        counts[kind] = number = counts.get(kind, 0) + 1
        name = f"cover_{kind}__{key}__{number:02d}"
        file = w.trace_file(name, ct.trace.to_json())
        steps = len(ct.trace.steps)
        per_kind = {k: [g for g in ct.goals if goals[g].kind == k] for k in KINDS}
        per_step = _goals_per_step(ct.trace, list(ct.goals), goals)
        lines = [f"def test_{_ident(key)}__{number:02d}(sut):",
                 f'    """Conformance ({kind} coverage), {_describe(sc)}.', "",
                 _wrap(f"Kept for: {', '.join(own)}.", "    "), "",
                 _wrap("Covers " + "; ".join(f"{k} {len(v)}" for k, v in per_kind.items() if v) + ".", "    "), "",
                 _wrap("What it shows: the system under test takes every step the model takes and ends in "
                       "the model's state; each covered goal is exercised on the way.", "    "),
                 '    """',
                 f'    run = Replay(sut, load_trace(TRACES / "{file}"))',
                 "    run.start()"]
        for st in ct.trace.steps:
            extra = f"  [{', '.join(per_step[st.step])}]" if per_step.get(st.step) else ""
            lines.append(f"    run.step({st.step})  # {_step_comment(st)}{extra}")
        lines.append(f"    assert run.observed == run.expected({steps})  # the SUT ends where the model does")
        w.add(f"test_cover_{_ident(kind)}", "\n".join(lines))


def _goals_per_step(trace: Trace, mine: list[str], goals: dict[str, Any]) -> dict[int, list[str]]:
    """For the step comments: the first step of ``trace`` taking each goal's action (and branch)."""
    out: dict[int, list[str]] = {}
    for gid in mine:
        g = goals[gid]
        if g.kind not in ("action", "branch"):
            continue
        for st in trace.steps:
            if st.action in g.action.split("|") and (g.branch is None or st.branch == g.branch):
                out.setdefault(st.step, []).append(gid)
                break
    return out


def _oracle_module(plan: SuitePlan) -> str:
    cases = ",\n    ".join(repr(s) for s in [
        (sc.variant, tuple(sorted(sc.threats)), tuple(sorted(sc.faults)),
         tuple(sorted(sc.parameters.as_dict().items()))) for sc in plan.oracle])
    return f'''"""The model as an oracle: random action sequences on the system under test (Hypothesis).

Each example picks, at every step, one action the model enables, performs it on the system under
test and compares the observed abstract state with the model's explicit semantics. A failure is
shrunk to a minimal trace, written to failures/ beside this file as a trace and a test module.
"""

import os

import pytest

from otaproof.generators.mutants import ENV_VAR
from otaproof.generators.oracle import run_oracle
from conftest import HERE

# Under mutation analysis (a seeded fault switched on) only whether a test fails matters:
# no shrinking, and no failure files written into the suite other runs are reading.
MUTATION_RUN = bool(os.environ.get(ENV_VAR))

SCENARIOS = [
    {cases},
]


@pytest.mark.parametrize("variant,threats,faults,parameters", SCENARIOS)
def test_model_as_oracle(sut_factory, variant, threats, faults, parameters):
    """Random walks of the model replayed on the system under test agree with the model at every step."""
    run_oracle(sut_factory, variant, threats, faults, dict(parameters), examples={plan.oracle_examples},
               failures=None if MUTATION_RUN else HERE / "failures", shrink=not MUTATION_RUN)
'''


CONFTEST = '''"""Generated by otaproof generate: the system under test and where the traces are.

The ``sut`` fixture builds a fresh adapter for every test. The adapter factory is {sut!r}
unless the environment variable OTAPROOF_SUT names another ``module:factory``. If
OTAPROOF_MUTANT names a seeded fault of the reference implementation, it is switched on first
(``otaproof mutants`` uses this). The design changes in variants/ (and installed plugins) are
registered, so that traces naming them replay.
"""

import importlib
import os
from pathlib import Path

import pytest

from otaproof.generators.mutants import apply_from_env
from otaproof.model.variant_files import use_variants

HERE = Path(__file__).parent
TRACES = HERE / "traces"
SUT = os.environ.get("OTAPROOF_SUT", {sut!r})

apply_from_env()
use_variants(sorted((HERE / "variants").glob("*.py")))


def _factory():
    module, _, name = SUT.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.fixture
def sut_factory():
    """The adapter class or factory under test."""
    return _factory()


@pytest.fixture
def sut(sut_factory):
    """A fresh system under test behind the otaproof adapter interface."""
    return sut_factory()


def pytest_terminal_summary(terminalreporter):
    """Count the tests skipped for gaps the adapter declares, so a skip is never silent."""
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(f"otaproof: {{len(skipped)}} test(s) skipped for gaps the adapter declares "
                                    "(its `unsupported` mapping); they check nothing on this system")
'''

PYTEST_INI = """[pytest]
addopts = -p no:cacheprovider
"""


def write_suite(plan: SuitePlan, out: Path, force: bool = False) -> SuiteSummary:
    """Write ``plan`` as a pytest package at ``out``, atomically; ``force`` replaces only a suite
    an earlier ``otaproof generate`` wrote (``check_output_dir``), nothing else."""
    out = check_output_dir(out, "--out", force)
    tmp = new_output_dir(out)
    try:
        summary = _write(plan, tmp)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _write(plan: SuitePlan, root: Path) -> SuiteSummary:
    w = _Writer(root)
    for rep in plan.reproductions:
        _reproduction_test(w, rep)
    for g in plan.guards:
        _guard_test(w, g)
    for sc, result in plan.coverage:
        _coverage_tests(w, sc, result)
    for edge, trace in plan.edges:
        _edge_test(w, edge, trace)
    headers = {"test_wire_edges": '"""Wire-edge tests: after a model trace, one frame the model abstracts away, '
                                  'at an edge of its fields (generators.edges); the SUT must answer as ZCL/GBCS '
                                  'fix and change only what the edge says.\n"""'}
    for pid in {r.property_id for r in plan.reproductions}:
        prop = BY_ID[pid]
        headers[f"test_{_ident(pid)}"] = (f'"""{pid}: {prop.statement}\n\nReproductions replay the model\'s '
                                          f'counterexamples on the violating designs; guards check that the '
                                          f'approved design stops the same attacks where the model says.\n"""')
    for kind in {g.kind for _, r in plan.coverage for g in r.goals}:
        headers[f"test_cover_{_ident(kind)}"] = (f'"""Conformance tests for {kind} coverage: each replays a trace '
                                                 f'that covers goals of that kind, comparing states at every step.'
                                                 f'\n"""')
    modules = w.finish(headers)
    if plan.oracle:
        (root / "test_oracle.py").write_text(_oracle_module(plan))
        modules["test_oracle"] = len(plan.oracle)
    if plan.variant_files:
        (root / "variants").mkdir()
        for name, file in sorted(plan.variant_files.items()):
            shutil.copyfile(file, root / "variants" / f"{name}.py")
    (root / "conftest.py").write_text(CONFTEST.format(sut=plan.sut))
    (root / "pytest.ini").write_text(PYTEST_INI)
    (root / "INDEX.md").write_text(_index(plan, modules, w.traces))
    return SuiteSummary(dict(sorted(modules.items())), w.traces)


def _index(plan: SuitePlan, modules: dict[str, int], traces: int) -> str:
    tests = sum(modules.values())
    lines = ["# Generated test suite (otaproof generate)", "",
             f"System under test: `{plan.sut}` (override with OTAPROOF_SUT=module:factory).", "",
             "Run: `pytest DIR` or `pytest DIR -n auto`.", "",
             f"Suite size: {tests} tests, {traces} trace files; generated in {plan.seconds:.0f} s.", "",
             "| module | tests |", "|---|---|"]
    if plan.variant_files:
        lines[4:4] = [f"Design changes from variant files (in variants/, registered by conftest.py): "
                      f"{', '.join(sorted(plan.variant_files))}.", ""]
    lines += [f"| {m}.py | {n} |" for m, n in sorted(modules.items())]
    for sc, r in plan.coverage:
        lines += ["", f"## Coverage per criterion ({scenario_key(sc)})", "",
                  f"{len(r.traces)} traces kept of {r.traces_found} found (greedy set cover), BMC depth {r.depth}, "
                  f"{r.seconds:.0f} s.", "",
                  "| criterion | goals | covered | unreachable (proved) | unknown |", "|---|---|---|---|---|"]
        lines += [f"| {k} | {n} | {c} | {d} | {u} |" for k, n, c, d, u in criterion_rows(r)]
    if plan.unguarded:
        lines += ["", "## Counterexamples without a guard test", "",
                  "The approved design takes the same attack step for step (the property is violated there too):", ""]
        lines += [f"- {r.property_id} on {scenario_key(r.scenario)}" for r in plan.unguarded]
    for sc, r in plan.coverage:
        if r.unreachable or r.unknown:
            lines += ["", f"## Coverage goals not covered ({scenario_key(sc)})", ""]
            lines += [f"- unreachable (proved): {g}" for g in r.unreachable]
            lines += [f"- unknown (budget): {g}" for g in r.unknown]
    if plan.undecided:
        lines += ["", "## Undecided (otaproof generate exited 3)", ""] + [f"- {u}" for u in plan.undecided]
    if plan.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in plan.notes]
    return "\n".join(lines) + "\n"
