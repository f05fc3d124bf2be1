"""``report.pdf``: ``index.html`` printed by headless Chromium (the Debian package ``chromium``),
offline, with a fresh profile that is removed afterwards."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions")


class PdfError(RuntimeError):
    """No Chromium, or Chromium did not print (one line)."""


def chromium() -> str | None:
    """The path of a Chromium executable, if one is installed."""
    return next((p for p in (shutil.which(c) for c in CANDIDATES) if p), None)


def print_pdf(html: Path, out: Path, timeout: float = 180.0) -> None:
    exe = chromium()
    if exe is None:
        raise PdfError("--pdf needs Chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="otaproof-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={out.resolve()}", html.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PdfError(f"Chromium did not print {html.name}: {e}") from None
    if not out.is_file() or out.stat().st_size == 0:
        raise PdfError(f"Chromium did not print {html.name} (exit {done.returncode}): "
                       f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no output'}")
