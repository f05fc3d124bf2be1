"""The tests never touch the user's certificate cache, and never each other's: every test runs
with ``OTAPROOF_CACHE_DIR`` set to a fresh directory of its own (inherited by every process it
starts), so a verdict one test cached cannot change what another test sees (a matrix cell marked
as cached, say). Fixtures shared by several tests (module or session scope) run under a
session-wide temporary directory, never the user's. A test about the cache uses that directory or
passes ``--cache-dir``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from otaproof.properties.cache import ENV

_created: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Runs in the controller and in each xdist worker: each gets a directory of its own."""
    _created.append(tempfile.mkdtemp(prefix="otaproof-test-cache-"))
    os.environ[ENV] = _created[-1]


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _created:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_certificate_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty certificate cache directory for this test."""
    path = tmp_path_factory.mktemp("certificate-cache")
    monkeypatch.setenv(ENV, str(path))
    return path
