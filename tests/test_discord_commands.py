"""Every `/peer` subcommand on Discord as an INTERACTION_CREATE through the real discord.py
client, asserting on what Discord's API double recorded: the deferred callback (type 5, only for
the one who asked), then the desk's answer as an ephemeral follow-up, and what the command did
in the session's private thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
from sqlalchemy import select

from adapters.discord.client import NO_PRIVATE_THREADS
from bot.commands import USAGE
from bot.protocol import shipped_names
from bot.store import ProcessedEvent, SessionRecord
from tests.discord_harness import CHANNEL, TIMEOUT, DiscordWorld, discord_world, option, user

ANA, BEN, CLEO, DEV = "1001", "1002", "1003", "1004"
GENERAL = "3001"
CHANNELS = ((CHANNEL, "peer-circle"), (GENERAL, "general"))
EPHEMERAL = 64
KNOWN = ", ".join(shipped_names())
NO_SET_HERE = (
    "This channel has no set. Use it in your set's private channel, or make a set: "
    "/peer set create NAME @member @member ..."
)
NO_SESSION = "No session is running in this set. Start one: /peer start"
CIRCLE_READY = (
    f"Set 'circle' is ready with <@{ANA}>, <@{BEN}> and <@{CLEO}>; it meets in <#{CHANNEL}>. "
    "Start a session there with /peer start."
)

Scenario = Callable[[DiscordWorld], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario, **double: Any) -> None:
    async def inside() -> None:
        async with discord_world(tmp_path, channels=CHANNELS, **double) as world:
            await scenario(world)

    asyncio.run(asyncio.wait_for(inside(), 120))


# --- asking, and reading the answer --------------------------------------------------------


async def _command(
    world: DiscordWorld,
    member: str,
    *path: str,
    options: list[dict[str, Any]] | None = None,
    channel: str = CHANNEL,
) -> dict[str, Any]:
    """Send `/peer PATH OPTIONS`; once it is answered (bounded), let what it set off be
    delivered; the interaction's record."""
    sent = await world.command(member, *path, options=options, channel=channel)
    interaction_id = str(sent["id"])
    await world.api.wait_for_async(lambda: _answered(world, interaction_id), TIMEOUT)
    await world.settle()
    return world.api.interaction(interaction_id)


def _answered(world: DiscordWorld, interaction_id: str) -> bool:
    record = world.api.interaction(interaction_id)
    callbacks = record["callbacks"]
    if callbacks and callbacks[0]["type"] == 5:  # deferred: the answer is a follow-up
        return bool(record["followups"])
    return bool(callbacks)


async def _ask(
    world: DiscordWorld,
    member: str,
    *path: str,
    options: list[dict[str, Any]] | None = None,
    channel: str = CHANNEL,
) -> str:
    """Run `/peer PATH OPTIONS`: deferred at once for the caller alone, then one ephemeral
    follow-up; its text."""
    record = await _command(world, member, *path, options=options, channel=channel)
    assert [c["type"] for c in record["callbacks"]] == [5], record["callbacks"]
    assert record["callbacks"][0]["data"]["flags"] == EPHEMERAL
    [followup] = record["followups"]
    assert followup["flags"] & EPHEMERAL
    return str(followup["content"])


def _is_processed(world: DiscordWorld, key: str) -> bool:
    with world.client.runtime.service._sessions() as db:
        return db.get(ProcessedEvent, key) is not None


async def _handled(world: DiscordWorld, payload: dict[str, Any]) -> None:
    """Wait (bounded) until the session has taken the event of this message or interaction,
    then until what it set off is delivered."""
    key = f"discord:{payload['id']}"
    await world.api.wait_for_async(lambda: _is_processed(world, key), TIMEOUT)
    await world.settle()


async def _say(world: DiscordWorld, member: str, channel: str, text: str) -> None:
    payload = world.api.message_create(member, channel, text)
    world.api.send_dispatch("MESSAGE_CREATE", payload)
    await _handled(world, payload)


async def _press(
    world: DiscordWorld, member: str, channel: str, name: str, session_id: int
) -> None:
    message_id = world.messages(channel)[-1]["id"]
    payload = world.api.interaction_button(
        member, channel, message_id, f"peerset:{name}:{session_id}"
    )
    world.api.send_dispatch("INTERACTION_CREATE", payload)
    await _handled(world, payload)


