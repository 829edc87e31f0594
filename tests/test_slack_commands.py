"""Every `/peer` subcommand on Slack, through signed HTTP requests into the real Bolt app,
asserting on what Slack's API double recorded: the answer for the caller alone arrives at the
command's `response_url` (or, for input the parser rejects, in the HTTP response itself), and
what the command did on Slack as Web API calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from bot.commands import USAGE
from bot.protocol import shipped_names
from bot.store import PeerSet, SessionRecord, session_factory
from tests.slack_harness import SlackWorld, metadata_ids, slack_world

GENERAL = "CGENERAL"
KNOWN = ", ".join(shipped_names())
NO_SET_HERE = (
    "This channel has no set. Use it in your set's private channel, or make a set: "
    "/peer set create NAME @member @member ..."
)
NO_SESSION = "No session is running in this set. Start one: /peer start"
STARTING = "Peer mentoring round is starting in a new thread."

Scenario = Callable[[SlackWorld], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def inside() -> None:
        async with slack_world(tmp_path) as world:
            await scenario(world)

    asyncio.run(inside())


# --- asking, and reading the answer --------------------------------------------------------


async def _ask(world: SlackWorld, user: str, text: str, channel: str) -> str:
    """Run `/peer text`; the one answer it sent to its response_url."""
    before = len(world.api.calls_to("response_url"))
    status, body = await world.command(user, text, channel)
    assert status == 200 and body == "", (status, body)
    replies = world.api.calls_to("response_url")[before:]
    assert len(replies) == 1, [c.args for c in replies]
    assert replies[0].args["response_type"] == "ephemeral"
    return str(replies[0].args["text"])


async def _refused(world: SlackWorld, user: str, text: str, channel: str) -> str:
    """Run `/peer text` that the parser rejects: the answer is in the HTTP response itself,
    nothing else happens."""
    before = len(world.api.calls)
    status, body = await world.command(user, text, channel)
    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    # Bolt's own authorization (auth.test) aside, nothing reaches Slack.
    assert [c.method for c in world.api.calls[before:] if c.method != "auth.test"] == []
    return str(answer["text"])


async def _circle(world: SlackWorld) -> str:
    """The set 'circle' of U1, U2 and U3; its private channel's id."""
    answer = await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)
    assert answer.startswith("Set 'circle' is ready")
    channel = world.api.channel_id("peer-circle")
    assert channel is not None
    return channel


async def _start(world: SlackWorld, channel: str, text: str = "start") -> tuple[str, int]:
    """Start a session in `channel`; its thread's ts and the session's id."""
    roots_before = len(_roots(world, channel))
    answer = await _ask(world, "U1", text, channel)
    assert answer.endswith("is starting in a new thread."), answer
    roots = _roots(world, channel)
    assert len(roots) == roots_before + 1
    thread = str(roots[-1]["ts"])
    return thread, int(metadata_ids([roots[-1]])[0].split(".")[0])


