"""``otaproof simulate`` takes the walk-through's options, with the model's variant names."""

from __future__ import annotations

import pytest

from otaproof.cli import main
from otaproof.model.variants import REGISTRY
from otaproof.refimpl.config import PRESETS


def test_simulate_takes_seed_and_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--seed", "3", "--variant", "geo-local-daily-alert"]) == 0
    out = capsys.readouterr().out
    assert "variant geo-local-daily-alert, seed 3" in out and "daily_version_alert=True" in out


def test_simulate_rejects_an_unknown_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--variant", "local_daily_alert"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_refimpl_names_its_variants_as_the_model_does() -> None:
    assert set(PRESETS) == set(REGISTRY)
