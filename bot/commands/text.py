"""`/peer` requests read from text, where text arrives: Slack's slash command and the console.

Platform-neutral: Slack and Discord both write a mention as `<@ID>` (Slack may add `|name`), so
one reading serves both. Each wrong input gets a `Problem`: one line saying what was wrong and
what is right. Numbers are ASCII digits only, and few of them, so no Unicode digit or huge number
reaches `int()`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.commands import requests as r
from bot.commands.table import (
    BY_PATH,
    CHAT,
    LEAD_WORDS,
    MAX_ITEM,
    MAX_PROTOCOL_NAME,
    Arg,
    Kind,
    Spec,
)
from bot.schedule import parse_clock, parse_day, parse_when

_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_NUMBER = re.compile(r"#?([0-9]{1,10})")
_PROTOCOL_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def mention(word: str) -> str | None:
    match = _MENTION.match(word)
    return match.group(1) if match else None


def whole_number(word: str, hi: int = MAX_ITEM) -> int | None:
    """A number written in ASCII digits (a leading `#` allowed), from 1 to `hi`; None for
    anything else, a Unicode digit or a number too large for an id included."""
    found = _NUMBER.fullmatch(word)
    # No more digits than the largest number allowed has: no huge number reaches int().
    if found is None or len(found[1]) > len(str(hi)):
        return None
    number = int(found[1])
    return number if 1 <= number <= hi else None


def parse(text: str, prefix: str = CHAT) -> r.Request | r.Problem:
    """The request the words after `/peer` stand for; `prefix` is how the surface writes a
    command in its messages (`/peer ` in chat, `peerset ` on the command line)."""
    words = text.split()
    if not words:
        return r.Help()
    spec, rest = _find(words)
    if spec is None:
        heads = sorted({path[0] for path in BY_PATH})
        head = words[0].lower()
        if head in heads:  # a group, e.g. `set` or `schedule`, with a wrong word after it
            options = [s.syntax(prefix) for s in BY_PATH.values() if s.path[0] == head]
            listed = ", ".join(options[:-1]) + " or " if len(options) > 1 else ""
            return r.Problem(f"Use {listed}{options[-1]}")
        return r.Problem(
            f"I don't know `{words[0][:40]}`; {prefix}help lists the commands ({', '.join(heads)})."
        )
    if spec.path == ("schedule", "add"):
        return _schedule_add(spec, rest, prefix)
    values = read_words(spec, rest, prefix)
    if isinstance(values, r.Problem):
        return values
    return build(spec, values, prefix)


def build(spec: Spec, values: Mapping[str, Any], prefix: str = CHAT) -> r.Request | r.Problem:
    """The request from typed values (read from text, a form or typed options)."""
    try:
        return spec.build(values)
    except ValueError as exc:
        return r.Problem(f"{_sentence(str(exc))} Try: {spec.syntax(prefix)}")


def _find(words: list[str]) -> tuple[Spec | None, list[str]]:
    for length in (2, 1):
        path = tuple(w.lower() for w in words[:length])
        if len(path) == length and path in BY_PATH:
            return BY_PATH[path], words[length:]
    return None, words


def read_words(spec: Spec, words: list[str], prefix: str = CHAT) -> dict[str, Any] | r.Problem:
    """The typed values of a command's arguments, read from the words after its name."""
    values: dict[str, Any] = {}
    rest = list(words)
    for arg in spec.args:
        taken = _take(arg, rest, spec, prefix)
        if isinstance(taken, r.Problem):
            return taken
        value, rest = taken
        if value is not None:
            values[arg.name] = value
    if rest:
        if not spec.args:
            return r.Problem(f"{prefix}{spec.name} takes nothing after it")
        return r.Problem(f"`{rest[0][:40]}` does not belong there: {spec.syntax(prefix)}")
    return values


