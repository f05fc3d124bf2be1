"""``otaproof storm``: the DCC alert load of a firmware-version reporting policy.

Wiring: ``add_parser(subparsers)`` adds the subcommand (its ``func`` is :func:`run`, which takes
``(args)`` or ``(args, console)``); ``run`` returns the exit code: 0 done, 2 bad input (one line
``otaproof: error: ...`` on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from otaproof.files import OutputError, check_output_file, write_bytes_atomic, write_json_atomic
from otaproof.reports.storm import (
    DEFAULT_CAPACITY,
    DEFAULT_CHANGE_RATE,
    DEFAULT_DEVICES_PER_HUB,
    DEFAULT_HUBS,
    DEFAULT_RUNS,
    DEFAULT_SEED,
    DEFAULT_START,
    SCHEMA,
    SOURCES,
    Spread,
    StormError,
    StormInput,
    StormResult,
    analyse,
    clock,
    parse_clock,
    parse_policy,
    storm_document,
)

EXIT_OK, EXIT_BAD_INPUT = 0, 2

DESCRIPTION = """\
How many alerts per second reach the DCC if every Communications Hub forwards its HAN devices'
firmware versions (the working group's question 5, SECMP0007, August 2019: could a daily
firmware-version alert be an alert storm?). For one policy it computes the alerts in each of the
86,400 seconds of a day, the peak second, the seconds above the DCC's capacity, the alerts per
day, and the DCC's queue (backlog) and worst delay when it drains at --capacity alerts/s.

One alert reports one device's firmware version (the brief counts 13 M homes x IHD + PPMID as
26 M alerts a day); a hub sends its devices' alerts in the same second. --devices-per-hub 1
models one alert carrying all of a hub's versions.

