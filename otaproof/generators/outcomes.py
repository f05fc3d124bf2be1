"""Which (message kind, outcome code) pairs the model's sends can put on each queue, and which
receivers take them off: an over-approximating fixpoint over the model's channels, the source of
the ``outcome:`` coverage goals (``generators.goals``) and of their candidate lemmas. Other state
is unconstrained, so a spurious pair only adds a goal the proofs report as unreachable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import assert_never

from otaproof.model.lang import (
    ARITHMETIC,
    COMPARISONS,
    And,
    Arith,
    Cmp,
    Const,
    Expr,
    Fired,
    Ite,
    Lookup,
    Member,
    Next,
    Not,
    Or,
    Select,
    SetUpdate,
    Sort,
    Var,
    select_index,
)
from otaproof.model.slicing import reads
from otaproof.model.system import Channel, Instance, System
from otaproof.model.variants import BuiltModel


def outcome_channels(bm: BuiltModel) -> list[Channel]:
    """The queues whose messages carry a kind and an outcome code."""
    return [ch for ch in bm.model.b.channels.values() if {"kind", "outcome"} <= ch.fields.keys()]


def receivers(system: System, ch: Channel, kind: int, code: int) -> list[Instance]:
    """Instances of the channel's destination that take a message off it and may be enabled when
    its head is (kind, code)."""
    env = {ch.length.index: frozenset(range(1, ch.capacity + 1)),
           ch.slots[0]["kind"].index: frozenset({kind}), ch.slots[0]["outcome"].index: frozenset({code})}
    out = []
    for inst in system.instances:
        if inst.machine != ch.dst or not any(a.var.index == ch.length.index for b in inst.branches for a in b.assigns):
            continue
        if any(may_hold(And((inst.guard, b.cond)), env) for b in inst.branches):
            out.append(inst)
    return out


Env = dict[int, frozenset[int]]  # variable index -> the codes it may hold (absent: any of its sort)
_MAX_DOMAIN = 1 << 10


def _domain(sort: Sort) -> frozenset[int] | None:
    if sort.size > _MAX_DOMAIN:
        return None
    return frozenset(c for c in range(sort.size) if sort.contains_code(c))


def values(e: Expr, env: Env) -> frozenset[int] | None:
    """The codes ``e`` may take in some state allowed by ``env`` (None: not worked out, any)."""
    match e:
        case Const(code=code):
            return frozenset({code})
        case Var(index=i, sort=sort):
            return env.get(i, _domain(sort))
        case Not(arg):
            v = values(arg, env)
            return None if v is None else frozenset(1 - x for x in v)
        case And(args):
            return _connective(args, env, unit=1)
        case Or(args):
            return _connective(args, env, unit=0)
        case Cmp(op, left, right):
            xs, ys = values(left, env), values(right, env)
            if xs is None or ys is None:
                return frozenset({0, 1})
            holds = COMPARISONS[op].codes
            return frozenset(int(holds(x, y)) for x in xs for y in ys)
        case Arith(op, left, right):
            xs, ys = values(left, env), values(right, env)
            if xs is None or ys is None:
                return None
            value = ARITHMETIC[op].codes
            return frozenset(r for x in xs for y in ys if (r := value(x, y)) >= 0)  # below zero: an error
        case Ite(cond, then, other):
            c = values(cond, env)
            return _union(([then] if c is None or 1 in c else []) + ([other] if c is None or 0 in c else []), env)
        case Lookup(key, table):
            keys = values(key, env)
            return frozenset(table) if keys is None else frozenset(table[k] for k in keys if k < len(table))
        case Select(items, index):
            idx = values(index, env)
            return _union(items if idx is None else [items[select_index(i, len(items))] for i in sorted(idx)], env)
        case Member():
            return frozenset({0, 1})
        case SetUpdate() | Next() | Fired():  # not in guards or sends
            return None
        case _:
            assert_never(e)


def _connective(args: tuple[Expr, ...], env: Env, unit: int) -> frozenset[int]:
    """The values of a conjunction (``unit`` 1) or disjunction (0) of ``args``."""
    can = [frozenset({0, 1}) if v is None else v for v in (values(a, env) for a in args)]
    out = set()
    if all(unit in v for v in can):
        out.add(unit)
    if any(1 - unit in v for v in can):
        out.add(1 - unit)
    return frozenset(out)


def _union(es: Sequence[Expr], env: Env) -> frozenset[int] | None:
    """The codes any of ``es`` may take (None: some of them any)."""
    out: set[int] = set()
    for e in es:
        v = values(e, env)
        if v is None:
            return None
        out |= v
    return frozenset(out)


def may_hold(e: Expr, env: Env) -> bool:
    v = values(e, env)
    return v is None or 1 in v


def _sent(value: Expr, ch: Channel) -> Expr | None:
    """The field value of a message this assignment puts on ``ch`` (a send writes
    ``ite(length == i, value, old)``), or None when it only keeps, shifts or clears a slot."""
    match value:
        case Ite(cond, then) if ch.length.index in reads(cond):
            return then
        case _:
            return None


def _worlds(channels: list[Channel], pairs: dict[str, set[tuple[int, int]]]) -> Iterable[Env]:
    """Every combination of head messages of the given channels (or the channel empty)."""
    options = []
    for ch in channels:
        k, o = ch.slots[0]["kind"], ch.slots[0]["outcome"]
        opts = [{ch.length.index: frozenset({0}), k.index: frozenset({k.init}), o.index: frozenset({o.init})}]
        for kc, oc in sorted(pairs[ch.name]):
            opts.append({ch.length.index: frozenset(range(1, ch.capacity + 1)),
                         k.index: frozenset({kc}), o.index: frozenset({oc})})
        options.append(opts)
    for combo in itertools.product(*options):
        env: Env = {}
        for part in combo:
            env.update(part)
        yield env


def message_pairs(system: System, channels: list[Channel]) -> dict[str, set[tuple[int, int]]]:
    """Per channel (by name), the (kind, outcome) code pairs that some send may put on it.

    A fixpoint: a send's kind and outcome are evaluated with the head messages of the channels
    it reads (e.g. a relay's source) ranging over the pairs found so far, and kept when the
    action's guard and branch condition may hold there. An over-approximation (other state is
    unconstrained), so a spurious pair only adds a goal the proofs report as unreachable."""
    pairs: dict[str, set[tuple[int, int]]] = {ch.name: set() for ch in channels}
    by_var = {v.index: ch for ch in channels for slot in ch.slots for v in (slot["kind"], slot["outcome"])}
    by_var.update({ch.length.index: ch for ch in channels})
    sends = []  # (instance, branch, channel, kind expr, outcome expr, channels read)
    for inst in system.instances:
        for b in inst.branches:
            assigned = {a.var.index: a.value for a in b.assigns}
            for ch in channels:
                for slot in ch.slots:
                    k, o = slot["kind"], slot["outcome"]
                    kv, ov = _sent(assigned.get(k.index, k), ch), _sent(assigned.get(o.index, o), ch)
                    if kv is None and ov is None:
                        continue
                    kv, ov = kv if kv is not None else k, ov if ov is not None else o
                    exprs = [inst.guard, b.cond, kv, ov]
                    read = {by_var[i].name for e in exprs for i in reads(e) if i in by_var}
                    sends.append((inst, b, ch, kv, ov, [c for c in channels if c.name in read]))
    changed = True
    while changed:
        changed = False
        for inst, b, ch, kv, ov, sources in sends:
            for env in _worlds(sources, pairs):
                if not may_hold(And((inst.guard, b.cond)), env):
                    continue
                ks = values(kv, env) or _domain(kv.sort) or frozenset()
                os_ = values(ov, env) or _domain(ov.sort) or frozenset()
                new = {(x, y) for x in ks for y in os_ if ch.fields["kind"].contains_code(x)
                       and ch.fields["outcome"].contains_code(y)} - pairs[ch.name]
                if new:
                    pairs[ch.name] |= new
                    changed = True
    return pairs


__all__ = ["Env", "may_hold", "message_pairs", "outcome_channels", "receivers", "values"]
