"""The one entry point: check properties of a scenario with one engine or the portfolio.

``check`` and ``check_rows`` run the engines in forked worker processes (``pool.ForkPool``), or on
the Dask cluster a command opened (``executors.scheduler``), scheduled by ``portfolio.Portfolio``;
``run_engine`` runs one engine on a whole property in this process. Every worker is ended when
the check returns, fails or is interrupted.
"""

from __future__ import annotations

from collections.abc import Callable

from otaproof.model.config import Scenario
from otaproof.model.variants import BuiltModel
from otaproof.properties.cache import CacheUse
from otaproof.properties.catalogue import Property
from otaproof.properties.engines.strengthen import Strengthening
from otaproof.properties.executors import engine_pool, portable
from otaproof.properties.jobs import ENGINE_CHOICES, ENGINES, PORTFOLIO, TAIL, Outcome, parts, run, whole
from otaproof.properties.pool import ForkPool
from otaproof.properties.portfolio import OnDone, OnNote, Portfolio, Row
from otaproof.properties.verdict import Budget, Verdict

__all__ = ["ENGINES", "ENGINE_CHOICES", "PORTFOLIO", "TAIL", "Outcome", "check", "check_rows", "parts", "run_engine"]


def run_engine(built: BuiltModel, prop: Property, engine: str, budget: Budget,
               known: Strengthening | None = None) -> Verdict:
    """One engine on one whole property, in this process (``known``: the model's inductive
    lemmas, if already computed)."""
    return run(built, whole(built, prop, known), prop, engine, budget)


def check(scenario: Scenario, props: list[Property], engine: str, budget: Budget,
          workers: int | None = None, on_done: Callable[[Outcome], None] | None = None,
          swarm: bool = False, cache: CacheUse | None = None, on_note: Callable[[str], None] | None = None
          ) -> list[Outcome]:
    """Check every property; results come back in the order of ``props``. ``on_note``: the
    stages before the verdicts (lemma candidates, the lemma search), as they happen."""
    report: OnDone | None = (lambda row, outcome: on_done(outcome)) if on_done else None
    noted: OnNote | None = (lambda row, text: on_note(text)) if on_note else None
    return check_rows([(scenario, props)], engine, budget, workers, report, swarm=swarm, cache=cache,
                      on_note=noted)[0]


def check_rows(rows: list[Row], engine: str, budget: Budget, workers: int | None = None,
               on_done: OnDone | None = None, swarm: bool = False, cache: CacheUse | None = None,
               on_note: OnNote | None = None) -> list[list[Outcome]]:
    """Check the properties of every row (a scenario and its properties) with one pool of engine
    processes (default: one per CPU, or per worker thread of the open Dask cluster); results in row,
    then property order. ``swarm``: the portfolio also races the explicit-state swarm on every
    safety part from the row's start. ``cache``: the portfolio re-checks cached certificates
    first (None: no cache; not on a Dask cluster, whose workers may not share the cache's
    directory)."""
    portable([scenario for scenario, _ in rows])
    with engine_pool(workers) as (pool, slots):
        remote = not isinstance(pool, ForkPool)
        return Portfolio(rows, engine, budget, slots, pool, on_done, swarm=swarm,
                         cache=None if remote else cache, on_note=on_note).run()