Exact versus Monte Carlo: fixed-time is deterministic and computed exactly; for uniform-window
and on-change the expected load is exact (closed form), the on-change peak's law is exact, and
--runs seeded realisations give the spread of the peak, seconds over capacity, backlog and
delay (mean, 99.9th percentile, max). Same --seed, same figures."""


def _sources_epilog() -> str:
    lines = ["Sources of the fleet figures (defaults):"]
    for key, text in SOURCES.items():
        lines.append(textwrap.fill(f"{key}: {text}", width=96, initial_indent="  ", subsequent_indent="    "))
    lines.append("Exit codes: 0 done, 2 bad input (nothing written).")
    return "\n".join(lines)


def add_parser(subparsers: Any) -> None:
    """Add the ``storm`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "storm", help="fleet alert load of a firmware-version reporting policy (alert-storm question)",
        description=DESCRIPTION, epilog=_sources_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", default="fixed-time", metavar="POLICY",
                   help="fixed-time: every hub at the same second (--start); uniform-window:HOURS: each hub at a "
                        "uniformly random second of a window of HOURS in (0, 24] from --start; on-change: one alert "
                        "per firmware change, changes at uniformly random seconds of the day; on-change:HOURS: the "
                        "changes concentrated in a campaign window from --start (assumption) (default: fixed-time)")
    p.add_argument("--hubs", default=DEFAULT_HUBS, metavar="N",
                   help=f"Communications Hubs sending alerts (default: {DEFAULT_HUBS:,}; source: {SOURCES['hubs']})")
    p.add_argument("--devices-per-hub", default=DEFAULT_DEVICES_PER_HUB, metavar="N",
                   help=f"HAN devices whose firmware version each hub reports, one alert each (default: "
                        f"{DEFAULT_DEVICES_PER_HUB}; source: {SOURCES['devices_per_hub']})")
    p.add_argument("--capacity", default=DEFAULT_CAPACITY, metavar="ALERTS_PER_S",
                   help=f"alerts per second the DCC can absorb on top of its other traffic (default: "
                        f"{DEFAULT_CAPACITY:g}; {SOURCES['capacity']})")
    p.add_argument("--change-rate", default=DEFAULT_CHANGE_RATE, metavar="PER_DAY",
                   help="on-change only: firmware changes per device per day, a Poisson rate; a fraction such as "
                        f"4/365 is accepted (default: 4/365 = "
                        f"{DEFAULT_CHANGE_RATE:.5f}; source: {SOURCES['change_rate']})")
    p.add_argument("--start", "--window-start", dest="start", default=clock(DEFAULT_START), metavar="HH:MM[:SS]",
                   help="fixed-time: the second every hub sends; uniform-window and on-change:HOURS: the window's "
                        "start; windows wrap at midnight (default: 02:00, an assumption)")
    p.add_argument("--runs", default=DEFAULT_RUNS, metavar="N",
                   help=f"Monte Carlo realisations of a randomised policy (default: {DEFAULT_RUNS:,}; about 1 s for "
                        f"13 M hubs over a 24 h window)")
    p.add_argument("--seed", default=DEFAULT_SEED, metavar="N",
                   help=f"Monte Carlo seed; same seed, same figures (default: {DEFAULT_SEED})")
    p.add_argument("--plot", metavar="FILE.png", help="write a PNG of alerts per second and the queue over the day")
    p.add_argument("--json", metavar="FILE", help=f"write the figures as JSON (schema {SCHEMA})")
    p.set_defaults(func=run)


def _check_output(flag: str, path: str, suffix: str | None = None) -> None:
    """Refuse an output path that cannot be written, before anything is computed or written."""
    target = Path(path)
    if suffix and target.suffix.lower() != suffix:
        raise StormError(f"{flag} {path}: the file name must end in {suffix}")
    if target.is_dir():
        raise StormError(f"{flag} {path}: is a directory")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise StormError(f"{flag} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StormError(f"{flag} {path}: directory {parent} is not writable")


def _int(flag: str, text: Any) -> int:
    """An integer flag; accepts 13000000, 13_000_000, 13,000,000 and 13e6."""
    raw = str(text).strip().replace(",", "").replace("_", "")
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        raise StormError(f"{flag} {text!r} is not an integer") from None
    if not value.is_integer():
        raise StormError(f"{flag} {text!r} is not an integer")
    return int(value)


def _float(flag: str, text: Any) -> float:
    """A number flag; accepts 600, 1.5e3, 1,000 and a fraction such as 4/365."""
    raw = str(text).strip().replace(",", "").replace("_", "")
    try:
        if "/" in raw:
            num, den = raw.split("/", 1)
            return float(num) / float(den)
        return float(raw)
    except (ValueError, ZeroDivisionError):
        raise StormError(f"{flag} {text!r} is not a number") from None


def _inputs(args: argparse.Namespace) -> StormInput:
    if args.plot:
        _check_output("--plot", args.plot, ".png")
    if args.json:
        _check_output("--json", args.json)
    if args.plot and args.json and Path(args.plot).resolve() == Path(args.json).resolve():
        raise StormError(f"--plot and --json name the same file {args.plot}")
    return StormInput(policy=parse_policy(args.policy), hubs=_int("--hubs", args.hubs),
                      devices_per_hub=_int("--devices-per-hub", args.devices_per_hub),
                      capacity=_float("--capacity", args.capacity),
                      change_rate=_float("--change-rate", args.change_rate), start=parse_clock(args.start),
                      runs=_int("--runs", args.runs), seed=_int("--seed", args.seed))


def _n(x: float | None, digits: int = 0) -> str:
    if x is None or math.isinf(x):
        return "unbounded"
    if digits == 0 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def _delay(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "unbounded"
    s = int(seconds)
    return f"{s:,} s" + (f" ({s // 3600}h{s // 60 % 60:02d}m{s % 60:02d}s)" if s >= 60 else "")


def _table(result: StormResult) -> Table:
    inp = result.input
    e = result.exact
    mc = result.monte_carlo
    head = "exact" if result.exact_kind == "exact" else "expected load (exact)"
    table = Table(title=f"Alert load at the DCC — {inp.policy}", title_justify="left")
    table.add_column("figure")
    table.add_column(head, justify="right")
    if mc is not None:
        for col in (f"Monte Carlo mean ({mc.runs:,} runs)", "p99.9", "max"):
            table.add_column(col, justify="right")

    def row(name: str, exact: str, spread: Spread | None, unit: str = "") -> None:
        cells = [name, exact]
        if mc is not None:
            cells += [_n(v, 1) + (unit if math.isfinite(v) else "") for v in (spread.mean, spread.p999, spread.max)] \
                if spread else ["", "", ""]
        table.add_row(*cells)

    row("alerts per day", _n(e.total, 1), mc.total if mc else None)
    where = f" at {clock(e.peak_second)}" if result.exact_kind == "exact" else f" from {clock(e.peak_second)}"
    row("peak alerts in one second", _n(e.peak, 1) + where, mc.peak if mc else None)
    row(f"seconds above capacity ({_n(inp.capacity, 1)}/s)", f"{e.seconds_over_capacity:,}",
        mc.seconds_over_capacity if mc else None)
    backlog = _n(e.max_backlog, 1) if e.stable else f"unbounded (+{_n(e.growth_per_day)}/day)"
    row("max backlog (alerts queued)", backlog, mc.max_backlog if mc else None)
    row("worst delay", _delay(e.worst_delay), mc.worst_delay if mc else None, " s")
    return table


def _notes(result: StormResult) -> list[str]:
    inp = result.input
    notes = [f"{inp.hubs:,} hubs x {inp.devices_per_hub} device(s), one alert per device; capacity "
             f"{_n(inp.capacity, 1)} alerts/s; window {inp.policy.window_seconds:,} s from "
             f"{clock(inp.window_start)}" + (f"; change rate {inp.change_rate:.5g}/device/day"
                                             if inp.policy.kind == "on-change" else "")]
    if result.peak_law is not None:
        law = result.peak_law
        notes.append(f"peak per second, analytic law ({law.method}): mean {law.mean:,.2f}/s, p99.9 {law.p999:,.0f}/s")
    if result.exact_kind == "expectation":
        notes.append("the backlog of the expected load is not the expected backlog: see the Monte Carlo columns")
    if result.monte_carlo is not None:
        mc = result.monte_carlo
        notes.append(f"Monte Carlo: {mc.runs:,} runs, seed {mc.seed}"
                     + (f", {mc.unstable_runs:,} run(s) with a backlog that grows without bound"
                        if mc.unstable_runs else ""))
    notes.append(f"computed in {result.seconds:.2f} s")
    return notes


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    """Run ``otaproof storm``; returns the exit code (2 on bad input, with nothing written)."""
    if console is None:
        console = Console() if sys.stdout.isatty() else Console(width=140)
    try:
        inp = _inputs(args)
        for option, path in (("--plot", args.plot), ("--json", args.json)):
            if path:
                check_output_file(path, option)
        result = analyse(inp)
        png = None
        if args.plot:
            from otaproof.reports.storm_plot import render_png

            png = render_png(result)
        if png is not None:
            write_bytes_atomic(args.plot, png)
        if args.json:
            write_json_atomic(args.json, storm_document(result))
    except (StormError, OutputError, OSError) as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    console.print(_table(result))
    for note in _notes(result):
        console.print(note, highlight=False)
    for flag, path in (("plot", args.plot), ("JSON", args.json)):
        if path:
            console.print(f"wrote {flag} {path}", highlight=False)
    return EXIT_OK
