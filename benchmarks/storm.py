"""Alert-storm benchmark: ``otaproof storm``'s analysis of each policy at fleet scale (13 M hubs).

Prints, per policy, the wall-clock seconds of the analysis (best of --repeat), its ratio to the
fastest policy measured in the same run, the time to render the PNG, and the figures: the peak
second (exact, or the expected load), the Monte Carlo peak's mean and 99.9th percentile, the
seconds above capacity, the largest backlog and the worst delay.

    python benchmarks/storm.py                                  # 13 M hubs, 1,000 runs, seed 0
    python benchmarks/storm.py --runs 200 --repeat 1 --policies fixed-time,uniform-window:24
    python benchmarks/storm.py --multinomial-baseline           # also time Generator.multinomial

``--multinomial-baseline`` times numpy's ``Generator.multinomial`` drawing the same counts for
the 24-hour window (on a few runs, scaled to --runs): the sampler this analysis replaces.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from otaproof.reports.storm import SECONDS_PER_DAY, StormInput, StormResult, analyse, parse_policy
from otaproof.reports.storm_plot import render_png

POLICIES = ("fixed-time", "uniform-window:4", "uniform-window:24", "on-change", "on-change:1")


def measure(policy: str, hubs: int, runs: int, seed: int, repeat: int) -> tuple[float, float, StormResult]:
    """Best-of-``repeat`` seconds of the analysis, seconds of the PNG rendering, and the result."""
    inp = StormInput(parse_policy(policy), hubs=hubs, runs=runs, seed=seed)
    best = float("inf")
    result: StormResult | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = analyse(inp)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    start = time.perf_counter()
    render_png(result)
    return best, time.perf_counter() - start, result


def multinomial_seconds(hubs: int, runs: int, seed: int, sample_runs: int = 20) -> float:
    """Generator.multinomial over the 86,400 seconds of a day, timed on ``sample_runs`` runs, scaled to ``runs``."""
    rng = np.random.default_rng(seed)
    p = np.full(SECONDS_PER_DAY, 1 / SECONDS_PER_DAY)
    start = time.perf_counter()
    rng.multinomial(hubs, p, size=sample_runs)
    return (time.perf_counter() - start) * runs / sample_runs


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None or x == float("inf"):
        return "unbounded"
    return f"{x:,.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubs", type=int, default=13_000_000)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="analyses per policy; the best time is kept (default 3)")
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--multinomial-baseline", action="store_true")
    args = ap.parse_args()
    console = Console(width=180)
    rows = [(p, *measure(p, args.hubs, args.runs, args.seed, args.repeat)) for p in args.policies.split(",")]
    fastest = min(t for _, t, _, _ in rows)
    table = Table(title=f"otaproof storm — {args.hubs:,} hubs × 2 devices, capacity 600/s, {args.runs:,} Monte Carlo "
                        f"runs, seed {args.seed}; seconds best of {args.repeat}, ×ratio to the fastest policy",
                  title_justify="left")
    for col in ("policy", "analysis (s)", "×fastest", "plot (s)", "peak/s (exact or expected)", "MC peak mean",
                "MC peak p99.9", "s over capacity", "max backlog", "worst delay (s)"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for policy, seconds, plot_seconds, r in rows:
        mc = r.monte_carlo
        e = r.exact
        table.add_row(policy, f"{seconds:.3f}", f"×{seconds / fastest:.1f}", f"{plot_seconds:.2f}", _fmt(e.peak, 1),
                      _fmt(mc.peak.mean, 1) if mc else "—", _fmt(mc.peak.p999, 1) if mc else "—",
                      f"{e.seconds_over_capacity:,}"
                      + (f" (MC mean {mc.seconds_over_capacity.mean:,.1f})" if mc else ""),
                      _fmt(e.max_backlog), _fmt(e.worst_delay))
    console.print(table)
    if args.multinomial_baseline:
        base = multinomial_seconds(args.hubs, args.runs, args.seed)
        ours = next((t for p, t, _, _ in rows if p == "uniform-window:24"), None)
        ratio = f" (×{base / ours:.1f} the uniform-window:24 analysis)" if ours else ""
        console.print(f"Generator.multinomial, {args.hubs:,} hubs into 86,400 seconds, {args.runs:,} runs: "
                      f"{base:.1f} s{ratio}")


if __name__ == "__main__":
    main()
