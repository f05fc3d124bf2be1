"""The modelling language: state variables and a small typed expression AST over finite sorts.

A model is plain Python data. Expressions are trees of frozen dataclasses built with ordinary
operators (``v == "idle"``, ``a & b``, ``n + 1``), so the same tree can be evaluated exactly
(``model.explicit``) and compiled to Z3 bit-vectors (``model.symbolic``) with one meaning.
Values are encoded as small non-negative integers: bool 0/1, enum index, int value, set bitmask
(the sorts and ``ModelError`` live in ``model.sorts`` and are re-exported here).

``Expr`` is the closed union of the node classes: every pass over a tree is one ``match`` on it
ending in ``assert_never`` (mypy then names each pass a new node is missing from), and the
operators' meaning on codes and on Z3 terms is one table (``COMPARISONS``, ``ARITHMETIC``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, assert_never, cast

import z3

from otaproof.model.sorts import BOOL as BOOL
from otaproof.model.sorts import BoolSort as BoolSort
from otaproof.model.sorts import EnumSort as EnumSort
from otaproof.model.sorts import IntSort as IntSort
from otaproof.model.sorts import ModelError as ModelError
from otaproof.model.sorts import SetSort as SetSort
from otaproof.model.sorts import Sort as Sort

# --------------------------------------------------------------------------------------------
# Operators: one meaning for every semantics
# --------------------------------------------------------------------------------------------

CmpOp = Literal["==", "!=", "<", "<="]
ArithOp = Literal["+", "-"]
Bits: TypeAlias = Callable[[z3.ExprRef, z3.ExprRef], z3.ExprRef]


@dataclass(frozen=True)
class Operator:
    """A binary operator's meaning, written once: on value codes (the explicit semantics,
    constant folding, coverage's abstract evaluation) and on Z3 terms, either unsigned
    bit-vectors of one width or Ints."""

    name: str
    codes: Callable[[int, int], int]
    bits: Bits
    ints: Bits


@dataclass(frozen=True)
class Comparison(Operator):
    ordering: bool = False  # defined on ints only


@dataclass(frozen=True)
class Arithmetic(Operator):
    top: Callable[[int, int], int]  # the largest result, from the operands' largest values


COMPARISONS: dict[CmpOp, Comparison] = {
    "==": Comparison("equality", operator.eq, operator.eq, operator.eq),
    "!=": Comparison("inequality", operator.ne, operator.ne, operator.ne),
    "<": Comparison("ordering <", operator.lt, z3.ULT, operator.lt, ordering=True),
    "<=": Comparison("ordering <=", operator.le, z3.ULE, operator.le, ordering=True),
}
# on bit-vectors the encoder widens both operands by one bit first, so a sum never overflows; a
# difference below zero is a model error (the explicit semantics reports it)
ARITHMETIC: dict[ArithOp, Arithmetic] = {
    "+": Arithmetic("addition", operator.add, operator.add, operator.add, top=operator.add),
    "-": Arithmetic("subtraction", operator.sub, operator.sub, operator.sub, top=lambda a, b: a),
}


def select_index(code: int, items: int) -> int:
    """Which of ``items`` items a ``Select`` reads at index ``code``: an index past the end reads
    the last item (in Z3, the last item is the default of the ``If`` chain)."""
    return min(code, items - 1)


# --------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------


class Node:
    """What every expression node shares: operators that build new nodes (never evaluate).

    ``Expr``, the union of the node classes, is what passes match on: a pass is one ``match``
    ending in ``assert_never``, so mypy names every pass a new node class is missing from."""

    if TYPE_CHECKING:  # a dataclass field in most nodes, computed from the children in others

        @property
        def sort(self) -> Sort: ...

    def _expr(self) -> Expr:
        return cast("Expr", self)  # every subclass is a member of Expr (tests/model check it)

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("==", self._expr(), lift(other, self.sort))

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("!=", self._expr(), lift(other, self.sort))

    def __lt__(self, other: ExprLike) -> Expr:
        return Cmp("<", self._expr(), lift(other, _need_int(self, "ordering <")))

    def __le__(self, other: ExprLike) -> Expr:
        return Cmp("<=", self._expr(), lift(other, _need_int(self, "ordering <=")))

    def __gt__(self, other: ExprLike) -> Expr:
        return Cmp("<", lift(other, _need_int(self, "ordering >")), self._expr())

    def __ge__(self, other: ExprLike) -> Expr:
        return Cmp("<=", lift(other, _need_int(self, "ordering >=")), self._expr())

    def __add__(self, other: ExprLike) -> Expr:
        return Arith("+", self._expr(), lift(other, _need_int(self, "arithmetic +")))

    def __sub__(self, other: ExprLike) -> Expr:
        return Arith("-", self._expr(), lift(other, _need_int(self, "arithmetic -")))

    def __and__(self, other: ExprLike) -> Expr:
        return And((self._expr(), lift(other, BOOL)))

    def __rand__(self, other: ExprLike) -> Expr:
        return And((lift(other, BOOL), self._expr()))

    def __or__(self, other: ExprLike) -> Expr:
        return Or((self._expr(), lift(other, BOOL)))

    def __ror__(self, other: ExprLike) -> Expr:
        return Or((lift(other, BOOL), self._expr()))

    def __invert__(self) -> Expr:
        return Not(self._expr())

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
        return Member(self._expr(), lift(element, self.sort.universe))

    def with_added(self, element: ExprLike) -> Expr:
        if not isinstance(self.sort, SetSort):
            raise ModelError(f"with_added() needs a set, got {self.sort}")
        return SetUpdate(self._expr(), lift(element, self.sort.universe), True)

    def with_removed(self, element: ExprLike) -> Expr:
        if not isinstance(self.sort, SetSort):
            raise ModelError(f"with_removed() needs a set, got {self.sort}")
        return SetUpdate(self._expr(), lift(element, self.sort.universe), False)


@dataclass(frozen=True, eq=False)
class Var(Node):
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
class Next(Node):
    """The value of a variable in the post-state (only in monitors and properties)."""

    var: Var

    @property
    def sort(self) -> Sort:
        return self.var.sort


@dataclass(frozen=True, eq=False)
class Fired(Node):
    """True when the step's action instance is one of ``instances`` (monitors, properties)."""

    label: str
    instances: frozenset[int]
    sort: Sort = BOOL


