"""Discord's events into the real discord.py client: what is not a member speaking in a session's
thread, the same message twice, rate limits and refused direct messages on the way out, the
action-item form, start-up without a token or without the privileged intents, and Discord's
documented payloads through the pure reader of Peerset's custom ids."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.discord.components import (
    Chosen,
    Pressed,
    choice_custom_id,
    custom_id,
    read_custom_id,
)
from adapters.discord.run import INTENTS_HELP, _serve, point_at
from bot.app import Peerset, load_settings
from bot.engine.effects import Choice
from bot.settings import DiscordSettings, SettingsError
from bot.store import ActionItem, Member, OutboxEntry, ProcessedEvent, SessionRecord
from tests.discord_double import DiscordApiDouble, Intents
from tests.discord_harness import CHANNEL, TIMEOUT, TOKEN, DiscordWorld, discord_world, option, user
from tests.test_discord_commands import _answered, _command, _handled, _is_processed, _press, _say

ANA, BEN, CLEO, OTHER_BOT = "1001", "1002", "1003", "1005"
BOT = "1000"  # Peerset itself, in the double
OUT_OF_TURN = f"Right now it is <@{ANA}>'s time to speak uninterrupted."
EPHEMERAL = 64
PEERSET = str(Path(sys.executable).parent / "peerset")
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "discord"


def _run(tmp_path: Path, scenario: Any, **double: Any) -> None:
    async def inside() -> None:
        async with discord_world(tmp_path, **double) as world:
            await scenario(world)

    asyncio.run(asyncio.wait_for(inside(), 120))


async def _presenting(world: DiscordWorld) -> tuple[str, int]:
    """A session of ana, ben and cleo in its Presentation: ana speaks, anyone else is out of
    turn. Returns the session's thread and its id."""
    members = [option("name", "circle"), user("member1", BEN), user("member2", CLEO)]
    await _command(world, ANA, "set", "create", options=members)
    await _command(world, ANA, "start")
    [thread] = world.api.threads(CHANNEL)
    thread_id = str(thread["id"])
    session_id = int(str(thread["name"]).rsplit(" ", 1)[1])
    await _command(world, ANA, "next")
    assert world.client.runtime.service.state(session_id).phase.id == "presentation"
    return thread_id, session_id


async def _quietly(world: DiscordWorld, event: str, payload: dict[str, Any]) -> None:
    """Dispatch an event and wait (bounded) until the session has taken it, not for the outbox
    (which may be waiting for a retry)."""
    world.api.send_dispatch(event, payload)
    key = f"discord:{payload['id']}"
    await world.api.wait_for_async(lambda: _is_processed(world, key), TIMEOUT)
    await world.client.runtime.settle()


def _version(world: DiscordWorld, session_id: int) -> int:
    with world.client.runtime.service._sessions() as db:
        return db.scalars(select(SessionRecord.version).where(SessionRecord.id == session_id)).one()


def _processed(world: DiscordWorld) -> int:
    with world.client.runtime.service._sessions() as db:
        return db.scalar(select(func.count()).select_from(ProcessedEvent)) or 0


def _dm_channel(world: DiscordWorld, member: str) -> str | None:
    for call in world.api.calls_to("POST", "/channels/{x}/messages"):
        channel_id = call.path.split("/")[2]
        channel = world.api.channel(channel_id) or {}
        if channel.get("type") == 1 and member in [r["id"] for r in channel["recipients"]]:
            return channel_id
    return None


def _delivered_dms(world: DiscordWorld, member: str) -> list[str]:
    """The direct messages that reached the member (not the attempts Discord refused)."""
    channel = _dm_channel(world, member)
    return [] if channel is None else [str(m["content"]) for m in world.api.messages(channel)]


def _texts(world: DiscordWorld, channel: str) -> list[str]:
    return [str(m.get("content")) for m in world.messages(channel)]


def _undelivered(world: DiscordWorld) -> list[OutboxEntry]:
    with world.client.runtime.service._sessions() as db:
        return list(db.scalars(select(OutboxEntry).where(OutboxEntry.delivered_at.is_(None))).all())


