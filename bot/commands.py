"""The `/peer` command's words, read from the text a member typed after it.

Platform-neutral: Slack and Discord both write a mention as `<@ID>` (Slack may add `|name`), so
one reading serves both. Each wrong input gets a `Problem` saying what was wrong and what is right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
/peer protocols: the protocols you can use"""


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
class Problem:
    message: str


Request = Help | Protocols | Status | Start | SetCreate | SetAdd | SetRemove | Control


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