@dataclass(frozen=True, eq=False)
class Const(Node):
    sort: Sort
    code: int

    def __repr__(self) -> str:
        return repr(self.sort.decode(self.code))


@dataclass(frozen=True, eq=False)
class Cmp(Node):
    op: CmpOp
    left: Expr
    right: Expr
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        _check_same_kind(self.left.sort, self.right.sort, self.op)
        if COMPARISONS[self.op].ordering and not isinstance(self.left.sort, IntSort):
            raise ModelError(f"ordering {self.op} needs ints, got {self.left.sort}")


@dataclass(frozen=True, eq=False)
class Arith(Node):
    op: ArithOp
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if not (isinstance(self.left.sort, IntSort) and isinstance(self.right.sort, IntSort)):
            raise ModelError(f"arithmetic {self.op} needs ints, got {self.left.sort}, {self.right.sort}")

    @property
    def sort(self) -> Sort:
        a, b = self.left.sort, self.right.sort
        assert isinstance(a, IntSort) and isinstance(b, IntSort)
        return IntSort(0, ARITHMETIC[self.op].top(a.hi, b.hi))  # below zero: an error at evaluation


@dataclass(frozen=True, eq=False)
class And(Node):
    args: tuple[Expr, ...]
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        for a in self.args:
            _need_bool(a, "&")


@dataclass(frozen=True, eq=False)
class Or(Node):
    args: tuple[Expr, ...]
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        for a in self.args:
            _need_bool(a, "|")