def read_word(arg: Arg, word: str, spec: Spec, prefix: str = CHAT) -> Any:
    """One word's typed value for `arg`, or a Problem."""
    usage = spec.syntax(prefix)
    match arg.kind:
        case Kind.NUMBER:
            number = whole_number(word, arg.hi)
            if number is None or number < arg.lo:
                return r.Problem(
                    f"`{word[:40]}` is not a whole number from {arg.lo} to {arg.hi} "
                    f"({arg.about[:1].lower()}{arg.about[1:]}): {usage}"
                )
            return number
        case Kind.CHOICE:
            allowed = [value for _, value in arg.choices]
            if word.lower() not in allowed:
                return r.Problem(
                    f"{arg.name} is one of {', '.join(allowed)}, not `{word[:40]}`: {usage}"
                )
            return word.lower()
        case Kind.DAY | Kind.CLOCK:
            try:
                return parse_day(word) if arg.kind is Kind.DAY else parse_clock(word)
            except ValueError as exc:
                return r.Problem(f"{_sentence(str(exc))} Try: {usage}")
        case Kind.PROTOCOL:
            name = word.lower()
            if len(name) > MAX_PROTOCOL_NAME or not _PROTOCOL_NAME.fullmatch(name):
                return r.Problem(
                    f"A protocol's name is at most {MAX_PROTOCOL_NAME} letters, digits and "
                    f"hyphens; {prefix}protocols lists them: {usage}"
                )
            return name
        case Kind.MEMBER:
            member = mention(word)
            if member is None:
                return r.Problem(f"`{word[:40]}` is not a member: mention them with @: {usage}")
            return member
    return word


def _take(arg: Arg, words: list[str], spec: Spec, prefix: str) -> tuple[Any, list[str]] | r.Problem:
    usage = spec.syntax(prefix)
    if arg.kind is Kind.MEMBERS:
        members = []
        for word in words:
            member = read_word(Arg(arg.name, Kind.MEMBER, arg.about), word, spec, prefix)
            if isinstance(member, r.Problem):
                return member
            members.append(member)
        if arg.required and not members:
            return r.Problem(f"Name the members too: {usage}")
        return tuple(members), []
    if arg.kind is Kind.NAME:
        cut = next((i for i, w in enumerate(words) if mention(w) is not None), len(words))
        if cut == 0:
            what = "Put the name first" if words else "Give a name"
            return r.Problem(f"{what}: {usage}")
        return " ".join(words[:cut]), words[cut:]
    if arg.kind is Kind.WORDS:
        if arg.required and not words:
            return r.Problem(f"Give the {arg.name} too: {usage}")
        return (" ".join(words) or None), []
    if arg.kind is Kind.PROTOCOL and (not words or mention(words[0]) is not None):
        return None, words  # optional, and not given
    if not words:
        if arg.required:
            return r.Problem(f"Give the {arg.name.replace('_', ' ')} too: {usage}")
        return None, words
    value = read_word(arg, words[0], spec, prefix)
    if isinstance(value, r.Problem):
        return value
    return value, words[1:]


def _schedule_add(spec: Spec, words: list[str], prefix: str) -> r.Request | r.Problem:
    usage = spec.syntax(prefix)
    leads: dict[str, int] = {}
    starting = None
    # Options come last, as pairs in any order: from 2026-12-01, rsvp 48h, remind 4h, checkin 7d.
    while len(words) >= 2 and words[-2].lower() in (*LEAD_WORDS, "from"):
        word, value = words[-2].lower(), words[-1].lower()
        if word == "from":
            if starting is not None:
                return r.Problem(f"Give one first day, e.g. from 2026-12-01: {usage}")
            try:
                starting = parse_day(value)
            except ValueError as exc:
                return r.Problem(f"{_sentence(str(exc))} Try: {usage}")
            words = words[:-2]
            continue
        unit, name = LEAD_WORDS[word]
        number = value.removesuffix(unit)
        # The unit is required: "rsvp 48" could mean hours or days.
        if number == value or not re.fullmatch(r"[0-9]{1,6}", number) or name in leads:
            example = {"rsvp": "48h", "remind": "4h", "checkin": "7d"}[word]
            units = "hours" if unit == "h" else "days"
            return r.Problem(f"Give {word} once, in whole {units} and the unit: {word} {example}")
        leads[name] = int(number)
        words = words[:-2]
    if not words:
        return r.Problem(f"Say when the set meets: {usage}")
    try:
        when, given = parse_when(" ".join(words))
    except ValueError as exc:
        return r.Problem(f"{_sentence(str(exc))} Try: {usage}")
    return r.ScheduleAdd(
        when,
        starting or given,
        leads.get("rsvp_hours"),
        leads.get("reminder_hours"),
        leads.get("check_in_days"),
    )


def _sentence(message: str) -> str:
    message = message.rstrip(".")
    return message[:1].upper() + message[1:] + "."
