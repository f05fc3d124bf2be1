"""What a pack is built from: one run of the verdict matrix (every scenario, one pool of engine
processes), every proof's obligation files re-checked by fresh Z3 processes (in the engine
processes, as each proof is found), and the alert-storm figures and plot (in a process of their
own, while the matrix runs), with the wall-clock time of each part.

The matrix is checked through :func:`check_matrix` only, so a change of the portfolio's entry
point (``properties.check``) is one line here.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from otaproof.model.config import Scenario
from otaproof.properties.cache import CacheUse
from otaproof.properties.catalogue import Property
from otaproof.properties.check import Outcome, check_rows
from otaproof.properties.verdict import Budget
from otaproof.reports.evidence.certificates import ProofFiles, recheck_rows
from otaproof.reports.evidence.findings import built_model
from otaproof.reports.matrix import Row
from otaproof.reports.storm import StormInput, StormResult, analyse, parse_policy

# the reporting policies the working group's question 5 compares (as ``otaproof questions``)
STORM_POLICIES = ("fixed-time", "uniform-window:4", "uniform-window:24", "on-change")
STORM_RUNS = 200


@dataclass(frozen=True)
class Plan:
    """Everything a pack depends on (its manifest records it)."""

    scenarios: tuple[Scenario, ...]
    properties: tuple[Property, ...]
    budget: Budget
    workers: int | None = None
    storm_policies: tuple[str, ...] = STORM_POLICIES
    storm_runs: int = STORM_RUNS
    baseline: str | None = None  # a design change assessment: the reference design ...
    change: str | None = None    # ... and the changed one
    variant_files: tuple[tuple[str, str], ...] = ()  # (design, its --variant-file): copied into the pack

    @property
    def threat_models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys("+".join(sorted(sc.threats)) or "none" for sc in self.scenarios))

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(sc.variant for sc in self.scenarios))


@dataclass
class Results:
    """The computed evidence: matrix rows in plan order (a proof Z3 did not confirm shown as
    unknown), each proof's obligation files by cell key, storm figures and plot, and timings
    (seconds)."""

    plan: Plan
    rows: list[Row]
    storms: list[StormResult]
    timings: dict[str, float] = field(default_factory=dict)
    proofs: dict[str, ProofFiles] = field(default_factory=dict)
    plots: dict[str, bytes] = field(default_factory=dict)  # storm.png and storm.svg (the first policy's)


def check_matrix(rows: list[tuple[Scenario, list[Property]]], budget: Budget, workers: int | None,
                 on_done: Callable[[int, Outcome], None] | None = None,
                 cache: CacheUse | None = None) -> list[list[Outcome]]:
    """The portfolio on every row in one pool: the pack's only call into the checkers (whose
    workers keep each proof's obligation files for the pack)."""
    return check_rows(rows, "portfolio", dataclasses.replace(budget, keep_obligations=True), workers=workers,
                      on_done=on_done, cache=cache)


def storm_figures(policies: tuple[str, ...], runs: int, seed: int) -> tuple[list[StormResult], dict[str, bytes], float]:
    """The storm figures of every policy, the plot of the first (``storm.png``, ``storm.svg``),
    and the seconds they took; run in a process of its own while the matrix is checked."""
    start = time.monotonic()
    storms = [analyse(StormInput(parse_policy(p), runs=runs, seed=seed)) for p in policies]
    plots = {}
    if storms:
        from otaproof.reports.storm_plot import render_png, render_svg  # matplotlib: only for a pack with storms

        plots = {"storm.png": render_png(storms[0]), "storm.svg": render_svg(storms[0])}
    return storms, plots, time.monotonic() - start


def _send_storm(sender: Connection, policies: tuple[str, ...], runs: int, seed: int) -> None:
    """The storm process: its figures, or the exception that stopped it, sent to the pack."""
    try:
        answer: object = storm_figures(policies, runs, seed)
    except Exception as e:
        answer = e
    sender.send(answer)
    sender.close()


def collect(plan: Plan, on_done: Callable[[int, Outcome], None] | None = None,
            cache: CacheUse | None = None) -> Results:
    """Check the matrix once (``cache``: exact hits only, re-checked) and collect its proofs'
    obligation files; the storm figures are computed meanwhile in a fresh process (they do not
    depend on the verdicts). Timings: the verdicts, the obligations, and how long the storm kept
    the pack waiting after them."""
    start = time.monotonic()
    context = mp.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    side = context.Process(target=_send_storm, args=(sender, plan.storm_policies, plan.storm_runs, plan.budget.seed),
                           daemon=True)
    side.start()
    sender.close()
    try:
        outcomes = check_matrix([(sc, list(plan.properties)) for sc in plan.scenarios], plan.budget, plan.workers,
                                on_done, cache)
        checked = time.monotonic()
        rows, proofs = recheck_rows([Row(sc, out) for sc, out in zip(plan.scenarios, outcomes, strict=True)],
                                    built_model, plan.workers)
        obligated = time.monotonic()
        try:
            answer = receiver.recv()
        except EOFError:
            raise RuntimeError(f"the storm process died (exit code {side.exitcode})") from None
        if isinstance(answer, BaseException):
            raise answer
        storms, plots, seconds = answer
        waited = time.monotonic() - obligated
    finally:  # done, or the matrix failed or was interrupted: the storm process ends either way
        side.kill()
        side.join()
        receiver.close()
    return Results(plan, rows, storms, {"verdicts": checked - start, "obligations": obligated - checked,
                                        "storm": waited, "storm_process": seconds}, proofs, plots)
