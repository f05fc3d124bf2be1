"""Command-line value checks shared by every command: numbers, names and lists, one message each.

argparse calls the type functions while parsing, so a bad value ends the run with exit 2 and one
line (``otaproof check: error: argument --timeout: ...``) before any work starts.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Callable, Iterable


def seconds(text: str) -> float:
    """A finite, positive number of seconds (rejects 0, negatives, nan and inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds above 0")
    return value


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type accepting integers in ``lo..hi`` (no upper bound when ``hi`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo or (hi is not None and value > hi):
            bound = f"{lo}..{hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {bound}")
        return value

    parse.__name__ = "int"
    return parse


def fraction(text: str) -> float:
    """A number in 0..1 (a rate or a share)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number in 0..1")
    return value


def split(values: Iterable[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one list, duplicates dropped (first kept)."""
    items = [x.strip() for v in values or [] for x in v.split(",") if x.strip()]
    return list(dict.fromkeys(items))


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """The one-line message for an unknown name: what it is, a suggestion, and the known names."""
    names = list(known)
    return f"unknown {kind} {name!r}{did_you_mean(name, names)}; known: {', '.join(names)}"


def add_scheduler_flags(p: argparse.ArgumentParser, runs: str = "engine runs", size: str = "--workers") -> None:
    """``--scheduler ADDRESS`` and ``--scheduler-wait``: send the command's ``runs`` to a Dask
    cluster instead of local processes (docs/scale.md)."""
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help=f"send the {runs} to the Dask scheduler at ADDRESS (e.g. tcp://host:8786), or 'local' for "
                        f"a LocalCluster of {size} processes on this machine; verdicts are the same as without "
                        "(default: local processes; docs/scale.md)")
    p.add_argument("--scheduler-wait", type=seconds, default=10.0, metavar="SECONDS",
                   help="how long to wait for the scheduler and its first worker before giving up (default: 10)")
