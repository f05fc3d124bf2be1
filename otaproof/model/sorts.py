"""Finite sorts (bool, enum, bounded int, small set) and their encoding as small non-negative
integers (bool 0/1, enum index, int value, set bitmask); ``ModelError`` for mistakes in a model.

The expression language (``model.lang``) builds on these and re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass


class ModelError(Exception):
    """A mistake in a model or variant definition, with the place it was found."""

    def __init__(self, message: str, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


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
        return self.values.index(value)

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
