"""Variants: named design changes to the approved SECMP0007 baseline, and the registry of them.

A variant is parameter overrides plus an optional function that edits the model through the
public builder API (add, remove or replace actions; strengthen guards) before it is grounded.
Each variant lives in a file of its own in this package and registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from otaproof.model.config import Parameters, Scenario
from otaproof.model.invariants import Lemma, secmp0007_lemmas
from otaproof.model.lang import ModelError
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import System


@dataclass(frozen=True)
class Variant:
    name: str
    doc: str
    source: str
    parameters: dict[str, object] = field(default_factory=dict)
    apply: Callable[[Secmp0007], None] | None = None


@dataclass
class BuiltModel:
    """A grounded system together with the model object whose handles properties use."""

    scenario: Scenario
    variant: Variant
    model: Secmp0007
    system: System
    lemmas: tuple[Lemma, ...] = ()  # candidate auxiliary invariants (model/invariants.py)


REGISTRY: dict[str, Variant] = {}


def register(v: Variant) -> Variant:
    if v.name in REGISTRY:
        raise ModelError(f"variant {v.name!r} is registered twice")
    REGISTRY[v.name] = v
    return v


def get_variant(name: str) -> Variant:
    if name not in REGISTRY:
        raise ModelError(f"unknown variant {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def build(scenario: Scenario) -> BuiltModel:
    """Ground the scenario's variant under its threat and fault models."""
    variant = get_variant(scenario.variant)
    params: Parameters = scenario.parameters.with_values(variant.parameters)  # type: ignore[arg-type]
    model = Secmp0007(params, scenario.threats, scenario.faults)
    if variant.apply is not None:
        variant.apply(model)
    system = model.b.build(scenario.threats, scenario.faults)
    system.name = variant.name
    return BuiltModel(scenario, variant, model, system, tuple(secmp0007_lemmas(model)))


# the variants, one file each (imported for their registration)
from otaproof.model.variants import (  # noqa: E402,F401
    approved,
    gateway_screening,
    geo_local_daily_alert,
    geo_local_hub_stores,
    ihd_in_scope,
    pre_secmp0007,
)