async def _circle(world: DiscordWorld) -> None:
    """The set 'circle' of ana, ben and cleo, meeting in CHANNEL."""
    answer = await _ask(
        world,
        ANA,
        "set",
        "create",
        options=[option("name", "circle"), user("member1", BEN), user("member2", CLEO)],
    )
    assert answer == CIRCLE_READY


async def _start(world: DiscordWorld, *options: dict[str, Any], channel: str = CHANNEL) -> str:
    """Start a session in `channel`; its private thread's id."""
    before = len(world.api.threads(channel))
    answer = await _ask(world, ANA, "start", options=list(options), channel=channel)
    assert answer.endswith("is starting in a new thread."), answer
    threads = world.api.threads(channel)
    assert len(threads) == before + 1
    return str(threads[-1]["id"])


def _session_id(world: DiscordWorld, thread_id: str) -> int:
    thread = world.api.channel(thread_id)
    assert thread is not None
    return int(str(thread["name"]).rsplit(" ", 1)[1])


def _may_open_private_threads(world: DiscordWorld, channel_id: str = CHANNEL) -> bool:
    """What the client's own view of the channel says the bot may do."""
    channel = world.client.get_channel(int(channel_id))
    assert isinstance(channel, discord.TextChannel)
    return channel.permissions_for(channel.guild.me).create_private_threads


def _texts(world: DiscordWorld, thread_id: str) -> list[str]:
    return [str(m.get("content")) for m in world.messages(thread_id)]


def _version(world: DiscordWorld, session_id: int) -> int:
    with world.client.runtime.service._sessions() as db:
        return db.scalars(select(SessionRecord.version).where(SessionRecord.id == session_id)).one()


# --- help, protocols -----------------------------------------------------------------------


