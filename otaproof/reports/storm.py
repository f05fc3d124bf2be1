"""Fleet alert load of a firmware-version reporting policy (``otaproof storm``).

Working-group question 5 (SECMP0007, August 2019): *could a daily firmware-version alert from
every IHD/PPMID, forwarded by the Communications Hub to the DCC, constitute an alert storm?*
This module answers it with numbers: given a fleet and a reporting policy it computes the alerts
arriving at the DCC in each of the 86,400 seconds of a day, the peak second, the seconds above
the DCC's capacity, the total per day, and the queue (backlog) and worst delay when the DCC
drains at ``capacity`` alerts per second.

What an alert carries. One alert reports one HAN device's firmware version: the domain brief
counts "a daily alert from each IHD and PPMID of 13 M homes" as ≈ 26 M alerts a day, i.e.
``hubs × devices_per_hub``. A hub forwards all its devices' alerts in the second it chose, so
under ``fixed-time`` and ``uniform-window`` the ``devices_per_hub`` alerts of a hub arrive
together. (``devices_per_hub=1`` models one alert carrying every device version of a hub.)

Policies
--------
``fixed-time``
    every hub sends at the same second ``start`` of the day. Deterministic, exact integer
    arithmetic: the peak is ``hubs × devices_per_hub`` in one second.
``uniform-window:HOURS``
    each hub picks an independent, uniformly random second in ``[start, start + HOURS)``
    (wrapping at midnight). The exact *expected* load is ``hubs × devices / window_seconds`` per
    second of the window; the realised per-second counts are Multinomial(hubs, uniform over the
    window) and are sampled by the seeded Monte Carlo below.
``on-change`` / ``on-change:HOURS``
    one alert per firmware change. Changes happen to each device as a Poisson process of
    ``change_rate`` per device per day at uniformly random seconds of the day, so the count in
    each second is independent Poisson(``hubs × devices × change_rate / 86,400``): its
    expectation is exact and so is the distribution of its per-second peak (computed, and also
    sampled). ``on-change:HOURS`` is a *campaign*: the changes of the day are concentrated in a
    window of HOURS hours from ``start`` (a supplier pushing SR 11.4 to a DeviceIDList, or
    scheduling SR 11.3 activations with one execution date-time). The campaign variant is an
    assumption: the brief says only that one Service Request may target several devices.

Exact versus Monte Carlo. ``StormResult.exact`` is exact arithmetic on the deterministic load
(``fixed-time``) or on the *expected* load (the randomised policies: a fluid profile; note the
backlog of the expected load is not the expected backlog). ``StormResult.monte_carlo`` summarises
``runs`` seeded realisations of a randomised policy: mean, 99.9th percentile and maximum of each
figure. Same seed, same figures.

The sampler. Both randomised policies need, per run, independent Poisson counts for the W seconds
of a window. They are drawn by inversion of the exact Poisson CDF through a guide table (64 raw
bits from ``np.random.default_rng(seed)`` per second; a table look-up, and a binary search for
the rare draws on a cell boundary): as exact as numpy's own samplers (double precision), and
about 8× faster than ``Generator.multinomial`` on 86,400 bins (``python benchmarks/storm.py
--multinomial-baseline``: 9.5 s against 1.2 s for 1,000 runs of 13 M hubs). For
``uniform-window`` the Poisson counts are then made multinomial exactly by Poissonisation: given
their total T the counts are Multinomial(T); adding hubs − T uniformly placed hubs (T < hubs) or
removing T − hubs hubs chosen uniformly without replacement (T > hubs) yields exactly
Multinomial(hubs), whatever the Poisson mean; a mean of (hubs − 3√hubs)/W makes the (slower)
removal rare. Work per run is O(W + √hubs), never O(hubs).

The queue. The DCC serves up to ``capacity`` alerts per second, first come first served; the
alerts of a second join the queue and up to ``capacity`` of the queue leave in that second
(Lindley: Q_t = max(0, Q_{t-1} + a_t - capacity)). The day repeats, so the figures are those of
the periodic steady state: when the day's total is at most ``capacity × 86,400`` the queue at
midnight equals the largest suffix sum of (a_t - capacity) over one day. Otherwise the backlog
grows without bound (``stable`` false, ``growth_per_day`` > 0, backlog and delay unbounded). The
last alert arriving in second t waits ceil(Q_t / capacity) seconds, so the worst delay is
ceil(max backlog / capacity).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np

SECONDS_PER_DAY = 86_400
SCHEMA = "otaproof.storm/1"

DEFAULT_HUBS = 13_000_000
DEFAULT_DEVICES_PER_HUB = 2
DEFAULT_CAPACITY = 600.0
DEFAULT_CHANGE_RATE = 4 / 365
DEFAULT_START = 2 * 3600
DEFAULT_RUNS = 1000
DEFAULT_SEED = 0

MAX_HUBS = 1_000_000_000
MAX_DEVICES_PER_HUB = 100
MAX_RUNS = 1_000_000
CHUNK_RUNS = 32
"""Runs sampled per vectorised batch. Fixed, because the draws of a run depend on it."""

SOURCES: dict[str, str] = {
    "hubs": "about 13 million SMETS2 homes with a Communications Hub (DCC, July 2022); about 20 million "
            "SMETS2 meters by August 2024",
    "devices_per_hub": "one IHD and one PPMID per home: the working group's 'daily alert from the IHD/PPMID', "
                       "counted as ≈ 26 M alerts a day for 13 M homes (SECMP0007 working group, August 2019)",
    "capacity": "assumption: the sources give no DCC alert capacity. Default 600 alerts/s = the DCC's average "
                "device-alert rate in July 2022 (≈ 1.6 billion device alerts a month), i.e. the DCC absorbs "
                "as much again on top of today's traffic",
    "change_rate": "four firmware changes per device a year: PPMID firmware 'very limited', other functions "
                   "'potentially every three months' (geo, SECMP0007 working group, August 2019); an upper "
                   "estimate",
    "start": "assumption: 02:00, a quiet-hours daily routine",
    "traffic": "DCC, July 2022: ≈ 1.6 billion device alerts a month (≈ 600/s on average), ≈ 1 billion service "
               "messages, 86 million DCC alerts",
}

PolicyKind = Literal["fixed-time", "uniform-window", "on-change"]
_POLICY = re.compile(r"^(?P<kind>fixed-time|uniform-window|on-change)(?::(?P<hours>[^:]*))?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


class StormError(ValueError):
    """Bad input to the storm analysis (reported to the user in one line)."""


@dataclass(frozen=True)
class Policy:
    """A firmware-version reporting policy; ``hours`` is the window (None: fixed-time, whole-day on-change)."""

    kind: PolicyKind
    hours: float | None = None

    @property
    def window_seconds(self) -> int:
        """Seconds in which alerts can arrive: 1 (fixed-time), the window, or the whole day."""
        if self.kind == "fixed-time":
            return 1
        if self.hours is None:
            return SECONDS_PER_DAY
        return round(self.hours * 3600)

    @property
    def randomised(self) -> bool:
        return self.kind != "fixed-time"

    def __str__(self) -> str:
        return self.kind if self.hours is None else f"{self.kind}:{self.hours:g}"


def parse_policy(text: str) -> Policy:
    """``fixed-time``, ``uniform-window:HOURS`` or ``on-change[:HOURS]``, HOURS in (0, 24]."""
    m = _POLICY.match(text.strip())
    if not m:
        raise StormError(f"unknown policy {text!r}: use fixed-time, uniform-window:HOURS or on-change[:HOURS]")
    kind: PolicyKind = m.group("kind")  # type: ignore[assignment]
    raw = m.group("hours")
    if kind == "fixed-time":
        if raw is not None:
            raise StormError(f"policy {text!r}: fixed-time takes no window (use --start for its second)")
        return Policy(kind)
    if raw is None:
        if kind == "uniform-window":
            raise StormError(f"policy {text!r} needs a window: uniform-window:HOURS with HOURS in (0, 24]")
        return Policy(kind)
    try:
        hours = float(raw)
    except ValueError:
        raise StormError(f"policy {text!r}: HOURS {raw!r} is not a number") from None
    if not (0 < hours <= 24):
        raise StormError(f"policy {text!r}: HOURS must be in (0, 24], got {raw}")
    if round(hours * 3600) < 1:
        raise StormError(f"policy {text!r}: a window of {raw} h is shorter than one second")
    return Policy(kind, hours)


def parse_clock(text: str) -> int:
    """``HH:MM`` or ``HH:MM:SS`` → second of the day (0..86,399)."""
    m = _CLOCK.match(text.strip())
    if not m:
        raise StormError(f"time of day {text!r}: use HH:MM or HH:MM:SS")
    h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    if h > 23 or mi > 59 or s > 59:
        raise StormError(f"time of day {text!r} is not between 00:00:00 and 23:59:59")
    return h * 3600 + mi * 60 + s


def clock(second: int) -> str:
    """Second of the day → ``HH:MM:SS``."""
    second %= SECONDS_PER_DAY
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


@dataclass(frozen=True)
class StormInput:
    """Everything the analysis depends on; validated on construction (``StormError``)."""

    policy: Policy
    hubs: int = DEFAULT_HUBS
    devices_per_hub: int = DEFAULT_DEVICES_PER_HUB
    capacity: float = DEFAULT_CAPACITY
    change_rate: float = DEFAULT_CHANGE_RATE
    start: int = DEFAULT_START
    runs: int = DEFAULT_RUNS
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if isinstance(self.hubs, bool) or not isinstance(self.hubs, int) or not 1 <= self.hubs <= MAX_HUBS:
            raise StormError(f"hubs must be an integer in 1..{MAX_HUBS:,}, got {self.hubs}")
        if not isinstance(self.devices_per_hub, int) or not 1 <= self.devices_per_hub <= MAX_DEVICES_PER_HUB:
            raise StormError(f"devices per hub must be an integer in 1..{MAX_DEVICES_PER_HUB}, "
                             f"got {self.devices_per_hub}")
        if not math.isfinite(self.capacity) or self.capacity <= 0:
            raise StormError(f"capacity must be a positive number of alerts per second, got {self.capacity:g}")
        if not math.isfinite(self.change_rate) or self.change_rate < 0:
            raise StormError(f"change rate must be a non-negative number per device per day, "
                             f"got {self.change_rate:g}")
        if not 0 <= self.start < SECONDS_PER_DAY:
            raise StormError(f"start must be a second of the day (0..86399), got {self.start}")
        if not 1 <= self.runs <= MAX_RUNS:
            raise StormError(f"runs must be in 1..{MAX_RUNS:,}, got {self.runs}")
        if self.seed < 0:
            raise StormError(f"seed must be non-negative, got {self.seed}")

    @property
    def devices(self) -> int:
        return self.hubs * self.devices_per_hub

    @property
    def window_start(self) -> int:
        """First second of the alerts' window (whole-day on-change starts at midnight)."""
        return 0 if self.policy.kind == "on-change" and self.policy.hours is None else self.start

    @property
    def expected_total(self) -> float:
        """Exact expected alerts per day (an integer for the daily policies)."""
        if self.policy.kind == "on-change":
            return self.devices * self.change_rate
        return float(self.devices)


