"""The modelling language: finite sorts, state variables and a small typed expression AST.

A model is plain Python data. Expressions are trees of frozen dataclasses built with ordinary
operators (``v == "idle"``, ``a & b``, ``n + 1``), so the same tree can be evaluated exactly
(``model.explicit``) and compiled to Z3 bit-vectors (``model.symbolic``) with one meaning.
Values are encoded as small non-negative integers: bool 0/1, enum index, int value, set bitmask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Union


class ModelError(Exception):
    """A mistake in a model or variant definition, with the place it was found."""

    def __init__(self, message: str, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


# --------------------------------------------------------------------------------------------
# Sorts (finite domains)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """A finite domain of values, encoded as integers 0..size-1 (sets: bitmasks)."""

    @property
    def size(self) -> int:  # number of encodable values
        raise NotImplementedError

    @property
    def width(self) -> int:
        """Bits needed to encode every value (at least 1)."""
        return max(1, (self.size - 1).bit_length())

    def encode(self, value: object, where: str = "") -> int:
        raise NotImplementedError

    def decode(self, code: int) -> object:
        raise NotImplementedError

    def contains_code(self, code: int) -> bool:
        return 0 <= code < self.size


@dataclass(frozen=True)
class BoolSort(Sort):
    @property
    def size(self) -> int:
        return 2

    def encode(self, value: object, where: str = "") -> int:
        if not isinstance(value, bool):
            raise ModelError(f"value {value!r} is not a bool", where)
        return int(value)

    def decode(self, code: int) -> object:
        return bool(code)

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class EnumSort(Sort):
    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ModelError(f"enum {self.name} has no values")
        if len(set(self.values)) != len(self.values):
            raise ModelError(f"enum {self.name} has duplicate values {self.values}")

    @property
    def size(self) -> int:
        return len(self.values)

    def encode(self, value: object, where: str = "") -> int:
        if value not in self.values:
            raise ModelError(
                f"value {value!r} is not in enum {self.name} {list(self.values)}", where
            )
        return self.values.index(value)  # type: ignore[arg-type]

    def decode(self, code: int) -> object:
        return self.values[code]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class IntSort(Sort):
    lo: int
    hi: int

    def __post_init__(self) -> None:
        if self.lo < 0 or self.hi < self.lo:
            raise ModelError(f"bounded int range {self.lo}..{self.hi} must satisfy 0 <= lo <= hi")

    @property
    def size(self) -> int:
        return self.hi + 1  # codes are the values themselves; 0..lo-1 are excluded by range

    def contains_code(self, code: int) -> bool:
        return self.lo <= code <= self.hi

    def encode(self, value: object, where: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise ModelError(f"value {value!r} is not in int {self.lo}..{self.hi}", where)
        return value

    def decode(self, code: int) -> object:
        return code

    def __str__(self) -> str:
        return f"int[{self.lo}..{self.hi}]"


@dataclass(frozen=True)
class SetSort(Sort):
    """Subsets of a small finite universe, encoded as a bitmask."""

    universe: EnumSort

    @property
    def size(self) -> int:
        return 1 << len(self.universe.values)

    @property
    def width(self) -> int:
        return len(self.universe.values)

    def encode(self, value: object, where: str = "") -> int:
        if not isinstance(value, (set, frozenset, tuple, list)):
            raise ModelError(f"value {value!r} is not a set of {self.universe.name}", where)
        mask = 0
        for item in value:
            mask |= 1 << self.universe.encode(item, where)
        return mask

    def decode(self, code: int) -> object:
        return frozenset(v for i, v in enumerate(self.universe.values) if code >> i & 1)

    def __str__(self) -> str:
        return f"set[{self.universe.name}]"


BOOL = BoolSort()


# --------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------

ExprLike = Union["Expr", bool, int, str]


class Expr:
    """Base of the expression AST; operators build new nodes, never evaluate."""

    sort: Sort

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("==", self, lift(other, self.sort))

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("!=", self, lift(other, self.sort))

    def __lt__(self, other: ExprLike) -> Expr:
        return Cmp("<", self, lift(other, _need_int(self, "ordering <")))

    def __le__(self, other: ExprLike) -> Expr:
        return Cmp("<=", self, lift(other, _need_int(self, "ordering <=")))

    def __gt__(self, other: ExprLike) -> Expr:
        return Cmp("<", lift(other, _need_int(self, "ordering >")), self)

    def __ge__(self, other: ExprLike) -> Expr:
        return Cmp("<=", lift(other, _need_int(self, "ordering >=")), self)

    def __add__(self, other: ExprLike) -> Expr:
        return Arith("+", self, lift(other, _need_int(self, "arithmetic +")))

    def __sub__(self, other: ExprLike) -> Expr:
        return Arith("-", self, lift(other, _need_int(self, "arithmetic -")))

    def __and__(self, other: ExprLike) -> Expr:
        return And((self, lift(other, BOOL)))

    def __rand__(self, other: ExprLike) -> Expr:
        return And((lift(other, BOOL), self))

    def __or__(self, other: ExprLike) -> Expr:
        return Or((self, lift(other, BOOL)))

    def __ror__(self, other: ExprLike) -> Expr:
        return Or((lift(other, BOOL), self))

    def __invert__(self) -> Expr:
        return Not(self)

    def __bool__(self) -> bool:
        raise ModelError(
            "an expression was used as a Python truth value (in `if`, `and`, `or` or `not`); "
            "use `&`, `|`, `~` or ite(...) to build a model expression instead"
        )

    __hash__ = object.__hash__

    def contains(self, element: ExprLike) -> Expr:
        """Set membership; the receiver must be a set-valued expression."""
        if not isinstance(self.sort, SetSort):
            raise ModelError(f"contains() needs a set, got {self.sort}")
        return Member(self, lift(element, self.sort.universe))

    def with_added(self, element: ExprLike) -> Expr:
        if not isinstance(self.sort, SetSort):
            raise ModelError(f"with_added() needs a set, got {self.sort}")
        return SetUpdate(self, lift(element, self.sort.universe), True)

    def with_removed(self, element: ExprLike) -> Expr:
        if not isinstance(self.sort, SetSort):
            raise ModelError(f"with_removed() needs a set, got {self.sort}")
        return SetUpdate(self, lift(element, self.sort.universe), False)


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """A state variable; reading it in an expression means its value in the pre-state."""

    name: str
    sort: Sort
    init: int
    owner: str
    ghost: bool = False
    index: int = -1  # position in the state vector, assigned by the builder

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Next(Expr):
    """The value of a variable in the post-state (only in monitors and properties)."""

    var: Var

    @property
    def sort(self) -> Sort:  # type: ignore[override]
        return self.var.sort


@dataclass(frozen=True, eq=False)
class Fired(Expr):
    """True when the step's action instance is one of ``instances`` (monitors, properties)."""

    label: str
    instances: frozenset[int]
    sort: Sort = BOOL