def test_help_answers_with_the_usage(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        assert await _ask(world, ANA, "help") == USAGE
        assert await _ask(world, ANA, "help", channel=GENERAL) == USAGE
        assert world.api.calls_to("POST", "/channels/{x}/messages") == []

    _run(tmp_path, scenario)


def test_a_subcommand_this_version_does_not_know_is_answered_kindly(tmp_path: Path) -> None:
    """A client still holding the command list from before a deploy."""

    async def scenario(world: DiscordWorld) -> None:
        for path in (("rename",), ("set", "rename")):
            record = await _command(world, ANA, *path)
            [callback] = record["callbacks"]
            assert callback["type"] == 4 and callback["data"]["flags"] == EPHEMERAL
            assert callback["data"]["content"] == (
                f"I don't know `/peer {' '.join(path)}`; commands may be updating. "
                "`/peer help` lists them."
            )

    _run(tmp_path, scenario)


def test_protocols_lists_the_shipped_names(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        assert await _ask(world, BEN, "protocols") == "Protocols: " + KNOWN
        assert {"peer-mentoring-round", "good-news-analysis"} <= set(shipped_names())

    _run(tmp_path, scenario)


def test_autocomplete_offers_the_protocols_matching_what_was_typed(tmp_path: Path) -> None:
    async def choices(world: DiscordWorld, typed: str) -> list[dict[str, Any]]:
        focused = {"type": 3, "name": "protocol", "value": typed, "focused": True}
        leaf = {"type": 1, "name": "start", "options": [focused]}
        payload = world.api.interaction_autocomplete(ANA, CHANNEL, "peer", [leaf])
        world.api.send_dispatch("INTERACTION_CREATE", payload)
        record = await world.api.wait_for_async(
            lambda: world.api.interaction(str(payload["id"]))["callbacks"], TIMEOUT
        )
        [callback] = record
        assert callback["type"] == 8
        return list(callback["data"]["choices"])

    async def scenario(world: DiscordWorld) -> None:
        assert await choices(world, "good") == [
            {"name": "good-news-analysis", "value": "good-news-analysis"}
        ]
        assert [c["value"] for c in await choices(world, "ING")] == [
            n for n in shipped_names() if "ing" in n
        ]
        assert [c["value"] for c in await choices(world, "")] == shipped_names()
        assert await choices(world, "zzz") == []
        # Asking for choices starts nothing.
        assert world.api.threads() == []

    _run(tmp_path, scenario)


# --- sets ----------------------------------------------------------------------------------


def test_set_create_makes_the_channel_the_sets_meeting_place(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        # A set meets in the channel where it was made: one set to a channel.
        again = await _ask(
            world,
            BEN,
            "set",
            "create",
            options=[option("name", "second"), user("member1", CLEO), user("member2", DEV)],
        )
        assert again == (
            "This channel already has a set, 'circle'; make the new set in another channel."
        )
        same_name = await _ask(
            world,
            BEN,
            "set",
            "create",
            options=[option("name", "circle"), user("member1", CLEO)],
            channel=GENERAL,
        )
        assert same_name == "A set called 'circle' exists already; choose another name."
        # Nothing was made for the refused sets; the first set is as it was.
        assert world.api.threads() == []
        assert await _ask(world, DEV, "status", channel=GENERAL) == NO_SET_HERE
        assert await _ask(world, ANA, "status") == (
            "No session is running in 'circle'. Start one: /peer start"
        )

    _run(tmp_path, scenario)


def test_set_add_and_remove_and_their_wrong_inputs(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        add = [user("member", DEV)]
        assert await _ask(world, ANA, "set", "add", options=add) == f"<@{DEV}> has joined the set."
        assert await _ask(world, BEN, "set", "add", options=add) == (
            f"<@{DEV}> is already in this set."
        )
        assert await _ask(world, ANA, "set", "remove", options=add) == (
            f"<@{DEV}> has left the set."
        )
        assert await _ask(world, ANA, "set", "remove", options=add) == (
            f"<@{DEV}> is not in this set."
        )
        # Outside a set's channel.
        assert await _ask(world, ANA, "set", "add", options=add, channel=GENERAL) == NO_SET_HERE
        remove_ben = [user("member", BEN)]
        assert (
            await _ask(world, ANA, "set", "remove", options=remove_ben, channel=GENERAL)
            == NO_SET_HERE
        )

        # The set's next session's thread has the members the set has now, and no one else.
        thread_id = await _start(world)
        assert world.client.runtime.service.state(_session_id(world, thread_id)).members == (
            ANA,
            BEN,
            CLEO,
        )
        members = set(world.api.thread_members(thread_id))
        assert {ANA, BEN, CLEO} <= members and DEV not in members

    _run(tmp_path, scenario)


# --- starting ------------------------------------------------------------------------------


def test_start_in_the_sets_channel_opens_one_private_thread(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        thread_id = await _start(world)
        [thread] = world.api.threads()
        assert thread["type"] == 12 and thread["parent_id"] == CHANNEL  # private, never public
        assert thread["thread_metadata"]["invitable"] is False
        assert {ANA, BEN, CLEO} <= set(world.api.thread_members(thread_id))
        assert any("Ground rules" in t for t in _texts(world, thread_id))
        assert world.messages(CHANNEL) == []  # nothing said in the channel itself

        again = await _ask(world, BEN, "start")
        assert again == "A session is already running in this set: /peer status shows where."
        assert len(world.api.threads()) == 1
        assert world.client.runtime.service.unfinished(1) == _session_id(world, thread_id)

    _run(tmp_path, scenario)


def test_start_outside_a_set(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        assert await _ask(world, ANA, "start", channel=GENERAL) == (
            "Start a session in your set's private channel, or name the members here to make "
            "a new set: /peer start [PROTOCOL] @member @member ..."
        )
        assert world.api.threads() == []

        # Members named: a new set meeting in this channel, and the session's thread there.
        named = [user("member1", BEN), user("member2", CLEO)]
        thread_id = await _start(world, *named, channel=GENERAL)
        [thread] = world.api.threads()
        assert thread["type"] == 12 and thread["parent_id"] == GENERAL
        state = world.client.runtime.service.state(_session_id(world, thread_id))
        assert state.members == (ANA, BEN, CLEO) and state.presenters == (ANA,)
        assert await _ask(world, CLEO, "status", channel=GENERAL) == (
            "Peer mentoring round: in Ground rules."
        )

        # That channel now has its set: another set cannot be made there.
        refused = await _ask(
            world,
            DEV,
            "set",
            "create",
            options=[option("name", "other"), user("member1", BEN)],
            channel=GENERAL,
        )
        assert refused.startswith("This channel already has a set, 'peers 1001 3'")

    _run(tmp_path, scenario)


def test_start_with_an_unknown_protocol_lists_the_known_ones(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        expected = f"no protocol is called 'nonsense'; known protocols: {KNOWN}"
        # Outside a set, with members: no set is made for a session that cannot start.
        named = [option("protocol", "nonsense"), user("member1", BEN), user("member2", CLEO)]
        answer = await _ask(world, ANA, "start", options=named, channel=GENERAL)
        assert expected in answer
        assert await _ask(world, ANA, "status", channel=GENERAL) == NO_SET_HERE

        await _circle(world)
        answer = await _ask(world, ANA, "start", options=[option("protocol", "nonsense")])
        assert expected in answer
        assert world.api.threads() == []
        assert world.client.runtime.service.unfinished(1) is None

    _run(tmp_path, scenario)


def test_start_with_a_protocol_name_and_a_presenter(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        thread_id = await _start(
            world, option("protocol", "good-news-analysis"), user("member1", BEN)
        )
        thread = world.api.channel(thread_id)
        assert thread is not None and str(thread["name"]).startswith("Good News Analysis")
        state = world.client.runtime.service.state(_session_id(world, thread_id))
        assert state.protocol.name == "good-news-analysis" and state.presenters == (BEN,)

    _run(tmp_path, scenario)


def test_start_without_create_private_threads_names_the_permission(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        world.api.set_bot_permissions(allow_private_threads=False)
        await world.api.wait_for_async(lambda: not _may_open_private_threads(world), TIMEOUT)
        record = await _command(world, ANA, "start")
        # Answered at once, plainly, for the caller alone.
        [callback] = record["callbacks"]
        assert callback["type"] == 4 and callback["data"]["flags"] == EPHEMERAL
        assert callback["data"]["content"] == NO_PRIVATE_THREADS
        assert record["followups"] == []
        assert "Create Private Threads" in NO_PRIVATE_THREADS
        # No thread of any kind, and no session waiting to open one.
        assert world.api.threads() == []
        assert world.api.calls_to("POST", "/channels/{x}/threads") == []
        assert world.api.calls_to("POST", "/channels/{x}/messages/{y}/threads") == []
        assert world.client.runtime.service.unfinished(1) is None

    _run(tmp_path, scenario)


def test_start_refused_by_the_channels_permissions_from_the_first(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        named = [user("member1", BEN), user("member2", CLEO)]
        assert not _may_open_private_threads(world, GENERAL)
        record = await _command(world, ANA, "start", options=named, channel=GENERAL)
        [callback] = record["callbacks"]
        assert callback["type"] == 4 and callback["data"]["flags"] == EPHEMERAL
        assert callback["data"]["content"] == NO_PRIVATE_THREADS
        assert world.api.threads() == []
        assert world.api.calls_to("POST", "/channels/{x}/threads") == []
        # Nor was a set made for the session that could not start.
        assert await _ask(world, ANA, "status", channel=GENERAL) == NO_SET_HERE

    _run(tmp_path, scenario, allow_private_threads=False)


# --- moving a session on -------------------------------------------------------------------


def test_session_controls_show_in_the_thread(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        thread_id = await _start(world)
        session_id = _session_id(world, thread_id)
        assert await _ask(world, BEN, "status") == "Peer mentoring round: in Ground rules."

        assert await _ask(world, ANA, "next") == "/peer next: done."
        assert f"Now <@{ANA}> presents. The rest of you are peers for this round." in _texts(
            world, thread_id
        )
        assert await _ask(world, BEN, "next") == "/peer next: done."
        assert f"<@{BEN}>, your turn to ask <@{ANA}> one question. You have 1.5 minutes." in _texts(
            world, thread_id
        )
        assert await _ask(world, ANA, "skip") == "/peer skip: done."
        assert f"<@{BEN}>'s turn is skipped." in _texts(world, thread_id)
        minutes = [option("minutes", 5, 4)]
        assert await _ask(world, ANA, "extend", options=minutes) == "/peer extend: done."
        assert f"<@{CLEO}>'s turn has 5 minutes more." in _texts(world, thread_id)

        # Minutes out of range: the wrong-input answer, and nothing changes.
        version, posts = _version(world, session_id), len(_texts(world, thread_id))
        for given in (0, 500):
            answer = await _ask(world, ANA, "extend", options=[option("minutes", given, 4)])
            assert answer == (
                f"`{given}` is not a whole number from 1 to 120 (how many more minutes): "
                "/peer extend MINUTES"
            )
        assert _version(world, session_id) == version
        assert len(_texts(world, thread_id)) == posts

        assert await _ask(world, CLEO, "pause") == "/peer pause: done."
        assert f"<@{CLEO}> paused the session. Take a breath." in _texts(world, thread_id)
        assert await _ask(world, ANA, "status") == (
            f"Peer mentoring round: paused in Clarifying questions, <@{ANA}> presenting, "
            f"<@{CLEO}>'s turn."
        )
        # What the session refuses is answered with why.
        assert await _ask(world, ANA, "next") == "The session is paused; resume it first."
        assert world.client.runtime.service.state(session_id).turn == CLEO
        assert await _ask(world, ANA, "resume") == "/peer resume: done."
        assert f"<@{ANA}> resumed the session. Clarifying questions goes on." in _texts(
            world, thread_id
        )
        assert await _ask(world, ANA, "resume") == "The session is not paused."

        assert await _ask(world, BEN, "end") == "/peer end: done."
        texts = _texts(world, thread_id)
        assert any(t.startswith("Speaking balance (turns, words, airtime):") for t in texts)
        assert "No action items were recorded." in texts[-1]
        closing = world.api.calls_to("PATCH", "/channels/{x}")
        assert closing and closing[-1].path == f"/channels/{thread_id}"
        assert closing[-1].json == {"archived": True, "locked": True}
        assert await _ask(world, ANA, "status") == (
            "No session is running in 'circle'. Start one: /peer start"
        )
        # Every post of the session went to its thread, once.
        nonces = [c.json.get("nonce") for c in world.api.calls_to("POST", "/channels/{x}/messages")]
        assert len(nonces) == len(set(nonces))

    _run(tmp_path, scenario)


def test_controls_with_no_session_are_answered(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        for path, options in (
            (("next",), None),
            (("skip",), None),
            (("extend",), [option("minutes", 5, 4)]),
            (("pause",), None),
            (("resume",), None),
            (("end",), None),
        ):
            assert await _ask(world, ANA, *path, options=options) == NO_SESSION, path
            assert await _ask(world, ANA, *path, options=options, channel=GENERAL) == (
                NO_SET_HERE
            ), path
        assert world.api.calls_to("POST", "/channels/{x}/messages") == []
        assert world.api.threads() == []

    _run(tmp_path, scenario)


def test_status_with_and_without_a_session(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        assert await _ask(world, ANA, "status") == NO_SET_HERE
        await _circle(world)
        assert await _ask(world, ANA, "status") == (
            "No session is running in 'circle'. Start one: /peer start"
        )
        await _start(world)
        assert await _ask(world, CLEO, "status") == "Peer mentoring round: in Ground rules."

    _run(tmp_path, scenario)


def test_a_command_from_a_non_member_changes_nothing(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        thread_id = await _start(world)
        session_id = _session_id(world, thread_id)
        before = world.client.runtime.service.state(session_id)
        posts = len(_texts(world, thread_id))

        for word in ("next", "end", "pause", "status", "attendance"):
            assert await _ask(world, DEV, word) == (
                f"Only members of 'circle' can use /peer {word} here."
            ), word
        assert await _ask(world, DEV, "extend", options=[option("minutes", 5, 4)]) == (
            "Only members of 'circle' can use /peer extend here."
        )
        assert await _ask(world, DEV, "set", "add", options=[user("member", DEV)]) == (
            "Only members of 'circle' can use /peer set add here."
        )

        after = world.client.runtime.service.state(session_id)
        assert (after.phase, after.status, after.turn) == (before.phase, before.status, None)
        assert len(_texts(world, thread_id)) == posts
        assert world.api.calls_to("PATCH", "/channels/{x}") == []
        assert DEV not in world.api.thread_members(thread_id)
        # The set said no before the session heard anything.
        assert world.dms(DEV) == []

        # Nor may a non-member start the set's next session.
        assert await _ask(world, ANA, "end") == "/peer end: done."
        assert await _ask(world, DEV, "start") == (
            "Only members of 'circle' can use /peer start here."
        )
        assert len(world.api.threads()) == 1

    _run(tmp_path, scenario)


def test_commands_typed_in_the_sessions_thread_count_for_its_channels_set(
    tmp_path: Path,
) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        thread_id = await _start(world)
        assert await _ask(world, BEN, "status", channel=thread_id) == (
            "Peer mentoring round: in Ground rules."
        )
        assert await _ask(world, ANA, "next", channel=thread_id) == "/peer next: done."
        assert f"Now <@{ANA}> presents. The rest of you are peers for this round." in _texts(
            world, thread_id
        )
        assert await _ask(world, ANA, "start", channel=thread_id) == (
            "A session is already running in this set: /peer status shows where."
        )
        assert len(world.api.threads()) == 1

    _run(tmp_path, scenario)
