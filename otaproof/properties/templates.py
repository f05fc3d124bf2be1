"""Lemma candidates generated from a grounded system's structure, for any design.

Nothing here names the SECMP0007 model: the candidates are read off the system's variables,
their sorts and ghost flags, and its channels (a length and slots of message fields), and are
kept only if they hold in every state of a sample of reachable states (``sample``: a
breadth-first prefix of the state graph plus random walks, the whole graph when it is small).
Houdini then keeps the inductive ones and the certificate checker re-checks every proof, so a
wrong candidate costs time, never soundness.

Candidates are clauses over *atoms*, one-state facts: a variable holds a value, a channel slot
holds a message with a field of some value, a variable has left its initial value, two
variables of one sort agree (a ghost and the real value it shadows), a message field agrees with
a variable. ``FAMILIES`` names the clause shapes; a candidate's name starts with its family.
The relational families (equalities and orders between two variables under one guard) are
mined in ``templates_relational.py``.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from otaproof.model.compiled import CompiledSystem, CState
from otaproof.model.invariants import Lemma
from otaproof.model.lang import BoolSort, EnumSort, Expr, IntSort, ModelError, Var, any_of, implies
from otaproof.model.system import System
from otaproof.model.variants import BuiltModel, uses_design_lemmas
from otaproof.model.vectorised import evaluate
from otaproof.properties.template_atoms import (
    MAX_PAIR_VALUES,
    Sample,
    _codes,
    _is,
    _values,
    channels,
)
from otaproof.properties.templates_relational import relational

FAMILIES: dict[str, str] = {
    "never": "an atom that never holds: a value a variable, or a message field in a slot, never takes",
    "blank": "a channel slot past the channel's length holds no message data",
    "equal": "two variables of one sort (a ghost and the value it shadows, say) always agree, or a field of a "
             "message in flight always agrees with another field or a variable",
    "exclusive": "two facts about different variables never hold together (one stage of an exchange at a time)",
    "implies": "a fact implies another about other variables (a message in flight and the state it reflects)",
    "support": "a fact holds only while one of the messages seen with it is in flight",
    "pair": "two values, each taken, never taken together: two fields of one message in flight (a kind and "
            "an outcome, an image and its validation ghost), or two variables of one owner (a ghost and a real value)",
    "indexed": "a variable or message field holding a value implies a flag indexed by that value ("
               "'the image held was listed once': held = v -> ever_listed[v])",
    "order": "one counter never exceeds another (a counter accepted and the counter issued), or a counter in "
             "flight is above or at most a variable (a fresh command, a counter issued), maybe only while a "
             "variable or field holds the value that indexes the counter (x = v -> y <= z[v])",
    # the relational families (templates_relational.py)
    "guarded": "two variables of one sort agree whenever one literal holds: a value of a third variable of "
               "their owners ('no update in progress -> the record shows the running version'), the first "
               "one off its initial value (a ghost follows its real copy once set), or a message's kind "
               "(and one more field) for a field of a message in flight ('a success report names the "
               "running image')",
    "lags": "two variables of one sort agree, or a message of a kind that always carries the second one's value "
            "is in flight (a record lags its original only while the report is on its way)",
    "witness": "a variable is off its initial value only while one of the stages seen only then holds: a "
               "message of a kind (maybe with one field's value) in flight, or a flag ('the hub keeps the "
               "image only while the OTA exchange is under way')",
    "kind-order": "a counter in flight is above, or at most, a counter indexed by another field of the message, "
                  "for messages of one kind (a fresh command from supplier s: counter > accepted[s])",
}
SAMPLE_STATES = 5000  # breadth-first states sampled before the random walks
WALKS, WALK_LENGTH = 50, 200  # random walks from the initial state, for states deeper than the prefix
SCREEN_STATES, SCREEN_WALKS, SCREEN_LENGTH = 1000, 5, 100  # the smaller sample hand-written candidates are screened on
MAX_SUPPORT = 12  # a support clause names at most this many messages
Bits = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Atom:
    """A one-state fact: its name, its expression, how to evaluate it on a matrix of sampled
    states (one row per state, one column per variable), the variables it reads and whether it
    is about a message in flight."""

    name: str
    expr: Expr
    values: Callable[[npt.NDArray[np.int64]], Bits]
    reads: frozenset[int]
    message: bool = False
    stage: bool = False  # a stage of an exchange: a message (of a kind) in flight, a variable off its initial value
    slot: str = ""  # a message atom: the name of its slot's presence atom


Rows = npt.NDArray[np.int64]
Evaluator = Callable[[Rows], Bits]


def _has(i: int, code: int) -> Evaluator:
    return lambda rows: rows[:, i] == code


def _off(i: int, code: int) -> Evaluator:
    return lambda rows: rows[:, i] != code


def _agree(i: int, j: int) -> Evaluator:
    return lambda rows: rows[:, i] == rows[:, j]


def _present(n: int, k: int) -> Evaluator:
    return lambda rows: rows[:, n] > k


def _in_slot(n: int, k: int, inner: Evaluator) -> Evaluator:
    return lambda rows: (rows[:, n] > k) & inner(rows)


def atoms(system: System) -> list[Atom]:
    """Every atom of the system (see the module docstring), in a fixed order."""
    out: list[Atom] = []
    shapes = channels(system)
    in_channel = {v.index for ch in shapes for slot in ch.slots for v in slot.values()} | \
        {ch.length.index for ch in shapes}
    state = [v for v in system.variables if v.index not in in_channel]
    for v in state:
        i = v.index
        for c in _values(v):
            out.append(Atom(f"{v.name}={v.sort.decode(c)}", _is(v, c), _has(i, c),
                            frozenset({i}), stage=len(_values(v)) == 2 and c != v.init))
        if len(_values(v)) > 2:
            out.append(Atom(f"{v.name}!={v.sort.decode(v.init)}", v != v.sort.decode(v.init),
                            _off(i, v.init), frozenset({i}), stage=True))
    for x_pos, x in enumerate(state):
        for y in state[x_pos + 1:]:
            if x.sort == y.sort and isinstance(x.sort, EnumSort):
                out.append(Atom(f"{x.name}=={y.name}", x == y, _agree(x.index, y.index),
                                frozenset({x.index, y.index})))
    for ch in shapes:
        n = ch.length.index
        for k, slot in enumerate(ch.slots):
            here = f"{ch.name}[{k}]"
            out.append(Atom(f"{here}-present", ch.length > k, _present(n, k),
                            frozenset({n}), True, True))
            for fname, f in slot.items():
                for c in _values(f):
                    out.append(Atom(f"{here}.{fname}={f.sort.decode(c)}", (ch.length > k) & _is(f, c),
                                    _in_slot(n, k, _has(f.index, c)),
                                    frozenset({n, f.index}), True, fname == "kind"))
                for y in state:
                    if y.sort == f.sort and isinstance(f.sort, EnumSort):
                        out.append(Atom(f"{here}.{fname}=={y.name}", (ch.length > k) & (f == y),
                                        _in_slot(n, k, _agree(f.index, y.index)),
                                        frozenset({n, f.index, y.index}), True, slot=f"{here}-present"))
                for gname, g in slot.items():
                    if gname > fname and g.sort == f.sort and isinstance(f.sort, EnumSort):
                        out.append(Atom(f"{here}.{fname}=={gname}", (ch.length > k) & (f == g),
                                        _in_slot(n, k, _agree(f.index, g.index)),
                                        frozenset({n, f.index, g.index}), True, slot=f"{here}-present"))
    return out


def blank_slots(system: System) -> list[tuple[str, Expr]]:
    """The ``blank`` family: a slot past the channel's length holds its fields' initial values
    (structural: a receive shifts initial values in), one candidate per slot field."""
    out = []
    for ch in channels(system):
        for k, slot in enumerate(ch.slots):
            for fname, f in slot.items():
                out.append((f"blank:{ch.name}[{k}].{fname}", implies(ch.length <= k, _is(f, f.init))))
    return out


# ---- sampling reachable states ---------------------------------------------------------------


def sample(system: System, max_states: int, walks: int, walk_length: int, seed: int) -> Sample:
    """Breadth-first search up to ``max_states`` states (the whole reachable set if it is
    smaller), then random walks for deeper states (the ends of long exchanges):

    * ``walks`` uniformly random ones and as many novelty-directed ones from the initial state
      (each step, where it can, to a state with a variable value no sampled state has; ties
      broken at random);
    * ``2 * walks`` novelty-directed ones from where an earlier walk first showed a new value
      (Go-Explore's archive, Ecoffet et al. 2021), each leaving out a random half of the
      environment's, attacker's and faults' actions (swarm testing, Groce et al. 2012), so that
      exchanges that begin only after another has ended (a future-dated activation after a
      transfer) are reached whatever the seed (docs/lemmas.md);
    * ``walks`` *quiet* ones from the archive, novelty counted also in (message kind, field
      value) pairs of a channel slot, half with every such action left out (only the design's
      own steps, while it has one), half with every fault and attack and a random half of the
      environment's actions left out, so that an exchange under way runs to the report it ends
      with and a supplier's next command still comes (a successful CS06 response, a
      future-dated activation, under message loss)."""
    compiled = CompiledSystem(system)  # the interpreter's successors, in the same order, faster
    init = compiled.initial_state()
    seen, complete = compiled.breadth_first(max_states, in_instance_order=True)
    if not complete:
        rng = random.Random(seed)
        width = len(system.variables)
        top = 1 + max((max(_codes(v)) for v in system.variables), default=0)
        cols = np.arange(width)
        taken = np.zeros((width, top), dtype=np.bool_)  # (variable, value) pairs some sampled state has
        kinds, fields = _message_pairs(system)
        pairs = np.arange(len(kinds))
        told = np.zeros((len(kinds), top, top), dtype=np.bool_)  # (slot field, kind, value) triples seen
        rows = _rows(compiled, list(seen))
        taken[cols, rows] = True
        told[pairs[None, :], rows[:, kinds], rows[:, fields]] = True
        archive = [init]  # states that were the first to show some value, in the order found
        noise = [inst.index for inst in system.instances if inst.role != "system"]
        disturbing = {inst.index for inst in system.instances if inst.role in ("fault", "attacker")}
        for walk in range(5 * walks):
            from_archive, quiet = walk >= 2 * walks, walk >= 4 * walks
            s = rng.choice(archive) if from_archive else init
            if quiet:  # every action the design does not take itself, or faults, attacks and half the environment
                left_out = set(noise) if walk % 2 else {i for i in noise if i in disturbing or rng.random() < 0.5}
            else:
                left_out = {i for i in noise if rng.random() < 0.5} if from_archive else set()
            for _ in range(walk_length):
                try:
                    nxt = compiled.successors(s)
                except ModelError:
                    break
                nxt = [(i, t) for i, t in nxt if i not in left_out] or nxt
                if not nxt:
                    break
                if from_archive or walk % 2:  # a step to what no sampled state has, where there is one
                    after = _rows(compiled, [t for _, t in nxt])
                    new = (~taken[cols, after]).sum(axis=1)
                    if quiet:
                        new += (~told[pairs[None, :], after[:, kinds], after[:, fields]]).sum(axis=1)
                    most = new.max()
                    nxt = [pair for pair, n in zip(nxt, new, strict=True) if n == most]
                s = rng.choice(nxt)[1]
                if s not in seen:
                    seen[s] = None
                    values = _rows(compiled, [s])[0]
                    fresh = not taken[cols, values].all()
                    if fresh or (quiet and not told[pairs, values[kinds], values[fields]].all()):
                        archive.append(s)
                    taken[cols, values] = True
                    told[pairs, values[kinds], values[fields]] = True
    return Sample(_rows(compiled, list(seen)).astype(np.int64), complete)


def _message_pairs(system: System) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The columns of each channel slot's ``kind`` and of each other field of that slot, pairwise
    (two arrays of equal length): the walks' novelty counts (kind, field value) pairs too."""
    found = [(slot["kind"].index, v.index) for ch in channels(system) for slot in ch.slots if "kind" in slot
             for name, v in slot.items() if name != "kind"]
    return np.array([k for k, _ in found], dtype=np.intp), np.array([f for _, f in found], dtype=np.intp)