@dataclass(frozen=True)
class QueueFigures:
    """Figures of one day's load: exact (deterministic or expected load) or one realisation."""

    total: float
    peak: float
    peak_second: int
    seconds_over_capacity: int
    stable: bool
    max_backlog: float | None
    """Largest queue at the end of a second (alerts); None when the backlog grows without bound."""
    worst_delay: int | None
    """Seconds the last alert of the worst second waits; None when unbounded."""
    growth_per_day: float
    """How much the backlog grows per day (0 when stable)."""


@dataclass(frozen=True)
class Spread:
    """A figure over Monte Carlo runs: mean, 99.9th percentile (numpy's linear interpolation) and maximum."""

    mean: float
    p999: float
    max: float

    @staticmethod
    def of(values: np.ndarray) -> Spread:
        v = np.sort(np.asarray(values, dtype=np.float64))
        at = 0.999 * (v.size - 1)
        lo, hi = v[math.floor(at)], v[math.ceil(at)]
        p999 = math.inf if math.isinf(hi) else float(lo + (hi - lo) * (at - math.floor(at)))
        return Spread(float(v.mean()) if not math.isinf(v[-1]) else math.inf, p999, float(v[-1]))


@dataclass(frozen=True)
class PeakLaw:
    """The per-second peak's distribution computed analytically (not sampled).

    on-change: exact (the seconds are independent Poisson counts). uniform-window: the seconds
    taken as independent Binomial(hubs, 1/W) counts; the multinomial counts are negatively
    associated (Joag-Dev and Proschan, 1983), so P(max ≤ k) ≤ Π P(X_i ≤ k) and the true peak is
    stochastically at least this law (the gap is far below the Monte Carlo noise at fleet scale).
    """

    mean: float
    p999: float
    exact: bool
    method: str


