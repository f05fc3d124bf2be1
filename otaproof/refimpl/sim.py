"""Simulated time, the event log, and a deterministic network that injects faults on request.

Nothing sleeps: a :class:`Simulation` keeps one agenda of message deliveries and timers ordered by
(time, sequence number), so the same seed and the same calls always give the same order.
The :class:`Network` carries every DSP <-> CH and CH <-> device message with a fixed latency and
applies the :class:`FaultPlan`: chosen messages are lost, duplicated, delayed or reordered, either
by rule (``plan.lose(kind=..., nth=2)``) or at random from the seed (``plan.chaos(loss=0.1)``).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from otaproof.refimpl.errors import UsageError
from otaproof.refimpl.messages import Message

START_TIME = 1654041600  # 2022-06-01T00:00:00Z: CH firmware with SECMP0007 OTA support, June 2022
LATENCY = 1              # seconds per network hop
MAX_STEPS = 100_000      # a run that needs more agenda steps than this is a bug of the caller


def timestamp(t: int) -> str:
    """Simulated time as an ISO-8601 UTC string."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Event:
    """One entry of the event log: a message, a fault, an alert, a response, a rejection..."""

    seq: int
    time: int
    source: str
    kind: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


class EventLog:
    """Every observable thing that happened, in order: what tests inspect and the demo prints."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, time: int, source: str, kind: str, text: str, **data: Any) -> Event:
        """Append an event and return it."""
        event = Event(len(self.events), time, source, kind, text, MappingProxyType(data))
        self.events.append(event)
        return event

    def of(self, kind: str | None = None, source: str | None = None, **data: Any) -> list[Event]:
        """Events of that kind and source whose data has the given values (None matches all)."""
        return [e for e in self.events
                if (kind is None or e.kind == kind) and (source is None or e.source == source)
                and all(e.data.get(k) == v for k, v in data.items())]


@dataclass(order=True)
class _Entry:
    time: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    is_delivery: bool = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Timer:
    """Handle on a scheduled callback, so that its owner can cancel it."""

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    def cancel(self) -> None:
        self._entry.cancelled = True

    @property
    def pending(self) -> bool:
        """The timer has neither fired nor been cancelled."""
        return not self._entry.cancelled


class Simulation:
    """The simulated clock and its agenda of deliveries and timers."""

    def __init__(self, log: EventLog, start: int = START_TIME) -> None:
        self.now = start
        self.log = log
        self._agenda: list[_Entry] = []
        self._seq = 0
        self._deliveries = 0
        self.idle_hooks: list[Callable[[], bool]] = []

    def call_at(self, time: int, action: Callable[[], None], *, is_delivery: bool = False) -> Timer:
        """Run ``action`` when the clock reaches ``time`` (never in the past)."""
        self._seq += 1
        entry = _Entry(max(time, self.now), self._seq, action, is_delivery)
        heapq.heappush(self._agenda, entry)
        self._deliveries += is_delivery
        return Timer(entry)

    def _step(self) -> None:
        entry = heapq.heappop(self._agenda)
        self._deliveries -= entry.is_delivery
        self.now = max(self.now, entry.time)
        if not entry.cancelled:
            entry.cancelled = True  # fired: no longer pending
            entry.action()

    def fire_now(self, timer: Timer) -> None:
        """Run a pending timer's action now, ahead of its time (a harness that steps the system
        one abstract action at a time decides when a timeout or an execution time comes)."""
        if not timer.pending:
            raise UsageError("the timer has already fired or been cancelled")
        timer.cancel()
        timer._entry.action()

    def settle(self) -> int:
        """Deliver every message in flight (and any timer due meanwhile); return steps taken."""
        steps = 0
        while self._deliveries or any(hook() for hook in self.idle_hooks):
            self._step()
            steps += 1
            if steps > MAX_STEPS:
                raise UsageError(f"settle(): more than {MAX_STEPS} steps; a message loop never ends")
        return steps

    def run_until(self, time: int) -> None:
        """Run everything due up to ``time``, then set the clock to ``time``."""
        if time < self.now:
            raise UsageError(f"cannot run the clock back from {self.now} to {time}")
        steps = 0
        while self._agenda and self._agenda[0].time <= time:
            self._step()
            steps += 1
            if steps > MAX_STEPS:
                raise UsageError(f"run_until(): more than {MAX_STEPS} steps before {timestamp(time)}")
        self.now = time


@dataclass
class FaultRule:
    """Apply ``action`` to matching messages number nth .. nth+count-1 (1-based)."""

    action: str
    kind: str | None = None
    src: str | None = None
    dst: str | None = None
    nth: int = 1
    count: int = 1
    seconds: int = 0
    seen: int = 0

    def applies(self, msg: Message) -> bool:
        """Count ``msg`` if it matches; True if this occurrence is one the rule acts on."""
        for wanted, actual in ((self.kind, msg.kind), (self.src, msg.src), (self.dst, msg.dst)):
            if wanted is not None and wanted != actual:
                return False
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.count


class FaultPlan:
    """The faults a test asks for: exact rules first, then seeded random chaos."""

    def __init__(self, seed: int) -> None:
        self.rules: list[FaultRule] = []
        self.rates = {"lose": 0.0, "duplicate": 0.0, "reorder": 0.0, "delay": 0.0}
        self.max_delay = 60
        self._rng = random.Random(seed)

    def _add(self, action: str, kind: str | None, src: str | None, dst: str | None, nth: int, count: int,
             seconds: int = 0) -> FaultRule:
        if nth < 1 or count < 1 or seconds < 0:
            raise UsageError("fault rules need nth >= 1, count >= 1 and seconds >= 0")
        rule = FaultRule(action, kind, src, dst, nth, count, seconds)
        self.rules.append(rule)
        return rule

    def lose(self, kind: str | None = None, *, src: str | None = None, dst: str | None = None,
             nth: int = 1, count: int = 1) -> FaultRule:
        """Lose the nth matching message (and the next count-1)."""
        return self._add("lose", kind, src, dst, nth, count)

    def duplicate(self, kind: str | None = None, *, src: str | None = None, dst: str | None = None,
                  nth: int = 1, count: int = 1) -> FaultRule:
        """Deliver the nth matching message twice."""
        return self._add("duplicate", kind, src, dst, nth, count)

    def delay(self, kind: str | None = None, *, seconds: int, src: str | None = None, dst: str | None = None,
              nth: int = 1, count: int = 1) -> FaultRule:
        """Deliver the nth matching message ``seconds`` late."""
        return self._add("delay", kind, src, dst, nth, count, seconds)

    def reorder(self, kind: str | None = None, *, src: str | None = None, dst: str | None = None,
                nth: int = 1, count: int = 1) -> FaultRule:
        """Hold the nth matching message until the next message on its link has overtaken it."""
        return self._add("reorder", kind, src, dst, nth, count)

    def chaos(self, *, loss: float = 0.0, duplication: float = 0.0, reordering: float = 0.0,
              delay: float = 0.0, max_delay: int = 60) -> None:
        """Random faults with these per-message probabilities, drawn from the seed."""
        for rate in (loss, duplication, reordering, delay):
            if not 0.0 <= rate <= 1.0:
                raise UsageError("chaos rates are probabilities in 0..1")
        self.rates = {"lose": loss, "duplicate": duplication, "reorder": reordering, "delay": delay}
        self.max_delay = max_delay

    def faults_for(self, msg: Message) -> list[tuple[str, int]]:
        """The (action, delay seconds) pairs to apply to ``msg``, rules first."""
        out = [(r.action, r.seconds) for r in self.rules if r.applies(msg)]
        for action, rate in self.rates.items():
            if rate and self._rng.random() < rate:
                out.append((action, self._rng.randint(1, self.max_delay) if action == "delay" else 0))
        return out


class Network:
    """Carries messages between named endpoints through the fault plan, logging each event."""

    def __init__(self, sim: Simulation, seed: int) -> None:
        self.sim = sim
        self.faults = FaultPlan(seed)
        self.sent: list[Message] = []
        self._handlers: dict[str, Callable[[Message], None]] = {}
        self._held: dict[tuple[str, str], list[Message]] = {}
        self._take_over: Callable[[Message], None] | None = None
        sim.idle_hooks.append(self._release_held)

    def take_over_delivery(self, enqueue: Callable[[Message], None]) -> None:
        """From now on hand every message put on the network to ``enqueue`` instead of scheduling
        it; the harness that took over delivers each one with :meth:`deliver` when it chooses."""
        self._take_over = enqueue

    def deliver(self, msg: Message) -> None:
        """Deliver ``msg`` to its endpoint now (logged like any delivery)."""
        self._deliver(msg)

    def attach(self, name: str, handler: Callable[[Message], None]) -> None:
        """Register the endpoint ``name``; messages to it are passed to ``handler``."""
        if name in self._handlers:
            raise UsageError(f"endpoint {name!r} is attached twice")
        self._handlers[name] = handler

    def send(self, msg: Message) -> None:
        """Put ``msg`` on the network; it arrives LATENCY seconds later unless a fault intervenes."""
        self.sent.append(msg)
        faults = dict(self.faults.faults_for(msg))
        log = self.sim.log
        if "lose" in faults:
            log.record(self.sim.now, "network", "fault", f"LOST {msg.kind} {msg.src} -> {msg.dst}",
                       fault="lose", message=msg.kind)
            return
        link = (msg.src, msg.dst)
        if "reorder" in faults:
            log.record(self.sim.now, "network", "fault", f"HELD BACK {msg.kind} {msg.src} -> {msg.dst}",
                       fault="reorder", message=msg.kind)
            self._held.setdefault(link, []).append(msg)
            return
        delay = faults.get("delay", 0)
        if delay:
            log.record(self.sim.now, "network", "fault", f"DELAYED {delay}s {msg.kind} {msg.src} -> {msg.dst}",
                       fault="delay", message=msg.kind)
        self._schedule(msg, delay)
        if "duplicate" in faults:
            log.record(self.sim.now, "network", "fault", f"DUPLICATED {msg.kind} {msg.src} -> {msg.dst}",
                       fault="duplicate", message=msg.kind)
            self._schedule(msg, delay)
        for held in self._held.pop(link, []):
            self._schedule(held, delay)

    def inject(self, msg: Message) -> None:
        """An attacker on the HAN (or a test) puts ``msg`` on the network as if ``msg.src`` sent it."""
        self.sim.log.record(self.sim.now, "attacker", "injected", f"INJECTED {msg.kind} {msg.src} -> {msg.dst}",
                            message=msg.kind)
        self._schedule(msg, 0)

    def captured(self, kind: str, dst: str | None = None) -> list[Message]:
        """Messages of ``kind`` seen on the network so far (what an eavesdropper can replay)."""
        return [m for m in self.sent if m.kind == kind and (dst is None or m.dst == dst)]

    def _schedule(self, msg: Message, delay: int) -> None:
        if self._take_over is not None:
            self._take_over(msg)
            return
        self.sim.call_at(self.sim.now + LATENCY + delay, lambda: self._deliver(msg), is_delivery=True)

    def _deliver(self, msg: Message) -> None:
        self.sim.log.record(self.sim.now, msg.src, "message", f"{msg.src} -> {msg.dst}  {msg.kind}",
                            message=msg.kind, dst=msg.dst, device=msg.device, summary=msg.summary())
        handler = self._handlers.get(msg.dst)
        if handler is None:
            self.sim.log.record(self.sim.now, "network", "undeliverable", f"no endpoint {msg.dst!r}")
            return
        handler(msg)

    def _release_held(self) -> bool:
        """When nothing else is in flight, held-back messages are finally delivered."""
        if not self._held:
            return False
        held, self._held = self._held, {}
        for messages in held.values():
            for msg in messages:
                self._schedule(msg, 0)
        return True
