"""Step events over a built model, by action name or action category, for properties and
boundaries.

A name the model never declared is an error (ModelError): a renamed action must not make a
property hold vacuously. A declared action without instances (its threat or fault model is off,
the parameters give it none, or the variant withdrew it) never fires: its events are FALSE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from otaproof.model.lang import FALSE, TRUE, Expr, ModelError, any_of
from otaproof.model.variants import BuiltModel
from otaproof.model.vocabulary import ACTION_CATEGORIES


def declared(bm: BuiltModel, *actions: str) -> None:
    """Raise ModelError unless the model declares every one of ``actions``."""
    for action in actions:
        if action not in bm.system.actions:
            raise ModelError(f"the model {bm.system.name} declares no action {action!r}; "
                             f"known: {', '.join(sorted(bm.system.actions))}")


def took(bm: BuiltModel, action: str, branches: tuple[str, ...] = (), **params: object) -> Expr:
    """The step took one of ``branches`` of ``action`` (any branch if none given) with these
    parameter values; FALSE if the action has no instance."""
    declared(bm, action)
    s = bm.system
    if not s.instances_of(action):
        return FALSE
    return s.took(action, branches, **params) if branches else s.fired(action, **params)


def took_where(bm: BuiltModel, action: str, branches: Iterable[str],
               where: Callable[[dict[str, object]], Expr]) -> Expr:
    """The step took one of ``branches`` of ``action`` (any branch if none given) on an instance
    whose parameters satisfy ``where`` (evaluated on the pre-state); FALSE when no instance has
    all the branches or satisfies ``where``."""
    declared(bm, action)
    s, wanted = bm.system, set(branches)
    terms = []
    for inst in s.instances_of(action):
        if wanted <= {b.name for b in inst.branches}:
            params = dict(inst.params)
            condition = where(params)
            if condition is not FALSE:
                step = s.took(action, wanted, **params) if wanted else s.fired(action, **params)
                terms.append(step if condition is TRUE else step & condition)
    return any_or_false(terms)


def any_or_false(terms: Iterable[Expr]) -> Expr:
    """The disjunction of the terms that are not FALSE (FALSE itself when none is left)."""
    kept = [t for t in terms if t is not FALSE]
    return any_of(kept) if kept else FALSE


def in_category(bm: BuiltModel, category: str) -> tuple[str, ...]:
    """The declared actions of ``category`` that have instances in this model, in declaration
    order (``vocabulary.ACTION_CATEGORIES`` lists the categories)."""
    if category not in ACTION_CATEGORIES:
        raise ModelError(f"unknown action category {category!r}; known: {', '.join(ACTION_CATEGORIES)}")
    s = bm.system
    return tuple(name for name, a in s.actions.items() if a.category == category and s.instances_of(name))


def instances_about(bm: BuiltModel, actions: Iterable[str], d: str) -> frozenset[int]:
    """The instances of ``actions`` (each declared) whose parameter ``d`` is device ``d``."""
    names = set(actions)
    declared(bm, *sorted(names))
    return frozenset(i.index for i in bm.system.instances if i.action in names and dict(i.params).get("d") == d)