@dataclass(frozen=True)
class MonteCarlo:
    """Summary of ``runs`` seeded realisations of a randomised policy."""

    runs: int
    seed: int
    total: Spread
    peak: Spread
    seconds_over_capacity: Spread
    max_backlog: Spread
    worst_delay: Spread
    unstable_runs: int
    realisation: np.ndarray = field(repr=False)
    """Alerts in each second of the day (index 0 = 00:00:00) of the first run."""


@dataclass(frozen=True)
class StormResult:
    """The answer: exact figures, the analytic peak law and the Monte Carlo summary."""

    input: StormInput
    exact_kind: Literal["exact", "expectation"]
    exact: QueueFigures
    load: np.ndarray = field(repr=False)
    """Exact (fixed-time) or expected alerts in each second of the day (index 0 = 00:00:00)."""
    peak_law: PeakLaw | None
    monte_carlo: MonteCarlo | None
    seconds: float
    """Wall-clock time of the analysis (not part of the JSON document)."""


# --------------------------------------------------------------------------------------------
# The queue


def _steady_queue(arrivals: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periodic steady-state queue after each bin, for each row of ``arrivals``.

    ``arrivals`` has shape (rows, n) over one day's bins in time order (any rotation of the day),
    ``service`` the alerts the DCC can serve in each bin (capacity × the bin's seconds). Returns
    (queue (rows, n), stable (rows,), growth per day (rows,)); unstable rows start the day empty.
    """
    s = np.cumsum(arrivals - service, axis=1)
    growth = s[:, -1]
    stable = growth <= 0
    low = np.minimum.accumulate(s, axis=1)
    end = np.where(stable, growth - np.minimum(low[:, -1], 0.0), 0.0)
    queue = s - np.minimum(low, -end[:, None])
    return queue, stable, np.maximum(growth, 0.0)


def _delay(backlog: float, capacity: float) -> int:
    return 0 if backlog <= 0 else math.ceil(backlog / capacity)


def day_figures(load: np.ndarray, capacity: float) -> tuple[QueueFigures, np.ndarray]:
    """Figures of one day's per-second load (86,400 values) and the queue after each second."""
    if load.shape != (SECONDS_PER_DAY,):
        raise ValueError(f"a day has {SECONDS_PER_DAY} seconds, got load of shape {load.shape}")
    arrivals = load.astype(np.float64)[None, :]
    queue, stable, growth = _steady_queue(arrivals, np.full(SECONDS_PER_DAY, capacity))
    peak_second = int(np.argmax(load))
    ok = bool(stable[0])
    backlog = float(queue.max()) if ok else None
    figures = QueueFigures(
        total=float(arrivals.sum()), peak=float(load[peak_second]), peak_second=peak_second,
        seconds_over_capacity=int((load > capacity).sum()), stable=ok, max_backlog=backlog,
        worst_delay=_delay(backlog, capacity) if backlog is not None else None, growth_per_day=float(growth[0]))
    return figures, queue[0]


def queue_series(load: np.ndarray, capacity: float) -> np.ndarray:
    """The queue (alerts waiting) at the end of each second of the day, in the periodic steady state."""
    return day_figures(load, capacity)[1]


# --------------------------------------------------------------------------------------------
# Laws: Poisson and binomial tables, the maximum of independent bins


def _support(mean: float, sd: float, upper: float) -> np.ndarray:
    lo = max(0, math.floor(mean - 12 * sd - 30))
    hi = min(upper, math.ceil(mean + 12 * sd + 30))
    return np.arange(lo, hi + 1, dtype=np.float64)


def _normalise(k: np.ndarray, logp: np.ndarray) -> tuple[int, np.ndarray]:
    p = np.exp(logp - logp.max())
    return int(k[0]), p / p.sum()


_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def poisson_pmf(lam: float) -> tuple[int, np.ndarray]:
    """(first value, probabilities) of Poisson(lam) on the support holding all but < 1e-30 of its mass."""
    if lam == 0:
        return 0, np.ones(1)
    k = _support(lam, math.sqrt(lam), math.inf)
    return _normalise(k, k * math.log(lam) - lam - _lgamma(k + 1))


def binomial_pmf(n: int, p: float) -> tuple[int, np.ndarray]:
    """(first value, probabilities) of Binomial(n, p) on the support holding all but < 1e-30 of its mass."""
    if p >= 1:
        return n, np.ones(1)
    k = _support(n * p, math.sqrt(n * p * (1 - p)), n)
    logp = math.lgamma(n + 1) - _lgamma(k + 1) - _lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
    return _normalise(k, logp)


def max_law(first: int, pmf: np.ndarray, bins: int, scale: int = 1) -> tuple[float, float]:
    """Mean and 99.9th percentile of ``scale × max`` of ``bins`` independent draws of a law.

    E[max] = Σ_k P(max > k) = Σ_k (1 − F(k)^bins); F(k)^bins is computed as
    exp(bins · log1p(−sf(k))) from the upper tail sums, to keep the far tail exact.
    """
    sf = np.concatenate([np.cumsum(pmf[::-1])[::-1][1:], [0.0]])
    with np.errstate(divide="ignore"):
        log_cdf_max = bins * np.log1p(-np.minimum(sf, 1.0))
    cdf_max = np.exp(log_cdf_max)
    mean = first + float(np.sum(1.0 - cdf_max))
    q = first + int(np.searchsorted(log_cdf_max, math.log(0.999), side="left"))
    return scale * mean, float(scale * q)


# --------------------------------------------------------------------------------------------
# The sampler


class _PoissonSampler:
    """Exact inversion sampler of Poisson(lam) counts driven by raw 64-bit draws (see module doc)."""

    def __init__(self, lam: float) -> None:
        self.first, pmf = poisson_pmf(lam)
        cdf = np.cumsum(pmf)
        cdf[-1] = 1.0
        self.cdf = cdf
        self.bits = min(22, max(12, math.ceil(math.log2(len(cdf))) + 8))
        cells = 1 << self.bits
        edges = np.arange(cells + 1, dtype=np.float64) / cells
        low = np.searchsorted(cdf, edges[:-1], side="right")
        high = np.searchsorted(cdf, edges[1:], side="left")
        self.guide = np.where(low == high, low + self.first, -1).astype(np.int64)
        self.cells = float(cells)
        self.shift = np.uint64(64 - self.bits)

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Counts of the given shape (int64).

        The top ``bits`` of a raw 64-bit draw pick a cell of [0, 1); a cell that lies inside one
        step of the CDF gives the count at once, a cell on a step boundary is refined by binary
        search with a uniform position inside the cell (exactly the same law as inverting a
        53-bit uniform directly).
        """
        cell = rng.bit_generator.random_raw(shape)
        np.right_shift(cell, self.shift, out=cell)
        cell = cell.view(np.int64)
        x = np.take(self.guide, cell)
        edge = np.flatnonzero(x < 0)
        if edge.size:
            base = cell.ravel()[edge]
            u = np.minimum((base + rng.random(edge.size)) / self.cells, np.nextafter((base + 1) / self.cells, 0))
            x.ravel()[edge] = self.first + np.searchsorted(self.cdf, u, side="right")
        return x


def _make_multinomial(rng: np.random.Generator, counts: np.ndarray, n: int) -> None:
    """Turn each row of iid Poisson counts into an exact Multinomial(n, uniform) row, in place.

    A row short of n gets the missing hubs at uniformly random seconds (all short rows in one
    vectorised draw); a row over n loses hubs chosen uniformly without replacement.
    """
    rows, bins = counts.shape
    short = n - counts.sum(axis=1)
    missing = np.maximum(short, 0)
    if missing.any():
        flat = np.repeat(np.arange(rows) * bins, missing) + rng.integers(0, bins, int(missing.sum()))
        counts += np.bincount(flat, minlength=rows * bins).reshape(rows, bins)
    for r in np.flatnonzero(short < 0):
        row = counts[r]
        gone = rng.choice(n - int(short[r]), -int(short[r]), replace=False)
        np.subtract.at(row, np.searchsorted(np.cumsum(row), gone, side="right"), 1)


def _monte_carlo(inp: StormInput) -> MonteCarlo:
    """Seeded realisations of a randomised policy, CHUNK_RUNS runs per vectorised batch."""
    rng = np.random.default_rng(inp.seed)
    w = inp.policy.window_seconds
    gap = SECONDS_PER_DAY - w
    c = inp.capacity
    service = np.full(w + (1 if gap else 0), c)
    if gap:
        service[-1] = c * gap
    hubs_mode = inp.policy.kind == "uniform-window"
    # Uniform window: Poisson counts of mean (hubs − 3√hubs)/W, so that a run is almost always short
    # of hubs and completed by the cheap vectorised top-up; exact whatever the mean (module doc).
    lam = max(0.0, inp.hubs - 3 * math.sqrt(inp.hubs)) / w if hubs_mode else inp.devices * inp.change_rate / w
    sampler = _PoissonSampler(lam)
    scale = inp.devices_per_hub if hubs_mode else 1
    totals, peaks, over, backlog, delay = (np.empty(inp.runs) for _ in range(5))
    first: np.ndarray | None = None
    for lo in range(0, inp.runs, CHUNK_RUNS):
        rows = min(CHUNK_RUNS, inp.runs - lo)
        counts = sampler.sample(rng, (rows, w))
        if hubs_mode:
            _make_multinomial(rng, counts, inp.hubs)
        if scale != 1:
            counts *= scale
        if first is None:
            first = counts[0].copy()
        sl = slice(lo, lo + rows)
        totals[sl] = counts.sum(axis=1)
        peaks[sl] = counts.max(axis=1)
        over[sl] = (counts > c).sum(axis=1)
        unstable = totals[sl] > c * SECONDS_PER_DAY
        backlog[sl] = np.where(unstable, math.inf, 0.0)
        busy = np.flatnonzero((peaks[sl] > c) & ~unstable)
        if busy.size:
            arrivals = counts[busy].astype(np.float64)
            if gap:
                arrivals = np.concatenate([arrivals, np.zeros((busy.size, 1))], axis=1)
            queue, _, _ = _steady_queue(arrivals, service)
            backlog[lo + busy] = queue.max(axis=1)
    delay[:] = np.ceil(backlog / c)
    assert first is not None
    return MonteCarlo(inp.runs, inp.seed, Spread.of(totals), Spread.of(peaks), Spread.of(over),
                      Spread.of(backlog), Spread.of(delay), int(np.isinf(backlog).sum()),
                      _place(first.astype(np.float64), inp.window_start))


def _place(window: np.ndarray, start: int) -> np.ndarray:
    """A window's per-second values placed in the day from ``start`` (wrapping at midnight)."""
    day = np.zeros(SECONDS_PER_DAY)
    day[: window.size] = window
    return np.roll(day, start)


def exact_figures(inp: StormInput) -> QueueFigures:
    """Closed-form figures of the exact (fixed-time) or expected (randomised) load, in exact arithmetic.

    The load is a constant rate ρ = E / W over a window of W seconds (E the alerts of a day; W = 1
    for fixed-time) and zero elsewhere, so with capacity c: the peak is ρ; ρ > c in W seconds or in
    none; the day is stable iff E ≤ c · 86,400; the queue grows by ρ − c a second through the
    window and drains after it, so the largest backlog is max(0, E − c · W). Computed with
    fractions (the float inputs taken at their exact binary values), rounded once for output.
    """
    e = Fraction(inp.devices) * (Fraction(inp.change_rate) if inp.policy.kind == "on-change" else 1)
    w = inp.policy.window_seconds
    c = Fraction(inp.capacity)
    growth = max(Fraction(0), e - c * SECONDS_PER_DAY)
    stable = growth == 0
    backlog = max(Fraction(0), e - c * w) if stable else None
    return QueueFigures(
        total=float(e), peak=float(e / w), peak_second=inp.window_start,
        seconds_over_capacity=w if e / w > c else 0, stable=stable,
        max_backlog=float(backlog) if backlog is not None else None,
        worst_delay=math.ceil(backlog / c) if backlog is not None else None, growth_per_day=float(growth))


def expected_load(inp: StormInput) -> np.ndarray:
    """Exact (fixed-time) or expected (randomised policies) alerts in each second of the day."""
    w = inp.policy.window_seconds
    return _place(np.full(w, inp.expected_total / w), inp.window_start)


def analyse(inp: StormInput) -> StormResult:
    """The storm analysis of one policy: exact figures, the peak's law, and the Monte Carlo if randomised."""
    began = time.perf_counter()
    load = expected_load(inp)
    exact = exact_figures(inp)
    law: PeakLaw | None = None
    mc: MonteCarlo | None = None
    w = inp.policy.window_seconds
    if inp.policy.kind == "uniform-window":
        first, pmf = binomial_pmf(inp.hubs, 1 / w)
        mean, p999 = max_law(first, pmf, w, inp.devices_per_hub)
        law = PeakLaw(mean, p999, False, "a lower bound: the seconds taken as independent Binomial(hubs, 1/W)")
    elif inp.policy.kind == "on-change":
        first, pmf = poisson_pmf(inp.expected_total / w)
        mean, p999 = max_law(first, pmf, w)
        law = PeakLaw(mean, p999, True, "exact: independent Poisson seconds")
    if inp.policy.randomised:
        mc = _monte_carlo(inp)
    return StormResult(inp, "expectation" if inp.policy.randomised else "exact", exact, load, law, mc,
                       time.perf_counter() - began)


# --------------------------------------------------------------------------------------------
# The JSON document


def _num(x: float | None) -> float | int | None:
    """JSON-friendly number: integers as int, unbounded (inf) as null."""
    if x is None or math.isinf(x):
        return None
    return int(x) if float(x).is_integer() else x


def _profile(load: np.ndarray) -> list[list[float | int | None]]:
    """Run-length encoding of a per-second load: [first second, seconds, alerts per second]."""
    edges = np.flatnonzero(np.diff(load)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [load.size]])
    return [[int(a), int(b - a), _num(float(load[a]))] for a, b in zip(starts, ends, strict=True)]


def storm_document(result: StormResult) -> dict[str, Any]:
    """The result as plain data (schema ``otaproof.storm/1``); same input and seed give the same bytes."""
    inp = result.input
    e = result.exact
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "policy": str(inp.policy),
        "parameters": {"hubs": inp.hubs, "devices_per_hub": inp.devices_per_hub, "capacity": _num(inp.capacity),
                       "change_rate": inp.change_rate if inp.policy.kind == "on-change" else None,
                       "start": clock(inp.start), "window_seconds": inp.policy.window_seconds,
                       "runs": inp.runs if inp.policy.randomised else None,
                       "seed": inp.seed if inp.policy.randomised else None},
        "sources": SOURCES,
        result.exact_kind: {
            "total_per_day": _num(e.total), "peak_per_second": _num(e.peak), "peak_at": clock(e.peak_second),
            "seconds_over_capacity": e.seconds_over_capacity, "stable": e.stable,
            "max_backlog": _num(e.max_backlog), "worst_delay_seconds": e.worst_delay,
            "backlog_growth_per_day": _num(e.growth_per_day),
            "profile": _profile(result.load),
        },
    }
    if result.peak_law:
        doc["peak_law"] = {"mean": result.peak_law.mean, "p99_9": result.peak_law.p999,
                           "exact": result.peak_law.exact, "method": result.peak_law.method}
    if result.monte_carlo:
        mc = result.monte_carlo
        doc["monte_carlo"] = {
            "runs": mc.runs, "seed": mc.seed, "unstable_runs": mc.unstable_runs,
            **{name: {"mean": _num(s.mean), "p99_9": _num(s.p999), "max": _num(s.max)}
               for name, s in (("total_per_day", mc.total), ("peak_per_second", mc.peak),
                               ("seconds_over_capacity", mc.seconds_over_capacity),
                               ("max_backlog", mc.max_backlog), ("worst_delay_seconds", mc.worst_delay))},
        }
    return doc
