"""Relational lemma candidates: equalities and orders between two variables under one guard.

The families of ``templates.py`` state facts about values; the proofs of "a copy lags its
original only while a message carrying the new value is on its way" need facts about *two*
variables of one sort: a ghost and the real value it shadows, a record and the state it
records, a field of a message in flight and the sender's variable. Nothing here names a design:
the pairs are every two variables of one enum sort (state variables, or a message field and a
state variable), the guards one literal of the model's own variables, and every candidate is
kept only if it holds in every sampled reachable state (then Houdini and the certificate
checker decide, as for every candidate).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from otaproof.model.lang import BoolSort, EnumSort, Expr, IntSort, Var, all_of, any_of, implies
from otaproof.model.system import System
from otaproof.properties.template_atoms import MAX_PAIR_VALUES, Sample, _is, _values, channels

KIND = "kind"  # the message-kind field of a channel slot, as the modelling language's channels name it

Bits = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Carrier:
    """A message that always carries a variable's value in one field while it is in flight with
    a guard: (slot present ∧ guard) → field == target."""

    name: str
    label: str  # the guard's literals and the field, without the slot: the same for each slot of a channel pair
    guard: Expr  # slot present ∧ the guard's literals
    holds: Bits  # per sampled state: the guard holds
    field: Var
    target: Var
    refined: bool = False  # a refinement of a kind that carries the target by itself in the sample


def _literal_name(v: Var, code: int, prefix: str = "") -> str:
    return f"{v.name[len(prefix):]}={v.sort.decode(code)}"


def _state_vars(system: System) -> tuple[list[Var], set[int]]:
    shapes = channels(system)
    in_channel = {v.index for ch in shapes for slot in ch.slots for v in slot.values()} | \
        {ch.length.index for ch in shapes}
    return [v for v in system.variables if v.index not in in_channel], in_channel


def relational(system: System, found: Sample) -> list[tuple[str, Expr]]:
    """Every candidate of this module's families that holds in every sampled state, in a fixed order."""
    carriers = list(message_carriers(system, found))
    out = [(f"guarded:{c.name}", implies(c.guard, c.field == c.target)) for c in carriers]
    out += list(guarded_state_equalities(system, found))
    out += list(lags(system, found, carriers))
    out += list(kind_orders(system, found))
    out += list(refined_exclusions(system, found))
    out += list(witnesses(system, found))
    return out


def _kind_stages(system: System, found: Sample) -> list[tuple[str, Expr, Bits, str]]:
    """Per channel slot and message kind seen: (name, expression, sampled states, the slot's
    name) of 'a message of this kind is in flight'."""
    rows = found.states
    out: list[tuple[str, Expr, Bits, str]] = []
    for ch in channels(system):
        n = ch.length.index
        for k, slot in enumerate(ch.slots):
            kind = slot.get(KIND)
            if kind is None:
                continue
            prefix = f"{ch.name}[{k}]."
            for kc in _values(kind):
                bits = (rows[:, n] > k) & (rows[:, kind.index] == kc)
                if bits.any():
                    out.append((f"{prefix}{_literal_name(kind, kc, prefix)}", (ch.length > k) & _is(kind, kc), bits,
                                f"{ch.name}[{k}]"))
    return out


def _state_stages(system: System, found: Sample) -> list[tuple[str, Expr, Bits, str]]:
    """Per bool or enum state variable that leaves its initial value in the sample but not in
    every sampled state: (name, "off its initial value", sampled states, '') as ``_kind_stages``."""
    rows = found.states
    out: list[tuple[str, Expr, Bits, str]] = []
    for v in _state_vars(system)[0]:
        if isinstance(v.sort, (BoolSort, EnumSort)):
            off = rows[:, v.index] != v.init
            if off.any() and not off.all():
                out.append((f"{v.name}!={v.sort.decode(v.init)}", v != v.sort.decode(v.init), off, ""))
    return out


