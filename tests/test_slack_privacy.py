"""What is said in a session on Slack stays in Slack: with transcripts off (the default), after a
whole session no table of the database, and no byte of a SQLite database's files, holds a
member's words. Only what a member records on purpose, an action item, is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from bot.store import PeerSet
from tests.slack_harness import SlackWorld, metadata_ids, slack_world

SECRET_WORDS = "zebra-quartz-secret"
ACTION = "Talk to my leads on Monday about the rota"


def test_nothing_said_on_slack_is_kept_in_sqlite(tmp_path: Path) -> None:
    engine = asyncio.run(_whole_session(tmp_path, None))
    _assert_tables_keep_no_words(engine)
    engine.dispose()
    files = sorted((tmp_path / "data").glob("peerset.db*"))
    assert tmp_path / "data" / "peerset.db" in files
    for path in files:  # the database, and its -wal and -shm files if any are left
        assert SECRET_WORDS.encode() not in path.read_bytes(), path.name
    assert ACTION.encode() in (tmp_path / "data" / "peerset.db").read_bytes()


@pytest.mark.postgres
def test_nothing_said_on_slack_is_kept_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    engine = asyncio.run(_whole_session(tmp_path, postgres_url))
    try:
        _assert_tables_keep_no_words(engine)
    finally:
        engine.dispose()


def _assert_tables_keep_no_words(engine: Engine) -> None:
    tables = inspect(engine).get_table_names()
    assert {"sessions", "outbox", "action_items", "processed_events"} <= set(tables), tables
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            assert SECRET_WORDS not in repr(rows), table
        actions = connection.execute(text("SELECT text FROM action_items")).scalars().all()
    assert actions == [ACTION]


async def _whole_session(tmp_path: Path, database_url: str | None) -> Engine:
    """The flow of test_slack_session, with distinctive words in everything members write."""
    async with slack_world(tmp_path, database_url=database_url) as world:
        await world.command("U1", "set create circle <@U2> <@U3>", "CGENERAL")
        channel = world.api.channel_id("peer-circle")
        assert channel is not None
        await world.command("U1", "start", channel)
        roots = [m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])]
        thread = str(roots[0]["ts"])
        session_id = int(metadata_ids(roots)[0].split(".")[0])
        with world.running.runtime.service._sessions() as db:
            assert db.scalars(select(PeerSet.keep_transcripts)).one() is False

        async def say(user: str, words: str) -> None:
            await world.say(user, f"{words} {SECRET_WORDS}", channel, thread)

        async def press(user: str, action: str) -> None:
            await world.press(user, action, session_id, channel, thread)

        await say("U2", "Before we start, one thing:")  # ground rules: everyone may speak
        for user in ("U1", "U2", "U3"):
            await press(user, "agree")
        await say("U1", "Here is what happened with my team.")
        await say("U2", "Can I ask already?")
        await press("U1", "done")
        await say("U2", "Who was in the room?")
        await say("U1", "Two of my leads.")
        await press("U2", "done")
        await press("U3", "pass")
        # Peer feedback: the presenter listens in silence; what they write is kept for them.
        await say("U2", "You should just tell them.")
        await say("U1", "I feel defensive hearing that.")
        await say("U1", "And a second note to myself.")
        await press("U2", "done")
        await press("U3", "control_skip")
        await press("U2", "done")
        await say("U3", "What impressed me was your calm.")
        await press("U3", "done")
        # The response: the presenter's notes come back to them, by direct message only.
        dms = [c for c in world.api.calls_to("chat.postMessage") if c.args["channel"][0] == "D"]
        assert len(dms) == 1 and dms[0].args["text"].count(SECRET_WORDS) == 2
        await say("U1", "I will talk to them.")
        await press("U1", "action")
        await world.submit_action("U1", session_id, ACTION)
        await press("U1", "done")

        assert world.running.runtime.service.state(session_id).ended
        assert _said_in_slack(world, channel, thread)
        await world.settle()
        assert world.running.runtime.dispatcher.pending() == 0
        engine = world.running.runtime.service.engine
    return engine


def _said_in_slack(world: SlackWorld, channel: str, thread: str) -> bool:
    """The summary in the thread names the action item, and Peerset never repeated a member's
    words on Slack except to the presenter, in a direct message."""
    texts = [str(m.get("text")) for m in world.thread(channel, thread)]
    assert any(f"- <@U1>: {ACTION}" in t for t in texts)
    return all(
        SECRET_WORDS not in str(c.args)
        for c in world.api.calls
        if not str(c.args.get("channel", "")).startswith("D")
    )