@dataclass(frozen=True, eq=False)
class Const(Expr):
    sort: Sort
    code: int

    def __repr__(self) -> str:
        return repr(self.sort.decode(self.code))


@dataclass(frozen=True, eq=False)
class Cmp(Expr):
    op: str
    left: Expr
    right: Expr
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        _check_same_kind(self.left.sort, self.right.sort, self.op)
        if self.op in ("<", "<=") and not isinstance(self.left.sort, IntSort):
            raise ModelError(f"ordering {self.op} needs ints, got {self.left.sort}")


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if not (isinstance(self.left.sort, IntSort) and isinstance(self.right.sort, IntSort)):
            raise ModelError(f"arithmetic {self.op} needs ints, got {self.left.sort}, {self.right.sort}")

    @property
    def sort(self) -> Sort:  # type: ignore[override]
        a, b = self.left.sort, self.right.sort
        assert isinstance(a, IntSort) and isinstance(b, IntSort)
        if self.op == "+":
            return IntSort(0, a.hi + b.hi)
        return IntSort(0, a.hi)  # subtraction below zero is a model error at evaluation


@dataclass(frozen=True, eq=False)
class And(Expr):
    args: tuple[Expr, ...]
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        for a in self.args:
            _need_bool(a, "&")


@dataclass(frozen=True, eq=False)
class Or(Expr):
    args: tuple[Expr, ...]
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        for a in self.args:
            _need_bool(a, "|")


