"""The `/peer` command's words, read from the text a member typed after it.

Platform-neutral: Slack and Discord both write a mention as `<@ID>` (Slack may add `|name`), so
one reading serves both. Each wrong input gets a `Problem` saying what was wrong and what is right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.engine.effects import Choice
from bot.engine.events import Agree, Command, Done, Event, FacilitatorCommand, Pass
from bot.engine.session import MAX_EXTEND_MINUTES

_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")

USAGE = """\
/peer help: this list
/peer start [PROTOCOL] [@presenter ...]: start a session (in a set's channel); elsewhere name \
the members: /peer start [PROTOCOL] @member @member ...
/peer set create NAME @member ...: a new set with its own private channel
/peer set add @member, /peer set remove @member: change the set of this channel
/peer next | skip | extend MINUTES | pause | resume | end: move the session on
/peer status: where the session is
/peer protocols: the protocols you can use
/peer schedule add weekly tue 18:30 Europe/London 90 [rsvp 48h] [remind 4h] [checkin 7d]: \
regular meetings (or every 2 weeks thu 09:00 ..., monthly first tue 18:30 ...)
/peer schedule list | cancel | skip-next | move 2026-12-01 19:00: see or change them
/peer bid: you have something to bring to the next meeting
/peer attendance: who said they would come, and who took part
/peer actions, /peer action edit NUMBER new words: your action items
/peer checkin NUMBER done|in-progress|stuck [note]: how an action item is going"""


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
    protocol: str | None
    members: tuple[str, ...]


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
    """`recurrence` is read by `bot.schedule.parse_recurrence` once today's date is known."""

    recurrence: str
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

SCHEDULE_USAGE = (
    "/peer schedule add weekly tue 18:30 Europe/London 90 [rsvp 48h] [remind 4h] [checkin 7d], "
    "/peer schedule list, /peer schedule cancel, /peer schedule skip-next or "
    "/peer schedule move 2026-12-01 19:00"
)
CHECK_IN_WORDS = {"done": Choice.DONE, "in-progress": Choice.IN_PROGRESS, "stuck": Choice.STUCK}
_LEADS = {"rsvp": "h", "remind": "h", "checkin": "d"}


def mention(word: str) -> str | None:
    match = _MENTION.match(word)
    return match.group(1) if match else None


def parse(text: str) -> Request | Problem:
    words = text.split()
    if not words:
        return Help()
    head, rest = words[0].lower(), words[1:]
    if head == "help":
        return Help()
    if head == "protocols":
        return Protocols() if not rest else Problem("/peer protocols takes nothing after it")
    if head == "status":
        return Status() if not rest else Problem("/peer status takes nothing after it")
    if head == "start":
        return _start(rest)
    if head == "set":
        return _set(rest)
    if head == "schedule":
        return _schedule(rest)
    if head in ("attendance", "bid", "actions"):
        if rest:
            return Problem(f"/peer {head} takes nothing after it")
        plain: dict[str, Request] = {"attendance": Attendance(), "bid": Bid(), "actions": Actions()}
        return plain[head]
    if head == "action":
        return _action(rest)
    if head == "checkin":
        return _check_in(rest)
    if head in {c.value for c in Command}:
        return _control(Command(head), rest)
    return Problem(f"I don't know `{words[0]}`. Try one of these:\n{USAGE}")


def _members(words: list[str], usage: str) -> tuple[str, ...] | Problem:
    members = []
    for word in words:
        member = mention(word)
        if member is None:
            return Problem(f"`{word}` is not a member: mention people with @, e.g. {usage}")
        if member not in members:
            members.append(member)
    return tuple(members)


def _start(words: list[str]) -> Start | Problem:
    protocol = None
    if words and mention(words[0]) is None:
        protocol, words = words[0].lower(), words[1:]
    members = _members(words, "/peer start peer-mentoring-round @ana @ben")
    if isinstance(members, Problem):
        return members
    return Start(protocol, members)


def _set(words: list[str]) -> Request | Problem:
    action = words[0].lower() if words else ""
    rest = words[1:]
    if action == "create":
        if all(mention(w) is not None for w in rest):
            return Problem("Name the set: /peer set create NAME @member @member ...")
        if mention(rest[0]) is not None:
            return Problem("Put the set's name first: /peer set create NAME @member @member ...")
        # The name runs up to the first mention; after it, a plain word is a missed mention.
        cut = next((i for i, w in enumerate(rest) if mention(w) is not None), len(rest))
        members = _members(rest[cut:], "/peer set create leaders @ana @ben")
        if isinstance(members, Problem):
            return members
        if not members:
            return Problem("Name the members too: /peer set create NAME @member @member ...")
        return SetCreate(" ".join(rest[:cut]), members)
    if action in ("add", "remove"):
        if len(rest) != 1 or mention(rest[0]) is None:
            return Problem(f"Name one member: /peer set {action} @member")
        member = mention(rest[0])
        assert member is not None
        return SetAdd(member) if action == "add" else SetRemove(member)
    return Problem(
        "Use /peer set create NAME @member ..., /peer set add @member or /peer set remove @member"
    )


def _schedule(words: list[str]) -> Request | Problem:
    action = words[0].lower() if words else ""
    rest = words[1:]
    if action == "add":
        return _schedule_add(rest)
    simple: dict[str, Request] = {
        "list": ScheduleList(),
        "cancel": ScheduleCancel(),
        "skip-next": ScheduleSkip(),
    }
    if action in simple:
        return simple[action] if not rest else Problem(f"/peer schedule {action} takes nothing")
    if action == "move":
        try:
            if len(rest) != 2:
                raise ValueError
            return ScheduleMove(date.fromisoformat(rest[0]), time.fromisoformat(rest[1]))
        except ValueError:
            return Problem(
                "Say the new local day and time, in the schedule's time zone: "
                "/peer schedule move 2026-12-01 19:00"
            )
    return Problem(f"Use {SCHEDULE_USAGE}")


def _schedule_add(words: list[str]) -> ScheduleAdd | Problem:
    leads: dict[str, int] = {}
    # Options come last, as pairs: rsvp 48h, remind 4h, checkin 7d.
    while len(words) >= 2 and words[-2].lower() in _LEADS:
        name, value = words[-2].lower(), words[-1].lower()
        unit = _LEADS[name]
        number = value.removesuffix(unit)
        # The unit is required: "rsvp 48" could mean hours or days.
        if number == value or not number.isdigit() or name in leads:
            example = {"rsvp": "48h", "remind": "4h", "checkin": "7d"}[name]
            units = "hours" if unit == "h" else "days"
            return Problem(f"Give {name} once, in whole {units} and the unit: {name} {example}")
        leads[name] = int(number)
        words = words[:-2]
    if not words:
        return Problem(f"Say when the set meets: {SCHEDULE_USAGE.split(', ')[0]}")
    return ScheduleAdd(
        " ".join(words), leads.get("rsvp"), leads.get("remind"), leads.get("checkin")
    )


def _item_number(word: str, usage: str) -> int | Problem:
    number = word.removeprefix("#")
    if not number.isdigit():
        return Problem(
            f"`{word}` is not an action item's number (/peer actions lists yours): {usage}"
        )
    return int(number)


def _action(words: list[str]) -> ActionEdit | Problem:
    usage = "/peer action edit NUMBER new words"
    if len(words) < 3 or words[0].lower() != "edit":
        return Problem(f"Change one of your action items: {usage}")
    item = _item_number(words[1], usage)
    if isinstance(item, Problem):
        return item
    return ActionEdit(item, " ".join(words[2:]))


def _check_in(words: list[str]) -> CheckIn | Problem:
    usage = "/peer checkin NUMBER done|in-progress|stuck [note]"
    if len(words) < 2:
        return Problem(f"Say which action item and how it is going: {usage}")
    item = _item_number(words[0], usage)
    if isinstance(item, Problem):
        return item
    choice = CHECK_IN_WORDS.get(words[1].lower())
    if choice is None:
        return Problem(f"How is it going: done, in-progress or stuck, not `{words[1]}`: {usage}")
    note = " ".join(words[2:]) or None
    return CheckIn(item, choice, note)


def _control(command: Command, words: list[str]) -> Control | Problem:
    if command is not Command.EXTEND:
        if words:
            return Problem(f"/peer {command.value} takes nothing after it")
        return Control(command)
    if len(words) != 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= MAX_EXTEND_MINUTES:
        given = " ".join(words) or "nothing"
        return Problem(
            f"/peer extend needs whole minutes from 1 to {MAX_EXTEND_MINUTES}, "
            f"e.g. /peer extend 5 (got {given})"
        )
    return Control(command, int(words[0]))


# The extra minutes a session's "+5 min" button gives.
EXTEND_BY = 5


def pressed(name: str, member: str) -> Event | None:
    """The engine event a session button stands for, on any platform: `done`, `pass`, `agree`,
    `control_next`, `control_extend`, ...; None for a name that opens a form (`action`) or is
    unknown."""
    if name == "done":
        return Done(member)
    if name == "pass":
        return Pass(member)
    if name == "agree":
        return Agree(member)
    command = name.removeprefix("control_")
    if name.startswith("control_") and command in {c.value for c in Command}:
        minutes = EXTEND_BY if command == Command.EXTEND else None
        return FacilitatorCommand(member, Command(command), minutes)
    return None