def _rows(compiled: CompiledSystem, states: list[CState]) -> npt.NDArray[np.integer]:
    """The states as rows of variable codes (a compact state's bytes are the row as it is)."""
    if compiled.compact:
        joined = b"".join(bytes(s) for s in states)
        return np.frombuffer(joined, dtype=np.uint8).reshape(len(states), len(compiled.system.variables))
    return np.array([compiled.unpack(s) for s in states], dtype=np.int64).reshape(len(states), -1)


# ---- mining clauses ----------------------------------------------------------------------------


def mined(system: System, found: Sample) -> list[tuple[str, Expr]]:
    """The candidates of every family that hold in every sampled state, in a fixed order."""
    every = atoms(system)
    X = np.stack([a.values(found.states) for a in every], axis=1) if every else np.zeros((len(found.states), 0), bool)
    count = X.sum(axis=0)
    total = len(found.states)
    out: list[tuple[str, Expr]] = [c for c in blank_slots(system)]
    live = [k for k, a in enumerate(every) if 0 < count[k]]
    out += [(f"never:{a.name}", ~a.expr) for k, a in enumerate(every) if count[k] == 0]
    out += [(f"equal:{a.name}", a.expr) for k, a in enumerate(every)
            if count[k] == total and "==" in a.name and not a.message]
    position = {a.name: k for k, a in enumerate(every)}
    out += [(f"equal:{a.name}", implies(every[position[a.slot]].expr, a.expr)) for k, a in enumerate(every)
            if a.slot and 0 < count[k] == count[position[a.slot]]]
    varying = [k for k in live if count[k] < total]
    if not varying:
        return out
    V = X[:, varying].astype(np.float32)
    both = V.T @ V  # both[p, q]: sampled states where atoms p and q both hold
    out += list(_pairs(every, varying, count, both))
    out += list(_supports(every, varying, X))
    out += list(orders(system, found))
    out += list(value_pairs(system, found))
    out += list(indexed(system, found))
    out += relational(system, found)
    return out


