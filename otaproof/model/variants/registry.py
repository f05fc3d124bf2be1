"""The variant mechanism: what a variant is, how one is read from its module, and how a
scenario's variant is built into a grounded system. It imports no variant (the built-in ones
are collected in ``otaproof.model.variants``).

A variant module has the constants ``NAME``, ``DOC`` (the design change in one sentence),
``SOURCE`` (the public document it comes from), optionally ``PARAMETERS`` (model parameters it
sets), and ``def apply(m)``, which edits the model under construction (a ``Secmp0007``) through
its public handles before it is grounded. The same shape comes from three origins: the package
(built-in), a variant file given by path, an installed plugin (``otaproof.model.variant_files``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from otaproof.model.config import Scenario
from otaproof.model.invariants import Lemma, secmp0007_lemmas
from otaproof.model.lang import ModelError
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import System


@dataclass(frozen=True)
class Variant:
    """A named design change to the approved SECMP0007 baseline."""

    name: str
    doc: str
    source: str
    parameters: Mapping[str, int | bool] = field(default_factory=dict)
    apply: Callable[[Secmp0007], None] | None = None
    origin: str = "built-in"  # one of ORIGINS
    location: str = ""  # where it is defined, as a user reads it: module, file path, entry point
    file: str = ""  # the Python file its code runs from (error messages name its lines)


ORIGINS = ("built-in", "file", "plugin")


@dataclass
class BuiltModel:
    """A grounded system together with the model object whose handles properties use."""

    scenario: Scenario
    variant: Variant
    model: Secmp0007
    system: System
    lemmas: tuple[Lemma, ...] = ()  # candidate auxiliary invariants (model/invariants.py)


def variant_of(module: ModuleType, origin: str = "built-in", location: str | None = None) -> Variant:
    """The variant a module defines; ModelError naming the module and what is missing or wrong."""
    where = getattr(module, "__file__", None) or module.__name__
    for const in ("NAME", "DOC", "SOURCE"):
        if not isinstance(getattr(module, const, None), str):
            raise ModelError(f"a variant module needs a string {const}", where)
    parameters = getattr(module, "PARAMETERS", {})
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise ModelError("PARAMETERS must be a dict from parameter names to values", where)
    apply = getattr(module, "apply", None)
    if not callable(apply):
        raise ModelError("a variant module needs a function apply(m) that edits the model", where)
    file = getattr(module, "__file__", None) or ""
    return Variant(module.NAME, module.DOC, module.SOURCE, dict(parameters), apply, origin,
                   module.__name__ if location is None else location, file)


def describe(v: Variant) -> str:
    """``the built-in variant 'secmp0007' (otaproof.model.variants.approved)``: for messages."""
    return f"the {v.origin} variant {v.name!r} ({v.location})"


def registry_of(modules: Iterable[ModuleType]) -> dict[str, Variant]:
    """The variants of these modules by name; ModelError if two share a name."""
    out: dict[str, Variant] = {}
    for module in modules:
        v = variant_of(module)
        if v.name in out:
            raise ModelError(f"variant {v.name!r} is defined twice", getattr(module, "__file__", "") or "")
        out[v.name] = v
    return out


def build_variant(variant: Variant, scenario: Scenario) -> BuiltModel:
    """Ground ``variant`` (the scenario's) under the scenario's threat and fault models."""
    model = Secmp0007(scenario.parameters.with_values(variant.parameters), scenario.threats, scenario.faults)
    if variant.apply is not None:
        variant.apply(model)
    system = model.b.build(scenario.threats, scenario.faults)
    system.name = variant.name
    hints = tuple(secmp0007_lemmas(model)) if uses_design_lemmas(scenario, variant) else ()
    return BuiltModel(scenario, variant, model, system, hints)


def uses_design_lemmas(scenario: Scenario, variant: Variant) -> bool:
    """Whether the scenario's lemma candidates are the design's hand-written ones: as it says,
    else for a built-in variant only. They were written for the built-in designs; a design change
    from a file or plugin gets candidates generated from its own structure (docs/lemmas.md)."""
    if scenario.design_lemmas is not None:
        return scenario.design_lemmas
    return variant.origin == "built-in"