@dataclass(frozen=True, eq=False)
class Not(Expr):
    arg: Expr
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        _need_bool(self.arg, "~")


@dataclass(frozen=True, eq=False)
class Ite(Expr):
    cond: Expr
    then: Expr
    other: Expr

    def __post_init__(self) -> None:
        _need_bool(self.cond, "ite")
        _check_same_kind(self.then.sort, self.other.sort, "ite")

    @property
    def sort(self) -> Sort:  # type: ignore[override]
        a, b = self.then.sort, self.other.sort
        if isinstance(a, IntSort) and isinstance(b, IntSort):
            return IntSort(min(a.lo, b.lo), max(a.hi, b.hi))
        return a


@dataclass(frozen=True, eq=False)
class Member(Expr):
    set_expr: Expr
    element: Expr
    sort: Sort = BOOL


@dataclass(frozen=True, eq=False)
class SetUpdate(Expr):
    set_expr: Expr
    element: Expr
    add: bool

    @property
    def sort(self) -> Sort:  # type: ignore[override]
        return self.set_expr.sort


@dataclass(frozen=True, eq=False)
class Lookup(Expr):
    """A fixed finite function applied to an expression: ``table[key]`` (e.g. image → version)."""

    key: Expr
    table: tuple[int, ...]  # result code for each key code
    sort: Sort = field(default=BOOL)


@dataclass(frozen=True, eq=False)
class Select(Expr):
    """Dynamic array read: the element of ``items`` chosen by ``index`` (an int or enum)."""

    items: tuple[Expr, ...]
    index: Expr

    def __post_init__(self) -> None:
        if not self.items:
            raise ModelError("select from an empty array")
        for it in self.items[1:]:
            _check_same_kind(self.items[0].sort, it.sort, "select")
        # one item per index value: fewer would silently reuse the last item, more are unreachable
        idx = self.index.sort
        if isinstance(idx, SetSort):
            raise ModelError(f"select needs an int, enum or bool index, got {idx}")
        if isinstance(idx, (EnumSort, BoolSort)) and len(self.items) != idx.size:
            raise ModelError(f"select has {len(self.items)} items but its index {idx} takes {idx.size} values")
        if isinstance(self.index, Var) and isinstance(idx, IntSort) and len(self.items) <= idx.hi:
            raise ModelError(f"select has {len(self.items)} items but its index {self.index.name} "
                             f"ranges over {idx}")

    @property
    def sort(self) -> Sort:  # type: ignore[override]
        return self.items[0].sort


def _kind(s: Sort) -> object:
    return "int" if isinstance(s, IntSort) else s


def _check_same_kind(a: Sort, b: Sort, op: str) -> None:
    if _kind(a) != _kind(b):
        raise ModelError(f"'{op}' compares values of different sorts: {a} and {b}")


def _need_int(e: Expr, op: str) -> Sort:
    """The sort of ``e``, which must be a bounded int (checked before a literal is lifted, so the
    message names the operation rather than the literal)."""
    if not isinstance(e.sort, IntSort):
        raise ModelError(f"{op} needs ints, got {e.sort}")
    return e.sort


def _need_bool(e: Expr, op: str) -> None:
    if not isinstance(e.sort, BoolSort):
        raise ModelError(f"'{op}' needs a bool, got {e.sort}")


def lift(value: object, sort: Sort) -> Expr:
    """Turn a Python literal into a constant of ``sort`` (expressions pass through)."""
    if isinstance(value, Expr):
        return value
    if isinstance(sort, IntSort) and isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ModelError(f"negative constant {value}")
        return Const(IntSort(0, max(value, 0)), value)
    return Const(sort, sort.encode(value))


def const(sort: Sort, value: object) -> Const:
    """A constant of a sort, checked against its domain."""
    return Const(sort, sort.encode(value))


TRUE = Const(BOOL, 1)
FALSE = Const(BOOL, 0)


def all_of(items: Iterable[ExprLike]) -> Expr:
    args = tuple(lift(i, BOOL) for i in items)
    return And(args) if args else TRUE