def _roots(world: SlackWorld, channel: str) -> list[dict[str, object]]:
    return [m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def _texts(world: SlackWorld, channel: str, thread: str) -> list[str]:
    return [str(m.get("text")) for m in world.thread(channel, thread)]


def _version(world: SlackWorld, session_id: int) -> int:
    with world.running.runtime.service._sessions() as db:
        return db.scalars(select(SessionRecord.version).where(SessionRecord.id == session_id)).one()


# --- help, protocols, unknown words --------------------------------------------------------


def test_help_and_an_empty_peer_answer_with_the_usage(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        # Help needs no database: it is answered in the acknowledgement itself.
        assert await _refused(world, "U1", "help", GENERAL) == USAGE
        assert await _refused(world, "U1", "", GENERAL) == USAGE
        assert await _refused(world, "U1", "HELP", GENERAL) == USAGE
        assert world.api.calls_to("chat.postMessage") == []
        assert world.api.calls_to("response_url") == []

    _run(tmp_path, scenario)


def test_protocols_lists_the_shipped_names(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        answer = await _refused(world, "U1", "protocols", GENERAL)
        assert answer == "Protocols: " + KNOWN
        assert {"peer-mentoring-round", "good-news-analysis"} <= set(shipped_names())
        wrong = await _refused(world, "U1", "protocols please", GENERAL)
        assert wrong == "/peer protocols takes nothing after it"

    _run(tmp_path, scenario)


def test_an_unknown_subcommand_is_answered_with_where_the_commands_are(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        answer = await _refused(world, "U1", "frobnicate now", GENERAL)
        assert answer.startswith("I don't know `frobnicate`; /peer help lists the commands (")
        assert "\n" not in answer

    _run(tmp_path, scenario)


# --- sets ----------------------------------------------------------------------------------


def test_set_create_makes_a_private_channel_and_invites_the_members(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        answer = await _ask(world, "U1", "set create circle <@U2|bea> <@U3>", GENERAL)
        channel = world.api.channel_id("peer-circle")
        assert answer == (
            f"Set 'circle' is ready with <@U1>, <@U2> and <@U3>; it meets in <#{channel}>. "
            "Start a session there with /peer start."
        )
        created = world.api.calls_to("conversations.create")
        assert len(created) == 1 and created[0].args["name"] == "peer-circle"
        channel = world.api.channel_id("peer-circle")
        assert channel is not None
        assert world.api.channel_info(channel)["is_private"] is True  # type: ignore[index]
        invite = world.api.calls_to("conversations.invite")[0]
        assert invite.args == {"channel": channel, "users": "U1,U2,U3"}
        assert set(world.api.members_of(channel)) == {"UBOT", "U1", "U2", "U3"}

        # The same name again: answered kindly, nothing made on Slack.
        again = await _ask(world, "U2", "set create circle <@U3> <@U4>", GENERAL)
        assert again == "A set called 'circle' exists already; choose another name."
        assert len(world.api.calls_to("conversations.create")) == 1
        assert len(world.api.calls_to("conversations.invite")) == 1

    _run(tmp_path, scenario)


def test_set_create_with_wrong_input_says_what_is_right(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        usage = "/peer set create NAME @member ..."
        assert await _refused(world, "U1", "set create <@U2> <@U3>", GENERAL) == (
            f"Put the name first: {usage}"
        )
        assert await _refused(world, "U1", "set create", GENERAL) == f"Give a name: {usage}"
        assert await _refused(world, "U1", "set create circle", GENERAL) == (
            f"Name the members too: {usage}"
        )
        assert await _refused(world, "U1", "set create circle <@U2> bea", GENERAL) == (
            f"`bea` is not a member: mention them with @: {usage}"
        )
        assert await _refused(world, "U1", "set create <@U2> circle <@U3>", GENERAL) == (
            f"Put the name first: {usage}"
        )
        assert await _refused(world, "U1", "set", GENERAL) == (
            "Use /peer set create NAME @member ..., /peer set add @member or "
            "/peer set remove @member"
        )
        assert world.api.calls_to("conversations.create") == []

    _run(tmp_path, scenario)


def test_set_create_refused_by_slack_names_the_problem(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        world.api.error_next("conversations.create", "missing_scope")
        answer = await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)
        assert answer == (
            "Slack would not let Peerset create the private channel: missing_scope "
            "(reinstall the app with the scopes in its manifest)."
        )
        assert world.api.channel_id("peer-circle") is None
        assert world.api.calls_to("conversations.invite") == []
        # Nothing half-made: once Slack allows it, the same command works.
        assert (await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)).startswith(
            "Set 'circle' is ready"
        )

    _run(tmp_path, scenario)


def test_two_set_creates_with_one_name_at_once_make_one_set_and_one_channel(
    tmp_path: Path,
) -> None:
    async def scenario(world: SlackWorld) -> None:
        before = len(world.api.calls_to("response_url"))
        await asyncio.gather(
            world.command("U1", "set create circle <@U2> <@U3>", GENERAL),
            world.command("U2", "set create circle <@U3> <@U4>", GENERAL),
        )
        await world.settle()
        answers = sorted(str(c.args["text"]) for c in world.api.calls_to("response_url")[before:])
        assert len(answers) == 2
        assert answers[0] == "A set called 'circle' exists already; choose another name."
        assert answers[1].startswith("Set 'circle' is ready with")
        assert len(world.api.calls_to("conversations.create")) == 1
        with session_factory(world.running.runtime.service.engine)() as db:
            [made] = db.scalars(select(PeerSet)).all()
            assert made.space_id is not None

    _run(tmp_path, scenario)


def test_a_set_slack_would_not_make_a_channel_for_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    async def scenario(world: SlackWorld) -> None:
        world.api.error_next("conversations.create", "restricted_action")
        answer = await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)
        assert "restricted_action" in answer
        with session_factory(world.running.runtime.service.engine)() as db:
            assert db.scalars(select(PeerSet)).all() == []
        # The name is free again.
        assert (await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)).startswith(
            "Set 'circle' is ready"
        )

    _run(tmp_path, scenario)


def test_set_add_and_remove_change_the_sets_channel(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        world.api.clear_calls()

        assert await _ask(world, "U1", "set add <@U4>", channel) == "<@U4> has joined the set."
        invites = world.api.calls_to("conversations.invite")
        assert [c.args for c in invites] == [{"channel": channel, "users": "U4"}]
        assert "U4" in world.api.members_of(channel)
        assert await _ask(world, "U2", "set add <@U4>", channel) == "<@U4> is already in this set."
        assert len(world.api.calls_to("conversations.invite")) == 1

        world.api.add_response("conversations.kick", {"ok": True})  # the double has no kick
        assert await _ask(world, "U1", "set remove <@U4>", channel) == "<@U4> has left the set."
        kicks = world.api.calls_to("conversations.kick")
        assert [c.args for c in kicks] == [{"channel": channel, "user": "U4"}]
        assert await _ask(world, "U1", "set remove <@U4>", channel) == "<@U4> is not in this set."
        assert len(world.api.calls_to("conversations.kick")) == 1

        # Outside a set's channel.
        assert await _ask(world, "U1", "set add <@U4>", GENERAL) == NO_SET_HERE
        assert await _ask(world, "U1", "set remove <@U2>", GENERAL) == NO_SET_HERE
        # Wrong input.
        assert await _refused(world, "U1", "set add bea", channel) == (
            "`bea` is not a member: mention them with @: /peer set add @member"
        )
        assert await _refused(world, "U1", "set remove <@U2> <@U3>", channel) == (
            "`<@U3>` does not belong there: /peer set remove @member"
        )
        assert len(world.api.calls_to("conversations.invite")) == 1

        # The set's next session has the members it has now.
        await _start(world, channel)
        state = world.running.runtime.service.state(1)
        assert state.members == ("U1", "U2", "U3")

    _run(tmp_path, scenario)


def test_set_add_refused_by_slack_leaves_the_set_unchanged(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        world.api.error_next("conversations.invite", "missing_scope")
        assert await _ask(world, "U1", "set add <@U4>", channel) == (
            "Slack would not let Peerset invite them to the channel: missing_scope "
            "(reinstall the app with the scopes in its manifest)."
        )
        assert "U4" not in world.api.members_of(channel)
        # Trying again once Slack allows it invites them, rather than calling them a member.
        assert await _ask(world, "U1", "set add <@U4>", channel) == "<@U4> has joined the set."
        assert "U4" in world.api.members_of(channel)

        world.api.error_next("conversations.kick", "missing_scope")
        assert (await _ask(world, "U1", "set remove <@U4>", channel)).startswith(
            "Slack would not let Peerset remove them from the channel: missing_scope"
        )
        world.api.add_response("conversations.kick", {"ok": True})
        assert await _ask(world, "U1", "set remove <@U4>", channel) == "<@U4> has left the set."

    _run(tmp_path, scenario)


def test_set_add_of_someone_already_in_the_channel_adds_them_to_the_set(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        world.api.error_next("conversations.invite", "already_in_channel")
        assert await _ask(world, "U1", "set add <@U4>", channel) == "<@U4> has joined the set."
        world.api.error_next("conversations.kick", "not_in_channel")
        assert await _ask(world, "U1", "set remove <@U4>", channel) == "<@U4> has left the set."

    _run(tmp_path, scenario)


# --- starting ------------------------------------------------------------------------------


def test_start_in_a_sets_channel_opens_a_thread_once(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        thread, session_id = await _start(world, channel)
        assert world.api.messages(channel)[0]["text"].startswith("*Peer mentoring round* with")
        assert any("Ground rules" in t for t in _texts(world, channel, thread))

        again = await _ask(world, "U2", "start", channel)
        assert again == "A session is already running in this set: /peer status shows where."
        assert len(_roots(world, channel)) == 1
        assert world.running.runtime.service.unfinished(1) == session_id

    _run(tmp_path, scenario)


def test_start_outside_a_set(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        assert await _ask(world, "U1", "start", GENERAL) == (
            "Start a session in your set's private channel, or name the members here to make "
            "a new set: /peer start [PROTOCOL] @member @member ..."
        )
        assert world.api.calls_to("conversations.create") == []

        # Too few for the protocol: refused before anything is made, on Slack or in Peerset.
        refused = await _ask(world, "U1", "start <@U2>", GENERAL)
        assert refused == "peer-mentoring-round is for 3 to 8 members; 2 named (U1 and U2)"
        assert world.api.calls_to("conversations.create") == []
        assert world.api.calls_to("conversations.invite") == []
        with session_factory(world.running.runtime.service.engine)() as db:
            assert db.scalars(select(PeerSet)).all() == []

        # Members named: a new set, its own private channel, and the session's thread there.
        assert await _ask(world, "U1", "start <@U2> <@U3>", GENERAL) == STARTING
        created = world.api.calls_to("conversations.create")
        assert len(created) == 1 and created[0].args["is_private"] in ("1", "true", True)
        channel = world.api.channel_id(str(created[0].args["name"]))
        assert channel is not None and channel != GENERAL
        assert world.api.calls_to("conversations.invite")[0].args["users"] == "U1,U2,U3"
        assert len(_roots(world, channel)) == 1
        assert world.api.messages(GENERAL) == []
        state = world.running.runtime.service.state(1)
        assert state.members == ("U1", "U2", "U3") and state.presenters == ("U1",)

        # The same again from the general channel: another set and channel, not a riddle.
        answer = await _ask(world, "U1", "start <@U2> <@U4>", GENERAL)
        assert answer == STARTING
        assert len(world.api.calls_to("conversations.create")) == 2

    _run(tmp_path, scenario)


def test_start_with_an_unknown_protocol_lists_the_known_ones(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        expected = f"no protocol is called 'nonsense'; known protocols: {KNOWN}"
        # Outside a set, with members: nothing is made on Slack for a session that cannot start.
        assert expected in await _ask(world, "U1", "start nonsense <@U2> <@U3>", GENERAL)
        assert world.api.calls_to("conversations.create") == []

        channel = await _circle(world)
        assert expected in await _ask(world, "U1", "start nonsense", channel)
        assert _roots(world, channel) == []
        assert world.running.runtime.service.unfinished(1) is None

    _run(tmp_path, scenario)


def test_start_with_a_protocol_name(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        answer = await _ask(world, "U1", "start good-news-analysis <@U2>", channel)
        assert answer == "Good News Analysis is starting in a new thread."
        roots = _roots(world, channel)
        assert len(roots) == 1 and str(roots[0]["text"]).startswith("*Good News Analysis* with")
        state = world.running.runtime.service.state(1)
        assert state.protocol.name == "good-news-analysis" and state.presenters == ("U2",)

    _run(tmp_path, scenario)


# --- moving a session on -------------------------------------------------------------------


def test_session_controls_show_in_the_thread(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        thread, session_id = await _start(world, channel)
        assert await _ask(world, "U2", "status", channel) == (
            "Peer mentoring round: in Ground rules."
        )

        assert await _ask(world, "U1", "next", channel) == "/peer next: done."
        assert "Now <@U1> presents. The rest of you are peers for this round." in _texts(
            world, channel, thread
        )
        assert await _ask(world, "U2", "next", channel) == "/peer next: done."
        assert "<@U2>, your turn to ask <@U1> one question. You have 1.5 minutes." in _texts(
            world, channel, thread
        )
        assert await _ask(world, "U1", "skip", channel) == "/peer skip: done."
        assert "<@U2>'s turn is skipped." in _texts(world, channel, thread)
        assert await _ask(world, "U1", "extend 5", channel) == "/peer extend: done."
        assert "<@U3>'s turn has 5 minutes more." in _texts(world, channel, thread)

        assert await _ask(world, "U3", "pause", channel) == "/peer pause: done."
        assert "<@U3> paused the session. Take a breath." in _texts(world, channel, thread)
        assert await _ask(world, "U1", "status", channel) == (
            "Peer mentoring round: paused in Clarifying questions, <@U1> presenting, <@U3>'s turn."
        )
        # What the session refuses is answered with why, and changes nothing.
        version = _version(world, session_id)
        assert await _ask(world, "U1", "next", channel) == (
            "The session is paused; resume it first."
        )
        assert _version(world, session_id) == version + 1  # the step is recorded, nothing else
        assert world.running.runtime.service.state(session_id).turn == "U3"
        assert await _ask(world, "U1", "resume", channel) == "/peer resume: done."
        assert "<@U1> resumed the session. Clarifying questions goes on." in _texts(
            world, channel, thread
        )
        assert await _ask(world, "U1", "resume", channel) == "The session is not paused."

        assert await _ask(world, "U2", "end", channel) == "/peer end: done."
        texts = _texts(world, channel, thread)
        assert any(t.startswith("Speaking balance (turns, words, airtime):") for t in texts)
        assert "No action items were recorded." in texts[-1]
        update = world.api.calls_to("chat.update")[-1]
        assert update.args["ts"] == thread and "This session has ended." in update.args["text"]
        assert await _ask(world, "U1", "status", channel) == (
            "No session is running in 'circle'. Start one: /peer start"
        )
        # Every post of the session went to its thread, once.
        ids = metadata_ids(world.thread(channel, thread))
        assert len(ids) == len(set(ids))

    _run(tmp_path, scenario)


def test_controls_with_no_session_are_answered(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        for text in ("next", "skip", "extend 5", "pause", "resume", "end"):
            assert await _ask(world, "U1", text, channel) == NO_SESSION, text
            assert await _ask(world, "U1", text, GENERAL) == NO_SET_HERE, text
        assert world.api.calls_to("chat.postMessage") == []
        assert await _refused(world, "U1", "next please", channel) == (
            "/peer next takes nothing after it"
        )

    _run(tmp_path, scenario)


def test_extend_with_a_bad_number_is_answered_at_once(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        thread, session_id = await _start(world, channel)
        version = _version(world, session_id)
        posts = len(world.thread(channel, thread))
        for given in ("soon", "0", "500", "\u00b2", "\uff15"):
            answer = await _refused(world, "U1", f"extend {given}", channel)
            assert answer == (
                f"`{given}` is not a whole number from 1 to 120 (how many more minutes): "
                "/peer extend MINUTES"
            )
        assert await _refused(world, "U1", "extend", channel) == (
            "Give the minutes too: /peer extend MINUTES"
        )
        assert await _refused(world, "U1", "extend 5 10", channel) == (
            "`10` does not belong there: /peer extend MINUTES"
        )
        assert _version(world, session_id) == version
        assert len(world.thread(channel, thread)) == posts

    _run(tmp_path, scenario)


def test_status_with_and_without_a_session(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        assert await _ask(world, "U1", "status", GENERAL) == NO_SET_HERE
        channel = await _circle(world)
        assert await _ask(world, "U1", "status", channel) == (
            "No session is running in 'circle'. Start one: /peer start"
        )
        await _start(world, channel)
        assert await _ask(world, "U3", "status", channel) == (
            "Peer mentoring round: in Ground rules."
        )
        assert await _refused(world, "U1", "status now", channel) == (
            "/peer status takes nothing after it"
        )

    _run(tmp_path, scenario)


def test_a_command_from_a_non_member_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        thread, session_id = await _start(world, channel)
        before = world.running.runtime.service.state(session_id)
        posts = len(world.thread(channel, thread))

        for text in ("next", "end", "pause", "status", "attendance", "set add <@U4>"):
            answer = await _ask(world, "U4", text, channel)
            name = text.split(" <")[0]
            assert answer == f"Only members of 'circle' can use /peer {name} here.", text
        assert world.api.calls_to("chat.postEphemeral") == []
        assert world.api.calls_to("conversations.invite")[-1].args["users"] != "U4"

        after = world.running.runtime.service.state(session_id)
        assert (after.phase, after.status, after.turn) == (before.phase, before.status, None)
        assert after.members == before.members
        assert len(world.thread(channel, thread)) == posts
        assert world.api.calls_to("chat.update") == []

        # Nor may a non-member start the set's next session.
        assert await _ask(world, "U1", "end", channel) == "/peer end: done."
        assert await _ask(world, "U4", "start", channel) == (
            "Only members of 'circle' can use /peer start here."
        )
        assert len(_roots(world, channel)) == 1

    _run(tmp_path, scenario)