def refined_exclusions(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``exclusive`` refined by a field: ``¬(kind = K ∧ g = c in one slot ∧ S)`` where S is a
    message of kind K' in another slot or a state variable off its initial value, seen together
    with messages of kind K in some sampled state but never with g = c (a failure report and the
    next stage's message, or the device still holding the image: 'one stage at a time' where a
    success report may overlap the next stage and a failure may not)."""
    rows = found.states
    stages = _kind_stages(system, found) + _state_stages(system, found)
    for ch in channels(system):
        for k, slot in enumerate(ch.slots):
            kind = slot.get(KIND)
            if kind is None:
                continue
            here = f"{ch.name}[{k}]"
            prefix = here + "."
            mine = [s for s in stages if s[3] == here]
            others = [s for s in stages if s[3] != here]
            fields = [g for gname, g in sorted(slot.items()) if gname != KIND and g.sort != kind.sort
                      and 0 < len(_values(g)) <= MAX_PAIR_VALUES]
            here_rows = rows[:, ch.length.index] > k
            for name, expr, bits, _ in mine:
                for g in fields:
                    yield from _only_value_with(rows, name, expr, bits, g, prefix, others, here_rows)
                    if len(set(rows[bits, g.index].tolist())) < 2:
                        continue  # the field does not divide this kind's messages
                    for gc in _values(g):
                        refined = bits & (rows[:, g.index] == gc)
                        if not refined.any():
                            continue
                        for other, other_expr, other_bits, _ in others:
                            if (bits & other_bits).any() and not (refined & other_bits).any():
                                yield (f"exclusive:{name},{_literal_name(g, gc, prefix)},{other}",
                                       ~(expr & _is(g, gc) & other_expr))


def _only_value_with(rows: Rows, name: str, expr: Expr, bits: Bits, g: Var, prefix: str,
                     others: list[tuple[str, Expr, Bits, str]], here: Bits) -> Iterator[tuple[str, Expr]]:
    """``exclusive`` with the complement of one value: ``¬(kind = K ∧ g ≠ c ∧ S)`` where the
    messages of kind K seen with S all have g = c, not g's initial value (which a message that
    does not use the field carries), and g takes other values in this slot (a
    report seen alongside the device's held image only with outcome success, where no failure
    report of that kind is in the sample at all: the failure values it excludes need not be).
    Where K and S are never seen together, one such exclusion per value K's messages take backs
    up the plain exclusion the sample suggests, in case it is false (the walks missed a success
    report beside S): Houdini then keeps the one-value ones that hold."""
    if len(set(rows[here, g.index].tolist())) < 2 or set(_values(g)) <= set(rows[bits, g.index].tolist()):
        return  # the field never varies in this slot, or every value of it is seen in K's messages
    seen_in_k = sorted(set(rows[bits, g.index].tolist()))
    for other, other_expr, other_bits, _ in others:
        together = sorted(set(rows[bits & other_bits, g.index].tolist()))
        # never seen together: the plain exclusion is mined, and each value K's messages take
        # gives a weaker back-up in case a message of kind K with that value may overlap S
        values = seen_in_k if not together else together if len(together) == 1 else []
        for c in values:
            if c != g.init:
                yield (f"exclusive:{name},{g.name[len(prefix):]}!={g.sort.decode(c)},{other}",
                       ~(expr & (g != g.sort.decode(c)) & other_expr))


MAX_WITNESSES = 12  # a ``witness`` clause names at most this many stages


def witnesses(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``witness``: a state variable is off its initial value only while one of its witnesses
    holds, a witness being a stage seen only in states where it is off: a message of a kind in
    flight (refined by one more field where the kind alone is not such a witness: a success
    report, where a failure report is sent after the value went back), or a flag of any party
    ('the hub keeps the image only while the OTA exchange is under way'; 'a device holds an
    image only between its successful Upgrade End and the response, or while an activation
    is scheduled'). Made only if the witnesses cover every sampled state where it is off."""
    rows = found.states
    state, _ = _state_vars(system)
    slots = {f"{ch.name}[{k}]": slot for ch in channels(system) for k, slot in enumerate(ch.slots)}
    kinds = _kind_stages(system, found)
    flags = [(f"{v.name}={v.sort.decode(1 - v.init)}", _is(v, 1 - v.init), rows[:, v.index] != v.init, v.index)
             for v in state if isinstance(v.sort, BoolSort)]
    for x in state:
        if not isinstance(x.sort, (BoolSort, EnumSort)):
            continue
        off = rows[:, x.index] != x.init
        if not off.any() or off.all():
            continue
        chosen: list[tuple[str, Expr, Bits]] = []
        for name, expr, bits, here in kinds:
            if not (bits & off).any():
                continue
            if not (bits & ~off).any():
                chosen.append((name, expr, bits))
                continue
            chosen += _refined_witnesses(rows, name, expr, bits, slots[here], f"{here}.", off)
        flagged = [(name, expr, bits) for name, expr, bits, i in flags
                   if i != x.index and (bits & off).any() and not (bits & ~off).any() and not (bits == off).all()]
        for group in (chosen, chosen + flagged) if flagged else (chosen,):
            covered = np.zeros(len(rows), dtype=np.bool_)
            for _, _, bits in group:
                covered |= bits
            if group and len(group) <= MAX_WITNESSES and covered[off].all():
                yield (f"witness:{x.name}!={x.sort.decode(x.init)}->" + "|".join(name for name, _, _ in group),
                       implies(x != x.sort.decode(x.init), any_of(expr for _, expr, _ in group)))