# --- what is not a member speaking in a session's thread -----------------------------------


def test_bots_messages_are_ignored(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        thread_id, session_id = await _presenting(world)
        world.api.add_member(OTHER_BOT, "helper", bot=True)
        for author in (BOT, OTHER_BOT):
            await _assert_ignored(
                world,
                session_id,
                thread_id,
                world.api.message_create(author, thread_id, "Can I ask already?"),
            )
        # The same words from a member are not ignored.
        await _say(world, BEN, thread_id, "Can I ask already?")
        assert any(OUT_OF_TURN in t for t in _delivered_dms(world, BEN))

    _run(tmp_path, scenario)


def test_messages_outside_a_sessions_thread_are_ignored(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        thread_id, session_id = await _presenting(world)
        # A thread members opened themselves in the set's channel is not a session's.
        lunch = world.api.thread_create(CHANNEL, "lunch", BEN)
        world.api.send_dispatch("THREAD_CREATE", lunch)
        await _assert_ignored(
            world,
            session_id,
            thread_id,
            world.api.message_create(BEN, str(lunch["id"]), "Can I ask already?"),
        )
        # Nor is the channel itself.
        await _assert_ignored(
            world,
            session_id,
            thread_id,
            world.api.message_create(BEN, CHANNEL, "Can I ask already?"),
        )
        assert _delivered_dms(world, BEN) == []

    _run(tmp_path, scenario)


async def _assert_ignored(
    world: DiscordWorld, session_id: int, thread_id: str, *payloads: dict[str, Any]
) -> None:
    """The messages change nothing. Each is followed by the presenter speaking in turn, which
    the session takes without a word: once that is taken, the messages before it were too."""
    version, processed = _version(world, session_id), _processed(world)
    calls = len(world.api.calls)
    for payload in payloads:
        world.api.send_dispatch("MESSAGE_CREATE", payload)
    await _say(world, ANA, thread_id, "And then the meeting ended.")
    assert _version(world, session_id) == version + 1  # the presenter's words only
    assert _processed(world) == processed + 1
    assert len(world.api.calls) == calls  # nothing sent to Discord in answer


def test_the_same_message_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        thread_id, session_id = await _presenting(world)
        said = world.api.message_create(BEN, thread_id, "Can I ask already?")
        world.api.send_dispatch("MESSAGE_CREATE", said)
        await _handled(world, said)
        nudges = [t for t in _delivered_dms(world, BEN) if OUT_OF_TURN in t]
        assert len(nudges) == 1

        await _assert_ignored(world, session_id, thread_id, said, said)  # the same message id again
        assert [t for t in _delivered_dms(world, BEN) if OUT_OF_TURN in t] == nudges

    _run(tmp_path, scenario)


# --- on the way out: rate limits, refused direct messages -----------------------------------


def test_a_rate_limited_post_is_delayed_but_arrives_once(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        members = [option("name", "circle"), user("member1", BEN), user("member2", CLEO)]
        await _command(world, ANA, "set", "create", options=members)
        await _command(world, ANA, "start")
        [thread] = world.api.threads(CHANNEL)
        thread_id = str(thread["id"])
        session_id = int(str(thread["name"]).rsplit(" ", 1)[1])
        agreed = f"<@{ANA}> agrees to the ground rules (1 of 3)."

        world.api.rate_limit_next("POST", "/channels/{x}/messages", times=2, retry_after=0.05)
        await _press(world, ANA, thread_id, "agree", session_id)
        await world.api.wait_for_async(lambda: agreed in _texts(world, thread_id), TIMEOUT)
        await world.settle()

        tries = [
            c
            for c in world.api.calls_to("POST", "/channels/{x}/messages")
            if (c.json or {}).get("content") == agreed
        ]
        assert len(tries) == 3  # two 429s, then the post: discord.py waited and tried again
        assert len({c.json["nonce"] for c in tries}) == 1
        assert _texts(world, thread_id).count(agreed) == 1
        assert world.client.runtime.dispatcher.pending() == 0
        with world.client.runtime.service._sessions() as db:
            entries = db.scalars(select(OutboxEntry)).all()
        assert all(e.delivered_at is not None and e.last_error is None for e in entries)

    _run(tmp_path, scenario)


def test_a_refused_direct_message_stays_in_the_outbox_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    async def scenario(world: DiscordWorld) -> None:
        thread_id, session_id = await _presenting(world)
        runtime = world.client.runtime
        runtime.dispatcher.backoff_seconds = 0.05
        runtime.dispatcher.backoff_max_seconds = 0.2
        world.api.set_dms_closed(BEN)

        await _quietly(
            world, "MESSAGE_CREATE", world.api.message_create(BEN, thread_id, "Can I ask?")
        )
        runtime.wake()
        failed = await world.api.wait_for_async(
            lambda: [e for e in _undelivered(world) if e.last_error], TIMEOUT
        )
        assert runtime.dispatcher.pending() > 0
        [nudge] = failed
        assert nudge.kind == "Nudge" and nudge.recipient == BEN
        assert "50007" in str(nudge.last_error)
        assert nudge.payload is not None and OUT_OF_TURN in json.dumps(nudge.payload)
        assert _delivered_dms(world, BEN) == []

        # The session goes on: ana's Done moves it to the questions, ben's turn first.
        message_id = world.messages(thread_id)[-1]["id"]
        done = world.api.interaction_button(
            ANA, thread_id, message_id, f"peerset:done:{session_id}"
        )
        await _quietly(world, "INTERACTION_CREATE", done)
        state = runtime.service.state(session_id)
        assert (state.phase.id, state.turn) == ("clarifying", BEN)
        # (Asked without waiting for the outbox, which waits for ben's retry.)
        leaf = {"type": 1, "name": "status", "options": []}
        status = world.api.interaction_command(CLEO, CHANNEL, "peer", [leaf])
        world.api.send_dispatch("INTERACTION_CREATE", status)
        await world.api.wait_for_async(lambda: _answered(world, str(status["id"])), TIMEOUT)
        record = world.api.interaction(str(status["id"]))
        assert [m["content"] for m in record["followups"]] == [
            f"Peer mentoring round: in Clarifying questions, <@{ANA}> presenting, <@{BEN}>'s turn."
        ]
        assert any(e.kind == "Nudge" and e.last_error for e in _undelivered(world))

        # Once ben's direct messages open, the kept word reaches him, once, and all else too.
        world.api.set_dms_closed(BEN, False)
        await world.api.wait_for_async(lambda: runtime.dispatcher.pending() == 0, TIMEOUT)
        assert [t for t in _delivered_dms(world, BEN) if OUT_OF_TURN in t] != []
        assert len([t for t in _delivered_dms(world, BEN) if OUT_OF_TURN in t]) == 1
        turn = f"<@{BEN}>, your turn to ask <@{ANA}> one question. You have 1.5 minutes."
        assert _texts(world, thread_id).count(turn) == 1

    _run(tmp_path, scenario)


# --- the action-item form ------------------------------------------------------------------


def test_the_action_item_form_records_the_action(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        thread_id, session_id = await _presenting(world)
        message_id = world.messages(thread_id)[-1]["id"]
        press = world.api.interaction_button(
            ANA, thread_id, message_id, custom_id("action", session_id)
        )
        world.api.send_dispatch("INTERACTION_CREATE", press)
        [callback] = await world.api.wait_for_async(
            lambda: world.api.interaction(str(press["id"]))["callbacks"], TIMEOUT
        )
        assert callback["type"] == 9  # a modal
        form = callback["data"]
        assert form["custom_id"] == f"peerset:form:{session_id}"
        assert form["title"] == "Record an action item"
        [[text_input]] = [row["components"] for row in form["components"]]
        assert text_input["type"] == 4 and text_input["label"] == "What will you do, and by when?"

        wrote = "Talk to my leads on Monday"
        submit = world.api.interaction_modal_submit(
            ANA, thread_id, form["custom_id"], {text_input["custom_id"]: wrote}
        )
        world.api.send_dispatch("INTERACTION_CREATE", submit)
        await _handled(world, submit)
        [thanks] = world.api.interaction(str(submit["id"]))["callbacks"]
        assert thanks["type"] == 4 and thanks["data"]["flags"] == EPHEMERAL
        assert thanks["data"]["content"] == "Thank you: recording it."

        with world.client.runtime.service._sessions() as db:
            rows = db.execute(
                select(ActionItem.session_id, Member.external_id, ActionItem.text).join(
                    Member, Member.id == ActionItem.member_id
                )
            ).all()
        assert [tuple(r) for r in rows] == [(session_id, ANA, wrote)]
        assert f"<@{ANA}> recorded an action item." in _texts(world, thread_id)
        assert f"Recorded your action item: {wrote}" in _delivered_dms(world, ANA)

    _run(tmp_path, scenario)


# --- starting up ---------------------------------------------------------------------------


def test_run_discord_without_a_token_names_the_variable(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PEERSET_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [PEERSET, "run", "discord"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "enabled",
    [0, Intents.GUILD_MEMBERS, Intents.MESSAGE_CONTENT],
    ids=["neither", "members-only", "content-only"],
)
def test_without_the_privileged_intents_start_up_says_which_to_enable(
    tmp_path: Path, enabled: int
) -> None:
    async def scenario() -> None:
        with DiscordApiDouble(enabled_privileged_intents=enabled) as api, api.patched():
            discord_settings = DiscordSettings.model_validate(
                {
                    "DISCORD_TOKEN": TOKEN,
                    "PEERSET_DISCORD_API_URL": api.rest_base,
                    "PEERSET_DISCORD_GATEWAY_URL": api.gateway_url,
                }
            )
            discord_settings.check()
            point_at(discord_settings)
            root = Peerset.build(load_settings(data_dir=tmp_path / "data"))
            with root, pytest.raises(SettingsError) as refused:
                await asyncio.wait_for(_serve(root, discord_settings), 60)
            assert str(refused.value) == INTENTS_HELP
            # Peerset asked for both privileged intents it needs.
            asked = api.identified_intents
            assert asked is not None
            assert asked & Intents.GUILD_MEMBERS and asked & Intents.MESSAGE_CONTENT

    asyncio.run(asyncio.wait_for(scenario(), 120))
    assert "SERVER MEMBERS INTENT" in INTENTS_HELP
    assert "MESSAGE CONTENT INTENT" in INTENTS_HELP


# --- Discord's documented payloads ---------------------------------------------------------


def test_peersets_own_custom_ids_read_back() -> None:
    assert read_custom_id(custom_id("done", 7)) == Pressed("done", 7)
    assert read_custom_id(custom_id("control_next", 12)) == Pressed("control_next", 12)
    assert read_custom_id("peerset:form:3") == Pressed("form", 3)
    # A notice's answer: the choice, what it is about, and the server it came from.
    assert read_custom_id(choice_custom_id(Choice.NOT_GOING, 12, 2000)) == Chosen(
        Choice.NOT_GOING, 12, "2000"
    )
    assert read_custom_id("peerset:choice_in_progress:4:2000") == Chosen(
        Choice.IN_PROGRESS, 4, "2000"
    )
    for foreign in (
        "",
        "click_one",
        "peerset",
        "peerset:done",
        "peerset:done:x",
        "other:done:1",
        "peerset:done:1:2000",
        "peerset:choice_going:1",
        "peerset:choice_maybe:1:2000",
        "peerset:choice_going:x:2000",
    ):
        assert read_custom_id(foreign) is None, foreign


def test_documented_component_payloads_read_without_raising() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"no Discord payload fixtures at {FIXTURES}")
    read = {}
    for path in sorted(FIXTURES.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(payload, dict) and payload.get("t") == "INTERACTION_CREATE":
            payload = payload.get("d")
        if not isinstance(payload, dict) or payload.get("type") != 3:
            continue
        value = str((payload.get("data") or {}).get("custom_id", ""))
        read[path.name] = read_custom_id(value)
    assert read, "no INTERACTION_CREATE component payloads found"
    # None of them is one of Peerset's buttons.
    assert all(v is None for v in read.values()), read
