"""The alert-storm analysis (``otaproof storm``): exact figures, the Monte Carlo, the queue, the CLI.

Fleet defaults: 13 M hubs × 2 devices (IHD + PPMID), one alert per device, so a daily alert is
26 M alerts a day; capacity 600 alerts/s (an assumption, see reports/storm.py SOURCES).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from otaproof import storm_cli
from otaproof.files import OutputError, write_bytes_atomic
from otaproof.reports.storm import (
    SECONDS_PER_DAY,
    Policy,
    StormError,
    StormInput,
    _make_multinomial,
    _PoissonSampler,
    _steady_queue,
    analyse,
    binomial_pmf,
    clock,
    day_figures,
    exact_figures,
    expected_load,
    max_law,
    parse_clock,
    parse_policy,
    poisson_pmf,
    storm_document,
)

HUBS, DEVICES = 13_000_000, 2
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def inp(policy: str, **kw: object) -> StormInput:
    return StormInput(parse_policy(policy), **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- fixed-time: exact arithmetic


def test_fixed_time_puts_every_alert_in_one_second() -> None:
    result = analyse(inp("fixed-time", start=parse_clock("02:00")))
    e = result.exact
    assert result.exact_kind == "exact" and result.monte_carlo is None
    assert e.peak == HUBS * DEVICES == e.total == 26_000_000
    assert e.peak_second == 7200 and e.seconds_over_capacity == 1
    assert e.stable and e.max_backlog == 26_000_000 - 600
    assert e.worst_delay == math.ceil((26_000_000 - 600) / 600) == 43_333
    nonzero = np.flatnonzero(result.load)
    assert nonzero.tolist() == [7200] and result.load.sum() == 26_000_000


def test_fixed_time_one_alert_per_hub_and_a_small_fleet() -> None:
    assert exact_figures(inp("fixed-time", devices_per_hub=1)).peak == HUBS
    small = exact_figures(inp("fixed-time", hubs=250, capacity=600))
    assert (small.peak, small.seconds_over_capacity, small.max_backlog, small.worst_delay) == (500, 0, 0, 0)


@pytest.mark.parametrize("policy,capacity", [("fixed-time", 600), ("fixed-time", 7), ("uniform-window:4", 600),
                                             ("uniform-window:24", 250), ("on-change", 1.5), ("on-change:1", 60),
                                             ("uniform-window:0.5", 0.25)])
def test_closed_form_agrees_with_the_per_second_queue(policy: str, capacity: float) -> None:
    i = inp(policy, capacity=capacity, hubs=10_000 if capacity < 1 else HUBS, start=parse_clock("23:30"))
    closed = exact_figures(i)
    numeric, _ = day_figures(expected_load(i), capacity)
    assert closed.stable == numeric.stable
    assert closed.seconds_over_capacity == numeric.seconds_over_capacity
    assert numeric.total == pytest.approx(closed.total, rel=1e-12)
    assert numeric.peak == pytest.approx(closed.peak, rel=1e-12)
    if closed.stable:
        assert numeric.max_backlog == pytest.approx(closed.max_backlog, rel=1e-9, abs=1e-6)
    else:
        assert numeric.growth_per_day == pytest.approx(closed.growth_per_day, rel=1e-9)
        assert closed.max_backlog is None and closed.worst_delay is None


# ---------------------------------------------------------------- the queue on hand-checkable days


def _day(**arrivals: float) -> np.ndarray:
    load = np.zeros(SECONDS_PER_DAY)
    for second, n in arrivals.items():
        load[int(second[1:])] = n
    return load


def test_backlog_and_delay_by_hand() -> None:
    # 10 alerts at second 0, 4/s served: queue 6, 2, 0; the last alert waits 2 s.
    figures, queue = day_figures(_day(s0=10), 4)
    assert queue[:4].tolist() == [6, 2, 0, 0]
    assert (figures.max_backlog, figures.worst_delay, figures.seconds_over_capacity) == (6, 2, 1)
    # fractional capacity: 10 at 2.5/s -> 7.5, 5, 2.5, 0; delay ceil(7.5 / 2.5) = 3
    figures, queue = day_figures(_day(s0=10), 2.5)
    assert queue[:4].tolist() == [7.5, 5, 2.5, 0] and figures.worst_delay == 3
    # at capacity exactly: nothing waits, and the second is not above capacity
    figures, _ = day_figures(_day(s0=4, s1=4), 4)
    assert (figures.max_backlog, figures.worst_delay, figures.seconds_over_capacity) == (0, 0, 0)


def test_backlog_carries_over_midnight_in_the_steady_state() -> None:
    figures, queue = day_figures(_day(s86399=10), 4)
    assert queue[-1] == 6 and queue[:3].tolist() == [2, 0, 0]
    assert (figures.max_backlog, figures.worst_delay) == (6, 2)


def test_a_day_above_capacity_grows_without_bound() -> None:
    figures, _ = day_figures(np.full(SECONDS_PER_DAY, 3.0), 2)
    assert not figures.stable and figures.max_backlog is None and figures.worst_delay is None
    assert figures.growth_per_day == SECONDS_PER_DAY
    assert not exact_figures(inp("uniform-window:24", capacity=100)).stable


def test_compressed_gap_queue_equals_the_full_day() -> None:
    rng = np.random.default_rng(7)
    window = rng.integers(0, 20, size=(5, 300)).astype(np.float64)
    service = np.full(301, 8.0)
    service[-1] = 8.0 * (SECONDS_PER_DAY - 300)
    compressed, stable, _ = _steady_queue(np.concatenate([window, np.zeros((5, 1))], axis=1), service)
    for row in range(5):
        load = np.roll(np.concatenate([window[row], np.zeros(SECONDS_PER_DAY - 300)]), 86_300)
        full, _ = day_figures(load, 8.0)
        assert stable[row] and compressed[row].max() == full.max_backlog


# ---------------------------------------------------------------- Monte Carlo: exactness and determinism


def test_uniform_window_conserves_the_total_every_run_and_stays_in_its_window() -> None:
    result = analyse(inp("uniform-window:2", start=parse_clock("23:00"), runs=40))
    mc = result.monte_carlo
    assert mc is not None
    assert mc.total.mean == mc.total.max == HUBS * DEVICES
    assert mc.realisation.sum() == HUBS * DEVICES
    seconds = np.flatnonzero(mc.realisation)
    assert set(seconds.tolist()) <= set(range(82_800, SECONDS_PER_DAY)) | set(range(0, 3600))
    assert np.all(mc.realisation % DEVICES == 0)  # a hub's devices report in the same second
    assert result.exact.peak == pytest.approx(HUBS * DEVICES / 7200)


def _peak_tolerance(lam: float, bins: int, runs: int, scale: int) -> float:
    """Five standard errors of a mean of ``runs`` maxima of ``bins`` counts of variance ``lam``.

    The maximum of many near-normal counts is Gumbel-like with standard deviation
    π/√6 · σ/√(2 ln bins); the +1 covers the discreteness of the counts.
    """
    sd = math.pi / math.sqrt(6) * math.sqrt(lam) / math.sqrt(2 * math.log(bins))
    return scale * (5 * sd / math.sqrt(runs) + 1)


@pytest.mark.parametrize("hours", [4, 24])
def test_uniform_window_peak_matches_the_multinomial_maximum(hours: int) -> None:
    runs = 200 if hours == 4 else 60
    result = analyse(inp(f"uniform-window:{hours}", runs=runs, seed=3))
    mc, law = result.monte_carlo, result.peak_law
    assert mc is not None and law is not None and not law.exact
    w = hours * 3600
    mean_per_second = HUBS * DEVICES / w
    assert result.exact.peak == pytest.approx(mean_per_second)
    # the peak second is far above the mean second: about sqrt(2 ln W) standard deviations
    sigma = DEVICES * math.sqrt(HUBS / w)
    assert law.mean == pytest.approx(mean_per_second + sigma * math.sqrt(2 * math.log(w)), rel=0.02)
    tol = _peak_tolerance(HUBS / w, w, runs, DEVICES)
    assert law.mean - tol <= mc.peak.mean <= law.mean + tol
    assert mc.peak.mean <= mc.peak.p999 <= mc.peak.max


def test_on_change_expectation_is_exact_and_realisations_agree() -> None:
    rate = 4 / 365
    result = analyse(inp("on-change", change_rate=rate, runs=100, seed=1))
    total = HUBS * DEVICES * rate
    assert result.exact_kind == "expectation"
    assert result.exact.total == pytest.approx(total, rel=1e-15)
    assert result.exact.peak == pytest.approx(total / SECONDS_PER_DAY, rel=1e-15)
    assert result.load.sum() == pytest.approx(total) and np.ptp(result.load) == 0
    mc, law = result.monte_carlo, result.peak_law
    assert mc is not None and law is not None and law.exact
    assert abs(mc.total.mean - total) <= 5 * math.sqrt(total / 100)
    tol = _peak_tolerance(total / SECONDS_PER_DAY, SECONDS_PER_DAY, 100, 1)
    assert abs(mc.peak.mean - law.mean) <= tol


def test_on_change_campaign_concentrates_the_changes_in_its_window() -> None:
    result = analyse(inp("on-change:1", start=parse_clock("06:00"), runs=5))
    assert np.flatnonzero(result.load).tolist() == list(range(21_600, 25_200))
    assert result.monte_carlo is not None
    assert set(np.flatnonzero(result.monte_carlo.realisation).tolist()) <= set(range(21_600, 25_200))


def test_same_seed_same_figures_different_seed_different_realisation() -> None:
    a = analyse(inp("uniform-window:4", runs=40, seed=11))
    b = analyse(inp("uniform-window:4", runs=40, seed=11))
    c = analyse(inp("uniform-window:4", runs=40, seed=12))
    assert json.dumps(storm_document(a)) == json.dumps(storm_document(b))
    assert a.monte_carlo is not None and b.monte_carlo is not None and c.monte_carlo is not None
    assert np.array_equal(a.monte_carlo.realisation, b.monte_carlo.realisation)
    assert not np.array_equal(a.monte_carlo.realisation, c.monte_carlo.realisation)
    assert a.monte_carlo.peak != c.monte_carlo.peak
    d = analyse(inp("on-change", runs=20, seed=11))
    e = analyse(inp("on-change", runs=20, seed=12))
    assert d.monte_carlo is not None and e.monte_carlo is not None
    assert not np.array_equal(d.monte_carlo.realisation, e.monte_carlo.realisation)


def test_poisson_sampler_has_the_poisson_law() -> None:
    for lam in (0.3, 3.0, 150.0):
        sampler = _PoissonSampler(lam)
        x = sampler.sample(np.random.default_rng(5), (50, 20_000))
        n = x.size
        assert abs(x.mean() - lam) <= 5 * math.sqrt(lam / n)
        assert x.var() == pytest.approx(lam, rel=0.02)
        first, pmf = poisson_pmf(lam)
        counts = np.bincount(x.ravel() - first, minlength=pmf.size)[: pmf.size]
        expected = pmf * n
        keep = expected > 20
        chi2 = float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())
        dof = int(keep.sum()) - 1
        assert chi2 < dof + 6 * math.sqrt(2 * dof) + 10


@pytest.mark.parametrize("scale", [0.5, 1.6])  # short rows topped up; surplus rows thinned
def test_poisson_counts_are_made_exactly_multinomial(scale: float) -> None:
    n, bins, rows = 60, 6, 10_000
    rng = np.random.default_rng(2)
    counts = rng.poisson(scale * n / bins, size=(rows, bins))
    _make_multinomial(rng, counts, n)
    assert np.all(counts.sum(axis=1) == n) and np.all(counts >= 0)
    p = 1 / bins
    assert counts.mean(axis=0) == pytest.approx(np.full(bins, n * p), rel=0.01)
    assert counts.var(axis=0) == pytest.approx(np.full(bins, n * p * (1 - p)), rel=0.05)
    cov = np.cov(counts[:, 0], counts[:, 1])[0, 1]
    assert cov == pytest.approx(-n * p * p, rel=0.2)


def test_maximum_law_of_a_trivial_case() -> None:
    # one bin: the maximum is the count itself
    first, pmf = binomial_pmf(10, 0.5)
    mean, _ = max_law(first, pmf, 1)
    assert mean == pytest.approx(5.0)
    # two fair coins: P(max = 1) = 3/4
    first, pmf = binomial_pmf(1, 0.5)
    mean, p999 = max_law(first, pmf, 2, scale=3)
    assert mean == pytest.approx(3 * 0.75) and p999 == 3


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize("text", ["bogus", "uniform-window", "uniform-window:0", "uniform-window:-1",
                                  "uniform-window:24.5", "uniform-window:x", "fixed-time:2", "on-change:0",
                                  "uniform-window:0.0001"])
def test_bad_policies_are_refused(text: str) -> None:
    with pytest.raises(StormError):
        parse_policy(text)


def test_policies_and_clock_parse() -> None:
    assert parse_policy("uniform-window:24") == Policy("uniform-window", 24.0)
    assert parse_policy("on-change").window_seconds == SECONDS_PER_DAY
    assert parse_policy("on-change:0.5").window_seconds == 1800
    assert parse_policy("fixed-time").window_seconds == 1
    assert parse_clock("02:00") == 7200 and parse_clock("23:59:59") == 86_399 and clock(7261) == "02:01:01"
    for bad in ("24:00", "2", "02:60", "aa:bb"):
        with pytest.raises(StormError):
            parse_clock(bad)


@pytest.mark.parametrize("kw", [{"hubs": 0}, {"hubs": -5}, {"capacity": 0.0}, {"capacity": -1.0},
                                {"capacity": math.inf}, {"devices_per_hub": 0}, {"change_rate": -0.1},
                                {"runs": 0}, {"seed": -1}])
def test_bad_inputs_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(StormError):
        inp("fixed-time", **kw)


# ---------------------------------------------------------------- the CLI (before it is wired into otaproof)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="otaproof")
    storm_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["storm", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv", [["--policy", "sometimes"], ["--policy", "uniform-window:25"],
                                  ["--policy", "uniform-window:0"], ["--hubs", "0"], ["--hubs", "-3"],
                                  ["--hubs", "many"], ["--capacity", "0"], ["--capacity", "-600"],
                                  ["--start", "25:00"], ["--plot", "nowhere/x.png"], ["--plot", "plot.txt"],
                                  ["--json", "nowhere/x.json"], ["--plot", "f/x.png"]])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("a file, not a directory")
    before = sorted(os.listdir(tmp_path))
    argv = list(argv) + (["--plot", "ok.png"] if "--plot" not in argv else []) + ["--json", "ok.json"] * (
        "--json" not in argv)
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("otaproof: error: ") and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before


def test_cli_writes_png_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png, doc = tmp_path / "storm.png", tmp_path / "storm.json"
    code, out, err = _cli(capsys, "--policy", "uniform-window:4", "--runs", "20", "--seed", "5",
                          "--plot", str(png), "--json", str(doc))
    assert code == 0 and err == ""
    assert "Alert load at the DCC" in out and "26,000,000" in out and "17,360,000" in out
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    data = json.loads(doc.read_text())
    assert data["schema"] == "otaproof.storm/1" and data["policy"] == "uniform-window:4"
    assert data["expectation"]["total_per_day"] == 26_000_000
    assert data["expectation"]["max_backlog"] == 17_360_000
    assert data["monte_carlo"]["runs"] == 20 and data["monte_carlo"]["total_per_day"]["max"] == 26_000_000
    assert "hubs" in data["sources"] and "assumption" in data["sources"]["capacity"]
    assert sorted(os.listdir(tmp_path)) == ["storm.json", "storm.png"]


def test_cli_fixed_time_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "--policy", "fixed-time", "--start", "02:00")
    assert code == 0
    for figure in ("26,000,000 at 02:00:00", "25,999,400", "43,333 s"):
        assert figure in out


def test_cli_help_cites_the_sources(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli(capsys, "--help")
    text = capsys.readouterr().out
    for needle in ("13 million", "July 2022", "1.6 billion", "assumption", "August 2019", "--change-rate"):
        assert needle in text


def test_failed_write_leaves_no_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "storm.json"

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    code, out, err = _cli(capsys, "--json", str(doc))
    assert code == 2 and out == "" and err == "otaproof: error: disk full\n"
    assert os.listdir(tmp_path) == []


def test_write_bytes_atomic_keeps_the_old_file_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.png"
    write_bytes_atomic(target, b"old")
    assert target.read_bytes() == b"old"
    write_bytes_atomic(target, PNG_MAGIC + b"new")
    assert target.read_bytes() == PNG_MAGIC + b"new"
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("no")))
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"newer")
    assert target.read_bytes() == PNG_MAGIC + b"new" and os.listdir(tmp_path) == ["x.png"]
    with pytest.raises(OutputError, match="does not exist"):
        write_bytes_atomic(tmp_path / "missing" / "x.png", b"")


def test_unstable_realisations_are_unbounded_not_nan() -> None:
    result = analyse(inp("uniform-window:24", hubs=1_000_000, capacity=20, runs=10))
    mc = result.monte_carlo
    assert mc is not None and mc.unstable_runs == 10 and not result.exact.stable
    assert mc.max_backlog.mean == mc.max_backlog.p999 == mc.worst_delay.max == math.inf
    doc = storm_document(result)
    assert doc["monte_carlo"]["max_backlog"] == {"mean": None, "p99_9": None, "max": None}
    assert doc["expectation"]["max_backlog"] is None and doc["expectation"]["backlog_growth_per_day"] == 272_000
