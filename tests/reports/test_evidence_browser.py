"""The report as a reader sees it: index.html opened in headless Chromium (the Debian package,
driven by Playwright's Python package; no browser is downloaded). No console error, no request
but the page itself, every sequence chart visible with a non-zero size, every in-page link
(the matrix's first) resolving, and a screenshot saved."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from test_evidence_pack import shared_pack  # the session's shared pack (same directory)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]

# skipped only on a developer's machine without Chromium; under CI (.ci/run installs it) a missing
# browser is a failure, not a skip
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)")


def test_index_html_in_headless_chromium(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "Chromium is missing: .ci/run installs the Debian package chromium"
    pack, _, _ = shared_pack(tmp_path_factory)
    page_url = (pack / "index.html").resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                       headless=True, args=FLAGS, viewport={"width": 1400,
                                                                                            "height": 1000})
        try:
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_url, wait_until="load")
            charts = page.locator("svg.msc")
            assert charts.count() >= 3
            for n in range(charts.count()):
                chart = charts.nth(n)
                chart.scroll_into_view_if_needed()
                box = chart.bounding_box()
                assert chart.is_visible() and box is not None and box["width"] > 100 and box["height"] > 50, n
            links = page.locator("table.matrix a")
            assert links.count() == 6
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
            for href in hrefs:
                assert href.startswith("#") and page.locator(f"[id='{href[1:]}']").count() == 1, href
            first = links.first.get_attribute("href")
            links.first.click()
            assert page.evaluate("location.hash") == first
            page.goto(page_url, wait_until="load")
            shot = tmp_path / "index.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
        finally:
            context.close()
    assert errors == []
    assert set(requests) == {page_url}


def test_report_pdf_is_printed_from_index_html(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from otaproof.reports.evidence.pdf import print_pdf

    pack, _, _ = shared_pack(tmp_path_factory)
    out = tmp_path / "report.pdf"
    print_pdf(pack / "index.html", out)
    data = out.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert data.startswith(b"%PDF") and pages >= 3  # each finding starts a page of its own


def test_evidence_pdf_flag_writes_report_pdf_outside_the_manifest(tmp_path: Path) -> None:
    """``otaproof evidence --pdf`` on a one-cell pack: report.pdf is written, not hashed (a
    print is dated by the printer), and the pack still verifies."""
    from otaproof.cli import main

    assert CHROMIUM is not None, "Chromium is missing: .ci/run installs the Debian package chromium"
    out = tmp_path / "pack"
    assert main(["evidence", "--out", str(out), "--variant", "secmp0007", "--threat-model", "none",
                 "--property", "P-LOCAL-BANNED", "--timeout", "600", "--storm-runs", "5", "--workers", "1",
                 "--pdf"]) == 0
    data = (out / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) >= 3
    assert "report.pdf" not in json.loads((out / "manifest.json").read_text())["files"]
    assert main(["verify", str(out), "--solvers", "z3"]) == 0
