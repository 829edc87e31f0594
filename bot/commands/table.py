"""The `/peer` commands, one entry each: the words that name it, its typed arguments, who may use
it, and one line of help.

Everything that lists or reads the commands comes from this table: `/peer help`, the text
reading of Slack's slash command and the console, Discord's command registration, the command
line's help and the README's command table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from bot.commands import requests as r
from bot.engine.effects import CHOICE_LABELS, Choice
from bot.engine.events import Command
from bot.engine.session import MAX_EXTEND_MINUTES
from bot.schedule import MAX_MINUTES, ORDINALS, WEEKDAY_NAMES, WEEKDAYS, When
from bot.settings import MAX_CHECK_IN_DAYS, MAX_LEAD_HOURS

# Item numbers are database ids: a 32-bit signed integer holds every one.
MAX_ITEM = 2**31 - 1
MAX_PROTOCOL_NAME = 64
# A set's name becomes its channel's name, which platforms cut at 80 characters.
MAX_SET_NAME = 80
# Discord offers at most 25 options to a command; five members fit beside the others.
MAX_MEMBER_OPTIONS = 5
CHECK_IN_WORDS = {"done": Choice.DONE, "in-progress": Choice.IN_PROGRESS, "stuck": Choice.STUCK}
# How often a set meets, as a menu offers it: the shown name, and the words the text takes.
HOW_OFTEN = (
    ("weekly", "weekly"),
    *((f"every {n} weeks", f"every {n} weeks") for n in (2, 3, 4)),
    *((f"monthly, on the {nth}", f"monthly {nth}") for nth in ORDINALS),
)

CHAT = "/peer "
COMMAND_LINE = "peerset "


class Who(StrEnum):
    """Who may use a command. Set-level rights are the service's; who may move a running
    session on is the engine's."""

    ANYONE = "anyone"
    MEMBER = "member"  # a member of the set whose channel it is typed in
    OWNER = "owner"  # the member who owns the action item named
    FACILITATOR = "facilitator"
    WORKSPACE_ADMIN = "workspace_admin"


class Kind(Enum):
    MEMBER = "member"  # one @mention
    MEMBERS = "members"  # @mentions to the end of the line
    PROTOCOL = "protocol"  # a protocol's name
    NAME = "name"  # words up to the first @mention
    WORDS = "words"  # words to the end of the line
    NUMBER = "number"  # ASCII digits, from `lo` to `hi`
    CHOICE = "choice"  # one of `choices`
    WORD = "word"  # one word (a time zone)
    DAY = "day"  # YYYY-MM-DD
    CLOCK = "clock"  # HH:MM, 00:00 to 23:59


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    kind: Kind
    about: str
    required: bool = True
    lo: int = 1
    hi: int = MAX_ITEM
    # (what a menu shows, the value) for a CHOICE
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Spec:
    """One `/peer` command. `build` makes its request from typed values keyed by the arguments'
    names (raising ValueError with a message for a member); `form` is how its arguments are
    written after its name."""

    path: tuple[str, ...]
    who: Who
    about: str
    form: str
    example: str
    build: Callable[[Mapping[str, Any]], r.Request]
    args: tuple[Arg, ...] = ()

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def syntax(self, prefix: str = CHAT) -> str:
        return f"{prefix}{self.name}{' ' + self.form if self.form else ''}"


def _members(values: Mapping[str, Any], name: str = "members") -> tuple[str, ...]:
    found: list[str] = []
    for member in values.get(name) or ():
        if member not in found:
            found.append(member)
    return tuple(found)


def _schedule_add(values: Mapping[str, Any]) -> r.ScheduleAdd:
    weeks, week_of_month = how_often(str(values["how"]))
    return r.ScheduleAdd(
        When(
            weekday=WEEKDAYS.index(str(values["weekday"])),
            at=values["time"],
            zone=str(values["zone"]),
            minutes=int(values["minutes"]),
            weeks=weeks,
            week_of_month=week_of_month,
        ),
        starting=values.get("starting"),
        rsvp_hours=values.get("rsvp_hours"),
        reminder_hours=values.get("reminder_hours"),
        check_in_days=values.get("check_in_days"),
    )


def _set_create(values: Mapping[str, Any]) -> r.SetCreate:
    name = str(values["name"])
    if len(name) > MAX_SET_NAME:
        raise ValueError(
            f"a set's name is at most {MAX_SET_NAME} characters; this one has {len(name)}"
        )
    return r.SetCreate(name, _members(values))


def how_often(words: str) -> tuple[int, int | None]:
    """'weekly', 'every N weeks' or 'monthly ORDINAL' as (weeks, week of the month)."""
    parts = words.lower().split()
    if parts == ["weekly"]:
        return 1, None
    every = len(parts) == 3 and parts[0] == "every" and parts[2] in ("week", "weeks")
    if every and re.fullmatch(r"[0-9]{1,2}", parts[1]):
        return int(parts[1]), None
    if len(parts) == 2 and parts[0] == "monthly" and parts[1] in ORDINALS:
        return 1, ORDINALS[parts[1]]
    raise ValueError(f"say weekly, every N weeks or monthly first|...|last, not {words!r}")


