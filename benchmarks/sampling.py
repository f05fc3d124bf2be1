"""The machine's load during a benchmark run, for the scripts in this directory: the machine is
shared, so every figure is printed with the load average sampled while it was measured; and the
facts every results file starts with (command, date, cores), written atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from otaproof.files import write_atomic


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


def header(script: str, argv: list[str] | None = None) -> dict[str, Any]:
    """The command that made a results file, the day (UTC) and the machine's cores."""
    args = sys.argv[1:] if argv is None else argv
    return {"generated_by": f"python benchmarks/{script} " + " ".join(args),
            "date": datetime.now(UTC).strftime("%Y-%m-%d"), "cpus": os.cpu_count()}


def write_results(path: Path, document: dict[str, Any]) -> None:
    """A results file (sorted, indented JSON), written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
