"""The atoms lemma templates are built from: channel shapes, the values an atom is made for, a
sample of reachable states. Shared by ``templates.py`` and ``templates_relational.py``, so that
neither imports the other's families."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from otaproof.model.lang import BoolSort, EnumSort, Expr, IntSort, Var
from otaproof.model.system import System

SMALL_INT = 8  # int variables with at most this many values get one atom per value
MAX_PAIR_VALUES = 16  # a ``pair`` candidate is made only for variables with at most this many values


@dataclass(frozen=True)
class ChannelShape:
    """A channel as the system's variables show it: its length and, per slot, its fields."""

    name: str
    length: Var
    slots: tuple[dict[str, Var], ...]


_SLOT = re.compile(r"^\[(\d+)\]\.(.+)$")


def channels(system: System) -> list[ChannelShape]:
    """The channels of a (possibly sliced) system, from its variables' owners and names
    (``<channel>.len``, ``<channel>[i].<field>``); a slice may keep only some fields."""
    by_owner: dict[str, list[Var]] = {}
    for v in system.variables:
        if v.owner.startswith("channel:"):
            by_owner.setdefault(v.owner[len("channel:"):], []).append(v)
    out = []
    for name, vs in by_owner.items():
        length = next((v for v in vs if v.name == f"{name}.len"), None)
        if length is None:
            continue
        slots: dict[int, dict[str, Var]] = {}
        for v in vs:
            m = _SLOT.match(v.name[len(name):])
            if m:
                slots.setdefault(int(m.group(1)), {})[m.group(2)] = v
        out.append(ChannelShape(name, length, tuple(slots.get(i, {}) for i in range(max(slots, default=-1) + 1))))
    return out


def _values(v: Var) -> list[int]:
    """The codes an atom ``v == value`` is made for: every value of a bool, enum or small int."""
    s = v.sort
    if isinstance(s, (BoolSort, EnumSort)):
        return list(range(s.size))
    if isinstance(s, IntSort) and s.hi - s.lo < SMALL_INT:
        return list(range(s.lo, s.hi + 1))
    return []


def _codes(v: Var) -> range:
    """Every code a variable's value may have (an int's code is the int itself)."""
    s = v.sort
    return range(s.lo, s.hi + 1) if isinstance(s, IntSort) else range(s.size)


def _is(v: Var, code: int) -> Expr:
    return v == v.sort.decode(code)


@dataclass(frozen=True)
class Sample:
    """Reachable states of a system (one row each) and whether they are all of them."""

    states: npt.NDArray[np.int64]
    complete: bool