@dataclass(frozen=True, eq=False)
class Not(Node):
    arg: Expr
    sort: Sort = BOOL

    def __post_init__(self) -> None:
        _need_bool(self.arg, "~")


@dataclass(frozen=True, eq=False)
class Ite(Node):
    cond: Expr
    then: Expr
    other: Expr

    def __post_init__(self) -> None:
        _need_bool(self.cond, "ite")
        _check_same_kind(self.then.sort, self.other.sort, "ite")

    @property
    def sort(self) -> Sort:
        a, b = self.then.sort, self.other.sort
        if isinstance(a, IntSort) and isinstance(b, IntSort):
            return IntSort(min(a.lo, b.lo), max(a.hi, b.hi))
        return a


@dataclass(frozen=True, eq=False)
class Member(Node):
    set_expr: Expr
    element: Expr
    sort: Sort = BOOL


@dataclass(frozen=True, eq=False)
class SetUpdate(Node):
    set_expr: Expr
    element: Expr
    add: bool

    @property
    def sort(self) -> Sort:
        return self.set_expr.sort


@dataclass(frozen=True, eq=False)
class Lookup(Node):
    """A fixed finite function applied to an expression: ``table[key]`` (e.g. image → version)."""

    key: Expr
    table: tuple[int, ...]  # result code for each key code
    sort: Sort = BOOL


@dataclass(frozen=True, eq=False)
class Select(Node):
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
    def sort(self) -> Sort:
        return self.items[0].sort


Expr: TypeAlias = Var | Next | Fired | Const | Cmp | Arith | And | Or | Not | Ite | Member | SetUpdate | Lookup | Select
Reader: TypeAlias = Var | Next | Fired  # the nodes that read the state or the step
ExprLike: TypeAlias = Expr | bool | int | str


def _kind(s: Sort) -> object:
    return "int" if isinstance(s, IntSort) else s


def _check_same_kind(a: Sort, b: Sort, op: str) -> None:
    if _kind(a) != _kind(b):
        raise ModelError(f"'{op}' compares values of different sorts: {a} and {b}")


def _need_int(e: Node, op: str) -> Sort:
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
    if isinstance(value, Node):
        return value._expr()
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
    if isinstance(then, Node):
        return Ite(c, then._expr(), lift(other, then.sort))
    if isinstance(other, Node):
        return Ite(c, lift(then, other.sort), other._expr())
    raise ModelError("ite() needs at least one branch to be an expression")


def implies(a: ExprLike, b: ExprLike) -> Expr:
    return Or((Not(lift(a, BOOL)), lift(b, BOOL)))


def lookup(key: Expr, table: Mapping[Any, object], result: Sort) -> Expr:
    """Apply a fixed function, given for every value of the key's sort, to ``key`` (the table's
    keys are the sort's values: enum names, bools or ints)."""
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