def _plain(request: r.Request) -> Callable[[Mapping[str, Any]], r.Request]:
    return lambda values: request


_MEMBERS = Arg("members", Kind.MEMBERS, "A member", required=False)
_PROTOCOL = Arg("protocol", Kind.PROTOCOL, "Which protocol (default: the set's)", required=False)
_ITEM = Arg("item", Kind.NUMBER, "The action item's number; /peer actions lists yours")
_CONTROLS = (
    (Command.NEXT, "Close the turn or part and move the session on"),
    (Command.SKIP, "The current speaker's turn counts as a pass"),
    (Command.PAUSE, "Pause the session's clocks"),
    (Command.RESUME, "Resume a paused session"),
    (Command.END, "End the session now"),
)
# (request field, word in text, unit, most, help); the calendar checks how they fit together.
_LEADS = (
    ("rsvp_hours", "rsvp", "h", MAX_LEAD_HOURS, "Hours before each meeting members are asked"),
    ("reminder_hours", "remind", "h", MAX_LEAD_HOURS, "Hours before each meeting to remind"),
    ("check_in_days", "checkin", "d", MAX_CHECK_IN_DAYS, "Days after an action item to ask"),
)


def _control(command: Command) -> Callable[[Mapping[str, Any]], r.Request]:
    return lambda values: r.Control(command, values.get("minutes"))


TABLE: tuple[Spec, ...] = (
    Spec(("help",), Who.ANYONE, "What /peer can do", "", "help", _plain(r.Help())),
    Spec(
        ("protocols",),
        Who.ANYONE,
        "The protocols you can use",
        "",
        "protocols",
        _plain(r.Protocols()),
    ),
    Spec(
        ("start",),
        Who.MEMBER,
        "Start a session here (presenters default to you); elsewhere, name a new set's members",
        "[PROTOCOL] [@member ...]",
        "start",
        lambda v: r.Start(v.get("protocol"), _members(v)),
        (_PROTOCOL, _MEMBERS),
    ),
    Spec(
        ("set", "create"),
        Who.ANYONE,
        "A new set with its own private meeting place",
        "NAME @member ...",
        "set create circle <@U0NEWCOMER>",
        _set_create,
        (
            Arg("name", Kind.NAME, "The set's name"),
            Arg("members", Kind.MEMBERS, "A member"),
        ),
    ),
    Spec(
        ("set", "add"),
        Who.MEMBER,
        "Add a member to this channel's set",
        "@member",
        "set add <@U0NEWCOMER>",
        lambda v: r.SetAdd(str(v["member"])),
        (Arg("member", Kind.MEMBER, "Who joins"),),
    ),
    Spec(
        ("set", "remove"),
        Who.MEMBER,
        "Take a member out of this channel's set",
        "@member",
        "set remove <@U0NEWCOMER>",
        lambda v: r.SetRemove(str(v["member"])),
        (Arg("member", Kind.MEMBER, "Who leaves"),),
    ),
    *(Spec((c.value,), Who.MEMBER, about, "", c.value, _control(c)) for c, about in _CONTROLS[:2]),
    Spec(
        ("extend",),
        Who.MEMBER,
        "Give the current part or turn more minutes",
        "MINUTES",
        "extend 5",
        _control(Command.EXTEND),
        (Arg("minutes", Kind.NUMBER, "How many more minutes", hi=MAX_EXTEND_MINUTES),),
    ),
    *(Spec((c.value,), Who.MEMBER, about, "", c.value, _control(c)) for c, about in _CONTROLS[2:]),
    Spec(("status",), Who.MEMBER, "Where the session is", "", "status", _plain(r.Status())),
    Spec(
        ("schedule", "add"),
        Who.MEMBER,
        "Meet regularly, weekly, every N weeks or monthly (replaces the set's schedule)",
        "weekly tue 18:30 Europe/London 90 [from 2026-12-01] [rsvp 48h] [remind 4h] [checkin 7d]",
        "schedule add weekly tue 18:30 Europe/London 90",
        _schedule_add,
        (
            Arg("how", Kind.CHOICE, "How often the set meets", choices=HOW_OFTEN),
            Arg(
                "weekday",
                Kind.CHOICE,
                "On which day of the week",
                choices=tuple(
                    (name.capitalize(), short)
                    for short, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)
                ),
            ),
            Arg("time", Kind.CLOCK, "The local time it starts, 24-hour HH:MM, e.g. 18:30"),
            Arg("zone", Kind.WORD, "The time zone the time is in, e.g. Europe/London"),
            Arg("minutes", Kind.NUMBER, "How long each meeting lasts, in minutes", hi=MAX_MINUTES),
            Arg(
                "starting",
                Kind.DAY,
                "The first day a meeting may fall on, YYYY-MM-DD (default: today)",
                required=False,
            ),
            *(
                Arg(name, Kind.NUMBER, about, required=False, hi=most)
                for name, _, _, most, about in _LEADS
            ),
        ),
    ),
    Spec(
        ("schedule", "list"),
        Who.MEMBER,
        "When the set meets, and its next meetings",
        "",
        "schedule list",
        _plain(r.ScheduleList()),
    ),
    Spec(
        ("schedule", "cancel"),
        Who.MEMBER,
        "Stop the set's regular meetings",
        "",
        "schedule cancel",
        _plain(r.ScheduleCancel()),
    ),
    Spec(
        ("schedule", "skip-next"),
        Who.MEMBER,
        "Skip the next meeting",
        "",
        "schedule skip-next",
        _plain(r.ScheduleSkip()),
    ),
    Spec(
        ("schedule", "move"),
        Who.MEMBER,
        "Move the next meeting to another local day and time",
        "YYYY-MM-DD HH:MM",
        "schedule move 2026-12-08 19:00",
        lambda v: r.ScheduleMove(v["day"], v["time"]),
        (
            Arg("day", Kind.DAY, "The new local day, YYYY-MM-DD, e.g. 2026-12-01"),
            Arg("time", Kind.CLOCK, "The new local time, 24-hour HH:MM, in the schedule's zone"),
        ),
    ),
    Spec(
        ("bid",),
        Who.MEMBER,
        "You have something to bring to the next meeting",
        "",
        "bid",
        _plain(r.Bid()),
    ),
    Spec(
        ("attendance",),
        Who.MEMBER,
        "Who said they would come to the last meetings, who came",
        "",
        "attendance",
        _plain(r.Attendance()),
    ),
    Spec(
        ("actions",),
        Who.MEMBER,
        "Your action items in this set",
        "",
        "actions",
        _plain(r.Actions()),
    ),
    Spec(
        ("action", "edit"),
        Who.OWNER,
        "Change the words of one of your action items",
        "NUMBER new words",
        "action edit 1 call the board",
        lambda v: r.ActionEdit(int(v["item"]), str(v["text"])),
        (_ITEM, Arg("text", Kind.WORDS, "The new words")),
    ),
    Spec(
        ("checkin",),
        Who.OWNER,
        "Say how one of your action items is going",
        "NUMBER done|in-progress|stuck [note]",
        "checkin 1 done",
        lambda v: r.CheckIn(int(v["item"]), CHECK_IN_WORDS[str(v["status"])], v.get("note")),
        (
            _ITEM,
            Arg(
                "status",
                Kind.CHOICE,
                "How it is going",
                choices=tuple((CHOICE_LABELS[c], word) for word, c in CHECK_IN_WORDS.items()),
            ),
            Arg(
                "note",
                Kind.WORDS,
                "A few words for your set, shown in the next meeting's updates",
                required=False,
            ),
        ),
    ),
)

