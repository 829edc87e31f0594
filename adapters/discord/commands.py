"""`/peer` on Discord, registered from the command table: each entry a subcommand (grouped by its
first word), each argument a typed option. An invocation builds the typed request from the
options directly; nothing is written back into words."""

from __future__ import annotations

import functools
import inspect
import zoneinfo
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Optional

import discord
from discord import app_commands

from bot.commands import TABLE, Arg, Kind, Problem, Request, Spec, build, read_word
from bot.commands.table import MAX_MEMBER_OPTIONS, MAX_PROTOCOL_NAME, MAX_SET_NAME

# Discord offers at most 25 choices to an option, typed or suggested.
MAX_CHOICES = 25
GROUPS = {
    "set": "This channel's set",
    "schedule": "This set's regular meetings",
    "action": "Your action items",
}

# What an invocation hands on: the request built from the options, or what is wrong with them.
Answerer = Callable[[discord.Interaction[Any], Request | Problem], Awaitable[None]]
# A check of the platform before a command runs (e.g. that a private thread can be opened);
# True if it answered the member itself and the command stops there.
Precheck = Callable[[discord.Interaction[Any]], Awaitable[bool]]
Suggest = Callable[
    [discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]


def peer_group(
    answer: Answerer,
    protocol_names: Callable[[], Sequence[str]],
    prechecks: dict[tuple[str, ...], Precheck] | None = None,
) -> app_commands.Group:
    """`/peer` with every subcommand of the table."""
    peer = app_commands.Group(name="peer", description="Structured peer-mentoring sessions")
    groups: dict[str, app_commands.Group] = {}

    async def protocols(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = [n for n in protocol_names() if current.lower() in n]
        return [app_commands.Choice(name=n, value=n) for n in names[:MAX_CHOICES]]

    async def zones(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in matching_zones(current)]

    suggest: dict[Kind, Suggest] = {Kind.PROTOCOL: protocols, Kind.WORD: zones}
    for spec in TABLE:
        parent = peer
        if len(spec.path) == 2:
            head = spec.path[0]
            if head not in groups:
                groups[head] = app_commands.Group(name=head, description=GROUPS[head])
                peer.add_command(groups[head])
            parent = groups[head]
        check = (prechecks or {}).get(spec.path)
        parent.add_command(_command(spec, answer, suggest, check))
    return peer


def _command(
    spec: Spec, answer: Answerer, suggest: dict[Kind, Suggest], check: Precheck | None
) -> app_commands.Command[Any, Any, Any]:
    async def invoked(interaction: discord.Interaction[Any], **options: Any) -> None:
        if check is not None and await check(interaction):
            return
        await answer(interaction, request_from(spec, options))

    parameters = [
        inspect.Parameter(
            "interaction",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=discord.Interaction,
        )
    ]
    described: dict[str, str] = {}
    offered: dict[str, list[app_commands.Choice[str]]] = {}
    completed: dict[str, Suggest] = {}
    for arg in spec.args:
        for name, annotation, required in _options(arg):
            parameters.append(
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=annotation if required else Optional[annotation],  # noqa: UP045
                    default=inspect.Parameter.empty if required else None,
                )
            )
            described[name] = arg.about
            if arg.choices:
                offered[name] = [
                    app_commands.Choice(name=label, value=value) for label, value in arg.choices
                ]
            elif arg.kind in suggest:
                completed[name] = suggest[arg.kind]
    # discord.py reads a callback's options from its signature.
    invoked.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    # A name of its own, marked local, so discord.py does not take it for a method.
    invoked.__name__ = "peer_" + "_".join(spec.path).replace("-", "_")
    invoked.__qualname__ = f"peer_group.<locals>.{invoked.__name__}"
    callback: Any = app_commands.describe(**described)(invoked)
    if offered:
        callback = app_commands.choices(**offered)(callback)
    if completed:
        callback = app_commands.autocomplete(**completed)(callback)
    return app_commands.Command(name=spec.path[-1], description=spec.about, callback=callback)


def _options(arg: Arg) -> list[tuple[str, Any, bool]]:
    """The Discord options an argument is given as: (name, type, required)."""
    match arg.kind:
        case Kind.MEMBERS:
            return [
                (f"member{n}", discord.Member, arg.required and n == 1)
                for n in range(1, MAX_MEMBER_OPTIONS + 1)
            ]
        case Kind.MEMBER:
            return [(arg.name, discord.Member, arg.required)]
        case Kind.NUMBER:
            return [(arg.name, app_commands.Range[int, arg.lo, arg.hi], arg.required)]
        case Kind.PROTOCOL:
            return [(arg.name, app_commands.Range[str, 1, MAX_PROTOCOL_NAME], arg.required)]
        case Kind.NAME:
            return [(arg.name, app_commands.Range[str, 1, MAX_SET_NAME], arg.required)]
    return [(arg.name, str, arg.required)]


# Typed as text on Discord, read as strictly as on Slack.
_READ = (Kind.DAY, Kind.CLOCK, Kind.CHOICE, Kind.PROTOCOL, Kind.NUMBER)


def request_from(spec: Spec, options: dict[str, Any]) -> Request | Problem:
    """The request typed options stand for: members by id, words as typed (a word of the
    command's own grammar in a typed value is just a word), days and times read strictly."""
    values: dict[str, Any] = {}
    for arg in spec.args:
        if arg.kind is Kind.MEMBERS:
            chosen = (options.get(f"member{n}") for n in range(1, MAX_MEMBER_OPTIONS + 1))
            values[arg.name] = tuple(str(m.id) for m in chosen if m is not None)
            continue
        given: Any = options.get(arg.name)
        if isinstance(given, str):
            given = given.strip() or None
        if given is None:
            if arg.required:
                return Problem(f"Give the {arg.name} too: {spec.syntax()}")
            continue
        if arg.kind is Kind.MEMBER:
            values[arg.name] = str(given.id)
        elif arg.kind in _READ:
            # Discord keeps to an option's range in its own client; a raw request need not.
            value = read_word(arg, str(given), spec)
            if isinstance(value, Problem):
                return value
            values[arg.name] = value
        else:
            values[arg.name] = given
    return build(spec, values)


@functools.cache
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def matching_zones(typed: str) -> list[str]:
    """Time zones whose name holds what was typed (a space standing for the names' `_`)."""
    wanted = typed.strip().lower().replace(" ", "_")
    return [zone for zone in _zones() if wanted in zone.lower()][:MAX_CHOICES]
