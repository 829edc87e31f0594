"""Slack's events into the real app: signatures, retries, what is not a member speaking, rate
limits on the way out; and Slack's documented payloads through the pure parsers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.slack.clients import RETRIES
from adapters.slack.inbound import Pressed, ThreadMessage, pressed, thread_message
from bot import commands
from bot.store import OutboxEntry, ProcessedEvent, SessionRecord
from tests.slack_harness import SECRET, TEAM, SlackWorld, metadata_ids, slack_world
from tests.slack_signing import (
    block_actions_body,
    event_body,
    message_event,
    post,
    signed_headers,
    slash_command_body,
)

GENERAL = "CGENERAL"
OUT_OF_TURN = "Right now it is <@U1>'s time to speak uninterrupted."
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "slack"
_ts = iter(range(1, 10_000))


def _next_ts() -> str:
    return f"1800001000.{next(_ts):06d}"


async def _presenting(world: SlackWorld) -> tuple[str, str, int]:
    """A session of U1, U2 and U3 in its Presentation: U1 speaks, anyone else is out of turn.
    Returns the channel, the thread's ts and the session's id."""
    await world.command("U1", "set create circle <@U2> <@U3>", GENERAL)
    channel = world.api.channel_id("peer-circle")
    assert channel is not None
    await world.command("U1", "start", channel)
    roots = [m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])]
    assert len(roots) == 1
    thread = str(roots[0]["ts"])
    session_id = int(metadata_ids(roots)[0].split(".")[0])
    await world.command("U1", "next", channel)
    assert world.running.runtime.service.state(session_id).phase.id == "presentation"
    return channel, thread, session_id


async def _deliver(
    world: SlackWorld, body: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    answer = await post(world.http, world.url, body, SECRET, extra_headers=headers)
    await world.settle()
    return answer


def _version(world: SlackWorld, session_id: int) -> int:
    with world.running.runtime.service._sessions() as db:
        return db.scalars(select(SessionRecord.version).where(SessionRecord.id == session_id)).one()


def _processed(world: SlackWorld) -> int:
    with world.running.runtime.service._sessions() as db:
        return db.scalar(select(func.count()).select_from(ProcessedEvent)) or 0


# --- (a) signatures ------------------------------------------------------------------------


def test_forged_or_stale_requests_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            command = slash_command_body(
                text="set create circle <@U2> <@U3>",
                user_id="U1",
                channel_id=GENERAL,
                team_id=TEAM,
                response_url=f"{world.api.response_url_base}commands/forged",
            )
            event = event_body(
                message_event(GENERAL, "U2", "hello", _next_ts(), thread_ts=_next_ts()),
                team_id=TEAM,
            )
            for body in (command, event):
                forged = {"X-Slack-Signature": "v0=" + "0" * 64}
                assert (await _deliver(world, body, forged))[0] == 401
                wrong_secret = signed_headers("not-the-secret", body)
                assert (await _deliver(world, body, wrong_secret))[0] == 401
                stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
                assert (await _deliver(world, body, stale))[0] == 401
            await world.settle()
            assert world.api.calls == []
            assert world.api.channel_id("peer-circle") is None
            # The same command, signed properly, is taken.
            assert (await _deliver(world, command))[0] == 200
            assert world.api.channel_id("peer-circle") is not None

    asyncio.run(scenario())


# --- (b) Slack delivering an event twice ---------------------------------------------------


@pytest.mark.parametrize(
    "again",
    [
        pytest.param(
            {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}, id="retry"
        ),
        pytest.param({}, id="socket-mode-redelivery"),
    ],
)
def test_the_same_event_twice_changes_nothing_the_second_time(
    tmp_path: Path, again: dict[str, str]
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            channel, thread, session_id = await _presenting(world)
            said = message_event(
                channel, "U2", "Can I ask already?", _next_ts(), thread_ts=thread, team_id=TEAM
            )
            body = event_body(said, team_id=TEAM, event_id="Ev0RETRY0001")

            assert (await _deliver(world, body))[0] == 200
            nudges = [t for t in world.ephemerals("U2") if OUT_OF_TURN in t]
            assert len(nudges) == 1
            version, processed = _version(world, session_id), _processed(world)
            calls = len(world.api.calls)

            assert (await _deliver(world, body, again))[0] == 200
            assert (await _deliver(world, body, again))[0] == 200
            assert [t for t in world.ephemerals("U2") if OUT_OF_TURN in t] == nudges
            assert _version(world, session_id) == version
            assert _processed(world) == processed
            assert len(world.api.calls) == calls

    asyncio.run(scenario())


# --- (c) what is not a member speaking in a session's thread -------------------------------


def _changed(channel: str, thread: str) -> dict[str, Any]:
    ts, edited = _next_ts(), _next_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": {
            "type": "message",
            "user": "U2",
            "text": "Can I ask already? (edited)",
            "ts": ts,
            "thread_ts": thread,
            "edited": {"user": "U2", "ts": edited},
        },
        "previous_message": {
            "type": "message",
            "user": "U2",
            "text": "Can I ask already?",
            "ts": ts,
            "thread_ts": thread,
        },
        "channel": channel,
        "ts": edited,
        "event_ts": edited,
        "channel_type": "group",
    }


def _deleted(channel: str, thread: str) -> dict[str, Any]:
    ts, gone = _next_ts(), _next_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "previous_message": {
            "type": "message",
            "user": "U2",
            "text": "Can I ask already?",
            "ts": ts,
            "thread_ts": thread,
        },
        "channel": channel,
        "deleted_ts": ts,
        "ts": gone,
        "event_ts": gone,
        "channel_type": "group",
    }


def _bot_subtype(channel: str, thread: str) -> dict[str, Any]:
    ts = _next_ts()
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": "Can I ask already?",
        "ts": ts,
        "username": "another-bot",
        "bot_id": "B0999",
        "thread_ts": thread,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "group",
    }


def _bot_id(channel: str, thread: str) -> dict[str, Any]:
    # A bot posting as a user (an app's user token): it carries a bot_id but no subtype.
    return message_event(
        channel, "U2", "Can I ask already?", _next_ts(), thread_ts=thread, bot_id="B0999"
    )


def _top_level(channel: str, thread: str) -> dict[str, Any]:
    return message_event(channel, "U2", "Can I ask already?", _next_ts())


@pytest.mark.parametrize(
    "make",
    [_changed, _deleted, _bot_subtype, _bot_id, _top_level],
    ids=["message_changed", "message_deleted", "bot_message", "bot_id", "top_level"],
)
def test_what_is_not_a_member_speaking_in_the_thread_is_ignored(tmp_path: Path, make: Any) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            channel, thread, session_id = await _presenting(world)
            await _assert_ignored(world, session_id, make(channel, thread))
            # The same words as a member's reply in the thread are not ignored.
            said = message_event(
                channel, "U2", "Can I ask already?", _next_ts(), thread_ts=thread, team_id=TEAM
            )
            await _deliver(world, event_body(said, team_id=TEAM))
            assert any(OUT_OF_TURN in t for t in world.ephemerals("U2"))

    asyncio.run(scenario())


def test_a_reply_in_a_thread_that_is_no_sessions_is_ignored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            channel, thread, session_id = await _presenting(world)
            other = world.api.add_message(channel, "Lunch, anyone?", user="U3")
            reply = message_event(
                channel, "U2", "Can I ask already?", _next_ts(), thread_ts=other, team_id=TEAM
            )
            await _assert_ignored(world, session_id, reply)
            # Nor is a session's thread in another channel taken for it.
            elsewhere = message_event(
                GENERAL, "U2", "Can I ask already?", _next_ts(), thread_ts=thread, team_id=TEAM
            )
            await _assert_ignored(world, session_id, elsewhere)

    asyncio.run(scenario())


async def _assert_ignored(world: SlackWorld, session_id: int, event: dict[str, Any]) -> None:
    version, processed = _version(world, session_id), _processed(world)
    ephemerals = len(world.api.calls_to("chat.postEphemeral"))
    posts = len(world.api.calls_to("chat.postMessage"))
    status, _ = await _deliver(world, event_body(event, team_id=TEAM))
    assert status == 200
    assert len(world.api.calls_to("chat.postEphemeral")) == ephemerals
    assert len(world.api.calls_to("chat.postMessage")) == posts
    assert _version(world, session_id) == version
    assert _processed(world) == processed


# --- (d) rate limits delay a post, never drop it -------------------------------------------


def test_a_rate_limited_post_waits_in_the_outbox_and_arrives_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path, delivery_backoff_seconds=0.05) as world:
            runtime = world.running.runtime
            assert runtime.dispatcher.backoff_seconds == 0.05
            await world.command("U1", "set create circle <@U2> <@U3>", GENERAL)
            channel = world.api.channel_id("peer-circle")
            assert channel is not None
            await world.command("U1", "start", channel)
            thread = str(world.api.messages(channel)[0]["ts"])
            session_id = runtime.service.unfinished(1)
            assert session_id is not None
            agreed = "<@U1> agrees to the ground rules (1 of 3)."

            # More 429s in a row than slack_sdk's retry handler takes before giving up.
            world.api.fail_next("chat.postMessage", times=RETRIES + 1, retry_after=0)
            tried = len(world.api.calls_to("chat.postMessage"))
            press = block_actions_body(
                user_id="U1",
                team_id=TEAM,
                channel_id=channel,
                message_ts=thread,
                thread_ts=thread,
                action_id="peerset_agree",
                value=str(session_id),
            )
            assert (await post(world.http, world.url, press, SECRET))[0] == 200
            await runtime.settle()
            await world.api.wait_for_async(
                lambda: _failed_entries(world), timeout=15.0, interval=0.01
            )
            assert len(world.api.calls_to("chat.postMessage")) == tried + RETRIES + 1
            assert runtime.dispatcher.pending() > 0
            assert agreed not in _texts(world, channel, thread)

            # After the backoff the app's own pump delivers it, exactly once.
            await world.api.wait_for_async(
                lambda: agreed in _texts(world, channel, thread), timeout=10.0
            )
            await world.settle()
            assert _texts(world, channel, thread).count(agreed) == 1
            assert runtime.dispatcher.pending() == 0
            ids = metadata_ids(world.thread(channel, thread))
            assert len(ids) == len(set(ids))
            with runtime.service._sessions() as db:
                entries = db.scalars(
                    select(OutboxEntry).where(OutboxEntry.session_id == session_id)
                ).all()
            assert max(e.attempts for e in entries) == 2
            assert all(e.delivered_at is not None and e.last_error is None for e in entries)

    asyncio.run(scenario())


def _failed_entries(world: SlackWorld) -> list[OutboxEntry]:
    with world.running.runtime.service._sessions() as db:
        return list(
            db.scalars(
                select(OutboxEntry).where(
                    OutboxEntry.delivered_at.is_(None), OutboxEntry.last_error.is_not(None)
                )
            ).all()
        )


def _texts(world: SlackWorld, channel: str, thread: str) -> list[str]:
    return [str(m.get("text")) for m in world.thread(channel, thread)]


# --- (e) Slack's documented payloads through the pure parsers ------------------------------

# What each fixture should read as; a fixture not named here only has to parse without raising.
EXPECTED: dict[str, object] = {
    "slack_event_message_1.json": None,  # top level, not in a thread
    "slack_event_app_mention_1.json": None,  # not a message event
    "slack_event_message_bot_message_1.json": None,
    "slack_event_message_changed_1.json": None,
    "slack_event_message_changed_2.json": None,
    "slack_event_message_deleted_1.json": None,
    "slack_event_message_thread_1.json": None,  # a bot's reply (bot_id)
    "slack_event_message_thread_3.json": ThreadMessage(
        team_id="T111",
        channel="D111",
        thread_ts="1726133698.626339",
        user="W222",
        text="When Slack was released?",
        event_key="slack:T111:Ev111",
    ),
    "slack_block_actions_1.json": None,  # not one of Peerset's buttons
    "slack_slash_command_2.json": commands.parse("Hi"),
    "slack_slash_command_3.json": commands.Help(),
    "slack_socket_mode_envelope_slash_command_1.json": commands.Help(),
}


def _read(payload: dict[str, Any]) -> object:
    """The pure parser's reading of an event_callback, block_actions or slash command payload;
    `...` for anything else."""
    if payload.get("type") == "event_callback":
        return thread_message(payload)
    if payload.get("type") == "block_actions":
        return pressed(payload)
    if payload.get("type") == "slash_commands" and isinstance(payload.get("payload"), dict):
        return _read(payload["payload"])
    if "command" in payload and "text" in payload:
        return commands.parse(str(payload["text"]))
    return ...


def test_slacks_documented_payloads_parse() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"no Slack payload fixtures at {FIXTURES}")
    read: dict[str, object] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        result = _read(json.loads(path.read_text(encoding="utf-8")))
        if result is not ...:
            read[path.name] = result
    assert read, "no event_callback, block_actions or slash command payloads found"
    for name, expected in EXPECTED.items():
        if name in read:
            assert read[name] == expected, name


def test_a_documented_button_payload_with_peersets_action_is_pressed() -> None:
    path = FIXTURES / "slack_block_actions_1.json"
    if not path.is_file():
        pytest.skip(f"no Slack payload fixtures at {FIXTURES}")
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["actions"][0].update(action_id="peerset_done", value="12")
    assert pressed(payload) == Pressed(
        team_id="T111",
        user="W111",
        session_id=12,
        name="done",
        trigger_id="111.222.valid",
        event_key="slack:T111:action:W111:1596530385.194939",
    )