BY_PATH: dict[tuple[str, ...], Spec] = {spec.path: spec for spec in TABLE}
# The options of `schedule add` given as words at the end: name, unit, request field.
LEAD_WORDS = {word: (unit, name) for name, word, unit, _, _ in _LEADS}


def path_of(request: r.Request) -> tuple[str, ...]:
    """The command a request is, e.g. ('schedule', 'add')."""
    if isinstance(request, r.Control):
        return (request.command.value,)
    return _PATHS[type(request)]


_PATHS: dict[type, tuple[str, ...]] = {
    r.Help: ("help",),
    r.Protocols: ("protocols",),
    r.Status: ("status",),
    r.Start: ("start",),
    r.SetCreate: ("set", "create"),
    r.SetAdd: ("set", "add"),
    r.SetRemove: ("set", "remove"),
    r.ScheduleAdd: ("schedule", "add"),
    r.ScheduleList: ("schedule", "list"),
    r.ScheduleCancel: ("schedule", "cancel"),
    r.ScheduleSkip: ("schedule", "skip-next"),
    r.ScheduleMove: ("schedule", "move"),
    r.Attendance: ("attendance",),
    r.Bid: ("bid",),
    r.Actions: ("actions",),
    r.ActionEdit: ("action", "edit"),
    r.CheckIn: ("checkin",),
}


def spec_of(request: r.Request) -> Spec:
    return BY_PATH[path_of(request)]


def usage(prefix: str = CHAT) -> str:
    """Every command, one a line: `/peer help`'s answer (or the command line's, with its own
    prefix)."""
    return "\n".join(f"{spec.syntax(prefix)}: {spec.about}" for spec in TABLE)


def syntax(path: tuple[str, ...], prefix: str = CHAT) -> str:
    return BY_PATH[path].syntax(prefix)


def markdown_table() -> str:
    """The README's command table."""
    rows = ["| command | who may use it | what it does |", "| --- | --- | --- |"]
    for spec in TABLE:
        who = spec.who.value.replace("_", " ")
        # A bar ends a table cell even inside code, on GitHub too: it is escaped.
        shown = spec.syntax().replace("|", "\\|")
        rows.append(f"| `{shown}` | {who} | {spec.about} |")
    return "\n".join(rows)
