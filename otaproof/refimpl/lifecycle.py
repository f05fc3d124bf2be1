"""Base class for components whose lifecycle is a declarative ``transitions`` state machine.

``auto_transitions=False`` so no ``to_<state>()`` shortcut can bypass a guard; a trigger that is
not valid in the current state raises ``transitions.MachineError`` (a caller bug, not a rejection).
"""

from __future__ import annotations

from typing import ClassVar

from transitions import Machine


class Lifecycle:
    """A component with ``STATES`` and a ``TRANSITIONS`` table of (trigger, sources, dest)."""

    STATES: ClassVar[tuple[str, ...]]
    TRANSITIONS: ClassVar[tuple[tuple[str, str | tuple[str, ...], str], ...]]
    state: str

    def __init__(self) -> None:
        table = [{"trigger": t, "source": list(s) if isinstance(s, tuple) else s, "dest": d}
                 for t, s, d in self.TRANSITIONS]
        self.machine = Machine(model=self, states=list(self.STATES), transitions=table,
                               initial=self.STATES[0], auto_transitions=False)

    def fire(self, trigger: str) -> None:
        """Take the transition ``trigger``; MachineError if it is not valid in this state."""
        self.trigger(trigger)  # type: ignore[attr-defined]

    def can(self, trigger: str) -> bool:
        """True if ``trigger`` is valid in the current state (used to ignore stray messages)."""
        return trigger in self.machine.get_triggers(self.state)
