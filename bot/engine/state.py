"""A session's state: everything the engine needs to take the next step, and nothing else.

The state is a plain value. `step` never changes the state it is given; it returns a new one. It
round-trips through JSON (`to_dict` / `from_dict`) so the service can keep it in the database and a
restart resumes exactly where the session was.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

from bot.protocol.model import Phase, Protocol


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


# Where a session's status may move next; the engine changes it only through `move`.
STATUS_MOVES: Mapping[Status, frozenset[Status]] = {
    Status.RUNNING: frozenset({Status.PAUSED, Status.ENDED}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.ENDED}),
    Status.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """One phase as run: a protocol phase and, in a round, the presenter it serves."""

    phase: Phase
    presenter: str | None
    block: str


def plan(protocol: Protocol, presenters: tuple[str, ...]) -> tuple[Slot, ...]:
    """The phases in the order they run: opening, one round per presenter, closing."""
    slots = [Slot(p, None, "opening") for p in protocol.opening]
    for presenter in presenters:
        slots.extend(Slot(p, presenter, "round") for p in protocol.round)
    slots.extend(Slot(p, None, "closing") for p in protocol.closing)
    return tuple(slots)


@dataclass(slots=True)
class Balance:
    """Speaking balance of one member: counts only, never what they said."""

    turns: int = 0
    words: int = 0
    seconds: float = 0.0


class _Memo:
    """What a state keeps beside its fields: never compared, shown or stored."""

    __slots__ = ("_draft", "_plan")
    _draft: bool
    _plan: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class SessionState(_Memo):
    protocol: Protocol
    members: tuple[str, ...]
    presenters: tuple[str, ...]
    facilitator: str | None
    status: Status
    index: int
    started_at: datetime
    clock: datetime
    phase_started: datetime
    phase_deadline: datetime | None = None
    phase_warned: bool = False
    turn: str | None = None
    turn_started: datetime | None = None
    turn_deadline: datetime | None = None
    turn_warned: bool = False
    queue: tuple[str, ...] = ()
    had_turn: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()
    agreed: tuple[str, ...] = ()
    notes_told: bool = False
    paused_at: datetime | None = None
    # Text the presenter wrote while listening in silence: in transit until handed back.
    notes: tuple[str, ...] = ()
    actions: tuple[tuple[str, str], ...] = ()
    balance: dict[str, Balance] = field(default_factory=dict)
    # Members who did something themselves (wrote, pressed, agreed): attendance, not content.
    took_part: tuple[str, ...] = ()

    @property
    def slots(self) -> tuple[Slot, ...]:
        # Worked out once per value: phase, presenter and slot are read many times in a step.
        try:
            return self._plan
        except AttributeError:
            slots = plan(self.protocol, self.presenters)
            object.__setattr__(self, "_plan", slots)
            return slots

    @property
    def slot(self) -> Slot:
        return self.slots[self.index]

    @property
    def phase(self) -> Phase:
        return self.slot.phase

    @property
    def presenter(self) -> str | None:
        return self.slot.presenter

    @property
    def peers(self) -> tuple[str, ...]:
        """Members present who are not presenting, in turn order starting after the presenter."""
        presenter = self.presenter
        if presenter is None or presenter not in self.members:
            return self.members
        at = self.members.index(presenter)
        return self.members[at + 1 :] + self.members[:at]

    @property
    def ended(self) -> bool:
        return self.status is Status.ENDED

    def warn_times(self) -> tuple[datetime | None, datetime | None]:
        """When the phase and the turn warnings fall due, if they are still to come."""
        phase_warn = turn_warn = None
        warnings = self.protocol.warnings
        if self.phase_deadline is not None and not self.phase_warned:
            phase_warn = self.phase_deadline - timedelta(seconds=warnings.phase_seconds)
            if phase_warn <= self.phase_started:
                phase_warn = None
        if self.turn_deadline is not None and not self.turn_warned and self.turn_started:
            turn_warn = self.turn_deadline - timedelta(seconds=warnings.turn_seconds)
            if turn_warn <= self.turn_started:
                turn_warn = None
        return phase_warn, turn_warn

    @property
    def wake_at(self) -> datetime | None:
        """The next moment a Tick would change something; None while paused or ended."""
        if self.status is not Status.RUNNING:
            return None
        times = [t for t in (self.phase_deadline, self.turn_deadline, *self.warn_times()) if t]
        return min(times) if times else None

    def evolve(self, **changes: Any) -> SessionState:
        """A new state with `changes`; this one stays as it is."""
        return self._copy().draft(**changes).seal()

    def draft(self, **changes: Any) -> SessionState:
        """This state with `changes`, as a step's working copy.

        The first call in a step copies the state the step was given, which never changes; later
        calls change that copy in place, so a step copies the state once however many fields it
        changes. `seal` ends the copy's working life before anyone else sees it.
        """
        new = self if getattr(self, "_draft", False) else self._copy()
        for name, value in changes.items():
            object.__setattr__(new, name, value)
        if "protocol" in changes or "presenters" in changes:
            with suppress(AttributeError):
                object.__delattr__(new, "_plan")  # planned again when next read
        return new

    def seal(self) -> SessionState:
        """This state, no longer anyone's working copy: `draft` copies it before changing it."""
        object.__setattr__(self, "_draft", False)
        return self

    def _copy(self) -> SessionState:
        """A working copy with the same plan, made from the fields in order: about twice as fast
        as `replace`, which gathers and checks them by name."""
        new = SessionState(*_field_values(self))
        object.__setattr__(new, "_draft", True)
        if hasattr(self, "_plan"):
            object.__setattr__(new, "_plan", self._plan)
        return new

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "protocol":
                value = self.protocol.model_dump(mode="json")
            elif f.name == "balance":
                value = {m: [b.turns, b.words, b.seconds] for m, b in self.balance.items()}
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            elif isinstance(value, StrEnum):
                value = value.value
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "protocol":
                value = Protocol.model_validate(value)
            elif f.name == "balance":
                value = {m: Balance(int(t), int(w), float(s)) for m, (t, w, s) in value.items()}
            elif f.name == "status":
                value = Status(value)
            elif f.name == "actions":
                value = tuple((m, t) for m, t in value)
            elif isinstance(value, list):
                value = tuple(value)
            elif isinstance(value, str) and f.type in ("datetime", "datetime | None"):
                value = datetime.fromisoformat(value)
            values[f.name] = value
        return cls(**values)


_field_values = attrgetter(*(f.name for f in fields(SessionState)))
