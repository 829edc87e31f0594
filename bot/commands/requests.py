"""What a member asks of Peerset with `/peer`, as typed requests: every surface (Slack's slash
text and forms, Discord's typed options, the command line) builds these, and the desk takes only
these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from bot.engine.effects import Choice
from bot.engine.events import Command
from bot.schedule import When


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Protocols:
    pass


@dataclass(frozen=True, slots=True)
class Status:
    pass


@dataclass(frozen=True, slots=True)
class Start:
    protocol: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetCreate:
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetAdd:
    member: str


@dataclass(frozen=True, slots=True)
class SetRemove:
    member: str


@dataclass(frozen=True, slots=True)
class Control:
    command: Command
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleAdd:
    """`starting`: the first day a meeting may fall on (None: today, known only to the desk)."""

    when: When
    starting: date | None = None
    rsvp_hours: int | None = None
    reminder_hours: int | None = None
    check_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleList:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleCancel:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleSkip:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleMove:
    day: date
    at: time


@dataclass(frozen=True, slots=True)
class Attendance:
    pass


@dataclass(frozen=True, slots=True)
class Bid:
    pass


@dataclass(frozen=True, slots=True)
class Actions:
    pass


@dataclass(frozen=True, slots=True)
class ActionEdit:
    item: int
    text: str


@dataclass(frozen=True, slots=True)
class CheckIn:
    item: int
    choice: Choice
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """A request that could not be read; the message says what was wrong and what is right."""

    message: str


Request = (
    Help
    | Protocols
    | Status
    | Start
    | SetCreate
    | SetAdd
    | SetRemove
    | Control
    | ScheduleAdd
    | ScheduleList
    | ScheduleCancel
    | ScheduleSkip
    | ScheduleMove
    | Attendance
    | Bid
    | Actions
    | ActionEdit
    | CheckIn
)
