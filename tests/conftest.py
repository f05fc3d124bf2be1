"""Session-wide: the tests never touch the user's certificate cache. Every otaproof run in this
process, and every process it starts, keeps its certificates in a fresh temporary directory
(``OTAPROOF_CACHE_DIR``), removed at the end; a test that needs its own passes ``--cache-dir``."""

from __future__ import annotations

import os
import shutil
import tempfile

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
