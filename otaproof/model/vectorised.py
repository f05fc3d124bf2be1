"""State expressions evaluated over many states at once (numpy), with the explicit semantics'
meaning: screening thousands of lemma candidates against a sample of reachable states costs
milliseconds this way, against seconds with ``explicit.compile_expr`` state by state."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import numpy.typing as npt

from otaproof.model.lang import (
    ARITHMETIC,
    COMPARISONS,
    And,
    Arith,
    Cmp,
    Const,
    Expr,
    Ite,
    Lookup,
    Member,
    Not,
    Or,
    Select,
    SetUpdate,
    Var,
)

Codes = npt.NDArray[np.int64]
OnArrays = Callable[[Codes, Codes], Codes]  # lang's operators are the ``operator`` module's, which numpy overloads


class _Undefined(Exception):
    """The expression has no value on some row (an arithmetic result below zero, a key outside
    a lookup table) or reads more than one state (``Next``, ``Fired``)."""


def evaluate(e: Expr, rows: Codes) -> Codes | None:
    """The codes of ``e`` on each row (one state per row, one column per variable), or None where
    ``explicit.compile_expr`` would raise on some row or needs a step, not a state."""
    try:
        return _eval(e, rows)
    except _Undefined:
        return None


def _eval(e: Expr, rows: Codes) -> Codes:
    match e:
        case Const():
            return np.full(len(rows), e.code, dtype=np.int64)
        case Var():
            return rows[:, e.index]
        case Cmp():
            return cast(OnArrays, COMPARISONS[e.op].codes)(_eval(e.left, rows), _eval(e.right, rows)).astype(np.int64)
        case Ite():
            return np.where(_eval(e.cond, rows) != 0, _eval(e.then, rows), _eval(e.other, rows))
        case And():
            result = np.ones(len(rows), dtype=np.int64)
            for x in e.args:
                result &= _eval(x, rows)
            return result
        case Or():
            result = np.zeros(len(rows), dtype=np.int64)
            for x in e.args:
                result |= _eval(x, rows)
            return result
        case Not():
            return 1 - _eval(e.arg, rows)
        case Arith():
            value = cast(OnArrays, ARITHMETIC[e.op].codes)(_eval(e.left, rows), _eval(e.right, rows))
            if (value < 0).any():
                raise _Undefined
            return value
        case Lookup():
            key = _eval(e.key, rows)
            if len(key) and (key.min() < 0 or key.max() >= len(e.table)):
                raise _Undefined
            return np.asarray(e.table, dtype=np.int64)[key]
        case Select():
            index = np.minimum(_eval(e.index, rows), len(e.items) - 1)  # lang.select_index
            result = _eval(e.items[-1], rows)
            for k in range(len(e.items) - 2, -1, -1):
                result = np.where(index == k, _eval(e.items[k], rows), result)
            return result
        case Member():
            return (_eval(e.set_expr, rows) >> _eval(e.element, rows)) & 1
        case SetUpdate():
            bits, element = _eval(e.set_expr, rows), _eval(e.element, rows)
            return bits | (1 << element) if e.add else bits & ~(1 << element)
        case _:  # Next, Fired: not a state expression
            raise _Undefined