_INDEX = re.compile(r"^(.*)\[([^\[\]]+)\]$")  # a flag indexed by a value: <name>[<value>]


def indexed(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``indexed``: ``x = v -> f[v]`` (or ``-> not f[v]``) for an enum variable or message
    field x and a family of bool flags f named ``f[<value>]`` for values of x's sort, wherever
    every sampled state with x = v agrees, for every value v that x takes in the sample."""
    rows = found.states
    flags: dict[str, dict[str, Var]] = {}  # family name -> value -> flag
    counters: dict[str, dict[str, Var]] = {}  # the same for int variables
    for v in system.variables:
        m = _INDEX.match(v.name)
        if m and isinstance(v.sort, BoolSort):
            flags.setdefault(m.group(1), {})[m.group(2)] = v
        elif m and isinstance(v.sort, IntSort):
            counters.setdefault(m.group(1), {})[m.group(2)] = v
    shapes = channels(system)
    slot_of = {f.index: (ch, k) for ch in shapes for k, slot in enumerate(ch.slots) for f in slot.values()}
    lengths = {ch.length.index for ch in shapes}
    state_ints = [v for v in system.variables if isinstance(v.sort, IntSort) and v.index not in slot_of
                  and v.index not in lengths]
    for x in system.variables:
        if not isinstance(x.sort, EnumSort) or x.index in lengths:
            continue
        where = slot_of.get(x.index)
        present = where[0].length > where[1] if where else None
        here = rows[:, where[0].length.index] > where[1] if where else np.ones(len(rows), dtype=np.bool_)
        ints = [f for f in where[0].slots[where[1]].values() if isinstance(f.sort, IntSort)] if where \
            else [y for y in state_ints if y.owner == x.owner]
        yield from _indexed_orders(x, present, here, counters, ints, rows)
        for _, by_value in sorted(flags.items()):
            if not set(by_value) <= set(x.sort.values) or not by_value:
                continue
            for value, flag in sorted(by_value.items()):
                code = x.sort.values.index(value)
                with_x = here & (rows[:, x.index] == code)
                if not with_x.any():
                    continue
                taken = set(rows[with_x, flag.index].tolist())
                if len(taken) == 1:
                    premise = _is(x, code) if present is None else present & _is(x, code)
                    truth = taken.pop()
                    yield (f"indexed:{x.name}={value}->{'' if truth else 'not '}{flag.name}",
                           implies(premise, flag if truth else ~flag))


def _indexed_orders(x: Var, present: Expr | None, here: Bits, counters: dict[str, dict[str, Var]],
                    ints: list[Var], rows: npt.NDArray[np.int64]) -> Iterator[tuple[str, Expr]]:
    """``order`` indexed by a value: ``x = v -> y <= z[v]`` (or ``y > z[v]``) for an int family
    z indexed by the values of x's sort and an int y (a field of x's slot, or a state variable of
    x's owner), where y <= z does not hold in every sampled state anyway,
    wherever every sampled state with x = v agrees ("a command from supplier s carries a counter
    that s issued and the device has not accepted yet")."""
    assert isinstance(x.sort, EnumSort)
    for _, by_value in sorted(counters.items()):
        if not by_value or not set(by_value) <= set(x.sort.values):
            continue
        for value, z in sorted(by_value.items()):
            code = x.sort.values.index(value)
            with_x = here & (rows[:, x.index] == code)
            if not with_x.any():
                continue
            premise = _is(x, code) if present is None else present & _is(x, code)
            for y in ints:
                if y is z:
                    continue
                ys, zs = rows[with_x, y.index], rows[with_x, z.index]
                if (rows[:, y.index] <= rows[:, z.index]).all():  # the unconditional order says more
                    continue
                if (ys <= zs).all():
                    yield f"order:{x.name}={value}->{y.name}<={z.name}", implies(premise, y <= z)
                elif (ys > zs).all():
                    yield f"order:{x.name}={value}->{y.name}>{z.name}", implies(premise, y > z)




def value_pairs(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``pair``: ``¬(x = a ∧ y = b)`` where the sample shows x = a and y = b, never both, for two
    fields of one channel slot (while a message is in it) and for two state variables of one
    owner; the clauses an IC3 search would learn one counterexample at a time."""
    rows = found.states
    shapes = channels(system)
    in_channel = {v.index for ch in shapes for slot in ch.slots for v in slot.values()} | \
        {ch.length.index for ch in shapes}
    groups: list[tuple[str, Expr | None, npt.NDArray[np.bool_], list[Var]]] = []
    for ch in shapes:
        for k, slot in enumerate(ch.slots):
            groups.append((f"{ch.name}[{k}].", ch.length > k, rows[:, ch.length.index] > k,
                           [slot[f] for f in sorted(slot)]))
    owners: dict[str, list[Var]] = {}
    for v in system.variables:
        if v.index not in in_channel:
            owners.setdefault(v.owner, []).append(v)
    everywhere = np.ones(len(rows), dtype=np.bool_)
    groups += [("", None, everywhere, vs) for _, vs in sorted(owners.items())]
    for prefix, present, here, vs in groups:
        picked = rows[here]
        small = [v for v in vs if len(_values(v)) <= MAX_PAIR_VALUES] if len(picked) else []
        for i, x in enumerate(small):
            xs = sorted(set(picked[:, x.index].tolist()))
            for y in small[i + 1:]:
                ys = sorted(set(picked[:, y.index].tolist()))
                together = set(zip(picked[:, x.index].tolist(), picked[:, y.index].tolist(), strict=True))
                for a in xs:
                    for b in ys:
                        if (a, b) in together:
                            continue
                        both = _is(x, a) & _is(y, b)
                        yield (f"pair:{prefix}{x.name[len(prefix):]}={x.sort.decode(a)},"
                               f"{y.name[len(prefix):]}={y.sort.decode(b)}",
                               ~(present & both) if present is not None else ~both)


def orders(system: System, found: Sample) -> Iterator[tuple[str, Expr]]:
    """``order``: ``x <= y`` for two int state variables, and ``slot present -> f <= y`` or
    ``f > y`` for an int message field and an int state variable, wherever every sampled state
    agrees (two variables always equal give both orders)."""
    rows = found.states
    shapes = channels(system)
    in_channel = {v.index for ch in shapes for slot in ch.slots for v in slot.values()} | \
        {ch.length.index for ch in shapes}
    ints = [v for v in system.variables if isinstance(v.sort, IntSort) and v.index not in in_channel]
    for x in ints:
        for y in ints:
            if x is not y and (rows[:, x.index] <= rows[:, y.index]).all():
                yield f"order:{x.name}<={y.name}", x <= y
    for ch in shapes:
        n = ch.length.index
        for k, slot in enumerate(ch.slots):
            here = rows[:, n] > k
            if not here.any():
                continue
            for fname, f in slot.items():
                if not isinstance(f.sort, IntSort):
                    continue
                for y in ints:
                    fv, yv = rows[here, f.index], rows[here, y.index]
                    if (fv <= yv).all():
                        yield f"order:{ch.name}[{k}].{fname}<={y.name}", implies(ch.length > k, f <= y)
                    if (fv > yv).all():
                        yield f"order:{ch.name}[{k}].{fname}>{y.name}", implies(ch.length > k, f > y)


def _pairs(every: list[Atom], varying: list[int], count: npt.NDArray[np.int64], both: npt.NDArray[np.float32]
           ) -> Iterator[tuple[str, Expr]]:
    """``implies`` (a → b: a stage never holds without b) and ``exclusive`` (two stages never
    together) for atoms over disjoint variables; an exclusion that an implication already gives (a → y=c
    excludes a with y=d) is left out."""
    atoms_ = [every[k] for k in varying]
    imp = both == count[varying][:, None].astype(np.float32)  # imp[p, q]: atom p implies atom q
    apart = [[not (a.reads & b.reads) for b in atoms_] for a in atoms_]
    fixes: list[set[int]] = []  # per atom: the variables whose value it implies
    for p, a in enumerate(atoms_):
        fixes.append({v for q in np.flatnonzero(imp[p]) if apart[p][q] and len(atoms_[q].reads) == 1
                      for v in atoms_[q].reads})
        for q in np.flatnonzero(imp[p]) if a.stage else ():
            if apart[p][q]:
                yield f"implies:{a.name}->{atoms_[q].name}", implies(a.expr, atoms_[q].expr)
    for p, a in enumerate(atoms_):
        for q in np.flatnonzero(both[p] == 0):
            b = atoms_[q]
            implied = (len(b.reads) == 1 and b.reads <= fixes[p]) or (len(a.reads) == 1 and a.reads <= fixes[q])
            if q <= p or not (a.stage and b.stage) or not apart[p][q] or implied:
                continue
            yield f"exclusive:{a.name},{b.name}", ~(a.expr & b.expr)


def _supports(every: list[Atom], varying: list[int], X: Bits) -> Iterator[tuple[str, Expr]]:
    """``support``: a state atom holds only while one of the message atoms (of one field name,
    or presence) seen with it holds; only where no single message atom already does."""
    messages = [k for k in varying if every[k].message]
    by_field: dict[str, list[int]] = {}
    for k in messages:
        name = every[k].name
        key = "present" if name.endswith("-present") else name.split("].", 1)[1].split("=")[0]
        by_field.setdefault(key, []).append(k)
    for k in varying:
        a = every[k]
        if a.message:
            continue
        with_a = X[X[:, k]]  # the sampled states where the atom holds
        seen_with_a = np.asarray(with_a.any(axis=0), dtype=np.bool_)
        for key, group in by_field.items():
            seen = [j for j in group if seen_with_a[j] and not (every[j].reads & a.reads)]
            if not seen or len(seen) > MAX_SUPPORT:
                continue
            covered = with_a[:, seen]
            if covered.any(axis=1).all() and not covered.all(axis=0).any():
                yield (f"support:{a.name}->{key}:" + "|".join(every[j].name for j in seen),
                       implies(a.expr, any_of(every[j].expr for j in seen)))


def family(name: str) -> str:
    """The family of a candidate by its name (``never:...``); '' for other lemmas."""
    head = name.split(":", 1)[0]
    return head if head in FAMILIES else ""


def template_lemmas(system: System, seed: int) -> tuple[Lemma, ...]:
    """The generated candidates of a system: mined from a fixed-size sample of its reachable
    states (fixed in states, not seconds, so the same inputs give the same candidates)."""
    found = sample(system, SAMPLE_STATES, WALKS, WALK_LENGTH, seed)
    return tuple(Lemma(name, FAMILIES[family(name)], expr) for name, expr in mined(system, found))


def screened(system: System, lemmas: tuple[Lemma, ...], seed: int) -> tuple[Lemma, ...]:
    """The lemmas without the hand-written ones false in some state of a small sample of
    reachable states (generated ones hold on a larger sample already). An inductive set that
    holds initially holds in every reachable state, so Houdini's result is the same with or
    without them; it only asks fewer queries (the approved design under han_mitm: 398 -> 193
    candidates, its lemma search 1.9 -> 1.1 s, docs/lemmas.md)."""
    hand = [k for k, lm in enumerate(lemmas) if not family(lm.name)]
    if not hand:
        return lemmas
    rows = sample(system, SCREEN_STATES, SCREEN_WALKS, SCREEN_LENGTH, seed).states
    refuted = set()
    for k in hand:
        value = evaluate(lemmas[k].expr, rows)
        if value is not None and not value.all():
            refuted.add(k)
    return tuple(lm for k, lm in enumerate(lemmas) if k not in refuted)


def with_templates(built: BuiltModel, seed: int) -> BuiltModel:
    """The built model with the generated candidates joining its lemmas, when it does without the
    design's hand-written candidates (``uses_design_lemmas``); otherwise as is."""
    if uses_design_lemmas(built.scenario, built.variant):
        return built
    return dataclasses.replace(built, lemmas=built.lemmas + template_lemmas(built.system, seed))