# --------------------------------------------------------------------------------------------
# Structural passes (every other pass builds on these or matches on Expr itself)
# --------------------------------------------------------------------------------------------


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``e``, in field order."""
    # hot passes match bare classes, most frequent first: a class pattern with sub-patterns costs
    # about twice an isinstance test in CPython 3.11
    match e:
        case Const() | Var() | Fired():
            return ()
        case Cmp() | Arith():
            return (e.left, e.right)
        case Ite():
            return (e.cond, e.then, e.other)
        case And() | Or():
            return e.args
        case Not():
            return (e.arg,)
        case Lookup():
            return (e.key,)
        case Select():
            return (*e.items, e.index)
        case Next():
            return (e.var,)
        case Member() | SetUpdate():
            return (e.set_expr, e.element)
        case _:
            assert_never(e)


def map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``e`` with ``fn`` applied to each direct sub-expression (``e`` itself if none changes)."""
    match e:
        case Const() | Var() | Fired():
            return e
        case Cmp():
            x, y = fn(e.left), fn(e.right)
            return e if x is e.left and y is e.right else Cmp(e.op, x, y)
        case Arith():
            x, y = fn(e.left), fn(e.right)
            return e if x is e.left and y is e.right else Arith(e.op, x, y)
        case Ite():
            c, x, y = fn(e.cond), fn(e.then), fn(e.other)
            return e if c is e.cond and x is e.then and y is e.other else Ite(c, x, y)
        case And():
            args = tuple(fn(a) for a in e.args)
            return e if _same(args, e.args) else And(args)
        case Or():
            args = tuple(fn(a) for a in e.args)
            return e if _same(args, e.args) else Or(args)
        case Not():
            x = fn(e.arg)
            return e if x is e.arg else Not(x)
        case Lookup():
            k = fn(e.key)
            return e if k is e.key else Lookup(k, e.table, e.sort)
        case Select():
            items, i = tuple(fn(x) for x in e.items), fn(e.index)
            return e if i is e.index and _same(items, e.items) else Select(items, i)
        case Next():
            v = fn(e.var)
            if not isinstance(v, Var):
                raise ModelError(f"Next({e.var.name}) rewritten to {v!r}, which is not a variable")
            return e if v is e.var else Next(v)
        case Member():
            x, y = fn(e.set_expr), fn(e.element)
            return e if x is e.set_expr and y is e.element else Member(x, y)
        case SetUpdate():
            x, y = fn(e.set_expr), fn(e.element)
            return e if x is e.set_expr and y is e.element else SetUpdate(x, y, e.add)
        case _:
            assert_never(e)


def _same(xs: tuple[Expr, ...], ys: tuple[Expr, ...]) -> bool:
    return all(x is y for x, y in zip(xs, ys, strict=True))


def walk(e: Expr) -> Iterator[Expr]:
    """Every node of an expression tree, depth first."""
    stack = [e]
    while stack:
        n = stack.pop()
        yield n
        stack += children(n)


def readers(e: Expr) -> Iterator[Reader]:
    """The nodes of ``e`` that read the state or the step: variables (now and, in ``Next``,
    after the step) and ``Fired`` events."""
    for n in walk(e):
        match n:
            case Var() | Next() | Fired():
                yield n
            case (Const() | Cmp() | Ite() | And() | Or() | Not() | Arith() | Lookup() | Select() | Member()
                  | SetUpdate()):
                pass
            case _:
                assert_never(n)


def simplify(e: Expr) -> Expr:
    """``e`` with constant sub-expressions folded (a fixed lookup of a constant, an array read at
    a constant index, Boolean connectives with constant arguments, comparisons of constants).

    The result has the same value in every state; what it no longer reads (an attribute of a
    fixed image, say) is what lets cone-of-influence slicing drop variables."""
    e = map_children(e, simplify)
    match e:
        case Lookup(Const(code=key), table, sort):
            return Const(sort, table[key])
        case Select(items, Const(code=index)):
            return items[select_index(index, len(items))]
        case Not(Const(code=code)):
            return Const(BOOL, 1 - code)
        case And(args):
            return _fold(e, args, absorbing=0)
        case Or(args):
            return _fold(e, args, absorbing=1)
        case Ite(Const(code=code), then, other):
            return then if code else other
        case Cmp(op, Const(code=a), Const(code=b)):
            return Const(BOOL, int(COMPARISONS[op].codes(a, b)))
        case _:  # nothing to fold: every node kind has been simplified through map_children
            return e


def _fold(e: And | Or, args: tuple[Expr, ...], absorbing: int) -> Expr:
    """A conjunction (``absorbing`` 0) or disjunction (1) without its neutral constants."""
    if any(isinstance(a, Const) and a.code == absorbing for a in args):
        return Const(BOOL, absorbing)
    rest = tuple(a for a in args if not (isinstance(a, Const) and a.code == 1 - absorbing))
    if not rest:
        return Const(BOOL, 1 - absorbing)
    if len(rest) == 1:
        return rest[0]
    return e if len(rest) == len(args) else type(e)(rest)
