"""Variants: named design changes to the approved SECMP0007 baseline, one module each.

This package collects the built-in variants explicitly (``BUILTIN``); ``registry.py`` says what
a variant module holds and builds one; ``otaproof.model.variant_files`` reads variant files and
plugins, which ``register`` adds to ``REGISTRY`` for the rest of the run (worker processes forked
afterwards inherit them). Importing a variant module registers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
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
from otaproof.model.variants.registry import (
    ORIGINS,
    BuiltModel,
    Variant,
    build_variant,
    describe,
    registry_of,
    uses_design_lemmas,
    variant_of,
)

BUILTIN = (approved, gateway_screening, geo_local_daily_alert, geo_local_hub_stores, ihd_in_scope, pre_secmp0007)
_KNOWN: dict[str, Variant] = registry_of(BUILTIN)
# every variant known by name: the built-in ones, then those registered from files and plugins
REGISTRY: Mapping[str, Variant] = MappingProxyType(_KNOWN)

__all__ = ["BUILTIN", "ORIGINS", "REGISTRY", "BuiltModel", "Variant", "build", "describe", "get_variant",
           "register", "registered", "registry_of", "unregister", "uses_design_lemmas", "variant_of"]


def get_variant(name: str) -> Variant:
    """The variant called ``name``; ModelError listing the known ones otherwise."""
    if name not in REGISTRY:
        raise ModelError(f"unknown variant {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def build(scenario: Scenario) -> BuiltModel:
    """Ground the scenario's variant under its threat and fault models."""
    return build_variant(get_variant(scenario.variant), scenario)


def register(variants: Iterable[Variant]) -> None:
    """Make these variants (from files or plugins) known by name, all or none; ModelError naming
    both definitions if a name is taken (registering the same variant again changes nothing)."""
    new: dict[str, Variant] = {}
    for v in variants:
        if v.origin == "built-in":
            raise ModelError(f"{describe(v)} is registered already")
        other = new.get(v.name) or _KNOWN.get(v.name)
        if other is not None and other != v:
            raise ModelError(f"variant {v.name!r} is defined twice: {describe(other)} and {describe(v)}")
        new[v.name] = v
    _KNOWN.update(new)


def unregister(names: Iterable[str]) -> None:
    """Forget variants registered from files or plugins (the built-in ones stay)."""
    for name in names:
        if name in _KNOWN and _KNOWN[name].origin != "built-in":
            del _KNOWN[name]


@contextmanager
def registered(variants: Iterable[Variant]) -> Iterator[tuple[Variant, ...]]:
    """``register`` for the duration of a ``with`` block (a command, a test), then ``unregister``
    those that were not known before."""
    chosen = tuple(variants)
    before = {v.name for v in chosen if v.name in _KNOWN}
    register(chosen)
    try:
        yield chosen
    finally:
        unregister(v.name for v in chosen if v.name not in before)
