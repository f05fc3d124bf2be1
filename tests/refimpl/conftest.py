"""Shared fixtures for the reference-implementation tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otaproof.refimpl import Premises, PremisesConfig, Variants


@pytest.fixture
def premises() -> Premises:
    """The approved SECMP0007 design: one PPMID, one HCALCS, suppliers S1 (registered) and S2."""
    return Premises(PremisesConfig(seed=1))


@pytest.fixture
def make() -> Callable[..., Premises]:
    """Factory: a premises (seed 1) with some variant switches changed, e.g. make(local_update_port=True)."""
    def build(**switches: Any) -> Premises:
        return Premises(PremisesConfig(seed=1, variants=Variants(**switches)))
    return build
