"""The storm analysis as a picture: alerts per second over the day, the capacity line, the queue.

Rendered with matplotlib's Agg canvas directly (no pyplot, no global backend switch, no display
needed) into PNG bytes, which the caller writes atomically. Same result, same bytes (the PNG's
software metadata is left out).
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from otaproof.reports.storm import SECONDS_PER_DAY, StormResult, clock, queue_series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _hours() -> np.ndarray:
    return np.arange(SECONDS_PER_DAY) / 3600.0


def render_png(result: StormResult, dpi: int = 110) -> bytes:
    """Two panels over the 24 hours: alerts arriving per second (with the DCC capacity) and the queue."""
    return _render(result, "png", dpi)


def render_svg(result: StormResult) -> bytes:
    """The same picture as SVG; same result, same bytes (no date, fixed element ids)."""
    with rc_context({"svg.hashsalt": "otaproof-storm", "svg.fonttype": "none"}):
        return _render(result, "svg", 72)


def _render(result: StormResult, fmt: str, dpi: int) -> bytes:
    inp = result.input
    c = inp.capacity
    hours = _hours()
    fig = Figure(figsize=(11, 7), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    label = "exact load" if result.exact_kind == "exact" else "expected load (exact)"
    mc = result.monte_carlo
    if mc is not None:
        top.plot(hours, mc.realisation, lw=0.4, color="tab:blue", alpha=0.7,
                 label=f"one realisation (seed {mc.seed})")
    top.plot(hours, result.load, lw=1.6, color="black", label=label, drawstyle="steps-post")
    top.axhline(c, color="tab:red", ls="--", lw=1.2, label=f"DCC capacity {c:,.0f}/s")
    highest = max(float(result.load.max()), float(mc.realisation.max()) if mc is not None else 0.0, c)
    if highest > 20 * c:
        top.set_yscale("symlog", linthresh=max(1.0, c / 10))
        top.set_ylim(0, highest * 3)
    else:
        top.set_ylim(0, highest * 1.15)
    top.set_ylabel("alerts per second")
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)
    figures = result.exact
    if result.exact_kind == "exact":
        peak = f"peak {figures.peak:,.0f}/s at {clock(figures.peak_second)}"
    else:
        peak = f"expected load {figures.peak:,.1f}/s from {clock(figures.peak_second)}"
    if mc is not None:
        peak += f"; Monte Carlo peak mean {mc.peak.mean:,.0f}/s, p99.9 {mc.peak.p999:,.0f}/s ({mc.runs:,} runs)"
    top.set_title(f"otaproof storm — {inp.policy}: {inp.hubs:,} hubs × {inp.devices_per_hub} device(s), "
                  f"{figures.total:,.0f} alerts/day\n{peak}", fontsize=10, loc="left")

    queue = queue_series(result.load, c)
    highest_queue = float(queue.max())
    if mc is not None:
        realised = queue_series(mc.realisation, c)
        highest_queue = max(highest_queue, float(realised.max()))
        bottom.plot(hours, realised, lw=0.8, color="tab:blue", alpha=0.7, label="queue, the realisation")
    bottom.plot(hours, queue, lw=1.4, color="black", label=f"queue, {label}")
    if figures.stable:
        note = f"max backlog {figures.max_backlog:,.0f} alerts, worst delay {figures.worst_delay:,} s"
    else:
        note = f"unstable: the backlog grows by {figures.growth_per_day:,.0f} alerts a day"
    bottom.set_title(f"DCC queue when drained at {c:,.0f} alerts/s ({note})", fontsize=9, loc="left")
    bottom.set_ylabel("alerts waiting")
    bottom.set_xlabel("time of day")
    bottom.set_xlim(0, 24)
    bottom.xaxis.set_major_locator(MultipleLocator(2))
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda h, _: f"{int(h) % 24:02d}:00"))
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.0f}"))
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylim(0, max(10.0, highest_queue) * 1.1)
    bottom.legend(loc="upper right", fontsize=8)
    bottom.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Software": None} if fmt == "png" else {"Date": None, "Creator": None})
    return buf.getvalue()
