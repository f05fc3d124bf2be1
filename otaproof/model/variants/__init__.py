"""Variants: named design changes to the approved SECMP0007 baseline, one module each.

This package collects the built-in variants explicitly (``BUILTIN``); ``registry.py`` says what
a variant module holds and builds one. Importing a variant module registers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from otaproof.model.config import Scenario
from otaproof.model.lang import ModelError
from otaproof.model.variants import (
    approved,
    gateway_screening,
    geo_local_daily_alert,
    geo_local_hub_stores,
    ihd_in_scope,
    pre_secmp0007,
)
from otaproof.model.variants.registry import BuiltModel, Variant, build_variant, registry_of, variant_of

BUILTIN = (approved, gateway_screening, geo_local_daily_alert, geo_local_hub_stores, ihd_in_scope, pre_secmp0007)
REGISTRY: Mapping[str, Variant] = MappingProxyType(registry_of(BUILTIN))

__all__ = ["BUILTIN", "REGISTRY", "BuiltModel", "Variant", "build", "get_variant", "registry_of", "variant_of"]


def get_variant(name: str) -> Variant:
    """The built-in variant called ``name``; ModelError listing the known ones otherwise."""
    if name not in REGISTRY:
        raise ModelError(f"unknown variant {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def build(scenario: Scenario) -> BuiltModel:
    """Ground the scenario's variant under its threat and fault models."""
    return build_variant(get_variant(scenario.variant), scenario)
