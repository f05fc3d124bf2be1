"""The machine's load during a benchmark run, for the scripts in this directory: the machine is
shared, so every figure is printed with the load average sampled while it was measured."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def load_sampled(every: float = 5.0) -> Iterator[list[float]]:
    """Sample the 1-minute load average at the start and every ``every`` seconds until the block ends."""
    samples = [os.getloadavg()[0]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            samples.append(os.getloadavg()[0])

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        yield samples
    finally:
        done.set()
        watcher.join()


def describe(samples: list[float]) -> str:
    """Mean and peak of a run's load samples, as the benchmarks print them."""
    return f"load mean {sum(samples) / max(1, len(samples)):.1f}, peak {max(samples, default=0.0):.1f}"


def summary(samples: list[float]) -> dict[str, float]:
    """Mean and peak of a run's load samples, as results/ files record them."""
    return {"mean": round(sum(samples) / max(1, len(samples)), 1), "peak": round(max(samples, default=0.0), 1)}


def uptime() -> str:
    """``uptime``'s line (the machine's load, shared with whatever else runs on it)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
