"""Reading one console line: who acts, and as what Peerset event.

`alice: text` posts as alice; `alice: /done`, `/pass`, `/agree`, `/action TEXT` act as alice;
`/next`, `/skip`, `/extend N`, `/pause`, `/resume`, `/end` are the facilitator's (or `bob: /next`
to say who); `/wait MINUTES` moves virtual time on.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import whole_number
from bot.engine.events import (
    Agree,
    Command,
    Done,
    Event,
    FacilitatorCommand,
    MessagePosted,
    Pass,
    RecordAction,
)

MEMBER_COMMANDS = ("done", "pass", "agree", "action")
FACILITATOR_COMMANDS = tuple(c.value for c in Command)
MAX_WAIT_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Act:
    """A member's event."""

    event: Event


@dataclass(frozen=True, slots=True)
class Wait:
    minutes: float


@dataclass(frozen=True, slots=True)
class Blank:
    """An empty line or a `#` comment: nothing to do."""


@dataclass(frozen=True, slots=True)
class Help:
    """`/help`: show how to write lines."""


HELP = (
    "name: text            speak as that member (e.g. alice: I noticed...)\n"
    "name: /done           end your turn, or your part as presenter\n"
    "name: /pass           let your turn go by\n"
    "name: /agree          agree to the ground rules\n"
    "name: /action TEXT    record an action item of your own\n"
    "/next /skip /extend N /pause /resume /end   the facilitator's (or 'name: /next')\n"
    "/wait MINUTES         move time on (piped input only)"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """A line the console cannot take; the message says what is right."""

    message: str


Parsed = Act | Wait | Blank | Help | Problem


def parse_line(line: str, members: tuple[str, ...], facilitator: str | None) -> Parsed:
    text = line.strip()
    if not text or text.startswith("#"):
        return Blank()
    if text.startswith("/"):
        return _command(text, None, members, facilitator)
    name, colon, rest = text.partition(":")
    if not colon or " " in name.strip() or not name.strip():
        return Problem(
            f"cannot read {_short(text)!r}: write 'name: text' to speak as a member, "
            "or a /command (try /help)"
        )
    member = name.strip()
    if member not in members:
        return Problem(f"unknown member {member!r}: members are {', '.join(members)}")
    rest = rest.strip()
    if rest.startswith("/"):
        return _command(rest, member, members, facilitator)
    if not rest:
        return Problem(f"{member} said nothing: write '{member}: your message'")
    return Act(MessagePosted(member, rest))


def _command(
    text: str, member: str | None, members: tuple[str, ...], facilitator: str | None
) -> Parsed:
    word, _, argument = text[1:].partition(" ")
    word, argument = word.lower(), argument.strip()
    if word == "wait":
        return _wait(argument)
    if word == "help":
        return Help()
    if word in MEMBER_COMMANDS:
        if member is None:
            return Problem(f"say who: e.g. '{members[0]}: /{word}'")
        if word == "action":
            return Act(RecordAction(member, argument))
        event: Event = (
            Done(member) if word == "done" else Pass(member) if word == "pass" else Agree(member)
        )
        return Act(event)
    if word in FACILITATOR_COMMANDS:
        actor = member or facilitator or members[0]
        command = Command(word)
        if command is not Command.EXTEND:
            return Act(FacilitatorCommand(actor, command))
        minutes = whole_number(argument)
        if minutes is None:
            return Problem(f"/extend needs whole minutes, e.g. /extend 5 (got {argument!r})")
        return Act(FacilitatorCommand(actor, command, minutes))
    known = ", ".join(f"/{c}" for c in (*MEMBER_COMMANDS, *FACILITATOR_COMMANDS, "wait", "help"))
    return Problem(f"unknown command /{word}: known commands are {known}")


def _wait(argument: str) -> Parsed:
    try:
        minutes = float(argument)
    except ValueError:
        return Problem(f"/wait needs minutes, e.g. /wait 5 (got {argument!r})")
    if not 0 < minutes <= MAX_WAIT_MINUTES:
        return Problem(f"/wait takes more than 0 and at most {MAX_WAIT_MINUTES} minutes")
    return Wait(minutes)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