def any_of(items: Iterable[ExprLike]) -> Expr:
    args = tuple(lift(i, BOOL) for i in items)
    return Or(args) if args else FALSE


def ite(cond: ExprLike, then: ExprLike, other: ExprLike) -> Expr:
    c = lift(cond, BOOL)
    if isinstance(then, Expr):
        return Ite(c, then, lift(other, then.sort))
    if isinstance(other, Expr):
        return Ite(c, lift(then, other.sort), other)
    raise ModelError("ite() needs at least one branch to be an expression")


def implies(a: ExprLike, b: ExprLike) -> Expr:
    return Or((Not(lift(a, BOOL)), lift(b, BOOL)))


def lookup(key: Expr, table: dict[object, object], result: Sort) -> Expr:
    """Apply a fixed function, given for every value of the key's sort, to ``key``."""
    sort = key.sort
    if isinstance(sort, (EnumSort, BoolSort, IntSort)):
        codes = []
        for code in range(sort.size):
            if not sort.contains_code(code):
                codes.append(0)
                continue
            val = sort.decode(code)
            if val not in table:
                raise ModelError(f"lookup table has no entry for {val!r}")
            codes.append(result.encode(table[val]))
        return Lookup(key, tuple(codes), result)
    raise ModelError(f"lookup over {sort} is not supported")


def select(items: Sequence[Expr], index: Expr) -> Expr:
    return Select(tuple(items), index)


def map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``e`` with ``fn`` applied to each direct sub-expression (``e`` itself if it has none)."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(e):  # type: ignore[arg-type]
        val = getattr(e, f.name)
        if isinstance(val, Expr):
            changes[f.name] = fn(val)
        elif isinstance(val, tuple) and val and isinstance(val[0], Expr):
            changes[f.name] = tuple(fn(x) for x in val)
    return dataclasses.replace(e, **changes) if changes else e  # type: ignore[type-var]


def walk(e: Expr) -> Iterable[Expr]:
    """Every node of an expression tree, depth first."""
    stack = [e]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (Cmp, Arith)):
            stack += [n.left, n.right]
        elif isinstance(n, (And, Or)):
            stack += list(n.args)
        elif isinstance(n, Not):
            stack.append(n.arg)
        elif isinstance(n, Ite):
            stack += [n.cond, n.then, n.other]
        elif isinstance(n, Member):
            stack += [n.set_expr, n.element]
        elif isinstance(n, SetUpdate):
            stack += [n.set_expr, n.element]
        elif isinstance(n, Lookup):
            stack.append(n.key)
        elif isinstance(n, Select):
            stack += list(n.items) + [n.index]
        elif isinstance(n, Next):
            stack.append(n.var)


def simplify(e: Expr) -> Expr:
    """``e`` with constant sub-expressions folded (a fixed lookup of a constant, an array read at
    a constant index, Boolean connectives with constant arguments, comparisons of constants).

    The result has the same value in every state; what it no longer reads (an attribute of a
    fixed image, say) is what lets cone-of-influence slicing drop variables."""
    e = map_children(e, simplify)
    if isinstance(e, Lookup) and isinstance(e.key, Const):
        return Const(e.sort, e.table[e.key.code])
    if isinstance(e, Select) and isinstance(e.index, Const):
        return e.items[min(e.index.code, len(e.items) - 1)]
    if isinstance(e, Not) and isinstance(e.arg, Const):
        return Const(BOOL, 1 - e.arg.code)
    if isinstance(e, (And, Or)):
        absorbing, neutral = (0, 1) if isinstance(e, And) else (1, 0)
        if any(isinstance(a, Const) and a.code == absorbing for a in e.args):
            return Const(BOOL, absorbing)
        rest = tuple(a for a in e.args if not (isinstance(a, Const) and a.code == neutral))
        if not rest:
            return Const(BOOL, neutral)
        return rest[0] if len(rest) == 1 else type(e)(rest)
    if isinstance(e, Ite) and isinstance(e.cond, Const):
        return e.then if e.cond.code else e.other
    if isinstance(e, Cmp) and isinstance(e.left, Const) and isinstance(e.right, Const):
        a, b = e.left.code, e.right.code
        return Const(BOOL, int({"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b}[e.op]))
    return e