def _refined_witnesses(rows: Rows, name: str, expr: Expr, bits: Bits, slot: dict[str, Var], prefix: str,
                       off: Bits) -> list[tuple[str, Expr, Bits]]:
    """A kind of message seen both where a variable is off its initial value and where it is
    not, split by the values of the first field (by name) whose values that are seen only where it
    is off cover every such message; none if no field does."""
    for gname, g in sorted(slot.items()):
        if gname == KIND or not 0 < len(_values(g)) <= MAX_PAIR_VALUES:
            continue
        found = []
        for gc in _values(g):
            part = bits & (rows[:, g.index] == gc)
            if (part & off).any() and not (part & ~off).any():
                found.append((f"{name},{_literal_name(g, gc, prefix)}", expr & _is(g, gc), part))
        reached = np.zeros(len(rows), dtype=np.bool_)
        for _, _, part in found:
            reached |= part
        if found and reached[bits & off].all():
            return found
    return []


def guarded_state_equalities(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``guarded`` over state variables: ``g → x == y`` for two state variables of one enum sort
    that agree in some sampled states and not in others, where g is ``x ≠ its initial value``
    (or the same of y) or ``v = c`` for a variable v of x's or y's owner of another sort (a value
    of x's sort would tie the pair to one value, a coincidence of the sample), and every sampled
    state with g has x == y."""
    rows = found.states
    state, _ = _state_vars(system)
    enums = [v for v in state if isinstance(v.sort, EnumSort)]
    premises = [v for v in state if 0 < len(_values(v)) <= MAX_PAIR_VALUES]
    for i, x in enumerate(enums):
        for y in enums[i + 1:]:
            if x.sort != y.sort:
                continue
            eq = rows[:, x.index] == rows[:, y.index]
            if eq.all() or not eq.any():
                continue
            for z in (x, y):
                off = rows[:, z.index] != z.init
                if off.any() and eq[off].all():
                    yield (f"guarded:{z.name}!={z.sort.decode(z.init)}->{x.name}=={y.name}",
                           implies(z != z.sort.decode(z.init), x == y))
            for v in premises:
                if v.sort == x.sort or v.owner not in (x.owner, y.owner):  # one of the pair's values: a coincidence
                    continue
                for c in _values(v):
                    sel = rows[:, v.index] == c
                    if sel.any() and eq[sel].all():
                        yield f"guarded:{_literal_name(v, c)}->{x.name}=={y.name}", implies(_is(v, c), x == y)


def _held_slots(system: System, rows: npt.NDArray[np.int64]
                ) -> Iterator[tuple[str, Expr, Var, dict[str, Var], npt.NDArray[np.bool_]]]:
    """Each channel slot with a kind field that holds a message in some sampled state: its name
    prefix, "a message is in the slot", the kind field, the slot's fields, and the sampled
    states that have a message there."""
    for ch in channels(system):
        for k, slot in enumerate(ch.slots):
            kind = slot.get(KIND)
            here = rows[:, ch.length.index] > k
            if kind is not None and here.any():
                yield f"{ch.name}[{k}].", ch.length > k, kind, slot, here


def message_carriers(system: System, found: Sample) -> Iterator[Carrier]:
    """Messages that carry a state variable's value: ``slot present ∧ kind = K (∧ g = c) → f == y``
    for a field f of a channel slot and a state variable y of f's sort, where f == y does not
    hold for every message in the slot. The second literal, over another field of the message
    and never one of f's sort (an image named by the guard itself), refines a kind whose
    messages vary in that field (a report's outcome): ``refined`` says which carriers are such
    refinements of a kind that carries y by itself in the sample (where a longer run may show
    the kind does not, and only the refinement does)."""
    rows = found.states
    state, _ = _state_vars(system)
    for prefix, present, kind, slot, here in _held_slots(system, rows):
        for fname, f in sorted(slot.items()):
            if fname == KIND or not isinstance(f.sort, EnumSort):
                continue
            others = [g for gname, g in sorted(slot.items())  # a guard on another kind of field
                      if gname not in (KIND, fname) and g.sort != f.sort and 0 < len(_values(g)) <= MAX_PAIR_VALUES]
            for y in state:
                if y.sort != f.sort:
                    continue
                eq = rows[:, f.index] == rows[:, y.index]
                if eq[here].all():
                    continue  # the ``equal`` family states it for every message
                for kc in _values(kind):
                    sel = here & (rows[:, kind.index] == kc)
                    if not sel.any():
                        continue
                    guard = _literal_name(kind, kc, prefix)
                    whole = bool(eq[sel].all())
                    if whole:
                        yield Carrier(f"{prefix}{guard}->{fname}=={y.name}", f"{guard}->{fname}",
                                      present & _is(kind, kc), sel, f, y)
                    for g in others:
                        if len(set(rows[sel, g.index].tolist())) < 2:
                            continue  # the field does not divide this kind's messages
                        for gc in _values(g):
                            both = sel & (rows[:, g.index] == gc)
                            if both.any() and eq[both].all():
                                label = f"{guard},{_literal_name(g, gc, prefix)}->{fname}"
                                yield Carrier(f"{prefix}{label}=={y.name}", label,
                                              present & _is(kind, kc) & _is(g, gc), both, f, y, whole)


def lags(system: System, found: Sample, carriers: list[Carrier]) -> Iterator[tuple[str, Expr]]:
    """``lags``: ``x == y ∨ ⋁ (a message carrying y's value is in flight)`` for two state variables
    of one enum sort, one candidate per carrier label (the same guard and field in every slot:
    'a CS09 naming y on either hop') and one with every carrier of y seen where x ≠ y; each
    only if its carriers cover every sampled state where x ≠ y. Where x and y never differ in
    the sample (it may not reach the end of a long exchange), one per label seen at all."""
    rows = found.states
    state, _ = _state_vars(system)
    enums = [v for v in state if isinstance(v.sort, EnumSort)]
    by_target: dict[int, dict[str, list[Carrier]]] = {}
    for c in carriers:
        by_target.setdefault(c.target.index, {}).setdefault(c.label, []).append(c)
    for x in enums:
        for y in enums:
            if x is y or x.sort != y.sort or y.index not in by_target:
                continue
            apart = rows[:, x.index] != rows[:, y.index]
            groups = sorted(by_target[y.index].items())
            if apart.any():
                everything = [c for _, group in groups for c in group if (c.holds & apart).any() and not c.refined]
                groups = [g for g in groups if g[1] != everything] + [("", everything)]
            for _, group in groups:
                covered = np.zeros(len(rows), dtype=np.bool_)
                for c in group:
                    covered |= c.holds
                if group and covered.any() and covered[apart].all():
                    yield (f"lags:{x.name}=={y.name}|" + "|".join(c.name for c in group),
                           (x == y) | any_of(all_of((c.guard, c.field == y)) for c in group))


def kind_orders(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``kind-order``: ``slot present ∧ kind = K ∧ x = v → y > z[v]`` (or ``y <= z[v]``) for an
    enum field x and an int field y of a channel slot and an int state variable z[v] of a family
    indexed by x's values, where the form without the kind does not hold in every sampled state
    (``order`` states it then)."""
    rows = found.states
    state, _ = _state_vars(system)
    counters: dict[str, dict[str, Var]] = {}
    for v in state:
        if isinstance(v.sort, IntSort) and v.name.endswith("]") and "[" in v.name:
            head, _, index = v.name[:-1].rpartition("[")
            counters.setdefault(head, {})[index] = v
    for prefix, present, kind, slot, here in _held_slots(system, rows):
        ints = [f for _, f in sorted(slot.items()) if isinstance(f.sort, IntSort)]
        for _, x in sorted(slot.items()):
            if not isinstance(x.sort, EnumSort):
                continue
            for _, by_value in sorted(counters.items()):
                if not set(by_value) <= set(x.sort.values):
                    continue
                for value, z in sorted(by_value.items()):
                    code = x.sort.values.index(value)
                    with_x = here & (rows[:, x.index] == code)
                    for y in ints:
                        ys, zs = rows[:, y.index], rows[:, z.index]
                        if not with_x.any() or (ys[with_x] > zs[with_x]).all() or (ys[with_x] <= zs[with_x]).all():
                            continue  # unseen, or the order family's unguarded form states it
                        for kc in _values(kind):
                            sel = with_x & (rows[:, kind.index] == kc)
                            if not sel.any():
                                continue
                            premise = present & _is(kind, kc) & _is(x, code)
                            name = (f"kind-order:{prefix}{_literal_name(kind, kc, prefix)},"
                                    f"{_literal_name(x, code, prefix)}->{y.name[len(prefix):]}")
                            if (ys[sel] > zs[sel]).all():
                                yield f"{name}>{z.name}", implies(premise, y > z)
                            elif (ys[sel] <= zs[sel]).all():
                                yield f"{name}<={z.name}", implies(premise, y <= z)
